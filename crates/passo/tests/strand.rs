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
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::defs::*;
use support::peers::{echo_endpoint, workers};
use support::*;

/// Starts `n` executions one at a time, then `n` from 8 threads at once; answers their ARNs.
fn start_all(addr: &str, machine: &str, n: usize, input: &Value) -> Vec<String> {
    let start = |addr: &str| {
        let req = json!({"stateMachineArn": machine, "input": input.to_string()});
        let (status, v) = raw_call(addr, "StartExecution", &req.to_string(), "");
        assert_eq!(status, 200, "StartExecution: {v}");
        v["executionArn"].as_str().unwrap().to_string()
    };
    let mut arns: Vec<String> = (0..n).map(|_| start(addr)).collect();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (addr, machine, input) = (addr.to_string(), machine.to_string(), input.clone());
            std::thread::spawn(move || {
                let req = json!({"stateMachineArn": machine, "input": input.to_string()});
                (0..n.div_ceil(8))
                    .map(|_| {
                        let (status, v) = raw_call(&addr, "StartExecution", &req.to_string(), "");
                        assert_eq!(status, 200, "StartExecution: {v}");
                        v["executionArn"].as_str().unwrap().to_string()
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

/// Every execution ended SUCCEEDED with a whole history.
fn assert_whole(s: &Server, arns: &[String], label: &str) {
    let stuck = still_running(s, arns, 60);
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
        if let Err(e) = check_history(&history(s, a)) {
            panic!("{label}: {a}: {e}");
        }
    }
}

/// The invariant sweeper ran while the executions did, and never found one stranded.
fn assert_swept_clean(s: &Server) {
    std::thread::sleep(Duration::from_millis(1200));
    let (status, v) = raw_call(&s.addr, "Passo.DescribeServer", "{}", "");
    assert_eq!(status, 200, "{v}");
    assert!(v["sweeps"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(
        v["strandedFound"], 0,
        "the sweeper found stranded executions: {v}"
    );
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
        map_of(lambda("t", None), "INLINE"),
        map_of(lambda("t", None), "DISTRIBUTED"),
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
    let (echo, _) = echo_endpoint(passo.clone());
    let proj = project(dir.path(), &echo);
    let s = Server::start(
        &dir.path().join("data"),
        &[
            "--project",
            proj.to_str().unwrap(),
            "--sweep-seconds",
            "0.5",
        ],
    );
    *passo.lock().unwrap() = s.addr.clone();
    let act = s.call("CreateActivity", json!({"name": "work"}))["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    workers(passo.clone(), &act, 4, stop.clone());
    let activity = |next: Option<&str>| {
        let mut t = json!({"Type": "Task", "Resource": act});
        end_or(&mut t, next);
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
            parallel_of(
                lambda("http", None),
                lambda("http", None),
                lambda("http", None),
            ),
        ),
        (
            "cmd-par",
            parallel_of(
                lambda("cmd", None),
                lambda("cmd", None),
                lambda("cmd", None),
            ),
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
                map_of(lambda("http", None), "INLINE"),
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
