//! Answers to task tokens: SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat. A token
//! names its execution and task (see `passo_engine::token`); whether the task is still open
//! is the execution's own state, so a token works once and stops working when its task ends.

use super::{opt_str, req_str};
use crate::error::ApiError;
use crate::runtime::{Delivery, Expect, Runtime};
use passo_engine::token::{self, TokenClaims};
use passo_engine::Event;
use serde_json::{json, Value};
use std::sync::Arc;

/// The task a token names, with AWS's errors for a malformed or foreign token.
fn claims(rt: &Runtime, req: &Value) -> Result<TokenClaims, ApiError> {
    let t = req_str(req, "taskToken")?;
    if t.is_empty() || t.len() > 2048 {
        return Err(ApiError::constraint(
            t,
            "taskToken",
            "Member must have length less than or equal to 2048",
        ));
    }
    token::open(&rt.cfg.token_secret, t).map_err(|_| ApiError::InvalidToken("Invalid token".into()))
}

/// Delivers an answer to the token's task; a task that is no longer open answers as AWS.
async fn answer(rt: &Arc<Runtime>, c: &TokenClaims, event: Event) -> Result<Value, ApiError> {
    match rt
        .deliver_for_caller(&c.execution_arn, event, Expect::Task(c.task, &[]))
        .await?
    {
        Delivery::Applied => Ok(json!({})),
        Delivery::Refused | Delivery::NotYet => Err(timed_out()),
        Delivery::Ended if rt.db.execution(&c.execution_arn)?.is_some() => Err(timed_out()),
        Delivery::Ended => Err(ApiError::TaskDoesNotExist(
            "Task Does Not Exist: 'Provided task does not exist'".into(),
        )),
    }
}

fn timed_out() -> ApiError {
    ApiError::TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'".into())
}

pub async fn success(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let c = claims(rt, req)?;
    let text = req_str(req, "output")?;
    if rt.cfg.payload_limit > 0 && text.len() > rt.cfg.payload_limit {
        return Err(ApiError::ValidationException(format!(
            "1 validation error detected: Value at 'output' failed to satisfy constraint: Member must have length less than or equal to {}",
            rt.cfg.payload_limit
        )));
    }
    let output: Value = serde_json::from_str(text).map_err(|e| {
        ApiError::InvalidOutput(format!(
            "Invalid Output: '{}'",
            super::json_error(text, &e).0
        ))
    })?;
    answer(
        rt,
        &c,
        Event::TaskSucceeded {
            task: c.task,
            output,
        },
    )
    .await
}

pub async fn failure(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let c = claims(rt, req)?;
    let error = opt_str(req, "error").map(String::from);
    let cause = opt_str(req, "cause").map(String::from);
    if let Some(e) = error.as_deref().filter(|e| e.chars().count() > 256) {
        return Err(ApiError::constraint(
            e,
            "error",
            "Member must have length less than or equal to 256",
        ));
    }
    if cause.as_deref().is_some_and(|c| c.chars().count() > 32_768) {
        return Err(ApiError::ValidationException(
            "1 validation error detected: Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to 32768".into(),
        ));
    }
    let event = Event::TaskFailed {
        task: c.task,
        error: error.unwrap_or_default(),
        cause,
    };
    answer(rt, &c, event).await
}

pub async fn heartbeat(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let c = claims(rt, req)?;
    answer(rt, &c, Event::TaskHeartbeat { task: c.task }).await
}
