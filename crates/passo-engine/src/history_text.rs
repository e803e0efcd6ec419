//! History events written straight to JSON text: byte for byte what
//! `HistoryEvent::to_json().to_string()` writes, without building the `Value` first.
//!
//! A Standard execution stores every step's events as text, so the server did this for
//! every event it committed: under perf, building the objects (an `IndexMap` per object,
//! each key hashed and allocated, every payload text copied into a `Value::String`) and
//! then serialising them were ~15% of the server's CPU in the durable Standard benchmark.
//! Here each field goes to the buffer through serde_json's own serialiser (so escaping and
//! number formatting are serde_json's), in `to_json`'s key order. The tests hold the two
//! equal over every kind of details.

use crate::history::{Details, HistoryEvent};
use serde::Serialize;

/// The events as one JSON array, as `Value::Array(events.map(to_json)).to_string()`.
pub fn events_text(events: &[HistoryEvent]) -> String {
    let mut out = Vec::with_capacity(events.len() * 160);
    out.push(b'[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        e.write_json(&mut out);
    }
    out.push(b']');
    // serde_json writes UTF-8 only; the fallback is never taken.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes one JSON value (serde_json's text; writing to a Vec cannot fail).
fn put<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let _ = serde_json::to_writer(&mut *out, v);
}

/// Writes `"key":`.
fn key(out: &mut Vec<u8>, k: &str) {
    put(out, k);
    out.push(b':');
}

const NOT_TRUNCATED: &[u8] = br#"{"truncated":false}"#;

/// A payload and its details: `"input":<text>,"inputDetails":{"truncated":false}` (or
/// `output`), as every payload-carrying event writes them.
fn payload(out: &mut Vec<u8>, field: Field, text: &str) {
    let (key, details): (&[u8], &[u8]) = match field {
        Field::Input => (br#""input":"#, br#","inputDetails":"#),
        Field::Output => (br#""output":"#, br#","outputDetails":"#),
    };
    out.extend_from_slice(key);
    put(out, text);
    out.extend_from_slice(details);
    out.extend_from_slice(NOT_TRUNCATED);
}

#[derive(Clone, Copy)]
enum Field {
    Input,
    Output,
}

/// A state event's details up to its payload's details (the object left open): `lead`
/// (`,"<kind>EventDetails":{"name":`), the name, then the payload.
fn state_payload(out: &mut Vec<u8>, lead: &[u8], name: &str, field: Field, text: &str) {
    out.extend_from_slice(lead);
    put(out, name);
    out.push(b',');
    payload(out, field, text);
}

impl HistoryEvent {
    /// Appends the event's JSON text (as `to_json` shapes it) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        if !self.writes_like_to_json() {
            put(out, &self.to_json());
            return;
        }
        out.extend_from_slice(br#"{"timestamp":"#);
        put(out, &(self.timestamp_ms as f64 / 1000.0));
        out.extend_from_slice(br#","type":"#);
        put(out, self.kind);
        out.extend_from_slice(br#","id":"#);
        put(out, &self.id);
        out.extend_from_slice(br#","previousEventId":"#);
        put(out, &self.previous_event_id);
        match &self.details {
            Details::None => {}
            Details::ExecutionStarted { input, role_arn } => {
                out.extend_from_slice(br#","executionStartedEventDetails":{"#);
                payload(out, Field::Input, input);
                out.extend_from_slice(br#","roleArn":"#);
                put(out, role_arn);
                out.push(b'}');
            }
            Details::ExecutionSucceeded { output } => {
                out.extend_from_slice(br#","executionSucceededEventDetails":{"#);
                payload(out, Field::Output, output);
                out.push(b'}');
            }
            Details::StateEntered { name, input } => {
                state_payload(
                    out,
                    br#","stateEnteredEventDetails":{"name":"#,
                    name,
                    Field::Input,
                    input,
                );
                out.push(b'}');
            }
            Details::StateExited {
                name,
                output,
                assigned,
            } => {
                state_payload(
                    out,
                    br#","stateExitedEventDetails":{"name":"#,
                    name,
                    Field::Output,
                    output,
                );
                if let Some(vars) = assigned {
                    out.extend_from_slice(br#","assignedVariables":{"#);
                    for (i, (k, v)) in vars.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        key(out, k);
                        put(out, v);
                    }
                    out.extend_from_slice(br#"},"assignedVariablesDetails":"#);
                    out.extend_from_slice(NOT_TRUNCATED);
                }
                out.push(b'}');
            }
            Details::MapStateStarted { length } => {
                out.extend_from_slice(br#","mapStateStartedEventDetails":{"length":"#);
                put(out, length);
                out.push(b'}');
            }
            Details::MapIteration {
                key: k,
                index,
                name,
            } => {
                out.push(b',');
                key(out, k);
                out.extend_from_slice(br#"{"index":"#);
                put(out, index);
                out.extend_from_slice(br#","name":"#);
                put(out, &**name);
                out.push(b'}');
            }
            Details::Json(k, v) => {
                out.push(b',');
                key(out, k);
                put(out, v);
            }
        }
        out.push(b'}');
    }

    /// Whether the direct writer gives `to_json`'s text: not when assigned variables
    /// repeat a name (a map keeps the name's first place with its last value) or the
    /// timestamp is not a finite number (`to_json` writes null).
    fn writes_like_to_json(&self) -> bool {
        if !(self.timestamp_ms as f64 / 1000.0).is_finite() {
            return false;
        }
        match &self.details {
            Details::StateExited {
                assigned: Some(vars),
                ..
            } => vars
                .iter()
                .enumerate()
                .all(|(i, (k, _))| vars[..i].iter().all(|(seen, _)| seen != k)),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use std::sync::Arc;

    fn event(details: Details) -> HistoryEvent {
        HistoryEvent {
            id: 7,
            previous_event_id: 6,
            timestamp_ms: 1_700_000_000_123,
            kind: "PassStateExited",
            details,
        }
    }

    fn text(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn every_kind_of_details_is_written_as_to_json_writes_it() {
        let odd = "quote \" backslash \\ newline \n control \u{1} ünï 😀";
        let all = vec![
            event(Details::None),
            event(Details::ExecutionStarted {
                input: text(r#"{"a":[1,2.5,"x"]}"#),
                role_arn: "arn:aws:iam::123456789012:role/r".into(),
            }),
            event(Details::ExecutionSucceeded { output: text(odd) }),
            event(Details::StateEntered {
                name: text(odd),
                input: text("5"),
            }),
            event(Details::StateExited {
                name: text("P"),
                output: text(r#"{"value":5,"tag":"seen"}"#),
                assigned: None,
            }),
            event(Details::StateExited {
                name: text("P"),
                output: text("{}"),
                assigned: Some(vec![("x".into(), "1".into()), (odd.into(), "\"s\"".into())]),
            }),
            // A repeated name: the map's rule (first place, last value), through to_json.
            event(Details::StateExited {
                name: text("P"),
                output: text("{}"),
                assigned: Some(vec![
                    ("x".into(), "1".into()),
                    ("y".into(), "2".into()),
                    ("x".into(), "3".into()),
                ]),
            }),
            event(Details::MapStateStarted { length: 1000 }),
            event(Details::MapIteration {
                key: "mapIterationStartedEventDetails",
                index: 3,
                name: text("Fanout"),
            }),
            event(Details::Json(
                "taskScheduledEventDetails",
                json!({"resource": "invoke", "parameters": odd, "timeoutInSeconds": null, "n": -1.5e-7}),
            )),
            HistoryEvent {
                timestamp_ms: -1,
                id: 0,
                previous_event_id: 0,
                ..event(Details::None)
            },
            HistoryEvent {
                timestamp_ms: i64::MAX,
                ..event(Details::None)
            },
        ];
        for e in &all {
            let mut out = Vec::new();
            e.write_json(&mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                e.to_json().to_string(),
                "{e:?}"
            );
        }
        let whole = Value::Array(all.iter().map(HistoryEvent::to_json).collect()).to_string();
        assert_eq!(events_text(&all), whole);
        assert_eq!(events_text(&[]), "[]");
    }

    /// Real histories: every workload of the benchmarks, run by the driver.
    #[test]
    fn the_benchmark_workloads_histories_are_written_as_to_json_writes_them() {
        use crate::driver::{self, RunOptions, TaskResult};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            let Ok(machine) = passo_asl::parse_str(&text) else {
                continue;
            };
            let info = crate::ExecutionInfo::local("t", 1_700_000_000_000, 1);
            let r = driver::run(
                Arc::new(machine),
                info,
                json!({"n": 3}),
                &RunOptions::default(),
                &mut |_| TaskResult::Failure {
                    error: "States.TaskFailed".into(),
                    cause: None,
                },
            );
            let whole =
                Value::Array(r.history.iter().map(HistoryEvent::to_json).collect()).to_string();
            assert_eq!(events_text(&r.history), whole, "{:?}", entry.path());
            checked += 1;
        }
        println!("{checked} workloads' histories written alike");
    }
}
