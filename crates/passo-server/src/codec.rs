//! How steps are written down: the interpreter's input events and history as JSON text.

use crate::nested::ParentLink;
use passo_engine::{Event, HistoryEvent};
use passo_tasks::nested::Pattern;
use serde_json::{json, Value};

/// The event text of step 0 (the start; its input is the execution's).
pub const START: &str = r#"{"t":"start"}"#;

pub fn event_text(e: &Event) -> String {
    let v = match e {
        Event::TaskSucceeded { task, output } => json!({"t": "ok", "task": task, "output": output}),
        Event::TaskFailed { task, error, cause } => {
            json!({"t": "fail", "task": task, "error": error, "cause": cause})
        }
        Event::TaskSubmitted { task, output } => {
            json!({"t": "submitted", "task": task, "output": output})
        }
        Event::TaskStarted { task, worker_name } => {
            json!({"t": "started", "task": task, "worker": worker_name})
        }
        Event::TaskHeartbeat { task } => json!({"t": "beat", "task": task}),
        Event::TaskRefused { task, message } => {
            json!({"t": "refused", "task": task, "message": message})
        }
        Event::TimerFired { timer } => json!({"t": "timer", "timer": timer}),
        Event::Stop { error, cause } => json!({"t": "stop", "error": error, "cause": cause}),
        Event::Redrive => json!({"t": "redrive"}),
    };
    v.to_string()
}

pub fn parse_event(text: &str) -> Option<Event> {
    let v: Value = serde_json::from_str(text).ok()?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    let n = |k: &str| v.get(k).and_then(Value::as_u64);
    Some(match v.get("t")?.as_str()? {
        "ok" => Event::TaskSucceeded {
            task: n("task")?,
            output: v.get("output").cloned().unwrap_or(Value::Null),
        },
        "fail" => Event::TaskFailed {
            task: n("task")?,
            error: s("error").unwrap_or_default(),
            cause: s("cause"),
        },
        "submitted" => Event::TaskSubmitted {
            task: n("task")?,
            output: v.get("output").cloned().unwrap_or(Value::Null),
        },
        "started" => Event::TaskStarted {
            task: n("task")?,
            worker_name: s("worker"),
        },
        "beat" => Event::TaskHeartbeat { task: n("task")? },
        "refused" => Event::TaskRefused {
            task: n("task")?,
            message: s("message").unwrap_or_default(),
        },
        "timer" => Event::TimerFired { timer: n("timer")? },
        "stop" => Event::Stop {
            error: s("error"),
            cause: s("cause"),
        },
        "redrive" => Event::Redrive,
        _ => return None,
    })
}

/// History events as one JSON array (what GetExecutionHistory concatenates).
pub fn history_text(events: &[HistoryEvent]) -> String {
    passo_engine::history_text::events_text(events)
}

/// The interpreter's start parameters that are not in the execution row, and the link to the
/// parent execution whose task started this one.
pub fn params(
    seed: u64,
    payload_limit: usize,
    parent: Option<&ParentLink>,
    test_case: Option<&str>,
) -> String {
    let mut v = json!({"seed": seed, "payloadLimit": payload_limit});
    if let Some(t) = test_case {
        v["testCase"] = json!(t);
    }
    if let Some(p) = parent {
        v["parent"] = json!({"arn": p.arn, "task": p.task, "pattern": p.pattern.as_str()});
    }
    v.to_string()
}

pub fn parse_params(text: &str) -> (u64, usize) {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    (
        v.get("seed").and_then(Value::as_u64).unwrap_or(0),
        v.get("payloadLimit")
            .and_then(Value::as_u64)
            .unwrap_or(262_144) as usize,
    )
}

/// The mock test case an execution was started with (`stateMachineArn#TestCase`).
pub fn parse_test_case(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    Some(v.get("testCase")?.as_str()?.to_string())
}

/// The parent link recorded in an execution's parameters.
pub fn parse_parent(text: &str) -> Option<ParentLink> {
    let v: Value = serde_json::from_str(text).ok()?;
    let p = v.get("parent")?;
    Some(ParentLink {
        arn: p.get("arn")?.as_str()?.to_string(),
        task: p.get("task")?.as_u64()?,
        pattern: Pattern::parse(p.get("pattern")?.as_str()?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_links_round_trip() {
        let link = ParentLink {
            arn: "arn:aws:states:us-east-1:1:execution:p:x".into(),
            task: 7,
            pattern: Pattern::Sync2,
        };
        let text = params(1, 2, Some(&link), Some("Happy"));
        assert_eq!(parse_test_case(&text).as_deref(), Some("Happy"));
        assert_eq!(parse_parent(&text), Some(link));
        assert_eq!(parse_params(&text), (1, 2));
        assert_eq!(parse_parent(&params(1, 2, None, None)), None);
    }

    #[test]
    fn events_round_trip() {
        for e in [
            Event::TaskSucceeded {
                task: 3,
                output: json!({"a": [1, 2]}),
            },
            Event::TaskFailed {
                task: 4,
                error: "E".into(),
                cause: None,
            },
            Event::TimerFired { timer: 9 },
            Event::TaskSubmitted {
                task: 5,
                output: json!("x"),
            },
            Event::TaskStarted {
                task: 6,
                worker_name: Some("w".into()),
            },
            Event::TaskStarted {
                task: 6,
                worker_name: None,
            },
            Event::TaskHeartbeat { task: 7 },
            Event::TaskRefused {
                task: 8,
                message: "The activity a does not exist.".into(),
            },
            Event::Stop {
                error: Some("x".into()),
                cause: Some("y".into()),
            },
            Event::Redrive,
        ] {
            let back = parse_event(&event_text(&e)).unwrap();
            assert_eq!(event_text(&back), event_text(&e));
        }
    }
}
