//! Map Runs: DescribeMapRun, ListMapRuns and UpdateMapRun.

use super::{page, paged, req_str};
use crate::arn::{self, Resource};
use crate::error::ApiError;
use crate::runtime::Runtime;
use serde_json::{json, Value};
use std::sync::Arc;

fn map_run_arn(req: &Value) -> Result<&str, ApiError> {
    let arn = req_str(req, "mapRunArn")?;
    match arn::parse(arn)? {
        Resource::MapRun => Ok(arn),
        other => Err(arn::wrong_kind(&other)),
    }
}

fn missing(arn: &str) -> ApiError {
    ApiError::ResourceNotFound(format!("Resource Not Found: '{arn}'"))
}

pub fn describe(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let arn = map_run_arn(req)?;
    rt.map_runs.describe(rt, arn)?.ok_or_else(|| missing(arn))
}

pub fn list(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let execution = req_str(req, "executionArn")?;
    match arn::parse(execution)? {
        Resource::Execution { .. } => {}
        other => return Err(arn::wrong_kind(&other)),
    }
    if rt.db.execution(execution)?.is_none() {
        return Err(ApiError::ExecutionDoesNotExist(format!(
            "Execution Does Not Exist: '{execution}'"
        )));
    }
    let (limit, offset) = page(req, 100)?;
    let items: Vec<Value> = rt
        .db
        .map_runs_of(execution)?
        .iter()
        .map(|r| {
            let mut v = json!({
                "executionArn": r.execution_arn,
                "mapRunArn": r.arn,
                "stateMachineArn": r.state_machine_arn,
                "startDate": super::ts(r.start_ms),
            });
            if let Some(stop) = r.stop_ms {
                v["stopDate"] = super::ts(stop);
            }
            v
        })
        .collect();
    Ok(paged(items, "mapRuns", offset, limit))
}

/// A number field of UpdateMapRun, within `[0, max]`.
fn number(req: &Value, key: &str, max: f64) -> Result<Option<f64>, ApiError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let n = v.as_f64().ok_or_else(|| {
                ApiError::SerializationException(format!("{key} must be a number"))
            })?;
            if !(0.0..=max).contains(&n) {
                return Err(ApiError::ValidationException(format!(
                    "1 validation error detected: Value '{n}' at '{key}' failed to satisfy constraint: Member must have value between 0 and {max}"
                )));
            }
            Ok(Some(n))
        }
    }
}

pub fn update(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let arn = map_run_arn(req)?;
    let max_concurrency = number(req, "maxConcurrency", i32::MAX as f64)?;
    let count = number(req, "toleratedFailureCount", i64::MAX as f64)?;
    let pct = number(req, "toleratedFailurePercentage", 100.0)?;
    if max_concurrency.is_none() && count.is_none() && pct.is_none() {
        return Err(ApiError::ValidationException(
            "At least one of the parameters maxConcurrency, toleratedFailurePercentage or toleratedFailureCount must be specified".into(),
        ));
    }
    let run = rt.map_runs.get(arn).ok_or_else(|| missing(arn))?;
    if run.info().status != crate::map_runs::MapRunStatus::Running {
        return Err(ApiError::ValidationException(format!(
            "The Map Run '{arn}' is no longer running"
        )));
    }
    rt.map_runs
        .update(arn, max_concurrency.map(|m| m as u64), count, pct)
        .ok_or_else(|| missing(arn))?;
    Ok(json!({}))
}
