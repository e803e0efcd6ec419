//! The mix of Standard state machines the cluster test runs, and what each must leave behind:
//! the function invocations it makes ([`super::ledger::Key`]s) and the exact count of every
//! history event type, so a step recorded twice or a timer fired twice shows as a count off.
//!
//! Every function Task calls `f` (each node's passo.toml points it at the ledger, under the
//! node's name) with a payload naming the execution, the state and the attempt.

use super::ledger::Key;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One machine of the mix.
pub struct Machine {
    pub name: &'static str,
    pub definition: Value,
    pub input: Value,
    /// The invocations one execution makes: (state, attempt, Map item).
    pub calls: Vec<(&'static str, u64, Option<u64>)>,
    /// The history's events, by type, of one execution that succeeds.
    pub events: BTreeMap<&'static str, usize>,
    /// Event types that may be there at most once, or not: an answer can race them.
    pub optional: &'static [&'static str],
}

impl Machine {
    /// The ledger keys one execution named `exec` must have.
    pub fn keys(&self, exec: &str) -> Vec<Key> {
        self.calls
            .iter()
            .map(|&(state, attempt, item)| Key {
                exec: exec.to_string(),
                state: state.to_string(),
                attempt,
                item,
            })
            .collect()
    }
}

/// The payload of a call to `f`, plus `extra` fields.
fn payload(extra: Value) -> Value {
    let mut p = json!({
        "exec.$": "$$.Execution.Name",
        "state.$": "$$.State.Name",
        "attempt.$": "$$.State.RetryCount",
    });
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    p
}

/// A `lambda:invoke` of `f` (its result dropped: the outputs stay small).
fn call_f(extra: Value) -> Value {
    json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
           "Parameters": {"FunctionName": "f", "Payload": payload(extra)},
           "ResultPath": null, "End": true})
}

/// Events of a function Task that succeeds at once.
const TASK: [(&str, usize); 5] = [
    ("TaskStateEntered", 1),
    ("TaskScheduled", 1),
    ("TaskStarted", 1),
    ("TaskSucceeded", 1),
    ("TaskStateExited", 1),
];

fn times(base: &[(&'static str, usize)], n: usize) -> Vec<(&'static str, usize)> {
    base.iter().map(|&(t, c)| (t, c * n)).collect()
}

fn with_run(mut v: Vec<(&'static str, usize)>) -> BTreeMap<&'static str, usize> {
    v.push(("ExecutionStarted", 1));
    v.push(("ExecutionSucceeded", 1));
    let mut m = BTreeMap::new();
    for (t, c) in v {
        *m.entry(t).or_default() += c;
    }
    m
}

pub fn machines() -> Vec<Machine> {
    let chain: serde_json::Map<String, Value> = (0..10)
        .map(|i| {
            let mut s = json!({"Type": "Pass"});
            if i < 9 {
                s["Next"] = json!(format!("P{}", i + 1));
            } else {
                s["End"] = json!(true);
            }
            (format!("P{i}"), s)
        })
        .collect();
    let mut flaky = call_f(json!({"flaky": true}));
    flaky["Retry"] = json!([{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1,
                             "MaxAttempts": 2, "BackoffRate": 1.0}]);
    let mut callback = call_f(json!({"token.$": "$$.Task.Token"}));
    callback["Resource"] = json!("arn:aws:states:::lambda:invoke.waitForTaskToken");
    vec![
        Machine {
            name: "chain",
            definition: json!({"StartAt": "P0", "States": chain}),
            input: json!({}),
            calls: vec![],
            events: with_run(vec![("PassStateEntered", 10), ("PassStateExited", 10)]),
            optional: &[],
        },
        Machine {
            name: "wait",
            definition: json!({"StartAt": "W", "States": {
                "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
                "P": {"Type": "Pass", "End": true}}}),
            input: json!({}),
            calls: vec![],
            events: with_run(vec![
                ("WaitStateEntered", 1),
                ("WaitStateExited", 1),
                ("PassStateEntered", 1),
                ("PassStateExited", 1),
            ]),
            optional: &[],
        },
        Machine {
            name: "retry",
            definition: json!({"StartAt": "Flaky", "States": {"Flaky": flaky}}),
            input: json!({}),
            calls: vec![("Flaky", 0, None), ("Flaky", 1, None)],
            events: with_run(vec![
                ("TaskStateEntered", 1),
                ("TaskScheduled", 2),
                ("TaskStarted", 2),
                ("TaskFailed", 1),
                ("TaskSucceeded", 1),
                ("TaskStateExited", 1),
            ]),
            optional: &[],
        },
        Machine {
            name: "parallel",
            definition: json!({"StartAt": "Par", "States": {"Par": {
                "Type": "Parallel", "End": true, "ResultPath": null, "Branches": [
                    {"StartAt": "A", "States": {"A": call_f(json!({}))}},
                    {"StartAt": "B", "States": {"B": call_f(json!({}))}}]}}}),
            input: json!({}),
            calls: vec![("A", 0, None), ("B", 0, None)],
            events: with_run({
                let mut v = times(&TASK, 2);
                v.extend([
                    ("ParallelStateEntered", 1),
                    ("ParallelStateStarted", 1),
                    ("ParallelStateSucceeded", 1),
                    ("ParallelStateExited", 1),
                ]);
                v
            }),
            optional: &[],
        },
        Machine {
            name: "map",
            definition: json!({"StartAt": "M", "States": {"M": {
                "Type": "Map", "ItemsPath": "$.items", "End": true, "ResultPath": null,
                "ItemSelector": {"index.$": "$$.Map.Item.Index"},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "T", "States": {"T": call_f(json!({"item.$": "$.index"}))}}}}}),
            input: json!({"items": [1, 2, 3]}),
            calls: vec![("T", 0, Some(0)), ("T", 0, Some(1)), ("T", 0, Some(2))],
            events: with_run({
                let mut v = times(&TASK, 3);
                v.extend([
                    ("MapStateEntered", 1),
                    ("MapStateStarted", 1),
                    ("MapIterationStarted", 3),
                    ("MapIterationSucceeded", 3),
                    ("MapStateSucceeded", 1),
                    ("MapStateExited", 1),
                ]);
                v
            }),
            optional: &[],
        },
        Machine {
            name: "callback",
            definition: json!({"StartAt": "Cb", "States": {"Cb": callback}}),
            input: json!({}),
            calls: vec![("Cb", 0, None)],
            events: with_run(vec![
                ("TaskStateEntered", 1),
                ("TaskScheduled", 1),
                ("TaskStarted", 1),
                ("TaskSucceeded", 1),
                ("TaskStateExited", 1),
            ]),
            // A callback's token may be answered before the invocation that carried it
            // returns; the task then never shows as submitted.
            optional: &["TaskSubmitted"],
        },
    ]
}

/// The history's events of `h`, by type.
pub fn event_counts(h: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in h {
        *m.entry(e["type"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    m
}

/// How `h` differs from what `m` implies, or None when its counts are exact.
pub fn events_off(m: &Machine, h: &[Value]) -> Option<String> {
    let mut got = event_counts(h);
    for t in m.optional {
        if got.get(*t) == Some(&1) {
            got.remove(*t);
        }
    }
    let want: BTreeMap<String, usize> = m.events.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    if got == want {
        return None;
    }
    let mut off = Vec::new();
    for t in got
        .keys()
        .chain(want.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (g, w) = (
            got.get(t).copied().unwrap_or(0),
            want.get(t).copied().unwrap_or(0),
        );
        if g != w {
            off.push(format!("{t} {g} (want {w})"));
        }
    }
    Some(off.join(", "))
}
