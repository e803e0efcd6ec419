//! No execution strands: answers that arrive while an execution is still being started or
//! stepped (mocks answer at once, HTTP and command functions within a millisecond, fast
//! activity workers, callbacks answered before the request that carried the token returns)
//! are applied one at a time to the one copy of the execution, and every execution ends.
//!
//! Each case starts executions one at a time and then many at once, waits for them to end,
//! and asserts that none is left RUNNING and that every history is whole (contiguous ids,
//! each state entered once per expected visit).

mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

/// A function endpoint answering every POST with its body; a body carrying a `token` is
/// answered with SendTaskSuccess to the server from another thread, racing the response.
fn echo_endpoint(passo: Arc<Mutex<String>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let passo = passo.clone();
            std::thread::spawn(move || serve_echo(conn, passo));
        }
    });
    format!("http://{addr}/echo")
}

fn serve_echo(conn: TcpStream, passo: Arc<Mutex<String>>) {
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let mut w = conn;
    loop {
        let mut len = 0usize;
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            if let Some(token) = v.get("token").and_then(Value::as_str) {
                let (addr, token) = (passo.lock().unwrap().clone(), token.to_string());
                std::thread::spawn(move || {
                    let s = Client { addr };
                    s.call(
                        "SendTaskSuccess",
                        json!({"taskToken": token, "output": "{\"called\":true}"}),
                    );
                });
            }
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if w.write_all(head.as_bytes()).is_err() || w.write_all(&body).is_err() {
            return;
        }
    }
}

/// Activity workers that take tasks as fast as they come and answer at once.
fn workers(addr: &str, activity: &str, n: usize, stop: Arc<std::sync::atomic::AtomicBool>) {
    for i in 0..n {
        let c = Client {
            addr: addr.to_string(),
        };
        let (activity, stop) = (activity.to_string(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (status, t) = c.raw(
                    "GetActivityTask",
                    &json!({"activityArn": activity, "workerName": format!("w{i}")}).to_string(),
                    "",
                );
                assert_eq!(status, 200, "GetActivityTask: {t}");
                if let Some(token) = t["taskToken"].as_str() {
                    c.call(
                        "SendTaskSuccess",
                        json!({"taskToken": token, "output": "{\"worked\":true}"}),
                    );
                }
            }
        });
    }
}

/// A plain API client (the server process is the test's own `Server`).
struct Client {
    addr: String,
}

impl Client {
    fn raw(&self, action: &str, body: &str, headers: &str) -> (u16, Value) {
        raw_call(&self.addr, action, body, headers)
    }
    fn call(&self, action: &str, body: Value) -> Value {
        let (status, v) = self.raw(action, &body.to_string(), "");
        assert_eq!(status, 200, "{action}: {v}");
        v
    }
}

fn task(resource: &str, params: Value, next: Option<&str>) -> Value {
    let mut t = json!({"Type": "Task", "Resource": resource, "Parameters": params});
    match next {
        Some(n) => t["Next"] = json!(n),
        None => t["End"] = json!(true),
    }
    t
}

fn lambda(name: &str, next: Option<&str>) -> Value {
    task(
        "arn:aws:states:::lambda:invoke",
        json!({"FunctionName": name, "Payload.$": "$"}),
        next,
    )
}

/// A Parallel of two branches of the given Task states, then a last Task.
fn parallel_of(a: Value, b: Value, last: Value) -> Value {
    json!({"StartAt": "Par", "States": {
        "Par": {"Type": "Parallel", "Next": "C", "Branches": [
            {"StartAt": "A", "States": {"A": a}},
            {"StartAt": "B", "States": {"B": b}},
        ]},
        "C": last,
    }})
}

/// `def` with `first` (a Pass, a Wait 0) put before its StartAt.
fn after(first: Value, mut def: Value) -> Value {
    let start = def["StartAt"].as_str().unwrap().to_string();
    let mut f = first;
    f["Next"] = json!(start);
    def["States"]["First"] = f;
    def["StartAt"] = json!("First");
    def
}

fn inline_map(item: Value, mode: &str) -> Value {
    json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
        "ItemProcessor": {"ProcessorConfig": {"Mode": mode, "ExecutionType": "STANDARD"},
                          "StartAt": "T", "States": {"T": item}},
        "End": true}}})
}

/// Starts `n` executions one at a time, then `n` from 8 threads at once; answers their ARNs.
fn start_all(addr: &str, machine: &str, n: usize, input: &Value) -> Vec<String> {
    let c = Client {
        addr: addr.to_string(),
    };
    let mut arns = Vec::new();
    for _ in 0..n {
        let v = c.call(
            "StartExecution",
            json!({"stateMachineArn": machine, "input": input.to_string()}),
        );
        arns.push(v["executionArn"].as_str().unwrap().to_string());
    }
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (addr, machine, input) = (addr.to_string(), machine.to_string(), input.clone());
            std::thread::spawn(move || {
                let c = Client { addr };
                (0..n.div_ceil(8))
                    .map(|_| {
                        c.call(
                            "StartExecution",
                            json!({"stateMachineArn": machine, "input": input.to_string()}),
                        )["executionArn"]
                            .as_str()
                            .unwrap()
                            .to_string()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        arns.extend(h.join().unwrap());
    }
    arns
}

/// Waits (at most 60 s) for every execution to end; answers those still RUNNING.
fn stuck(s: &Server, arns: &[String]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut left: Vec<String> = arns.to_vec();
    while !left.is_empty() && Instant::now() < deadline {
        left.retain(|a| {
            s.call("DescribeExecution", json!({"executionArn": a}))["status"] == "RUNNING"
        });
        if !left.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    left
}

/// Every execution SUCCEEDED, its event ids run 1..n and each previous id points back.
fn assert_whole(s: &Server, arns: &[String], label: &str) {
    let stuck = stuck(s, arns);
    assert!(
        stuck.is_empty(),
        "{label}: {} of {} executions still RUNNING, e.g. {}",
        stuck.len(),
        arns.len(),
        stuck[0]
    );
    for a in arns {
        let d = s.call("DescribeExecution", json!({"executionArn": a}));
        assert_eq!(d["status"], "SUCCEEDED", "{label}: {a}: {d}");
    }
    for a in arns.iter().step_by(7) {
        let h = history(s, a);
        for (i, e) in h.iter().enumerate() {
            assert_eq!(e["id"], json!(i as u64 + 1), "{label}: {a}: ids not contiguous");
            assert!(
                e["previousEventId"].as_u64().unwrap() <= i as u64,
                "{label}: {a}: previousEventId points forward"
            );
        }
        let ends = h
            .iter()
            .filter(|e| e["type"] == "ExecutionSucceeded")
            .count();
        assert_eq!(ends, 1, "{label}: {a}: {ends} ExecutionSucceeded events");
    }
}

/// The invariant sweeper ran while the executions did, and never found one stranded.
fn assert_swept_clean(s: &Server) {
    std::thread::sleep(Duration::from_millis(1200));
    let (status, v) = raw_call(&s.addr, "Passo.DescribeServer", "{}", "");
    assert_eq!(status, 200, "{v}");
    assert!(v["sweeps"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["strandedFound"], 0, "the sweeper found stranded executions: {v}");
}

fn mocks_file(dir: &Path, machines: &[&str]) -> std::path::PathBuf {
    let cases: serde_json::Map<String, Value> = machines
        .iter()
        .map(|m| {
            (
                m.to_string(),
                json!({"TestCases": {"Fast": {"A": "Ok", "B": "Ok", "C": "Ok", "T": "Ok"}}}),
            )
        })
        .collect();
    let cfg = json!({"StateMachines": cases,
                     "MockedResponses": {"Ok": {"0": {"Return": {"StatusCode": 200, "Payload": {"ok": 1}}}}}});
    let path = dir.join("mocks.json");
    std::fs::write(&path, cfg.to_string()).unwrap();
    path
}

const N: usize = 120;

/// The reproducer and its variants, every Task mocked to answer at once.
#[test]
fn mocked_answers_at_the_first_step_never_strand() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["par", "pass-par", "wait0-par", "map", "dmap"];
    let mocks = mocks_file(dir.path(), &names);
    let s = Server::start(
        &dir.path().join("data"),
        &["--mock", mocks.to_str().unwrap(), "--sweep-seconds", "0.5"],
    );
    let par = parallel_of(lambda("a", None), lambda("b", None), lambda("c", None));
    let defs = [
        par.clone(),
        after(json!({"Type": "Pass"}), par.clone()),
        after(json!({"Type": "Wait", "Seconds": 0}), par),
        inline_map(lambda("t", None), "INLINE"),
        inline_map(lambda("t", None), "DISTRIBUTED"),
    ];
    let input = json!({"items": [1, 2, 3, 4, 5]});
    for (name, def) in names.iter().zip(defs) {
        let m = create(&s, name, "STANDARD", def);
        let arns = start_all(&s.addr, &format!("{m}#Fast"), N, &input);
        assert_whole(&s, &arns, name);
    }
    assert_swept_clean(&s);
}

fn project(dir: &Path, echo: &str) -> std::path::PathBuf {
    let p = dir.join("passo.toml");
    let toml = format!(
        "[functions.http]\nurl = \"{echo}\"\n\n[functions.cmd]\ncommand = [\"cat\"]\nconcurrency = 16\n"
    );
    std::fs::write(&p, toml).unwrap();
    p
}

/// HTTP and command functions, fast activity workers and callbacks answered before the
/// request carrying their token has returned.
#[test]
fn real_answers_racing_the_step_never_strand() {
    let dir = tempfile::tempdir().unwrap();
    let passo = Arc::new(Mutex::new(String::new()));
    let echo = echo_endpoint(passo.clone());
    let proj = project(dir.path(), &echo);
    let s = Server::start(
        &dir.path().join("data"),
        &["--project", proj.to_str().unwrap(), "--sweep-seconds", "0.5"],
    );
    *passo.lock().unwrap() = s.addr.clone();
    let act = s.call("CreateActivity", json!({"name": "work"}))["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    workers(&s.addr, &act, 4, stop.clone());
    let activity = |next: Option<&str>| {
        let mut t = json!({"Type": "Task", "Resource": act});
        match next {
            Some(n) => t["Next"] = json!(n),
            None => t["End"] = json!(true),
        }
        t
    };
    let callback = |next: Option<&str>| {
        task(
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            json!({"FunctionName": "http", "Payload": {"token.$": "$$.Task.Token"}}),
            next,
        )
    };
    let cases = [
        (
            "http-par",
            parallel_of(lambda("http", None), lambda("http", None), lambda("http", None)),
        ),
        (
            "cmd-par",
            parallel_of(lambda("cmd", None), lambda("cmd", None), lambda("cmd", None)),
        ),
        (
            "activity-par",
            parallel_of(activity(None), activity(None), activity(None)),
        ),
        (
            "callback-par",
            parallel_of(callback(None), callback(None), callback(None)),
        ),
        (
            "http-map",
            after(
                json!({"Type": "Wait", "Seconds": 0}),
                inline_map(lambda("http", None), "INLINE"),
            ),
        ),
    ];
    let input = json!({"items": [1, 2, 3, 4]});
    for (name, def) in cases {
        let m = create(&s, name, "STANDARD", def);
        let arns = start_all(&s.addr, &m, N, &input);
        assert_whole(&s, &arns, name);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_swept_clean(&s);
}
