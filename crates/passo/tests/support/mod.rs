//! The real `passo server` binary driven over its HTTP API, for the integration tests.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Server {
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_passo"))
            .args(["server", "--listen", &addr, "--data-dir"])
            .arg(data)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, addr }
    }

    /// One API call: (HTTP status, JSON body).
    pub fn raw(&self, action: &str, body: &str, headers: &str) -> (u16, Value) {
        raw_call(&self.addr, action, body, headers)
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


/// One API call to the server at `addr` on a new connection: (HTTP status, JSON body).
pub fn raw_call(addr: &str, action: &str, body: &str, headers: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
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
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}
