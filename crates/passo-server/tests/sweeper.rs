//! The invariant sweeper finds an execution whose task invocation was lost (here: the
//! integration's future panics, so nothing will ever answer it), logs it, and recovers it by
//! sending the task again; an execution waiting on a callback token is left alone.

use axum::body::Body;
use axum::http::Request;
use passo_server::runtime::Runtime;
use passo_server::tasks::{TaskRequest, TaskRunner};
use passo_server::Config;
use passo_tasks::TaskFuture;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// Panics on the first call of each execution's task (a lost invocation), answers after.
#[derive(Default)]
struct LosesFirstCall {
    seen: Mutex<HashSet<String>>,
}

impl TaskRunner for LosesFirstCall {
    fn invoke(&self, req: TaskRequest) -> TaskFuture {
        let first = self.seen.lock().unwrap().insert(req.execution_arn.clone());
        Box::pin(async move {
            assert!(!first, "the first invocation is lost");
            Ok(json!({"ok": 1}))
        })
    }
}

async fn call(rt: &Arc<Runtime>, target: &str, body: Value) -> Value {
    let req = Request::post("/")
        .header("host", "127.0.0.1")
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = passo_server::api::router(rt.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(status.is_success(), "{target}: {v}");
    v
}

async fn status(rt: &Arc<Runtime>, arn: &str) -> String {
    let d = call(
        rt,
        "AWSStepFunctions.DescribeExecution",
        json!({"executionArn": arn}),
    )
    .await;
    d["status"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_invocation_is_found_and_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = passo_store::Db::open(&dir.path().join("p.db"), Default::default()).unwrap();
    let rt = Runtime::new(Config::default(), db, Arc::new(LosesFirstCall::default())).unwrap();
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
              "Parameters": {"FunctionName": "f"}, "End": true}}});
    let cb = json!({"StartAt": "W", "States": {
        "W": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
              "Parameters": {"FunctionName": "f", "Payload": {"t.$": "$$.Task.Token"}}, "End": true}}});
    let mut arns = Vec::new();
    for (name, d) in [("lost", def), ("callback", cb)] {
        let m = call(
            &rt,
            "AWSStepFunctions.CreateStateMachine",
            json!({"name": name, "definition": d.to_string(),
                   "roleArn": "arn:aws:iam::123456789012:role/r"}),
        )
        .await;
        let e = call(
            &rt,
            "AWSStepFunctions.StartExecution",
            json!({"stateMachineArn": m["stateMachineArn"]}),
        )
        .await;
        arns.push(e["executionArn"].as_str().unwrap().to_string());
    }
    // Both first invocations panicked: nothing will answer them.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(status(&rt, &arns[0]).await, "RUNNING");
    assert_eq!(
        rt.inflight_count(),
        0,
        "a panicked invocation is not in flight"
    );

    assert_eq!(rt.sweep().await, 2, "both lost invocations are found");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        status(&rt, &arns[0]).await,
        "SUCCEEDED",
        "sent again, answered"
    );
    // The callback's request went out again and was accepted: it now waits on its token,
    // which is not a strand.
    assert_eq!(status(&rt, &arns[1]).await, "RUNNING");
    assert_eq!(
        rt.sweep().await,
        0,
        "a task waiting on its token is not stranded"
    );
    assert_eq!(rt.sweep().await, 0);
    let stats = call(&rt, "Passo.DescribeServer", json!({})).await;
    assert_eq!(stats["strandedFound"], 2, "{stats}");
    assert_eq!(stats["sweeps"], 3, "{stats}");
}
