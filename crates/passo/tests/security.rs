//! `passo server` tried as an attacker would, on its default settings and with the
//! settings that open it up: each attack is refused. (Signatures and task tokens have
//! their own tests: sigv4 unit tests, tests/e2e/test_sigv4.py, and the token tests.)

mod support;

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// Sends raw bytes on a new connection; answers (status, JSON body) of the reply.
fn send(addr: &str, raw: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A POST / with these headers (CRLF-separated, without the final blank line) and body.
fn post(addr: &str, headers: &str, body: &str) -> (u16, Value) {
    send(
        addr,
        &format!(
            "POST / HTTP/1.1\r\n{headers}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn aws_headers(host: &str, target: &str) -> String {
    format!("Host: {host}\r\nX-Amz-Target: {target}\r\nContent-Type: application/x-amz-json-1.0")
}

fn passo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_passo"))
        .args(args)
        .output()
        .unwrap()
}

fn free_port() -> u16 {
    let addr = support::free_addr();
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn command_functions_cannot_be_created_by_default_nor_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let body = json!({"name": "x", "command": ["sh", "-c", "touch /tmp/pwned"]}).to_string();
    let (status, v) = post(
        &s.addr,
        &aws_headers(&s.addr, "Passo.CreateFunction"),
        &body,
    );
    assert_eq!(
        (status, v["__type"].as_str()),
        (403, Some("AccessDeniedException")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("--allow-function-api"),
        "{v}"
    );
    // Asking for the function API without access keys is refused at start.
    let o = passo(&[
        "server",
        "--data-dir",
        dir.path().join("d2").to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--allow-function-api",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs --access-key"));
}

#[test]
fn rebound_host_names_and_browser_content_types_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--allowed-host", "passo.test"]);
    let port = s.addr.rsplit(':').next().unwrap();
    let list = "AWSStepFunctions.ListStateMachines";
    // A page on evil.example whose name now resolves to 127.0.0.1 (DNS rebinding).
    let (status, v) = post(
        &s.addr,
        &aws_headers(&format!("evil.example:{port}"), list),
        "{}",
    );
    assert_eq!(
        (status, v["__type"].as_str()),
        (403, Some("AccessDeniedException")),
        "{v}"
    );
    for ok in [
        s.addr.clone(),
        format!("localhost:{port}"),
        format!("passo.test:{port}"),
    ] {
        let (status, v) = post(&s.addr, &aws_headers(&ok, list), "{}");
        assert_eq!(status, 200, "{ok}: {v}");
    }
    // What a form or a fetch without a preflight can send.
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let h = format!(
            "Host: {}\r\nX-Amz-Target: {list}\r\nContent-Type: {ct}",
            s.addr
        );
        let (status, v) = post(&s.addr, &h, "{}");
        assert_eq!(
            (status, v["__type"].as_str()),
            (415, Some("UnsupportedMediaTypeException")),
            "{ct}: {v}"
        );
    }
    let (status, _) = post(
        &s.addr,
        &format!("Host: {}\r\nX-Amz-Target: {list}", s.addr),
        "{}",
    );
    assert_eq!(status, 415, "no Content-Type at all");
}

#[test]
fn a_public_address_needs_keys_or_an_explicit_opt_out() {
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("0.0.0.0:{}", free_port());
    let o = passo(&[
        "server",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--listen",
        &addr,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--access-key") && err.contains("--insecure-no-auth"),
        "{err}"
    );
    // With the opt-out it serves (reached here through loopback).
    let s = Server::start_with(dir.path(), &["--insecure-no-auth"], Some(&addr), None);
    let local = format!("127.0.0.1:{}", addr.rsplit(':').next().unwrap());
    let (status, v) = raw_call(&local, "ListStateMachines", "{}", "");
    assert_eq!(status, 200, "{v}");
    drop(s);
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn data_files_are_the_owners_alone_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // An existing data directory that was left wide, with a wide file in it.
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(data.join("token.key"), [7u8; 32]).unwrap();
    std::fs::set_permissions(
        data.join("token.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("log");
    let mut child = Command::new("sh")
        .args(["-c", "umask 022 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_passo"))
        .args(["server", "--listen", &addr, "--data-dir"])
        .arg(&data)
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Some writes, so that the WAL and shared-memory files exist.
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let req = json!({"name": "m", "definition": def.to_string(), "roleArn": "arn:aws:iam::123456789012:role/r"});
    let (status, v) = raw_call(&addr, "CreateStateMachine", &req.to_string(), "");
    assert_eq!(status, 200, "{v}");
    let (status, _) = raw_call(
        &addr,
        "StartExecution",
        &json!({"stateMachineArn": v["stateMachineArn"], "input": "{\"secret\": 1}"}).to_string(),
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(mode(&data), 0o700, "data directory");
    let mut seen = Vec::new();
    for e in std::fs::read_dir(&data).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        assert_eq!(mode(&e.path()), 0o600, "{name}");
        seen.push(name);
    }
    for f in ["passo.db", "passo.db-wal", "passo.db-shm", "token.keys"] {
        assert!(seen.iter().any(|s| s == f), "{f} missing from {seen:?}");
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("was readable by others"),
        "a warning names the wide files: {log}"
    );
}

#[test]
fn slow_and_idle_clients_are_cut_off_and_the_api_stays_responsive() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &[
            "--header-timeout-seconds",
            "1",
            "--body-timeout-seconds",
            "1",
            "--max-connections",
            "64",
        ],
    );
    // A slow-client flood: half-sent headers, nothing at all, a body that never ends.
    let mut slow = Vec::new();
    for i in 0..120 {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        let _ = match i % 3 {
            0 => c.write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Tar"),
            1 => Ok(()),
            _ => c.write_all(
                format!(
                    "POST / HTTP/1.1\r\nHost: {}\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 1000\r\n\r\n{{",
                    s.addr
                )
                .as_bytes(),
            ),
        };
        c.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
        slow.push(c);
    }
    // Over the cap, a client hears ServiceUnavailable at once (the SDKs retry it); within a
    // few seconds the slow ones are gone and calls succeed.
    let t0 = Instant::now();
    let mut served = None;
    while t0.elapsed() < Duration::from_secs(8) {
        let (status, v) = raw_call(&s.addr, "ListStateMachines", "{}", "");
        if status == 200 {
            served = Some(t0.elapsed());
            break;
        }
        assert_eq!(
            (status, v["__type"].as_str()),
            (503, Some("ServiceUnavailable")),
            "{v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let served = served.expect("the API answered within 8 s of the flood");
    assert!(served < Duration::from_secs(5), "{served:?}");
    // Every slow connection was closed by the server (a read ends, or answers 408).
    for (i, c) in slow.iter_mut().enumerate() {
        let mut buf = Vec::new();
        let r = c.read_to_end(&mut buf);
        assert!(r.is_ok(), "connection {i} left open: {r:?}");
        let text = String::from_utf8_lossy(&buf);
        // Within the cap a body that never ends gets 408; over it, 503 at once.
        let timed_out = text.contains(" 408 ") && text.contains("RequestTimeoutException");
        let over_cap = text.contains(" 503 ") && text.contains("ServiceUnavailable");
        assert!(text.is_empty() || timed_out || over_cap, "{text}");
    }
    // An idle keep-alive connection is closed after the timeout too.
    let mut c = TcpStream::connect(&s.addr).unwrap();
    let body = "{}";
    write!(
        c,
        "POST / HTTP/1.1\r\n{}\r\nContent-Length: {}\r\n\r\n{body}",
        aws_headers(&s.addr, "AWSStepFunctions.ListStateMachines"),
        body.len()
    )
    .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    let t0 = Instant::now();
    let mut buf = Vec::new();
    let r = c.read_to_end(&mut buf);
    assert!(r.is_ok(), "the idle connection was not closed: {r:?}");
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"));
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
}

#[test]
fn every_error_status_has_an_aws_shaped_body() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--max-request-bytes", "1000"]);
    let json_error = |status: u16, v: &Value, want: u16| {
        assert_eq!(status, want, "{v}");
        assert!(
            v["__type"].is_string() && v["message"].is_string(),
            "{want}: {v}"
        );
    };
    let (st, v) = send(
        &s.addr,
        &format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            s.addr
        ),
    );
    json_error(st, &v, 405);
    let (st, v) = send(
        &s.addr,
        &format!(
            "POST /nope HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            s.addr
        ),
    );
    json_error(st, &v, 404);
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(5000));
    let (st, v) = post(
        &s.addr,
        &aws_headers(&s.addr, "AWSStepFunctions.ListStateMachines"),
        &big,
    );
    json_error(st, &v, 413);
    assert_eq!(v["__type"], "RequestEntityTooLargeException");
    let h = format!(
        "{}\r\nX-Padding: {}",
        aws_headers(&s.addr, "AWSStepFunctions.ListStateMachines"),
        "p".repeat(20_000)
    );
    let (st, v) = post(&s.addr, &h, "{}");
    json_error(st, &v, 431);
    // A name that is not a string is refused, not replaced.
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let m = create(&s, "m", "STANDARD", def);
    let (st, v) = raw_call(
        &s.addr,
        "StartExecution",
        &json!({"stateMachineArn": m, "name": 12345}).to_string(),
        "",
    );
    json_error(st, &v, 400);
    assert_eq!(v["__type"], "ValidationException");
}
