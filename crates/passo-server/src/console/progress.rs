//! Where an execution's states stand, read from its history: each state's status (for the
//! graph's colours), and each entry of a state (for the table view and the state panel).
//!
//! Events are attributed to states along `previousEventId`: a `...StateEntered` event starts
//! a state's entry, and every other event belongs to the entry of the event it follows, so
//! Parallel branches and Map iterations running side by side stay apart. A failure event
//! (`TaskFailed`, `...TimedOut`, ...) marks its entry failed; a retry (the entry schedules its
//! work again) marks it retried; a state entered right after a failure (a Catch) makes that
//! failure caught.

use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// How far a state got, in the order a state's several entries are summed up by (the
/// highest wins: a state that failed once and succeeded later shows the failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StateStatus {
    NotReached,
    Succeeded,
    Retried,
    Caught,
    Running,
    Failed,
}

impl StateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StateStatus::NotReached => "not_reached",
            StateStatus::Succeeded => "succeeded",
            StateStatus::Retried => "retried",
            StateStatus::Caught => "caught",
            StateStatus::Running => "running",
            StateStatus::Failed => "failed",
        }
    }
}

/// One entry of a state.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    /// The state type, from the Entered event's name (`TaskStateEntered` -> `Task`).
    pub kind: String,
    pub entered_id: u64,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub status: StateStatus,
    /// Attempts after the first (TaskScheduled, LambdaFunctionScheduled, ... again).
    pub retries: u64,
    pub input: Option<String>,
    /// What a Task sent to its resource (resolved Parameters / Arguments).
    pub parameters: Option<String>,
    /// A Task's result before ResultSelector and ResultPath.
    pub result: Option<String>,
    pub output: Option<String>,
    pub assigned: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

fn failure_kind(kind: &str) -> bool {
    !kind.starts_with("Execution")
        && !kind.starts_with("MapRun")
        && (kind.ends_with("Failed")
            || kind.ends_with("TimedOut")
            || kind.ends_with("StartFailed")
            || kind.ends_with("SubmitFailed")
            || kind == "MapIterationFailed"
            || kind == "ParallelStateFailed"
            || kind == "MapStateFailed")
}

fn schedule_kind(kind: &str) -> bool {
    kind.ends_with("Scheduled")
}

fn details(ev: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    ev.as_object()
        .and_then(|o| {
            o.iter()
                .find(|(k, _)| k.ends_with("EventDetails"))
                .and_then(|(_, v)| v.as_object())
        })
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

fn ms(ev: &Value) -> i64 {
    (ev["timestamp"].as_f64().unwrap_or(0.0) * 1000.0).round() as i64
}

/// The entry an event belongs to: the one of the event it follows, except for events a
/// Parallel or Map records about itself after its children ran (they follow a child's
/// event) and for Exited events, which name their state.
fn attribute(
    out: &[Entry],
    by_prev: Option<usize>,
    kind: &str,
    d: &Map<String, Value>,
) -> Option<usize> {
    let open = |f: &dyn Fn(&Entry) -> bool| out.iter().rposition(|e| e.end_ms.is_none() && f(e));
    if kind.ends_with("StateExited") {
        if let Some(name) = d.get("name").and_then(Value::as_str) {
            if by_prev.is_some_and(|i| out[i].name == name) {
                return by_prev;
            }
            return open(&|e| e.name == name).or(by_prev);
        }
    }
    let own = ["ParallelState", "MapState", "MapIteration", "MapRun"];
    if own.iter().any(|p| kind.starts_with(p)) {
        let fanout = |e: &Entry| e.kind == "Parallel" || e.kind == "Map";
        if by_prev.is_some_and(|i| fanout(&out[i])) {
            return by_prev;
        }
        return open(&fanout).or(by_prev);
    }
    by_prev
}

/// The entries of every state, in the order they were entered.
pub fn entries(history: &[Value]) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    // event id -> index of its entry
    let mut owner: HashMap<u64, usize> = HashMap::new();
    let mut execution_end: Option<(i64, &str)> = None;
    for ev in history {
        let id = ev["id"].as_u64().unwrap_or(0);
        let prev = ev["previousEventId"].as_u64().unwrap_or(0);
        let kind = ev["type"].as_str().unwrap_or("");
        let d = details(ev);
        let text = |k: &str| d.get(k).and_then(Value::as_str).map(String::from);
        if let Some(state_kind) = kind.strip_suffix("StateEntered") {
            // A state entered right after a failure: that failure was caught.
            if let Some(&p) = owner.get(&prev) {
                if out[p].status == StateStatus::Failed {
                    out[p].status = StateStatus::Caught;
                    out[p].end_ms.get_or_insert(ms(ev));
                }
            }
            owner.insert(id, out.len());
            out.push(Entry {
                name: text("name").unwrap_or_default(),
                kind: state_kind.to_string(),
                entered_id: id,
                start_ms: ms(ev),
                end_ms: None,
                status: StateStatus::Running,
                retries: 0,
                input: text("input"),
                parameters: None,
                result: None,
                output: None,
                assigned: None,
                error: None,
                cause: None,
            });
            continue;
        }
        if kind.starts_with("Execution") && kind != "ExecutionStarted" {
            execution_end = Some((ms(ev), kind));
        }
        let Some(i) = attribute(&out, owner.get(&prev).copied(), kind, d) else {
            continue;
        };
        owner.insert(id, i);
        let e = &mut out[i];
        if kind.ends_with("StateExited") {
            e.end_ms = Some(ms(ev));
            e.output = text("output");
            e.assigned = d.get("assignedVariables").cloned();
            if e.status == StateStatus::Failed {
                // A failure a Catch handled: the state exits (as AWS records it) and the
                // Catch's state is entered next.
                e.status = StateStatus::Caught;
            } else if e.status != StateStatus::Caught {
                e.status = if e.retries > 0 {
                    StateStatus::Retried
                } else {
                    StateStatus::Succeeded
                };
            }
        } else if schedule_kind(kind) {
            if e.parameters.is_some() || e.error.is_some() {
                e.retries += 1;
                e.status = StateStatus::Running;
            }
            e.parameters = text("parameters").or_else(|| text("input"));
        } else if kind.ends_with("Succeeded") && !kind.starts_with("MapRun") {
            e.result = text("output");
        } else if failure_kind(kind) {
            e.status = StateStatus::Failed;
            e.error = text("error");
            e.cause = text("cause");
            e.end_ms = Some(ms(ev));
        } else if kind.ends_with("StateAborted") {
            e.status = StateStatus::Failed;
            e.end_ms = Some(ms(ev));
        }
    }
    // A failed execution's last failure was not caught; an ended execution leaves nothing
    // running.
    if let Some((at, end)) = execution_end {
        for e in &mut out {
            if e.status == StateStatus::Running && end != "ExecutionSucceeded" {
                e.status = StateStatus::Failed;
                e.end_ms.get_or_insert(at);
            }
        }
    }
    out
}

/// Each state's status, summed over its entries (by name).
pub fn statuses(entries: &[Entry]) -> HashMap<String, StateStatus> {
    let mut out: HashMap<String, StateStatus> = HashMap::new();
    for e in entries {
        let s = out.entry(e.name.clone()).or_insert(StateStatus::NotReached);
        // A later success of a state that was caught before still shows it was caught.
        *s = (*s).max(e.status);
    }
    out
}

impl Entry {
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name, "type": self.kind, "enteredEventId": self.entered_id,
            "startMs": self.start_ms, "endMs": self.end_ms,
            "durationMs": self.end_ms.map(|e| e - self.start_ms),
            "status": self.status.as_str(), "retries": self.retries,
            "input": self.input, "parameters": self.parameters, "result": self.result,
            "output": self.output, "assigned": self.assigned,
            "error": self.error, "cause": self.cause,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: u64, prev: u64, kind: &str, details: Value) -> Value {
        let mut v =
            json!({"id": id, "previousEventId": prev, "type": kind, "timestamp": id as f64});
        if !details.is_null() {
            v["someEventDetails"] = details;
        }
        v
    }

    #[test]
    fn a_task_retried_then_caught_then_a_success() {
        let h = vec![
            ev(1, 0, "ExecutionStarted", json!({"input": "{}"})),
            ev(
                2,
                1,
                "TaskStateEntered",
                json!({"name": "Work", "input": "{}"}),
            ),
            ev(3, 2, "TaskScheduled", json!({"parameters": "{\"a\":1}"})),
            ev(
                4,
                3,
                "TaskFailed",
                json!({"error": "Boom", "cause": "first"}),
            ),
            ev(5, 4, "TaskScheduled", json!({"parameters": "{\"a\":1}"})),
            ev(
                6,
                5,
                "TaskFailed",
                json!({"error": "Boom", "cause": "second"}),
            ),
            ev(
                7,
                6,
                "PassStateEntered",
                json!({"name": "Recover", "input": "{}"}),
            ),
            ev(
                8,
                7,
                "PassStateExited",
                json!({"name": "Recover", "output": "{\"ok\":1}"}),
            ),
            ev(9, 8, "ExecutionSucceeded", json!({"output": "{}"})),
        ];
        let es = entries(&h);
        assert_eq!(es.len(), 2);
        let work = &es[0];
        assert_eq!(work.status, StateStatus::Caught);
        assert_eq!(work.retries, 1);
        assert_eq!(work.error.as_deref(), Some("Boom"));
        assert_eq!(work.cause.as_deref(), Some("second"));
        assert_eq!(work.kind, "Task");
        assert_eq!(es[1].status, StateStatus::Succeeded);
        assert_eq!(es[1].output.as_deref(), Some("{\"ok\":1}"));
        assert_eq!(es[1].end_ms, Some(8000));
        let st = statuses(&es);
        assert_eq!(st["Work"], StateStatus::Caught);
        assert_eq!(st["Recover"], StateStatus::Succeeded);
    }

    #[test]
    fn a_failure_that_exits_its_state_was_caught() {
        // What the engine records for a caught error: the failure, the state's Exited event,
        // then the Catch's state.
        let h = vec![
            ev(1, 0, "ExecutionStarted", json!({})),
            ev(2, 0, "TaskStateEntered", json!({"name": "Charge"})),
            ev(3, 2, "TaskScheduled", json!({"parameters": "{}"})),
            ev(4, 3, "TaskStarted", Value::Null),
            ev(5, 4, "TaskFailed", json!({"error": "E", "cause": "c"})),
            ev(
                6,
                5,
                "TaskStateExited",
                json!({"name": "Charge", "output": "{}"}),
            ),
            ev(7, 6, "PassStateEntered", json!({"name": "Refund"})),
            ev(
                8,
                7,
                "PassStateExited",
                json!({"name": "Refund", "output": "{}"}),
            ),
            ev(9, 8, "ExecutionSucceeded", json!({"output": "{}"})),
        ];
        let es = entries(&h);
        assert_eq!(es[0].status, StateStatus::Caught);
        assert_eq!(es[0].error.as_deref(), Some("E"));
        assert_eq!(es[0].end_ms, Some(6000));
        assert_eq!(es[1].status, StateStatus::Succeeded);
    }

    #[test]
    fn retried_success_and_an_uncaught_failure() {
        let h = vec![
            ev(1, 0, "ExecutionStarted", json!({})),
            ev(2, 1, "TaskStateEntered", json!({"name": "A"})),
            ev(3, 2, "LambdaFunctionScheduled", json!({"input": "{}"})),
            ev(4, 3, "LambdaFunctionFailed", json!({"error": "E"})),
            ev(5, 4, "LambdaFunctionScheduled", json!({"input": "{}"})),
            ev(6, 5, "LambdaFunctionSucceeded", json!({"output": "1"})),
            ev(7, 6, "TaskStateExited", json!({"name": "A", "output": "1"})),
            ev(8, 7, "TaskStateEntered", json!({"name": "B"})),
            ev(9, 8, "TaskScheduled", json!({"parameters": "{}"})),
            ev(10, 9, "TaskFailed", json!({"error": "Bad", "cause": "why"})),
            ev(
                11,
                10,
                "ExecutionFailed",
                json!({"error": "Bad", "cause": "why"}),
            ),
        ];
        let es = entries(&h);
        assert_eq!(es[0].status, StateStatus::Retried);
        assert_eq!(es[0].result.as_deref(), Some("1"));
        assert_eq!(es[1].status, StateStatus::Failed);
        assert_eq!(es[1].cause.as_deref(), Some("why"));
    }

    #[test]
    fn parallel_branches_keep_their_own_entries_and_a_running_state() {
        let h = vec![
            ev(1, 0, "ExecutionStarted", json!({})),
            ev(2, 1, "ParallelStateEntered", json!({"name": "P"})),
            ev(3, 2, "ParallelStateStarted", Value::Null),
            ev(4, 3, "PassStateEntered", json!({"name": "L"})),
            ev(5, 3, "TaskStateEntered", json!({"name": "R"})),
            ev(
                6,
                4,
                "PassStateExited",
                json!({"name": "L", "output": "{}"}),
            ),
            ev(7, 5, "TaskScheduled", json!({"parameters": "{}"})),
        ];
        let st = statuses(&entries(&h));
        assert_eq!(st["L"], StateStatus::Succeeded);
        assert_eq!(st["R"], StateStatus::Running);
        assert_eq!(st["P"], StateStatus::Running);
        assert!(!st.contains_key("Elsewhere"));
    }
}
