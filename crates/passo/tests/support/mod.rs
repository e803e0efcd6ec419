//! The real `passo server` binary driven over its HTTP API, for the integration tests;
//! [`peers`] are the parties that answer its tasks (a function endpoint, activity workers).
#![allow(dead_code)]

pub mod boto3;
pub mod cluster;
pub mod defs;
pub mod ledger;
pub mod load;
pub mod mix;
pub mod moto;
pub mod peers;
pub mod proxy;

use passo_store::scratch::ScratchDatabase;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub addr: String,
    /// Where its log goes (told when a call gets no answer).
    pub log: Option<std::path::PathBuf>,
    /// The PostgreSQL database it runs on (see [`scratch_database`]); dropped after it.
    pub database: Option<Arc<ScratchDatabase>>,
}

/// With `PASSO_TEST_ON_POSTGRES=1`, every server the tests start keeps its executions in a
/// scratch PostgreSQL database (on `PASSO_TEST_POSTGRES`, by default the local server), one
/// per data directory, so that a server restarted on the same directory finds its
/// executions again; the database is dropped with the last server using it.
pub fn scratch_database(data: &Path) -> Option<Arc<ScratchDatabase>> {
    if std::env::var("PASSO_TEST_ON_POSTGRES").as_deref() != Ok("1") {
        return None;
    }
    static OPEN: Mutex<Vec<(PathBuf, Weak<ScratchDatabase>)>> = Mutex::new(Vec::new());
    let mut open = OPEN.lock().unwrap();
    open.retain(|(_, db)| db.strong_count() > 0);
    if let Some(db) = open
        .iter()
        .find(|(p, _)| p == data)
        .and_then(|(_, db)| db.upgrade())
    {
        return Some(db);
    }
    let server = std::env::var("PASSO_TEST_POSTGRES")
        .unwrap_or_else(|_| passo_store::scratch::DEFAULT_SERVER.to_string());
    let db = Arc::new(ScratchDatabase::create(&server).unwrap_or_else(|e| {
        panic!("PASSO_TEST_ON_POSTGRES=1, but no PostgreSQL at {server}: {e}")
    }));
    open.push((data.to_path_buf(), Arc::downgrade(&db)));
    Some(db)
}

impl Server {
    /// Starts a server on `data`, its log in `data.log` beside it.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        let log = data.with_extension("log");
        Server::start_with(data, extra, None, Some(&log))
    }

    /// Starts the server at `addr` (a free port when None), its log lines in `log`.
    pub fn start_with(
        data: &Path,
        extra: &[&str],
        addr: Option<&str>,
        log: Option<&Path>,
    ) -> Server {
        Server::start_env(data, extra, addr, log, &[])
    }

    /// [`Server::start_with`], with these environment variables set for the server.
    pub fn start_env(
        data: &Path,
        extra: &[&str],
        addr: Option<&str>,
        log: Option<&Path>,
        env: &[(&str, String)],
    ) -> Server {
        let addr = addr.map(String::from).unwrap_or_else(free_addr);
        let database = scratch_database(data);
        let on = database.iter().flat_map(|d| ["--database", d.url()]);
        // The server logs to stdout (tracing's default) and prints errors to stderr.
        let out = || match log {
            Some(p) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .unwrap(),
            ),
            None => Stdio::null(),
        };
        let child = Command::new(env!("CARGO_BIN_EXE_passo"))
            .args(["server", "--listen", &addr, "--data-dir"])
            .arg(data)
            .args(on)
            .args(extra)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(out())
            .stderr(out())
            .spawn()
            .unwrap();
        let mut child = child;
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the server at {addr} exited at start: {status}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            child,
            addr,
            log: log.map(Path::to_path_buf),
            database,
        }
    }

    /// One API call: (HTTP status, JSON body). No answer fails the test with whether the
    /// server still runs and the end of its log.
    pub fn raw(&self, action: &str, body: &str, headers: &str) -> (u16, Value) {
        if let Some(answer) = exchange(&self.addr, action, body, headers) {
            return answer;
        }
        let alive = Path::new(&format!("/proc/{}", self.child.id())).exists();
        let log = self
            .log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        panic!(
            "{action}: the server at {} gave no answer (process {}); its log ends:\n{}",
            self.addr,
            if alive { "running" } else { "gone" },
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }

    pub fn call(&self, action: &str, body: Value) -> Value {
        let (status, v) = self.raw(action, &body.to_string(), "");
        assert_eq!(status, 200, "{action}: {v}");
        v
    }

    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn create(s: &Server, name: &str, kind: &str, def: Value) -> String {
    s.call(
        "CreateStateMachine",
        json!({"name": name, "type": kind, "definition": def.to_string(),
               "roleArn": "arn:aws:iam::123456789012:role/t"}),
    )["stateMachineArn"]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn history(s: &Server, arn: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = json!({"executionArn": arn, "maxResults": 1000});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let v = s.call("GetExecutionHistory", req);
        events.extend(v["events"].as_array().unwrap().iter().cloned());
        match v["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => return events,
        }
    }
}

/// A loopback address no other test of this process is given. Ports come from a range of
/// their own (below the kernel's ephemeral ports, which `bind(0)` hands out and hands out
/// again once released), offset by the process id, each checked free before it is used.
pub fn free_addr() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = 20_000 + (std::process::id() * 97) % 9_000;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20_000 + (base - 20_000 + n) % 10_000;
        let addr = format!("127.0.0.1:{port}");
        if std::net::TcpListener::bind(&addr).is_ok() {
            return addr;
        }
    }
}

/// One API call to the server at `addr` on a new connection: (HTTP status, JSON body).
pub fn raw_call(addr: &str, action: &str, body: &str, headers: &str) -> (u16, Value) {
    exchange(addr, action, body, headers)
        .unwrap_or_else(|| panic!("{action}: the server at {addr} gave no answer"))
}

/// One API call that may fail (the server being killed or restarted): None on a broken
/// connection, else (HTTP status, JSON body).
pub fn try_call(addr: &str, action: &str, body: &Value) -> Option<(u16, Value)> {
    exchange(addr, action, &body.to_string(), "")
}

/// [`try_call`] that also gives up (None) when the answer takes longer than `timeout`: a
/// server cut off from its database may hold a call for long.
pub fn try_call_within(
    addr: &str,
    action: &str,
    body: &Value,
    timeout: Duration,
) -> Option<(u16, Value)> {
    exchange_within(addr, action, &body.to_string(), "", timeout)
}

/// Sends one call on a new connection and reads the whole answer.
fn exchange(addr: &str, action: &str, body: &str, headers: &str) -> Option<(u16, Value)> {
    exchange_within(addr, action, body, headers, Duration::from_secs(90))
}

fn exchange_within(
    addr: &str,
    action: &str,
    body: &str,
    headers: &str,
    timeout: Duration,
) -> Option<(u16, Value)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    // A bare action is Step Functions'; `Passo.X` and the like are sent as given.
    let target = if action.contains('.') {
        action.to_string()
    } else {
        format!("AWSStepFunctions.{action}")
    };
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: {target}\r\nContent-Type: application/x-amz-json-1.0\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// Waits (at most `secs`) for every execution to end; answers those still RUNNING.
pub fn still_running(s: &Server, arns: &[String], secs: u64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
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

/// A history's own consistency: ids 1..n, each previous id earlier, one end event, every
/// state entered exited once (a SUCCEEDED execution), every task scheduled answered once.
pub fn check_history(h: &[Value]) -> Result<(), String> {
    let mut entered = 0;
    let mut exited = 0;
    let (mut scheduled, mut answered) = (0, 0);
    for (i, e) in h.iter().enumerate() {
        if e["id"] != json!(i as u64 + 1) {
            return Err(format!("event {} has id {}", i + 1, e["id"]));
        }
        if e["previousEventId"].as_u64().unwrap_or(0) > i as u64 {
            return Err(format!("event {} points forward", i + 1));
        }
        let t = e["type"].as_str().unwrap_or_default();
        if t.ends_with("StateEntered") {
            entered += 1;
        }
        if t.ends_with("StateExited") {
            exited += 1;
        }
        if matches!(
            t,
            "TaskScheduled" | "ActivityScheduled" | "LambdaFunctionScheduled"
        ) {
            scheduled += 1;
        }
        if matches!(
            t,
            "TaskSucceeded"
                | "TaskFailed"
                | "TaskTimedOut"
                | "ActivitySucceeded"
                | "ActivityFailed"
                | "ActivityTimedOut"
                | "LambdaFunctionSucceeded"
                | "LambdaFunctionFailed"
                | "LambdaFunctionTimedOut"
        ) {
            answered += 1;
        }
    }
    let ends = h
        .iter()
        .filter(|e| {
            matches!(
                e["type"].as_str(),
                Some(
                    "ExecutionSucceeded"
                        | "ExecutionFailed"
                        | "ExecutionAborted"
                        | "ExecutionTimedOut"
                )
            )
        })
        .count();
    if ends != 1 {
        return Err(format!("{ends} end events"));
    }
    if h.last().and_then(|e| e["type"].as_str()) == Some("ExecutionSucceeded") && entered != exited
    {
        return Err(format!("{entered} states entered, {exited} exited"));
    }
    if scheduled != answered {
        return Err(format!("{scheduled} tasks scheduled, {answered} answered"));
    }
    Ok(())
}
