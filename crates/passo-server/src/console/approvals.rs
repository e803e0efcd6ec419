//! The approvals inbox: every open task that a task token answers (callbacks waiting for a
//! person or a system, activity tasks waiting for a worker), and Approve and Reject, which
//! are SendTaskSuccess and SendTaskFailure themselves.

use super::{answer, api_fail, body_object, ok, Ctx};
use crate::api;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::Response;
use passo_engine::TaskPhase;
use serde_json::{json, Value};

/// Running executions looked at for one inbox (each one in memory is read at once; the rest
/// are rebuilt from the store).
const MAX_EXECUTIONS: usize = 2000;

fn phase(p: TaskPhase) -> &'static str {
    match p {
        TaskPhase::Invoked => "QUEUED",
        TaskPhase::Submitted => "WAITING",
        TaskPhase::Started => "WORKER_HAS_IT",
    }
}

pub async fn inbox(c: Ctx, headers: HeaderMap) -> Response {
    if let Err(r) = c.caller(&headers) {
        return r;
    }
    let rt = c.rt.clone();
    let waiting = tokio::task::spawn_blocking(move || rt.waiting_tasks(MAX_EXECUTIONS)).await;
    let waiting = match waiting {
        Ok(Ok(w)) => w,
        Ok(Err(e)) => return api_fail(e),
        Err(_) => return api_fail(crate::error::ApiError::Internal("the inbox failed".into())),
    };
    let (callbacks, activities): (Vec<_>, Vec<_>) =
        waiting.into_iter().partition(|w| w.is_callback());
    let show = |w: &crate::runtime::WaitingTask| -> Value {
        json!({
            "executionArn": w.execution_arn, "stateName": w.state_name,
            "resource": w.resource, "phase": phase(w.phase), "sinceMs": w.since_ms,
            "payload": w.payload, "taskToken": w.token,
        })
    };
    ok(json!({
        "callbacks": callbacks.iter().map(show).collect::<Vec<_>>(),
        "activities": activities.iter().map(show).collect::<Vec<_>>(),
    }))
}

/// SendTaskSuccess with the output the person wrote.
pub async fn approve(c: Ctx, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = c.actor(&headers) {
        return r;
    }
    let req = match body_object(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let call = json!({"taskToken": req["taskToken"], "output": req["output"]});
    answer(api::tasks::success(&c.rt, &call).await)
}

/// SendTaskFailure with the error and cause the person wrote.
pub async fn reject(c: Ctx, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = c.actor(&headers) {
        return r;
    }
    let req = match body_object(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut call = json!({"taskToken": req["taskToken"]});
    for k in ["error", "cause"] {
        if let Some(v) = req[k].as_str().filter(|v| !v.is_empty()) {
            call[k] = json!(v);
        }
    }
    answer(api::tasks::failure(&c.rt, &call).await)
}
