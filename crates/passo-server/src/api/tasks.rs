//! Answers to task tokens: SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat. A token
//! names one task of one execution instance (see `passo_engine::token`); whether the task is
//! still open is the execution's own state, so a token works once and stops working when its
//! task ends.
//!
//! Refusals, as AWS answers them: a token this server could not have minted (malformed,
//! forged, signed under a key no longer in the ring) is InvalidToken; a token whose task has
//! ended, in an execution that is still stored, is TaskTimedOut; a token whose execution is
//! gone (purged, or never stored) is TaskDoesNotExist, and so is a token minted by an earlier
//! execution of the same ARN, since the task it names never existed in this one.

use super::{opt_str, req_str};
use crate::codec;
use crate::error::ApiError;
use crate::runtime::{Delivery, Expect, Runtime};
use passo_engine::token::TokenClaims;
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
    rt.cfg
        .token_keys
        .open(t)
        .map_err(|_| crate::api::invalid_token())
}

/// Refuses a token minted by another execution instance of the same ARN: one purged with
/// its tasks, whose name a later execution took (so the task id alone would match).
///
/// Read from the execution's stored row (its seed is there), not under the runtime's lock: a
/// name is only free again once the row is gone, so between this read and the delivery the
/// ARN could change owner only by being purged and restarted, and then the delivery finds
/// the task closed or absent.
fn check_instance(rt: &Runtime, c: &TokenClaims) -> Result<(), ApiError> {
    match rt.db.execution(&c.execution_arn)? {
        Some(row) if c.minted_for(codec::parse_params(&row.params).0) => Ok(()),
        _ => Err(task_missing()),
    }
}

/// Delivers an answer to the token's task; a task that is no longer open answers as AWS.
async fn answer(rt: &Arc<Runtime>, c: &TokenClaims, event: Event) -> Result<Value, ApiError> {
    check_instance(rt, c)?;
    match rt
        .deliver_for_caller(&c.execution_arn, event, Expect::Task(c.task, &[]))
        .await?
    {
        Delivery::Applied | Delivery::Forwarded => Ok(json!({})),
        Delivery::Refused | Delivery::NotYet => Err(timed_out()),
        Delivery::Ended if rt.db.execution(&c.execution_arn)?.is_some() => Err(timed_out()),
        Delivery::Ended => Err(task_missing()),
    }
}

fn task_missing() -> ApiError {
    ApiError::TaskDoesNotExist("Task Does Not Exist: 'Provided task does not exist'".into())
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
