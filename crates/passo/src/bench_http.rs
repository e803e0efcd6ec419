//! `passo bench --http`: Passo's server measured through its API with a native load
//! generator (keep-alive HTTP/1.1 connections, one request in flight on each), because a
//! Python client saturates near 1,000 requests/s and would measure itself.
//!
//! Measurements on W1 (10 Pass states):
//! 1. Express: StartSyncExecution over N connections;
//! 2. Standard: StartExecution run to completion, durable (W1 completes within the start
//!    step, whose commit precedes the answer), then checked through ListExecutions;
//! 3. webhooks (`bench_webhooks`): HMAC-signed POSTs starting Express and Standard W1;
//! 4. parked: M Standard executions started into a one-hour Wait; the server's RSS; then a
//!    restart (SIGKILL) and a count of the executions still RUNNING.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct HttpArgs {
    pub connections: usize,
    pub seconds: f64,
    pub parked: usize,
    pub endpoint: Option<String>,
    pub w1: PathBuf,
}

/// One keep-alive connection speaking just enough HTTP/1.1 for the JSON protocol.
pub(crate) struct Conn {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
}

impl Conn {
    pub(crate) async fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            host: addr.to_string(),
            buf: Vec::with_capacity(8192),
        })
    }

    async fn call(&mut self, action: &str, body: &str) -> std::io::Result<(u16, Vec<u8>)> {
        let headers = format!(
            "X-Amz-Target: AWSStepFunctions.{action}\r\nContent-Type: application/x-amz-json-1.0\r\n"
        );
        self.post("/", &headers, body).await
    }

    /// A POST of `body` to `path` with `headers` (each line ending in \r\n): the status and
    /// the response body.
    pub(crate) async fn post(
        &mut self,
        path: &str,
        headers: &str,
        body: &str,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.stream.write_all(req.as_bytes()).await?;
        self.buf.clear();
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
                let status: u16 = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + len {
                    let n = self.stream.read(&mut chunk).await?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                return Ok((status, self.buf[end + 4..end + 4 + len].to_vec()));
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    pub(crate) async fn json(&mut self, action: &str, body: &Value) -> anyhow::Result<Value> {
        let (status, bytes) = self.call(action, &body.to_string()).await?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status != 200 {
            anyhow::bail!("{action} answered {status}: {v}");
        }
        Ok(v)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A server started by the benchmark, with its own data directory.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
    pub(crate) data: PathBuf,
}

impl Server {
    fn start(data: PathBuf, port: u16) -> anyhow::Result<Server> {
        Server::start_with(data, port, &[])
    }

    /// A server with `extra` arguments (e.g. `--buckets-dir DIR`).
    pub(crate) fn start_with(data: PathBuf, port: u16, extra: &[&str]) -> anyhow::Result<Server> {
        let exe = std::env::current_exe()?;
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(exe)
            .args(["server", "--listen", &addr, "--data-dir"])
            .arg(&data)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let s = Server { child, addr, data };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(&s.addr).is_err() {
            if Instant::now() > deadline {
                anyhow::bail!("the server did not start listening on {}", s.addr);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(s)
    }

    pub(crate) fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    /// CPU time the server has used so far, user and system, all its threads (from
    /// /proc; None where there is none).
    pub(crate) fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name (which may hold spaces, inside parentheses):
        // utime and stime are the 14th and 15th of the line, in clock ticks (100 a second
        // on Linux whatever the kernel's tick rate: USER_HZ).
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(ticks as f64 / 100.0)
    }

    /// Bytes the server has caused to be written to storage so far (/proc's `write_bytes`:
    /// counted when a page is dirtied, so the database's and its log's writes, not the
    /// sockets').
    pub(crate) fn written_bytes(&self) -> Option<u64> {
        let io = std::fs::read_to_string(format!("/proc/{}/io", self.child.id())).ok()?;
        io.lines()
            .find_map(|l| l.strip_prefix("write_bytes:"))
            .and_then(|v| v.trim().parse().ok())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// States W1 enters (its ten Pass states).
pub(crate) const W1_TRANSITIONS: f64 = 10.0;

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18083)
}

pub(crate) struct Run {
    pub(crate) count: usize,
    pub(crate) errors: usize,
    pub(crate) elapsed: Duration,
    pub(crate) latencies_us: Vec<u64>,
}

impl Run {
    pub(crate) fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }

    pub(crate) fn print(&self, what: &str) {
        outln!(
            "{what:<40} {:>9} {:>11.0} {:>9.2} {:>9.2} {:>7}",
            self.count,
            self.count as f64 / self.elapsed.as_secs_f64(),
            self.pct(0.5),
            self.pct(0.99),
            self.errors
        );
    }
}

/// `connections` clients call `action` with a body made by `body(i)` until `seconds` pass
/// (or `total` calls are made).
async fn load(
    addr: &str,
    connections: usize,
    seconds: f64,
    total: Option<usize>,
    action: &'static str,
    body: impl Fn(usize) -> String + Send + Sync + 'static,
) -> anyhow::Result<Run> {
    let headers = format!(
        "X-Amz-Target: AWSStepFunctions.{action}\r\nContent-Type: application/x-amz-json-1.0\r\n"
    );
    load_posts(addr, connections, seconds, total, "/", &headers, body).await
}

/// `connections` clients POST a body made by `body(i)` to `path` with `headers` (lines
/// ending in \r\n) until `seconds` pass (or `total` calls are made).
pub(crate) async fn load_posts(
    addr: &str,
    connections: usize,
    seconds: f64,
    total: Option<usize>,
    path: &str,
    headers: &str,
    body: impl Fn(usize) -> String + Send + Sync + 'static,
) -> anyhow::Result<Run> {
    let addrs = [addr.to_string()];
    load_spread(&addrs, connections, seconds, total, path, headers, body).await
}

/// [`load_posts`] with the connections spread round-robin over several servers.
pub(crate) async fn load_spread(
    addrs: &[String],
    connections: usize,
    seconds: f64,
    total: Option<usize>,
    path: &str,
    headers: &str,
    body: impl Fn(usize) -> String + Send + Sync + 'static,
) -> anyhow::Result<Run> {
    let body = std::sync::Arc::new(body);
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let addr = addrs[c % addrs.len()].clone();
        let (path, headers) = (path.to_string(), headers.to_string());
        let body = body.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            let mut lat = Vec::new();
            let mut errors = 0;
            loop {
                let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if total.is_some_and(|t| i >= t) || (total.is_none() && Instant::now() >= deadline)
                {
                    break;
                }
                let t0 = Instant::now();
                let (status, _) = conn.post(&path, &headers, &body(i)).await?;
                lat.push(t0.elapsed().as_micros() as u64);
                if status != 200 {
                    errors += 1;
                }
            }
            Ok::<_, std::io::Error>((lat, errors))
        }));
    }
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await??;
        latencies_us.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed();
    latencies_us.sort_unstable();
    Ok(Run {
        count: latencies_us.len(),
        errors,
        elapsed,
        latencies_us,
    })
}

pub(crate) async fn create(
    conn: &mut Conn,
    name: &str,
    kind: &str,
    definition: &str,
) -> anyhow::Result<String> {
    let v = conn
        .json(
            "CreateStateMachine",
            &json!({"name": name, "type": kind, "definition": definition,
                    "roleArn": "arn:aws:iam::123456789012:role/passo-bench"}),
        )
        .await?;
    Ok(v["stateMachineArn"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Bytes of the files in a data directory (the SQLite database and its write-ahead log).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

pub(crate) async fn count_executions(
    conn: &mut Conn,
    machine: &str,
    status: &str,
) -> anyhow::Result<usize> {
    let mut n = 0;
    let mut token: Option<String> = None;
    loop {
        let mut req =
            json!({"stateMachineArn": machine, "statusFilter": status, "maxResults": 1000});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let v = conn.json("ListExecutions", &req).await?;
        n += v["executions"].as_array().map_or(0, Vec::len);
        match v["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(n),
        }
    }
}

async fn run_all(a: &HttpArgs) -> anyhow::Result<()> {
    let w1 = std::fs::read_to_string(&a.w1)?;
    let tmp = std::env::temp_dir().join(format!("passo-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let mut server = match &a.endpoint {
        Some(_) => None,
        None => Some(Server::start(tmp.join("data"), free_port())?),
    };
    let addr = match (&a.endpoint, &server) {
        (Some(e), _) => e
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string(),
        (None, Some(s)) => s.addr.clone(),
        _ => unreachable!(),
    };
    let mut admin = Conn::open(&addr).await?;
    let tag = std::process::id();
    let express = create(&mut admin, &format!("w1-express-{tag}"), "EXPRESS", &w1).await?;
    let standard = create(&mut admin, &format!("w1-standard-{tag}"), "STANDARD", &w1).await?;
    outln!(
        "{:<40} {:>9} {:>11} {:>9} {:>9} {:>7}",
        "passo server, W1 over HTTP",
        "calls",
        "exec/s",
        "p50 ms",
        "p99 ms",
        "errors"
    );
    let body = format!(r#"{{"stateMachineArn":"{express}","input":"{{}}"}}"#);
    // A short warm-up, then the measurement.
    let b = body.clone();
    load(
        &addr,
        a.connections,
        0.5,
        None,
        "StartSyncExecution",
        move |_| b.clone(),
    )
    .await?;
    let cpu0 = server.as_ref().and_then(Server::cpu_seconds);
    let run = load(
        &addr,
        a.connections,
        a.seconds,
        None,
        "StartSyncExecution",
        move |_| body.clone(),
    )
    .await?;
    let cpu1 = server.as_ref().and_then(Server::cpu_seconds);
    run.print(&format!(
        "Express StartSyncExecution, {} conns",
        a.connections
    ));
    if let (Some(c0), Some(c1)) = (cpu0, cpu1) {
        outln!(
            "  server CPU: {:.1} us per request (user + system, every thread; the load generator's own excluded)",
            (c1 - c0) * 1e6 / run.count.max(1) as f64
        );
    }

    let sm = standard.clone();
    let cpu0 = server.as_ref().and_then(Server::cpu_seconds);
    let written0 = server.as_ref().and_then(Server::written_bytes);
    let run = load(
        &addr,
        a.connections,
        a.seconds,
        None,
        "StartExecution",
        move |i| format!(r#"{{"stateMachineArn":"{sm}","name":"e{i}","input":"{{}}"}}"#),
    )
    .await?;
    let cpu1 = server.as_ref().and_then(Server::cpu_seconds);
    let written1 = server.as_ref().and_then(Server::written_bytes);
    run.print(&format!(
        "Standard StartExecution (durable), {} conns",
        a.connections
    ));
    let done = count_executions(&mut admin, &standard, "SUCCEEDED").await?;
    outln!(
        "  checked: {done} of {} Standard executions SUCCEEDED ({:.0} state transitions/s)",
        run.count,
        done as f64 * W1_TRANSITIONS / run.elapsed.as_secs_f64()
    );
    if let (Some(c0), Some(c1), Some(w0), Some(w1)) = (cpu0, cpu1, written0, written1) {
        let per = (w1 - w0) as f64 / run.count.max(1) as f64;
        outln!(
            "  written to storage: {per:.0} bytes per execution, {:.0} per state transition (database and log); server CPU {:.1} us per execution",
            per / W1_TRANSITIONS,
            (c1 - c0) * 1e6 / run.count.max(1) as f64
        );
    }

    // Nested executions: a Standard parent whose Task runs a Standard child to completion
    // (`.sync:2`); timed from the first start until every parent has SUCCEEDED.
    let child_def = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;
    let child = create(
        &mut admin,
        &format!("nested-child-{tag}"),
        "STANDARD",
        child_def,
    )
    .await?;
    let parent_def = json!({"StartAt": "Child", "States": {"Child": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": child, "Input.$": "$"}, "End": true}}})
    .to_string();
    let parent = create(
        &mut admin,
        &format!("nested-parent-{tag}"),
        "STANDARD",
        &parent_def,
    )
    .await?;
    let t0 = Instant::now();
    let sm = parent.clone();
    let run = load(
        &addr,
        a.connections,
        a.seconds,
        None,
        "StartExecution",
        move |i| format!(r#"{{"stateMachineArn":"{sm}","name":"n{i}","input":"{{}}"}}"#),
    )
    .await?;
    let mut done = 0;
    while t0.elapsed() < Duration::from_secs(300) {
        done = count_executions(&mut admin, &parent, "SUCCEEDED").await?;
        if done >= run.count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    outln!(
        "Nested .sync:2 (parent + child), {} conns: {done} of {} parents SUCCEEDED in {secs:.1} s, {:.0} parent+child pairs/s",
        a.connections,
        run.count,
        done as f64 / secs
    );

    crate::bench_webhooks::run(&addr, a.connections, a.seconds, &mut admin, &w1, tag).await?;

    if a.parked > 0 {
        let wait = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"Next":"P"},"P":{"Type":"Pass","End":true}}}"#;
        let parked = create(&mut admin, &format!("parked-{tag}"), "STANDARD", wait).await?;
        let sm = parked.clone();
        // The database already holds the runs above: the parked executions' share is what
        // it grew by while they were started.
        let before = server.as_ref().map_or(0, |s| dir_bytes(&s.data));
        let run = load(
            &addr,
            a.connections,
            0.0,
            Some(a.parked),
            "StartExecution",
            move |i| format!(r#"{{"stateMachineArn":"{sm}","name":"p{i}","input":"{{}}"}}"#),
        )
        .await?;
        run.print(&format!(
            "Standard into a 1 h Wait, {} conns",
            a.connections
        ));
        if let Some(s) = server.as_mut() {
            outln!(
                "  server RSS with {} parked: {:.0} MB",
                a.parked,
                s.rss_mb()
            );
            let data = s.data.clone();
            s.kill();
            let bytes = dir_bytes(&data);
            let wal = std::fs::metadata(data.join("passo.db-wal")).map_or(0, |m| m.len());
            let each = bytes.saturating_sub(before).max(1) as f64 / a.parked as f64;
            outln!(
                "  database with {} parked: {:.0} MB in all with its write-ahead log of {:.0} MB; grew {:.0} bytes per parked execution ({:.2} million per GB)",
                a.parked,
                bytes as f64 / 1e6,
                wal as f64 / 1e6,
                each,
                1e9 / each / 1e6
            );
            let t0 = Instant::now();
            let s2 = Server::start(data, free_port())?;
            let listening = t0.elapsed();
            let mut c = Conn::open(&s2.addr).await?;
            let running = count_executions(&mut c, &parked, "RUNNING").await?;
            outln!(
                "  after SIGKILL: serving again in {:.1} s, {running} of {} RUNNING (listed in {:.1} s more), RSS {:.0} MB",
                listening.as_secs_f64(),
                a.parked,
                (t0.elapsed() - listening).as_secs_f64(),
                s2.rss_mb()
            );
            server = Some(s2);
        }
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

pub fn main(a: HttpArgs) -> ExitCode {
    load_generator(run_all(&a))
}

/// Runs a benchmark's load on one worker thread (the rest of the machine is the servers'),
/// and turns its outcome into the exit code.
pub(crate) fn load_generator(
    work: impl std::future::Future<Output = anyhow::Result<()>>,
) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
