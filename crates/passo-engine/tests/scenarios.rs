//! Scenario tests of the pure interpreter: feed events, assert on the commands and history.

use passo_engine::driver::{self, RunOptions, TaskAction, TaskResult};
use passo_engine::{Command, Event, Execution, ExecutionInfo, Status, TaskPhase};
use serde_json::{json, Value};
use std::sync::Arc;

fn machine(def: Value) -> Arc<passo_asl::StateMachine> {
    Arc::new(passo_asl::parse(&def).expect("valid"))
}

fn kinds(events: &[passo_engine::HistoryEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind).collect()
}

const T0: i64 = 1_700_000_000_000;

#[test]
fn task_retry_is_a_timer_and_a_new_invocation() {
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 3, "BackoffRate": 2.0, "MaxAttempts": 2}],
            "End": true
        }}
    }));
    let (mut ex, cmds, events) =
        Execution::start(m, ExecutionInfo::local("t", T0, 7), json!({"x": 1}));
    assert_eq!(
        kinds(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted"
        ]
    );
    let Command::InvokeTask {
        task,
        input,
        attempt,
        ..
    } = &cmds[0]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!((input, *attempt), (&json!({"x": 1}), 0));
    // A failure that a retrier matches becomes a timer 3 s later, nothing else.
    let (cmds, events) = ex.step(
        Event::TaskFailed {
            task: *task,
            error: "Flaky".into(),
            cause: None,
        },
        T0 + 10,
    );
    assert_eq!(kinds(&events), ["TaskFailed"]);
    let Command::StartTimer { timer, fire_at_ms } = cmds[0] else {
        panic!("{cmds:?}")
    };
    assert_eq!(fire_at_ms, T0 + 10 + 3000);
    // The timer brings a second attempt.
    let (cmds, events) = ex.step(Event::TimerFired { timer }, fire_at_ms);
    assert_eq!(kinds(&events), ["TaskScheduled", "TaskStarted"]);
    let Command::InvokeTask { task, attempt, .. } = &cmds[0] else {
        panic!("{cmds:?}")
    };
    assert_eq!(*attempt, 1);
    // A second failure waits 6 s (BackoffRate 2), a third exhausts MaxAttempts.
    let (cmds, _) = ex.step(
        Event::TaskFailed {
            task: *task,
            error: "Flaky".into(),
            cause: None,
        },
        fire_at_ms,
    );
    let Command::StartTimer {
        timer,
        fire_at_ms: at2,
    } = cmds[0]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(at2 - fire_at_ms, 6000);
    let (cmds, _) = ex.step(Event::TimerFired { timer }, at2);
    let Command::InvokeTask { task, .. } = &cmds[0] else {
        panic!("{cmds:?}")
    };
    let (cmds, events) = ex.step(
        Event::TaskFailed {
            task: *task,
            error: "Flaky".into(),
            cause: Some("again".into()),
        },
        at2,
    );
    assert_eq!(kinds(&events), ["TaskFailed", "ExecutionFailed"]);
    assert!(matches!(cmds[0], Command::Finished), "{cmds:?}");
    let o = ex.outcome().unwrap();
    assert_eq!(
        (o.status, o.error.as_deref(), o.cause.as_deref()),
        (Status::Failed, Some("Flaky"), Some("again"))
    );
    // Nothing is accepted after the end.
    assert!(ex.step(Event::TimerFired { timer: 99 }, at2).0.is_empty());
}

#[test]
fn catch_routes_the_error_output() {
    let m = machine(json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handled"}], "End": true},
            "Handled": {"Type": "Pass", "End": true}
        }
    }));
    let (mut ex, cmds, _) = Execution::start(m, ExecutionInfo::local("t", T0, 1), json!({"a": 1}));
    let Command::InvokeTask { task, .. } = &cmds[0] else {
        panic!()
    };
    let (cmds, events) = ex.step(
        Event::TaskFailed {
            task: *task,
            error: "Boom".into(),
            cause: Some("why".into()),
        },
        T0,
    );
    assert_eq!(
        kinds(&events),
        [
            "TaskFailed",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert!(matches!(cmds[0], Command::Finished), "{cmds:?}");
    let o = ex.outcome().unwrap();
    assert_eq!(
        o.output,
        Some(json!({"a": 1, "err": {"Error": "Boom", "Cause": "why"}}))
    );
}

#[test]
fn a_refused_task_is_a_runtime_error_that_states_all_does_not_catch() {
    let m = machine(json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:gone",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}], "End": true},
            "Handled": {"Type": "Pass", "End": true}
        }
    }));
    let (mut ex, cmds, _) = Execution::start(m, ExecutionInfo::local("t", T0, 1), json!({}));
    let Command::InvokeTask { task, .. } = &cmds[0] else {
        panic!("{cmds:?}")
    };
    let (_, events) = ex.step(
        Event::TaskRefused {
            task: *task,
            message: "The activity gone does not exist.".into(),
        },
        T0,
    );
    assert_eq!(kinds(&events), ["ExecutionFailed"]);
    let o = ex.outcome().unwrap();
    assert_eq!(o.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        o.cause.as_deref(),
        Some("An error occurred while executing the state 'T' (entered at the event id #2). The activity gone does not exist.")
    );
}

#[test]
fn wait_is_a_timer_and_the_execution_timeout_wins() {
    let m = machine(json!({
        "TimeoutSeconds": 5,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}
    }));
    let (mut ex, cmds, _) = Execution::start(m, ExecutionInfo::local("t", T0, 1), json!({}));
    let timers: Vec<(u64, i64)> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::StartTimer { timer, fire_at_ms } => Some((*timer, *fire_at_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(
        timers.iter().map(|t| t.1).collect::<Vec<_>>(),
        [T0 + 5000, T0 + 60_000]
    );
    let (cmds, events) = ex.step(Event::TimerFired { timer: timers[0].0 }, T0 + 5000);
    assert_eq!(kinds(&events), ["ExecutionTimedOut"]);
    assert!(matches!(cmds[0], Command::Finished), "{cmds:?}");
    assert_eq!(ex.outcome().unwrap().status, Status::TimedOut);
}

#[test]
fn same_seed_same_history() {
    let def = json!({
        "StartAt": "U",
        "States": {"U": {"Type": "Pass", "Parameters": {"id.$": "States.UUID()", "n.$": "States.MathRandom(1, 1000)"}, "End": true}}
    });
    let run = |seed| {
        let (ex, cmds, _) = Execution::start(
            machine(def.clone()),
            ExecutionInfo::local("t", T0, seed),
            json!({}),
        );
        assert!(matches!(cmds[0], Command::Finished), "{cmds:?}");
        ex.outcome().unwrap().output.clone()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn jsonata_task_arguments_timeout_and_output() {
    let m = machine(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "f", "Payload": "{% $states.input.n * 2 %}"},
            "TimeoutSeconds": "{% $states.input.n + 5 %}",
            "Assign": {"seen": "{% $states.result.Payload %}"},
            "Output": "{% {'doubled': $states.result.Payload} %}",
            "End": true
        }}
    }));
    let (mut ex, cmds, _) = Execution::start(m, ExecutionInfo::local("t", T0, 1), json!({"n": 21}));
    let Some(Command::InvokeTask {
        task,
        input,
        timeout_seconds,
        ..
    }) = cmds
        .iter()
        .find(|c| matches!(c, Command::InvokeTask { .. }))
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(input, &json!({"FunctionName": "f", "Payload": 42}));
    assert_eq!(*timeout_seconds, Some(26));
    let (cmds, events) = ex.step(
        Event::TaskSucceeded {
            task: *task,
            output: json!({"Payload": 42}),
        },
        T0,
    );
    // The timeout timer is cancelled with the task, then the execution ends.
    assert!(matches!(cmds[0], Command::CancelTimer { .. }), "{cmds:?}");
    assert!(matches!(cmds.last(), Some(Command::Finished)), "{cmds:?}");
    let o = ex.outcome().unwrap();
    assert_eq!(o.output, Some(json!({"doubled": 42})));
    let exited = events
        .iter()
        .find(|e| e.kind == "TaskStateExited")
        .unwrap()
        .to_json();
    assert_eq!(
        exited["stateExitedEventDetails"]["assignedVariables"]["seen"],
        "42"
    );
}

#[test]
fn variable_size_limits_fail_with_data_limit_exceeded() {
    // One variable over the (here lowered) payload limit fails the state; a smaller one passes.
    let m = machine(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"small": "{% $pad('', 100, 'x') %}"}, "Next": "B"},
            "B": {"Type": "Pass", "Assign": {"big": "{% $pad('', 2000, 'x') %}"}, "End": true}
        }
    }));
    let mut info = ExecutionInfo::local("t", T0, 1);
    info.payload_limit = 1024;
    let (ex, cmds, events) = Execution::start(m, info, json!({}));
    assert!(matches!(cmds.last(), Some(Command::Finished)), "{cmds:?}");
    let o = ex.outcome().unwrap();
    assert_eq!(o.status, Status::Failed);
    assert_eq!(o.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(o.cause.as_deref().unwrap().contains("'big'"), "{o:?}");
    // A exited normally; B failed before exiting.
    assert_eq!(
        kinds(&events)
            .iter()
            .filter(|k| **k == "PassStateExited")
            .count(),
        1
    );
}

fn run_with(
    def: Value,
    input: Value,
    reply: impl Fn(&driver::Invocation) -> TaskResult,
) -> driver::Run {
    driver::run(
        machine(def),
        ExecutionInfo::local("t", T0, 1),
        input,
        &RunOptions::default(),
        &mut |inv| reply(inv),
    )
}

fn event_kinds(run: &driver::Run) -> Vec<&'static str> {
    run.history.iter().map(|e| e.kind).collect()
}

#[test]
fn callback_waits_for_its_token_and_the_token_is_in_the_context() {
    let def = json!({"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"MessageBody": {"Token.$": "$$.Task.Token"}},
        "End": true
    }}});
    let run = run_with(def, json!({}), |inv| {
        let token = inv.token.clone().expect("callback tasks carry a token");
        assert_eq!(inv.input["MessageBody"]["Token"], json!(token));
        passo_engine::token::open(b"passo-local", &token).expect("a token the secret opens");
        TaskResult::Script(vec![
            (0, TaskAction::Submitted(json!({"MessageId": "m"}))),
            (3_600_000, TaskAction::Succeeded(json!("approved"))),
        ])
    });
    assert_eq!(run.outcome.status, Status::Succeeded);
    assert_eq!(run.outcome.output, Some(json!("approved")));
    assert_eq!(
        event_kinds(&run),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    // The answer came an hour later, on virtual time.
    assert_eq!(run.end_time_ms, T0 + 3_600_000);
}

#[test]
fn task_timeout_fails_with_states_timeout_and_catch_sees_an_empty_cause() {
    let def = json!({"StartAt": "Slow", "States": {
        "Slow": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 5,
                  "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}
    }});
    // The function would answer after 60 s: too late.
    let run = run_with(def, json!({}), |inv| {
        TaskResult::Script(vec![(60_000, TaskAction::Succeeded(inv.input.clone()))])
    });
    assert_eq!(
        run.outcome.output,
        Some(json!({"Error": "States.Timeout", "Cause": ""}))
    );
    let timed_out = run
        .history
        .iter()
        .find(|e| e.kind == "TaskTimedOut")
        .unwrap()
        .to_json();
    assert_eq!(
        timed_out["taskTimedOutEventDetails"],
        json!({"resourceType": "lambda", "resource": "invoke", "error": "States.Timeout"})
    );
    assert_eq!(run.end_time_ms, T0 + 5_000);
}

#[test]
fn heartbeats_keep_a_task_alive_until_they_stop() {
    let def = json!({"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "HeartbeatSeconds": 10, "End": true
    }}});
    // Beats every 8 s for 40 s, then success: the task lives past its 10 s heartbeat.
    let beating = run_with(def.clone(), json!({}), |_| {
        let mut s: Vec<(i64, TaskAction)> = vec![(0, TaskAction::Submitted(json!({})))];
        s.extend((1..=5).map(|i| (i * 8_000, TaskAction::Heartbeat)));
        s.push((45_000, TaskAction::Succeeded(json!("done"))));
        TaskResult::Script(s)
    });
    assert_eq!(beating.outcome.status, Status::Succeeded);
    // Beats stop at 16 s: the heartbeat runs out at 26 s.
    let silent = run_with(def, json!({}), |_| {
        TaskResult::Script(vec![
            (0, TaskAction::Submitted(json!({}))),
            (8_000, TaskAction::Heartbeat),
            (16_000, TaskAction::Heartbeat),
            (45_000, TaskAction::Succeeded(json!("late"))),
        ])
    });
    assert_eq!(silent.outcome.status, Status::Failed);
    assert_eq!(silent.outcome.error.as_deref(), Some("States.Timeout"));
    assert_eq!(silent.end_time_ms, T0 + 26_000);
}

#[test]
fn activity_tasks_write_activity_events_and_start_their_heartbeat_when_taken() {
    let arn = "arn:aws:states:us-east-1:123456789012:activity:review";
    let def = json!({"StartAt": "Review", "States": {"Review": {
        "Type": "Task", "Resource": arn, "TimeoutSeconds": 600, "HeartbeatSeconds": 10, "End": true
    }}});
    // The worker takes it after 30 s (longer than the heartbeat: the clock starts at taking).
    let run = run_with(def.clone(), json!({"doc": 1}), |inv| {
        assert!(inv.token.is_some(), "activity tasks carry a token");
        TaskResult::Script(vec![
            (30_000, TaskAction::Started(Some("worker-1".into()))),
            (35_000, TaskAction::Succeeded(json!({"ok": true}))),
        ])
    });
    assert_eq!(run.outcome.output, Some(json!({"ok": true})));
    assert_eq!(
        event_kinds(&run)[2..5],
        ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]
    );
    let scheduled = run.history[2].to_json();
    assert_eq!(
        scheduled["activityScheduledEventDetails"]["heartbeatInSeconds"],
        json!(10)
    );
    assert_eq!(
        run.history[3].to_json()["activityStartedEventDetails"],
        json!({"workerName": "worker-1"})
    );
    // Taken but never answered: ActivityTimedOut after the heartbeat.
    let run = run_with(def, json!({}), |_| {
        TaskResult::Script(vec![(1_000, TaskAction::Started(None))])
    });
    assert_eq!(event_kinds(&run)[4], "ActivityTimedOut");
    assert_eq!(run.end_time_ms, T0 + 11_000);
}

#[test]
fn a_closed_task_refuses_late_answers() {
    let m = machine(json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "TimeoutSeconds": 5, "End": true
    }}}));
    let (mut ex, cmds, _) = Execution::start(m, ExecutionInfo::local("t", T0, 1), json!({}));
    let task = cmds
        .iter()
        .find_map(|c| match c {
            Command::InvokeTask { task, .. } => Some(*task),
            _ => None,
        })
        .unwrap();
    let timer = cmds
        .iter()
        .find_map(|c| match c {
            Command::StartTimer { timer, .. } => Some(*timer),
            _ => None,
        })
        .unwrap();
    assert_eq!(ex.task_phase(task), Some(TaskPhase::Invoked));
    ex.step(
        Event::TaskSubmitted {
            task,
            output: json!({}),
        },
        T0,
    );
    assert_eq!(ex.task_phase(task), Some(TaskPhase::Submitted));
    assert_eq!(ex.open_tasks().count(), 1);
    ex.step(Event::TimerFired { timer }, T0 + 5_000);
    assert_eq!(ex.task_phase(task), None);
    let (cmds, events) = ex.step(
        Event::TaskSucceeded {
            task,
            output: json!(1),
        },
        T0 + 6_000,
    );
    assert!(cmds.is_empty() && events.is_empty());
    assert_eq!(
        ex.outcome().unwrap().error.as_deref(),
        Some("States.Timeout")
    );
}

/// Events that come from tasks in flight count against the 25,000-event limit: an inline
/// Map of 4,000 Tasks (about 7 events each) fails on the limit, as on AWS, instead of
/// succeeding with 28,000 events.
#[test]
fn the_history_limit_holds_for_events_of_tasks_in_flight() {
    let m = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
        "End": true}}});
    let items: Vec<u32> = (0..4000).collect();
    let run = run_with(m, json!({"items": items}), |_| {
        TaskResult::Success(json!({}))
    });
    assert_eq!(run.outcome.status, Status::Failed);
    assert_eq!(run.outcome.error.as_deref(), Some("States.Runtime"));
    assert!(
        run.outcome
            .cause
            .as_deref()
            .unwrap()
            .contains("maximum number of history events"),
        "{:?}",
        run.outcome.cause
    );
    assert!(run.history.len() <= 25_001, "{} events", run.history.len());
    assert_eq!(run.history.last().unwrap().kind, "ExecutionFailed");
}

/// `Output: {% $states.input %}` passes the input on (moved when it is already as JSONata
/// writes it; whole numbers written as floats come out as JSONata writes them).
#[test]
fn a_jsonata_pass_of_its_input_keeps_it_as_jsonata_writes_it() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": "{% $states.input %}", "Next": "Q"},
        "Q": {"Type": "Pass", "Output": "{% $states.input %}", "End": true}}});
    for (input, want) in [
        (
            json!({"a": [1, "x", {"b": null}], "f": 1.5}),
            "{\"a\":[1,\"x\",{\"b\":null}],\"f\":1.5}",
        ),
        (json!({"w": 2.0, "z": -0.0}), "{\"w\":2,\"z\":0}"),
    ] {
        let run = run_with(def.clone(), input, |_| TaskResult::Success(json!({})));
        assert_eq!(run.outcome.status, Status::Succeeded);
        assert_eq!(run.outcome.output.unwrap().to_string(), want);
    }
}
