//! Activities: CreateActivity, DescribeActivity, DeleteActivity, ListActivities and
//! GetActivityTask (a long poll of up to 60 s that holds no thread while it waits).

use super::{opt_str, page, paged, req_str, ts};
use crate::arn::{self, Resource};
use crate::error::ApiError;
use crate::runtime::{now_ms, Runtime};
use passo_store::{ActivityRow, Write};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// How long GetActivityTask waits for a task before answering without one (AWS: 60 s).
pub const POLL_SECONDS: u64 = 60;

fn missing(arn: &str) -> ApiError {
    ApiError::ActivityDoesNotExist(format!("Activity Does Not Exist: '{arn}'"))
}

/// The activity an ARN names, with AWS's errors for a bad or unknown ARN.
fn activity(rt: &Runtime, arn: &str) -> Result<ActivityRow, ApiError> {
    match arn::parse(arn)? {
        Resource::Activity { .. } => rt.db.activity(arn)?.ok_or_else(|| missing(arn)),
        other => Err(arn::wrong_kind(&other)),
    }
}

pub async fn create(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let name = req_str(req, "name")?;
    arn::check_name(name)?;
    let tags = super::versions::tags_of(req)?;
    let arn = rt.cfg.realm.activity_arn(name);
    if let Some(a) = rt.db.activity(&arn)? {
        // Creating an existing activity answers it, as AWS.
        return Ok(json!({"activityArn": a.arn, "creationDate": ts(a.created_ms)}));
    }
    let now = now_ms();
    let mut writes = vec![Write::PutActivity(ActivityRow {
        arn: arn.clone(),
        name: name.to_string(),
        created_ms: now,
    })];
    if !tags.is_empty() {
        writes.push(Write::PutTags(arn.clone(), tags));
    }
    rt.db.write(writes).await?;
    Ok(json!({"activityArn": arn, "creationDate": ts(now)}))
}

pub fn describe(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let a = activity(rt, req_str(req, "activityArn")?)?;
    Ok(json!({"activityArn": a.arn, "name": a.name, "creationDate": ts(a.created_ms)}))
}

pub async fn delete(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let arn = req_str(req, "activityArn")?;
    match arn::parse(arn)? {
        Resource::Activity { .. } => {}
        other => return Err(arn::wrong_kind(&other)),
    }
    rt.db
        .write(vec![Write::DeleteActivity(arn.to_string())])
        .await?;
    Ok(json!({}))
}

pub fn list(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let (limit, offset) = page(req, 100)?;
    let items = rt
        .db
        .activities()?
        .into_iter()
        .map(|a| json!({"activityArn": a.arn, "name": a.name, "creationDate": ts(a.created_ms)}))
        .collect();
    Ok(paged(items, "activities", offset, limit))
}

/// Waits up to 60 s for a task of the activity; answers `{}` (no token) when none came.
/// Scheduling activity tasks from Task states comes with the task integrations.
pub async fn get_task(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let arn = req_str(req, "activityArn")?;
    activity(rt, arn)?;
    let _worker = opt_str(req, "workerName");
    tokio::time::sleep(Duration::from_secs(POLL_SECONDS)).await;
    Ok(json!({}))
}
