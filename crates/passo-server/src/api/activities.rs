//! Activities: CreateActivity, DescribeActivity, DeleteActivity, ListActivities and
//! GetActivityTask (a long poll of up to 60 s that holds no thread while it waits).

use super::{opt_str, page, paged, req_str, ts};
use crate::arn::{self, Resource};
use crate::error::ApiError;
use crate::runtime::{now_ms, Delivery, Expect, Runtime};
use passo_engine::{Event, TaskPhase};
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

/// Waits up to 60 s for a task of the activity and hands it to the worker (ActivityStarted);
/// answers `{}` (no token) when none came.
pub async fn get_task(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let arn = req_str(req, "activityArn")?;
    activity(rt, arn)?;
    let worker = opt_str(req, "workerName").map(String::from);
    if worker.as_deref().is_some_and(|w| w.chars().count() > 80) {
        return Err(ApiError::constraint(
            worker.as_deref().unwrap_or_default(),
            "workerName",
            "Member must have length less than or equal to 80",
        ));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(POLL_SECONDS);
    if rt.clustered() {
        // Any node's tasks (runtime/activity_tasks.rs).
        return Ok(
            match rt.take_shared_activity_task(arn, worker, deadline).await? {
                Some(t) => json!({"taskToken": t.token, "input": t.input.to_string()}),
                None => json!({}),
            },
        );
    }
    while let Some(taken) = rt.activities.pop(arn, deadline).await {
        let t = taken.task();
        let event = Event::TaskStarted {
            task: t.task,
            worker_name: worker.clone(),
        };
        let expect = Expect::Task(t.task, &[TaskPhase::Invoked]);
        // An error leaves `taken` to go back to its queue (dropped on the way out).
        let applied = rt
            .deliver_for_caller(&t.execution_arn, event, expect)
            .await?;
        // A task that timed out (or whose execution ended) while queued is skipped.
        let t = taken.handed();
        if matches!(applied, Delivery::Applied | Delivery::Forwarded) {
            return Ok(json!({"taskToken": t.token, "input": t.input.to_string()}));
        }
    }
    Ok(json!({}))
}
