//! The cluster test's clients: threads starting executions round-robin over the nodes
//! (a start its node cannot take is sent to the next with the same name), and threads
//! answering the callback tokens the ledger receives, each through a random node.

use super::cluster::{call_any_noting, error_code};
use super::ledger::Token;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One execution to start: its name, machine ARN and input.
pub struct Planned {
    pub name: String,
    pub machine: usize,
    pub machine_arn: String,
    pub input: String,
}

impl Planned {
    pub fn arn(&self) -> String {
        format!(
            "{}:{}",
            self.machine_arn.replace(":stateMachine:", ":execution:"),
            self.name
        )
    }
}

#[derive(Default, Debug)]
pub struct Starts {
    /// Answered 200.
    pub started: usize,
    /// Answered ExecutionAlreadyExists (an earlier try had started it, and it ended).
    pub already: usize,
    /// Taken by another node than the round-robin one.
    pub moved: usize,
    /// Names no node would start, with why.
    pub failed: Vec<String>,
    /// Why starts were passed on to another node, and how often.
    pub detours: std::collections::BTreeMap<String, usize>,
}

/// Starts every planned execution from `threads` threads, the i-th first on node i mod
/// the node count; `progress` counts the starts done.
pub fn start_all(
    addrs: &[String],
    plan: &[Planned],
    threads: usize,
    progress: &AtomicUsize,
) -> Starts {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Starts::default());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = plan.get(i) else { return };
                let req = json!({"stateMachineArn": p.machine_arn, "name": p.name,
                                 "input": p.input});
                let first = i % addrs.len();
                let mut skipped = Vec::new();
                let patience = Duration::from_secs(180);
                let answer =
                    call_any_noting(addrs, first, "StartExecution", &req, patience, &mut skipped);
                let mut o = out.lock().unwrap();
                for why in skipped {
                    *o.detours.entry(why).or_default() += 1;
                }
                match answer {
                    Some((n, 200, _)) => {
                        o.started += 1;
                        o.moved += usize::from(n != first);
                    }
                    Some((_, 400, v)) if error_code(&v) == "ExecutionAlreadyExists" => {
                        o.already += 1
                    }
                    Some((n, s, v)) => o
                        .failed
                        .push(format!("{}: node {n} answered {s} {v}", p.name)),
                    None => o.failed.push(format!("{}: no node answered", p.name)),
                }
                drop(o);
                progress.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    out.into_inner().unwrap()
}

/// How the test's answer to one callback token went.
#[derive(Debug, Clone)]
pub struct Answer {
    pub exec: String,
    /// None: accepted; Some(why) otherwise (a refusal's error code, or no node answered).
    pub refused: Option<String>,
    /// Why nodes were passed over before the last answer (a node that took the answer and
    /// died before replying makes the next one refuse it: its task is closed).
    pub skipped: Vec<String>,
}

pub struct Answerers {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
    answers: Arc<Mutex<Vec<Answer>>>,
}

impl Answerers {
    /// `threads` threads sending SendTaskSuccess for every token `tokens` yields, each to a
    /// random node first.
    pub fn start(tokens: Receiver<Token>, addrs: Vec<String>, threads: usize) -> Answerers {
        let tokens = Arc::new(Mutex::new(tokens));
        let stop = Arc::new(AtomicBool::new(false));
        let answers: Arc<Mutex<Vec<Answer>>> = Default::default();
        let handles = (0..threads)
            .map(|_| {
                let (tokens, stop, answers, addrs) =
                    (tokens.clone(), stop.clone(), answers.clone(), addrs.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let got = tokens
                            .lock()
                            .unwrap()
                            .recv_timeout(Duration::from_millis(200));
                        let Ok(t) = got else { continue };
                        let first = uuid::Uuid::new_v4().as_bytes()[0] as usize % addrs.len();
                        let req = json!({"taskToken": t.token, "output": "{\"answered\":true}"});
                        let mut skipped = Vec::new();
                        let refused = match call_any_noting(
                            &addrs,
                            first,
                            "SendTaskSuccess",
                            &req,
                            Duration::from_secs(120),
                            &mut skipped,
                        ) {
                            Some((_, 200, _)) => None,
                            Some((n, s, v)) => Some(format!("node {n}: {s} {}", error_code(&v))),
                            None => Some("no node answered".into()),
                        };
                        answers.lock().unwrap().push(Answer {
                            exec: t.exec,
                            refused,
                            skipped,
                        });
                    }
                })
            })
            .collect();
        Answerers {
            stop,
            handles,
            answers,
        }
    }

    /// Stops the threads (after the one in hand) and answers what they did.
    pub fn finish(self) -> Vec<Answer> {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles {
            let _ = h.join();
        }
        self.answers.lock().unwrap().clone()
    }
}
