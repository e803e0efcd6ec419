//! Several `passo server` nodes on loopback sharing one PostgreSQL database, for the fault
//! test of issue 18 part 3: each with its own data directory and port (kept across a
//! restart), one key ring for task tokens, and its own passo.toml pointing function `f` at
//! the ledger under the node's name. One node may reach PostgreSQL through a [`Proxy`].
//!
//! Each node is given `--node-id NAME --lease-ms N`. `PASSO_CLUSTER_NO_LEASE_FLAGS=1`
//! leaves those out, for a binary that predates them (every node then runs as if alone).

use super::proxy::Proxy;
use super::{free_addr, try_call_within, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Node {
    pub name: String,
    pub addr: String,
    data: PathBuf,
    log: PathBuf,
    database: String,
    project: PathBuf,
    lease_ms: u64,
    server: Option<Server>,
}

impl Node {
    /// Starts the node (again, after [`Node::kill`]) on its data directory and port.
    pub fn start(&mut self) {
        assert!(self.server.is_none(), "{} is already running", self.name);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_passo"));
        cmd.args(["server", "--listen", &self.addr, "--data-dir"])
            .arg(&self.data)
            .args(["--database", &self.database, "--project"])
            .arg(&self.project);
        if std::env::var("PASSO_CLUSTER_NO_LEASE_FLAGS").as_deref() != Ok("1") {
            cmd.args(["--node-id", &self.name])
                .args(["--lease-ms", &self.lease_ms.to_string()]);
        }
        let log = || {
            Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.log)
                    .unwrap(),
            )
        };
        // Plain log lines (no colour codes), to read and grep.
        cmd.env("NO_COLOR", "1");
        // Every claim and eviction, for a failure's evidence (`passo::lease` logs them at
        // debug level).
        cmd.env("RUST_LOG", "info,passo::lease=debug");
        let mut child = cmd.stdout(log()).stderr(log()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(&self.addr).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{} exited at start ({status}); its log:\n{}",
                    self.name,
                    self.log_tail(30)
                );
            }
            assert!(Instant::now() < deadline, "{} did not start", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
        self.server = Some(Server {
            child,
            addr: self.addr.clone(),
            log: Some(self.log.clone()),
            database: None,
        });
    }

    /// SIGKILL (std's `Child::kill` on Unix), and waits for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut s) = self.server.take() {
            s.kill();
        }
    }

    /// How the process ended, when it did without being killed by the test.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.server.as_mut()?.child.try_wait().ok()?
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("the node is running")
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(lines).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Log lines at WARN or ERROR level (for the summary).
    pub fn log_problems(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("panicked"))
            .map(String::from)
            .collect()
    }
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    /// Between node `proxied` and PostgreSQL.
    pub proxy: Proxy,
    pub proxied: usize,
    _dir: tempfile::TempDir,
}

/// `url` (postgres://[USER@]HOST:PORT/DB) with HOST:PORT replaced by `addr`.
fn through(url: &str, addr: &str) -> String {
    let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
    let (auth, rest) = match rest.split_once('@') {
        Some((user, rest)) => (format!("{user}@"), rest),
        None => (String::new(), rest),
    };
    let (_, db) = rest.split_once('/').expect("a database name");
    format!("postgres://{auth}{addr}/{db}")
}

/// HOST:PORT of `url`.
fn host_port(url: &str) -> String {
    let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
    let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
    rest.split_once('/').expect("a database name").0.to_string()
}

/// One key ring in every data directory, so that any node accepts the tokens another
/// minted. The server reads `token.keys` (one hex key a line, newest first) and makes one
/// only when there is none (`passo-server/src/token_keys.rs`), so writing the same file in
/// each before the nodes start is all it takes.
fn share_token_keys(dirs: &[PathBuf]) {
    let key: String = (0..2)
        .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
        .map(|b| format!("{b:02x}"))
        .collect();
    for d in dirs {
        let path = d.join("token.keys");
        std::fs::write(&path, format!("# cluster test\n{key}\n")).unwrap();
        // As the server keeps them (it narrows wider modes with a warning).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

impl Cluster {
    /// `n` nodes (not started) on the database `url`, node `proxied` through a proxy;
    /// function `f` of node NAME is `{ledger}NAME`.
    pub fn new(url: &str, ledger: &str, n: usize, proxied: usize, lease_ms: u64) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let proxy = Proxy::start(&host_port(url));
        let mut nodes = Vec::new();
        for i in 0..n {
            let name = format!("n{}", i + 1);
            let data = dir.path().join(&name);
            std::fs::create_dir_all(&data).unwrap();
            let project = dir.path().join(format!("{name}.toml"));
            std::fs::write(
                &project,
                format!("[functions.f]\nurl = \"{ledger}{name}\"\n"),
            )
            .unwrap();
            let database = if i == proxied {
                through(url, proxy.addr())
            } else {
                url.to_string()
            };
            nodes.push(Node {
                log: dir.path().join(format!("{name}.log")),
                name,
                addr: free_addr(),
                data,
                database,
                project,
                lease_ms,
                server: None,
            });
        }
        let dirs: Vec<PathBuf> = nodes.iter().map(|n| n.data.clone()).collect();
        share_token_keys(&dirs);
        Cluster {
            nodes,
            proxy,
            proxied,
            _dir: dir,
        }
    }

    /// Every node's address (fixed for the cluster's life).
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.addr.clone()).collect()
    }

    pub fn dir(&self) -> &Path {
        self._dir.path()
    }
}

/// How long a call may take before it is tried on another node.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `req` to the nodes from `first` on, round the ring, until one answers below 500
/// (a 4xx is an answer), for at most `patience`. Answers (node index, status, body).
pub fn call_any(
    addrs: &[String],
    first: usize,
    action: &str,
    req: &Value,
    patience: Duration,
) -> Option<(usize, u16, Value)> {
    call_any_noting(addrs, first, action, req, patience, &mut Vec::new())
}

/// [`call_any`], noting in `skipped` why each node passed over was (no answer within
/// [`CALL_TIMEOUT`], or its 5xx answer).
pub fn call_any_noting(
    addrs: &[String],
    first: usize,
    action: &str,
    req: &Value,
    patience: Duration,
    skipped: &mut Vec<String>,
) -> Option<(usize, u16, Value)> {
    let deadline = Instant::now() + patience;
    let mut i = first;
    while Instant::now() < deadline {
        let n = i % addrs.len();
        let sent = Instant::now();
        match try_call_within(&addrs[n], action, req, CALL_TIMEOUT) {
            Some((s, v)) if s < 500 => return Some((n, s, v)),
            other => {
                skipped.push(match other {
                    Some((s, v)) => format!("node {n}: {s} {}", error_code(&v)),
                    None if sent.elapsed() >= CALL_TIMEOUT => {
                        format!("node {n}: no answer within {} s", CALL_TIMEOUT.as_secs())
                    }
                    None => format!("node {n}: connection failed or closed"),
                });
                i += 1;
                if i % addrs.len() == first % addrs.len() {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
    None
}

/// The `__type` of an error answer, without its namespace.
pub fn error_code(v: &Value) -> String {
    let t = v["__type"].as_str().unwrap_or_default();
    t.rsplit('#').next().unwrap_or(t).to_string()
}

/// The execution names of machine `arn` with `status`, through any node.
pub fn names_with_status(addrs: &[String], arn: &str, status: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = json!({"stateMachineArn": arn, "statusFilter": status, "maxResults": 1000});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let Some((_, 200, v)) = call_any(addrs, 0, "ListExecutions", &req, Duration::from_secs(60))
        else {
            panic!("ListExecutions of {arn} got no answer from any node");
        };
        for e in v["executions"].as_array().unwrap() {
            names.push(e["name"].as_str().unwrap().to_string());
        }
        match v["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => return names,
        }
    }
}

/// The sum of every metric sample whose name contains `word`, over the nodes that answer
/// GET /metrics (None when no node has such a metric).
pub fn metric_sum(addrs: &[String], word: &str) -> Option<f64> {
    use std::io::{Read, Write};
    let mut sum = None;
    for a in addrs {
        let Ok(mut s) = std::net::TcpStream::connect(a) else {
            continue;
        };
        let _ = s.set_read_timeout(Some(CALL_TIMEOUT));
        let req = format!("GET /metrics HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n\r\n");
        if s.write_all(req.as_bytes()).is_err() {
            continue;
        }
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        for l in out.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, value)) = l.rsplit_once(' ') else {
                continue;
            };
            if name.contains(word) {
                if let Ok(v) = value.parse::<f64>() {
                    *sum.get_or_insert(0.0) += v;
                }
            }
        }
    }
    sum
}
