//! The parties that answer a server's tasks: a function endpoint (HTTP) that counts its
//! calls and answers callback tokens, and activity workers. Both follow the server across
//! restarts (its address is shared) and live through its being killed.

use super::try_call;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the server is now (changes when a test restarts it elsewhere).
pub type Addr = Arc<Mutex<String>>;

/// Calls the endpoint received, by the payload's `exec` field (when it has one).
pub type Calls = Arc<Mutex<HashMap<String, usize>>>;

/// A function endpoint answering every POST with its body. A body with a `token` is also
/// answered with SendTaskSuccess from another thread, racing the response that carries it.
pub fn echo_endpoint(passo: Addr) -> (String, Calls) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let calls: Calls = Default::default();
    let c = calls.clone();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let (passo, calls) = (passo.clone(), c.clone());
            std::thread::spawn(move || serve_echo(conn, passo, calls));
        }
    });
    (format!("http://{addr}/echo"), calls)
}

fn serve_echo(conn: TcpStream, passo: Addr, calls: Calls) {
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let mut w = conn;
    while let Some((_, body)) = read_request(&mut r) {
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            if let Some(e) = v.get("exec").and_then(Value::as_str) {
                *calls.lock().unwrap().entry(e.to_string()).or_default() += 1;
            }
            if let Some(token) = v.get("token").and_then(Value::as_str) {
                let (passo, token) = (passo.clone(), token.to_string());
                std::thread::spawn(move || {
                    let req = json!({"taskToken": token, "output": "{\"called\":true}"});
                    send_until_answered(&passo, "SendTaskSuccess", &req);
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

/// The next request on a keep-alive connection: its path and body (None once the
/// connection closes).
pub fn read_request(r: &mut impl BufRead) -> Option<(String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let path = line.split(' ').nth(1).unwrap_or("/").to_string();
    let mut len = 0usize;
    loop {
        let mut header = String::new();
        if r.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let h = header.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some((path, body))
}

/// Sends a request until the server answers it (it may be down for a restart), at most a
/// minute; answers the last reply. A refusal (4xx, e.g. a token whose task closed) is an
/// answer too.
pub fn send_until_answered(passo: &Addr, action: &str, req: &Value) -> Option<(u16, Value)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let addr = passo.lock().unwrap().clone();
        match try_call(&addr, action, req) {
            Some((s, v)) if s < 500 => return Some((s, v)),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    None
}

/// `n` activity workers that take tasks as fast as they come and answer at once, until
/// `stop` is set.
pub fn workers(passo: Addr, activity: &str, n: usize, stop: Arc<AtomicBool>) {
    for i in 0..n {
        let (passo, activity, stop) = (passo.clone(), activity.to_string(), stop.clone());
        std::thread::spawn(move || {
            let poll = json!({"activityArn": activity, "workerName": format!("w{i}")});
            while !stop.load(Ordering::Relaxed) {
                let addr = passo.lock().unwrap().clone();
                match try_call(&addr, "GetActivityTask", &poll) {
                    Some((200, t)) => {
                        if let Some(token) = t["taskToken"].as_str() {
                            let req = json!({"taskToken": token, "output": "{\"worked\":true}"});
                            send_until_answered(&passo, "SendTaskSuccess", &req);
                        }
                    }
                    _ => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        });
    }
}
