//! Snapshots: an execution restored from a snapshot taken after any of its steps, then given
//! the same events, writes the same history and ends the same way as the execution that
//! was never interrupted; snapshots that do not fit are refused.

use passo_engine::snapshot::SnapshotError;
use passo_engine::{Command, Event, Execution, ExecutionInfo, HistoryEvent, Outcome};
use serde_json::{json, Value};
use std::sync::Arc;

fn machine(def: Value) -> Arc<passo_asl::StateMachine> {
    Arc::new(passo_asl::parse(&def).expect("valid"))
}

fn info() -> ExecutionInfo {
    ExecutionInfo::local("snap", 1_000, 42)
}

/// A whole run: the events given (with their times), and the history of each step.
struct Run {
    events: Vec<(Event, i64)>,
    history: Vec<Vec<HistoryEvent>>,
    outcome: Option<Outcome>,
}

/// Drives `def` to its end: the oldest open task is answered first (by `answer`, from its
/// state and attempt), else the earliest timer fires.
fn drive(
    def: &Value,
    input: Value,
    answer: &dyn Fn(&str, u64, &Value) -> Result<Value, String>,
) -> Run {
    let (mut ex, cmds, first) = Execution::start(machine(def.clone()), info(), input);
    let mut open: Vec<Command> = Vec::new();
    let mut events = Vec::new();
    let mut history = vec![first];
    let mut finished = false;
    let mut now = 1_000;
    let take = |cmds: Vec<Command>, open: &mut Vec<Command>, finished: &mut bool| {
        for c in cmds {
            match c {
                Command::CancelTimer { timer } => open
                    .retain(|o| !matches!(o, Command::StartTimer { timer: t, .. } if *t == timer)),
                Command::Finished => *finished = true,
                c => open.push(c),
            }
        }
    };
    take(cmds, &mut open, &mut finished);
    while !finished && events.len() < 500 {
        let i = open
            .iter()
            .position(|c| matches!(c, Command::InvokeTask { .. }))
            .or_else(|| {
                (0..open.len()).min_by_key(|&i| match &open[i] {
                    Command::StartTimer { fire_at_ms, .. } => *fire_at_ms,
                    _ => i64::MAX,
                })
            })
            .expect("something is open");
        let ev = match open.remove(i) {
            Command::InvokeTask {
                task,
                state_name,
                attempt,
                input,
                ..
            } => {
                now += 10;
                match answer(&state_name, attempt, &input) {
                    Ok(output) => Event::TaskSucceeded { task, output },
                    Err(error) => Event::TaskFailed {
                        task,
                        error,
                        cause: Some("it failed".into()),
                    },
                }
            }
            Command::StartTimer { timer, fire_at_ms } => {
                now = now.max(fire_at_ms);
                Event::TimerFired { timer }
            }
            other => panic!("unexpected {other:?}"),
        };
        events.push((ev.clone(), now));
        let (cmds, h) = ex.step(ev, now);
        history.push(h);
        take(cmds, &mut open, &mut finished);
    }
    Run {
        events,
        history,
        outcome: ex.outcome().cloned(),
    }
}

/// For every step k: the execution after k steps, snapshotted, restored and given the
/// remaining events, writes the original's remaining history and outcome.
fn resumes_alike(
    def: Value,
    input: Value,
    answer: &dyn Fn(&str, u64, &Value) -> Result<Value, String>,
) {
    let run = drive(&def, input.clone(), answer);
    assert!(run.outcome.is_some(), "the scenario ends");
    assert!(
        run.events.len() >= 2,
        "the scenario has steps to resume between"
    );
    for k in 0..run.events.len() {
        let (mut ex, _, _) = Execution::start(machine(def.clone()), info(), input.clone());
        for (ev, now) in &run.events[..k] {
            ex.step(ev.clone(), *now);
        }
        let text = ex.snapshot();
        let mut back = Execution::restore(machine(def.clone()), info(), &text).expect("restores");
        // The snapshot of the restored execution holds the same (maps in any order):
        // nothing was lost.
        let again: Value = serde_json::from_str(&back.snapshot()).unwrap();
        assert_eq!(
            again,
            serde_json::from_str::<Value>(&text).unwrap(),
            "after step {k}"
        );
        let mut outcome = None;
        for (i, (ev, now)) in run.events[k..].iter().enumerate() {
            let (cmds, h) = back.step(ev.clone(), *now);
            assert_eq!(
                h,
                run.history[k + i + 1],
                "step {} resumed after step {k}",
                k + i + 1
            );
            if cmds.iter().any(|c| matches!(c, Command::Finished)) {
                outcome = back.outcome().cloned();
            }
        }
        assert_eq!(outcome, run.outcome, "resumed after step {k}");
    }
}

#[test]
fn a_retry_in_flight_resumes_alike() {
    let def = json!({"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                 "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2,
                            "BackoffRate": 2.0, "MaxAttempts": 3, "JitterStrategy": "FULL"}],
                 "ResultPath": "$.r", "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 5, "Next": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"id.$": "States.UUID()", "r.$": "$.r"},
                 "End": true}}});
    resumes_alike(def, json!({"n": 1}), &|_, attempt, _| {
        if attempt < 2 {
            Err("Flaky".into())
        } else {
            Ok(json!({"ok": attempt}))
        }
    });
}

#[test]
fn a_map_and_a_parallel_in_flight_resume_alike() {
    let task = |next: Value| {
        let mut t = json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                           "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1}]});
        match next {
            Value::Null => t["End"] = json!(true),
            n => t["Next"] = n,
        }
        t
    };
    let def = json!({"StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "Next": "Each", "Branches": [
            {"StartAt": "A", "States": {"A": task(json!("A2")), "A2": task(Value::Null)}},
            {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 3, "Next": "B2"},
                                        "B2": task(Value::Null)}}]},
        "Each": {"Type": "Map", "ItemsPath": "$[0].items", "MaxConcurrency": 2,
                 "ItemProcessor": {"StartAt": "Item", "States": {
                     "Item": task(json!("Tick")),
                     "Tick": {"Type": "Wait", "Seconds": 1, "End": true}}},
                 "End": true}}});
    resumes_alike(
        def,
        json!({"items": [1, 2, 3, 4]}),
        &|state, attempt, input| {
            // Every other call fails once and is retried.
            if attempt == 0 && input.to_string().len() % 2 == 0 {
                return Err("Flaky".into());
            }
            Ok(json!({"state": state, "items": input.get("items").cloned().unwrap_or(json!([]))}))
        },
    );
}

#[test]
fn variables_and_a_catch_resume_alike() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                 "Assign": {"calls": "{% $states.result.n %}"},
                 "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught",
                            "Assign": {"failed": true}}],
                 "Next": "Again"},
        "Again": {"Type": "Choice", "Default": "Call",
                  "Choices": [{"Condition": "{% $calls >= 3 %}", "Next": "Done"}]},
        "Caught": {"Type": "Pass", "Output": "{% {'failed': $failed} %}", "End": true},
        "Done": {"Type": "Succeed", "Output": "{% {'calls': $calls} %}"}}});
    let calls = std::cell::Cell::new(0);
    resumes_alike(def, json!({}), &|_, _, _| {
        calls.set(calls.get() + 1);
        Ok(json!({"n": calls.get()}))
    });
    resumes_alike(
        json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "T"},
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}], "End": true},
        "F": {"Type": "Fail", "Error": "Gave.Up"}}}),
        json!({}),
        &|_, _, _| Err("Boom".into()),
    );
}

#[test]
fn snapshots_that_do_not_fit_are_refused() {
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 1, "Next": "X"},
        "X": {"Type": "Wait", "Seconds": 1, "Next": "Y"},
        "Y": {"Type": "Pass", "End": true}}});
    let (mut ex, cmds, _) = Execution::start(machine(def.clone()), info(), json!({}));
    let Some(Command::StartTimer { timer, .. }) = cmds.first().cloned() else {
        panic!("a timer: {cmds:?}");
    };
    ex.step(Event::TimerFired { timer }, 2_000);
    let text = ex.snapshot();
    // Not JSON, or cut short.
    assert!(matches!(
        Execution::restore(machine(def.clone()), info(), "not json"),
        Err(SnapshotError::Decode(_))
    ));
    assert!(matches!(
        Execution::restore(machine(def.clone()), info(), &text[..text.len() / 2]),
        Err(SnapshotError::Decode(_))
    ));
    // Another format.
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["format"] = json!(passo_engine::snapshot::FORMAT + 1);
    assert!(matches!(
        Execution::restore(machine(def.clone()), info(), &v.to_string()),
        Err(SnapshotError::Format { .. })
    ));
    // Another execution's.
    let other = ExecutionInfo::local("other", 1_000, 42);
    assert!(matches!(
        Execution::restore(machine(def.clone()), other, &text),
        Err(SnapshotError::Mismatch(_))
    ));
    // A machine without the state the execution stands in (X is the second state).
    let smaller = json!({"StartAt": "W", "States": {"W": {"Type": "Pass", "End": true}}});
    assert!(matches!(
        Execution::restore(machine(smaller), info(), &text),
        Err(SnapshotError::Mismatch(_))
    ));
    assert!(Execution::restore(machine(def), info(), &text).is_ok());
}
