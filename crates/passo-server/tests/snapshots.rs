//! A long execution parked on a callback inside a Parallel (whose other branch ran a Map
//! with a Retry) is rebuilt from its snapshot: it ends with the same history and output as
//! the same execution rebuilt by replaying every step, and as copies whose snapshot was
//! corrupted or taken under another revision (those fall back to the full replay). Its
//! history reads alike in pages either way round.

use axum::body::Body;
use axum::http::Request;
use passo_server::runtime::Runtime;
use passo_server::tasks::{TaskRequest, TaskRunner};
use passo_server::Config;
use passo_store::{Db, SnapshotRow, Write};
use passo_tasks::TaskFuture;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

const ROUNDS: i64 = 230;

/// Counts up in `Count`, fails the first attempt of item 2 of the Map, keeps callback
/// tokens.
#[derive(Default)]
struct Runner {
    tokens: Mutex<Vec<String>>,
}

impl TaskRunner for Runner {
    fn invoke(&self, req: TaskRequest) -> TaskFuture {
        if let Some(t) = &req.token {
            self.tokens.lock().unwrap().push(t.clone());
        }
        let out = match req.state_name.as_str() {
            "Count" => Ok(json!({"i": req.input["i"].as_i64().unwrap_or(0) + 1,
                                 "list": [1, 2, 3]})),
            "Item" if req.input == json!(2) && req.attempt == 0 => {
                Err(("Flaky".to_string(), Some("once".to_string())))
            }
            "Item" => Ok(json!({"item": req.input, "attempt": req.attempt})),
            _ => Ok(json!({})),
        };
        Box::pin(async move { out })
    }
}

async fn call(rt: &Arc<Runtime>, action: &str, body: Value) -> Value {
    let req = Request::post("/")
        .header("host", "127.0.0.1")
        .header("x-amz-target", action)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = passo_server::api::router(rt.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(status.is_success(), "{action}: {v}");
    v
}

fn machine() -> Value {
    let lambda = "arn:aws:states:::lambda:invoke";
    json!({"StartAt": "Count", "States": {
        "Count": {"Type": "Task", "Resource": lambda,
                  "Parameters": {"FunctionName": "f", "i.$": "$.i"}, "Next": "More"},
        "More": {"Type": "Choice", "Default": "Both",
                 "Choices": [{"Variable": "$.i", "NumericLessThan": ROUNDS, "Next": "Count"}]},
        "Both": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "Cb", "States": {"Cb": {"Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "f", "Payload": {"t.$": "$$.Task.Token"}},
                "End": true}}},
            {"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.list",
                "End": true, "ItemProcessor": {"StartAt": "Item", "States": {"Item": {
                    "Type": "Task", "Resource": lambda,
                    "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1}],
                    "End": true}}}}}}]}}})
}

/// Every event, forward in pages of `page` (checked against the reverse pages when
/// `both`: the execution is not moving on meanwhile).
async fn history(rt: &Arc<Runtime>, arn: &str, page: usize, both: bool) -> Vec<Value> {
    let mut all = Vec::new();
    for reverse in [false, true].into_iter().take(1 + usize::from(both)) {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = json!({"executionArn": arn, "maxResults": page, "reverseOrder": reverse});
            if let Some(t) = &token {
                req["nextToken"] = json!(t);
            }
            let v = call(rt, "AWSStepFunctions.GetExecutionHistory", req).await;
            let got = v["events"].as_array().unwrap();
            assert!(got.len() <= page);
            events.extend(got.iter().cloned());
            match v["nextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        if reverse {
            events.reverse();
            assert_eq!(events, all, "the reverse pages hold the same events");
        } else {
            let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
            assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
            all = events;
        }
    }
    all
}

/// The events without their times (the copies resume at different moments).
fn timeless(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.as_object_mut().unwrap().remove("timestamp");
            e
        })
        .collect()
}

async fn describe(rt: &Arc<Runtime>, arn: &str) -> Value {
    call(
        rt,
        "AWSStepFunctions.DescribeExecution",
        json!({"executionArn": arn}),
    )
    .await
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Opens the copy, changes its snapshot with `change`, sends the callback's answer and
/// answers the execution's end, its history and the server's rebuild counts.
async fn resume(
    dir: &Path,
    arn: &str,
    token: &str,
    change: Option<Write>,
) -> (Value, Vec<Value>, Value) {
    let db = Db::open(&dir.join("p.db"), Default::default()).unwrap();
    if let Some(w) = change {
        db.write(vec![w]).await.unwrap();
    }
    let rt = Runtime::new(Config::default(), db, Arc::new(Runner::default())).unwrap();
    call(
        &rt,
        "AWSStepFunctions.SendTaskSuccess",
        json!({"taskToken": token, "output": "{\"answered\":true}"}),
    )
    .await;
    let mut d = describe(&rt, arn).await;
    for _ in 0..100 {
        if d["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        d = describe(&rt, arn).await;
    }
    let h = history(&rt, arn, 100, true).await;
    let stats = call(&rt, "Passo.DescribeServer", json!({})).await;
    (d, h, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_execution_resumes_from_its_snapshot_as_from_a_full_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    std::fs::create_dir_all(&first).unwrap();
    let db = Db::open(&first.join("p.db"), Default::default()).unwrap();
    let runner = Arc::new(Runner::default());
    let rt = Runtime::new(Config::default(), db.clone(), runner.clone()).unwrap();
    // The Retry's back-off is a timer.
    let timers = tokio::spawn(passo_server::timers::run(rt.clone()));
    let m = call(
        &rt,
        "AWSStepFunctions.CreateStateMachine",
        json!({"name": "long", "definition": machine().to_string(),
               "roleArn": "arn:aws:iam::123456789012:role/r"}),
    )
    .await;
    let e = call(
        &rt,
        "AWSStepFunctions.StartExecution",
        json!({"stateMachineArn": m["stateMachineArn"], "input": "{\"i\": 0}"}),
    )
    .await;
    let arn = e["executionArn"].as_str().unwrap().to_string();
    // Parked once the Map is done (its Retry's timer fired) and only the callback waits.
    let mut parked = false;
    let mut seen = (Value::Null, Value::Null);
    for _ in 0..300 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let h = history(&rt, &arn, 1000, false).await;
        let stats = call(&rt, "Passo.DescribeServer", json!({})).await;
        if h.iter().any(|e| e["type"] == "MapStateSucceeded") && stats["executionsInMemory"] == 0 {
            parked = true;
            break;
        }
        seen = (h.last().cloned().unwrap_or_default(), stats);
    }
    assert!(
        parked,
        "the execution parks on its callback and leaves memory: {seen:?}"
    );
    let token = runner.tokens.lock().unwrap().last().cloned().unwrap();
    let snap = db
        .snapshot(&arn)
        .unwrap()
        .expect("a long execution has a snapshot");
    assert!(snap.seq >= 200, "taken after {} steps", snap.seq);
    timers.abort();
    db.close();
    drop(rt);
    tokio::time::sleep(Duration::from_millis(100)).await;

    let copies = ["snapshot", "full", "corrupt", "revision"];
    for c in copies {
        copy_dir(&first, &tmp.path().join(c));
    }
    let bad = |state: &str, revision: &str| {
        Write::PutSnapshot(SnapshotRow {
            state: state.to_string(),
            revision_id: revision.to_string(),
            ..snap.clone()
        })
    };
    let (d, h, stats) = resume(&tmp.path().join("snapshot"), &arn, &token, None).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(stats["rebuiltFromSnapshots"], 1, "{stats}");
    assert_eq!(stats["rebuiltInFull"], 0, "{stats}");
    let replayed = stats["stepsReplayed"].as_u64().unwrap();
    assert!(replayed < 50, "only the steps after the snapshot: {stats}");

    let changes = [
        ("full", Some(Write::DeleteSnapshot(arn.clone())), 0),
        (
            "corrupt",
            Some(bad(&snap.state[..snap.state.len() / 2], &snap.revision_id)),
            1,
        ),
        ("revision", Some(bad(&snap.state, "another")), 1),
    ];
    for (name, change, passed_over) in changes {
        let (d2, h2, stats) = resume(&tmp.path().join(name), &arn, &token, change).await;
        assert_eq!(d2["status"], "SUCCEEDED", "{name}: {d2}");
        assert_eq!(d2["output"], d["output"], "{name}");
        assert_eq!(timeless(&h2), timeless(&h), "{name}: the same history");
        assert_eq!(stats["rebuiltFromSnapshots"], 0, "{name}: {stats}");
        assert_eq!(stats["rebuiltInFull"], 1, "{name}: {stats}");
        assert_eq!(stats["snapshotsPassedOver"], passed_over, "{name}: {stats}");
        assert!(
            stats["stepsReplayed"].as_u64().unwrap() > 200,
            "{name}: every step: {stats}"
        );
    }
    // The answer reached the output, through the Parallel.
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out[0], json!({"answered": true}), "{out}");
    assert_eq!(out[1].as_array().unwrap().len(), 3, "{out}");
}
