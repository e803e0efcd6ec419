//! The function endpoint every node's Tasks call, keeping a ledger of each invocation: which
//! node sent it (each node's function URL ends in its name), when, and its key (execution,
//! state, attempt, Map item). It fails the first attempt of a payload marked `flaky`, and
//! hands the callback tokens it is sent to the test, which answers them.
//!
//! The payload is what the machines of [`super::mix`] pass: `{"exec", "state", "attempt",
//! "item"?, "flaky"?, "token"?}`.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What one invocation was for. `item` is the Map item's index (None outside a Map).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub exec: String,
    pub state: String,
    pub attempt: u64,
    pub item: Option<u64>,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} attempt {}", self.exec, self.state, self.attempt)?;
        if let Some(i) = self.item {
            write!(f, " item {i}")?;
        }
        Ok(())
    }
}

/// One invocation: the node that sent it and when it arrived.
#[derive(Debug, Clone)]
pub struct Call {
    pub node: String,
    pub at: Instant,
}

/// A callback token received, for the test to answer.
pub struct Token {
    pub exec: String,
    pub token: String,
}

pub struct Ledger {
    /// `http://127.0.0.1:PORT/` (a node's function URL is this plus its name).
    pub base: String,
    calls: Arc<Mutex<HashMap<Key, Vec<Call>>>>,
}

impl Ledger {
    /// Serves on a free loopback port; tokens go to the receiver answered.
    pub fn start() -> (Ledger, Receiver<Token>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/", l.local_addr().unwrap());
        let calls: Arc<Mutex<HashMap<Key, Vec<Call>>>> = Default::default();
        let (tx, rx) = channel();
        let c = calls.clone();
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                let (calls, tx) = (c.clone(), tx.clone());
                std::thread::spawn(move || serve(conn, calls, tx));
            }
        });
        (Ledger { base, calls }, rx)
    }

    /// Every invocation so far, by key.
    pub fn calls(&self) -> HashMap<Key, Vec<Call>> {
        self.calls.lock().unwrap().clone()
    }
}

fn key_of(v: &Value) -> Option<Key> {
    Some(Key {
        exec: v.get("exec")?.as_str()?.to_string(),
        state: v.get("state")?.as_str()?.to_string(),
        attempt: v.get("attempt")?.as_u64()?,
        item: v.get("item").and_then(Value::as_u64),
    })
}

/// One keep-alive connection from a node: each POST recorded and answered.
fn serve(conn: TcpStream, calls: Arc<Mutex<HashMap<Key, Vec<Call>>>>, tokens: Sender<Token>) {
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let mut w = conn;
    while let Some((path, body)) = super::peers::read_request(&mut r) {
        // "POST /n1": the path names the node.
        let node = path.trim_start_matches('/').to_string();
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let key = key_of(&v);
        if let Some(k) = &key {
            let call = Call {
                node: node.clone(),
                at: Instant::now(),
            };
            calls
                .lock()
                .unwrap()
                .entry(k.clone())
                .or_default()
                .push(call);
        }
        if let (Some(k), Some(t)) = (&key, v.get("token").and_then(Value::as_str)) {
            let _ = tokens.send(Token {
                exec: k.exec.clone(),
                token: t.to_string(),
            });
        }
        let fails =
            v.get("flaky") == Some(&json!(true)) && key.as_ref().map(|k| k.attempt) == Some(0);
        let (status, answer) = if key.is_none() {
            (
                "400 Bad Request",
                json!({"errorType": "BadPayload", "errorMessage": "no key"}),
            )
        } else if fails {
            (
                "500 Internal Server Error",
                json!({"errorType": "Flaky", "errorMessage": "the first attempt fails"}),
            )
        } else {
            ("200 OK", json!({"ok": true}))
        };
        let answer = answer.to_string();
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        );
        if w.write_all(head.as_bytes()).is_err() || w.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
