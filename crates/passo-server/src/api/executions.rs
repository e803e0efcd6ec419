//! StartExecution, StartSyncExecution, DescribeExecution, DescribeStateMachineForExecution,
//! GetExecutionHistory, ListExecutions, StopExecution and RedriveExecution.

use super::{encode_cursor, invalid_token, opt_str, page_cursor, req_str, ts};
use crate::arn::{self, Resource};
use crate::error::ApiError;
use crate::express;
use crate::runtime::{now_ms, Expect, Runtime, StartRequest};
use passo_engine::{Event, Outcome};
use passo_store::ExecutionRow;
use serde_json::{json, Value};
use std::sync::Arc;

/// Name, input (parsed and as text) of a start request, checked as AWS checks them.
fn start_params(rt: &Runtime, req: &Value) -> Result<(String, Value, String), ApiError> {
    let name = match req.get("name") {
        Some(Value::String(n)) => {
            arn::check_name(n)?;
            n.to_string()
        }
        None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
        Some(other) => {
            return Err(ApiError::ValidationException(format!(
                "1 validation error detected: Value '{other}' at 'name' failed to satisfy constraint: Member must be a string"
            )))
        }
    };
    let text = opt_str(req, "input").unwrap_or("{}").to_string();
    if rt.cfg.payload_limit > 0 && text.len() > rt.cfg.payload_limit {
        return Err(ApiError::InvalidExecutionInput(format!(
            "Invalid State Machine Execution Input: 'The input of {} bytes exceeds the limit of {} bytes'",
            text.len(),
            rt.cfg.payload_limit
        )));
    }
    let input: Value = serde_json::from_str(&text).map_err(|e| {
        ApiError::InvalidExecutionInput(format!(
            "Invalid State Machine Execution Input: '{}'",
            super::json_error(&text, &e).0
        ))
    })?;
    Ok((name, input, text))
}

fn pick() -> u64 {
    (uuid::Uuid::new_v4().as_u128() % 100) as u64
}

/// The target ARN and the mock test case of `stateMachineArn#TestCase` (as Step Functions
/// Local takes it).
fn target_and_case(req: &Value) -> Result<(&str, Option<String>), ApiError> {
    let arn = req_str(req, "stateMachineArn")?;
    Ok(match arn.split_once('#') {
        Some((arn, case)) => (arn, Some(case.to_string())),
        None => (arn, None),
    })
}

pub async fn start(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let (target_arn, test_case) = target_and_case(req)?;
    let target = rt.catalog.target(&rt.db, target_arn, pick())?;
    let (name, input, input_text) = start_params(rt, req)?;
    if target.kind == "EXPRESS" {
        // Asynchronous Express: runs in memory, at-least-once, nothing recorded.
        let mocks = match &test_case {
            Some(c) => Some(rt.mocks(&target.machine_name, c)?),
            None => None,
        };
        let permit = rt.express_permit()?;
        let (arn, start, info) = rt.express_info(&target, &name);
        let run = express::run(target.machine.clone(), info, input, rt.clone(), mocks);
        tokio::spawn(async move {
            run.await;
            drop(permit);
        });
        return Ok(json!({"executionArn": arn, "startDate": ts(start)}));
    }
    let (arn, start) = rt
        .start(StartRequest {
            target,
            name,
            input,
            input_text,
            trace_header: opt_str(req, "traceHeader").map(String::from),
            parent: None,
            test_case,
        })
        .await?;
    Ok(json!({"executionArn": arn, "startDate": ts(start)}))
}

pub async fn start_sync(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let (target_arn, test_case) = target_and_case(req)?;
    let target = rt.catalog.target(&rt.db, target_arn, pick())?;
    let mocks = match &test_case {
        Some(c) => Some(rt.mocks(&target.machine_name, c)?),
        None => None,
    };
    if target.kind != "EXPRESS" {
        return Err(ApiError::StateMachineTypeNotSupported(
            "This operation is not supported by this type of state machine".into(),
        ));
    }
    let (name, input, input_text) = start_params(rt, req)?;
    let (arn, start, info) = rt.express_info(&target, &name);
    let o: Outcome = express::run(target.machine.clone(), info, input, rt.clone(), mocks).await;
    let stop = now_ms();
    let mut out = json!({
        "executionArn": arn,
        "stateMachineArn": target.version_arn.clone().unwrap_or(target.machine_arn.clone()),
        "name": name,
        "startDate": ts(start),
        "stopDate": ts(stop),
        "status": o.status.as_str(),
        "input": input_text,
        "inputDetails": {"included": true},
        "billingDetails": {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": ((stop - start).max(1) + 99) / 100 * 100,
        },
    });
    if let Some(v) = &o.output {
        out["output"] = json!(passo_engine::history::text(v));
        out["outputDetails"] = json!({"included": true});
    }
    if let Some(e) = &o.error {
        out["error"] = json!(e);
    }
    if let Some(c) = &o.cause {
        out["cause"] = json!(c);
    }
    if let Some(h) = opt_str(req, "traceHeader") {
        out["traceHeader"] = json!(h);
    }
    Ok(out)
}

/// The execution an ARN names, with AWS's errors for a bad or unknown ARN.
fn execution(rt: &Runtime, arn: &str) -> Result<ExecutionRow, ApiError> {
    match arn::parse(arn)? {
        Resource::Execution { .. } => rt
            .db
            .execution(arn)?
            .ok_or_else(|| ApiError::execution_missing(arn)),
        other => Err(arn::wrong_kind(&other)),
    }
}

pub fn describe(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let e = execution(rt, req_str(req, "executionArn")?)?;
    let mut out = json!({
        "executionArn": e.arn,
        "stateMachineArn": e.machine_arn,
        "name": e.name,
        "status": e.status,
        "startDate": ts(e.start_ms),
        "input": e.input,
        "inputDetails": {"included": true},
        "redriveCount": e.redrive_count,
        "redriveStatus": if redrivable(&e) { "REDRIVABLE" } else { "NOT_REDRIVABLE" },
    });
    if let Some(r) = e.redrive_ms {
        out["redriveDate"] = ts(r);
    }
    if let Some(s) = e.stop_ms {
        out["stopDate"] = ts(s);
    }
    if let Some(o) = &e.output {
        out["output"] = json!(o);
        out["outputDetails"] = json!({"included": true});
    }
    if let Some(x) = &e.error {
        out["error"] = json!(x);
    }
    if let Some(x) = &e.cause {
        out["cause"] = json!(x);
    }
    if let Some(x) = &e.version_arn {
        out["stateMachineVersionArn"] = json!(x);
    }
    if let Some(x) = &e.alias_arn {
        out["stateMachineAliasArn"] = json!(x);
    }
    if let Some(x) = &e.trace_header {
        out["traceHeader"] = json!(x);
    }
    if let Some(run) = crate::map_runs::map_run_of(&e.machine_arn, &e.revision_id) {
        out["mapRunArn"] = json!(run);
    }
    if e.status == "RUNNING" {
        out["redriveStatusReason"] = json!("Execution is RUNNING and cannot be redriven");
    } else if e.status == "SUCCEEDED" {
        out["redriveStatusReason"] = json!("Execution is SUCCEEDED and cannot be redriven");
    }
    Ok(out)
}

pub fn describe_machine_for(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let e = execution(rt, req_str(req, "executionArn")?)?;
    let rev = rt
        .db
        .revision(&e.machine_arn, &e.revision_id)?
        .ok_or_else(|| ApiError::machine_missing(&e.machine_arn))?;
    let m = rt.catalog.machine(&e.machine_arn);
    let name = e.machine_arn.rsplit(':').next().unwrap_or_default();
    let mut out = json!({
        "stateMachineArn": e.machine_arn,
        "name": name,
        "definition": rev.definition,
        "roleArn": rev.role_arn,
        "updateDate": ts(m.as_ref().map_or(e.start_ms, |m| m.created_ms)),
        "revisionId": e.revision_id,
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
        "tracingConfiguration": {"enabled": false},
    });
    if let Some(m) = m {
        out["loggingConfiguration"] = serde_json::from_str(&m.logging).unwrap_or(Value::Null);
        out["tracingConfiguration"] = serde_json::from_str(&m.tracing).unwrap_or(Value::Null);
    }
    Ok(out)
}

/// Payload fields GetExecutionHistory leaves out when `includeExecutionData` is false.
const DATA_FIELDS: [&str; 5] = [
    "input",
    "output",
    "parameters",
    "result",
    "assignedVariables",
];

pub fn history(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let e = execution(rt, req_str(req, "executionArn")?)?;
    let (limit, cursor) = page_cursor(req, 100)?;
    // The cursor is the id of the last event handed out: events of a running execution
    // keep coming, and ids never shift.
    let after: Option<u64> = match cursor {
        None => None,
        Some(c) => Some(c.parse().map_err(|_| invalid_token())?),
    };
    let reverse = req.get("reverseOrder").and_then(Value::as_bool) == Some(true);
    // Only the steps holding the page's events are read: events are numbered 1, 2, ...
    // across the steps, so the page after event a is a+1 ..= a+limit+1 (the one past the
    // page tells whether there is a next), the page before it a-limit-1 ..= a-1.
    let n = limit as i64;
    let (first, last) = match (reverse, after) {
        (false, a) => {
            let a = a.unwrap_or(0) as i64;
            (a + 1, a + n + 1)
        }
        (true, Some(a)) => (a as i64 - n - 1, a as i64 - 1),
        (true, None) => match rt.db.last_event_id(&e.arn)? {
            Some(l) => (l - n, l),
            None => (0, i64::MAX),
        },
    };
    let mut events = rt.history_between(&e.arn, first, last)?;
    if reverse {
        events.reverse();
    }
    let id = |ev: &Value| ev["id"].as_u64().unwrap_or(0);
    let mut page: Vec<Value> = events
        .into_iter()
        .filter(|ev| match after {
            None => true,
            Some(a) if reverse => id(ev) < a,
            Some(a) => id(ev) > a,
        })
        .take(limit + 1)
        .collect();
    let more = page.len() > limit;
    page.truncate(limit);
    if req.get("includeExecutionData").and_then(Value::as_bool) == Some(false) {
        for ev in &mut page {
            if let Some(obj) = ev.as_object_mut() {
                for (k, d) in obj.iter_mut() {
                    if k.ends_with("EventDetails") {
                        if let Some(d) = d.as_object_mut() {
                            for f in DATA_FIELDS {
                                d.remove(f);
                            }
                        }
                    }
                }
            }
        }
    }
    let mut out = json!({});
    if more {
        let last = page.last().map(id).unwrap_or(0);
        out["nextToken"] = json!(encode_cursor(&last.to_string()));
    }
    out["events"] = Value::Array(page);
    Ok(out)
}

pub fn list(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let map_run = opt_str(req, "mapRunArn");
    if map_run.is_some() && opt_str(req, "stateMachineArn").is_some() {
        return Err(ApiError::ValidationException(
            "Only one of stateMachineArn and mapRunArn can be specified".into(),
        ));
    }
    let (limit, cursor) = page_cursor(req, 100)?;
    // The cursor is the (start time, ARN) of the last execution handed out.
    let after: Option<(i64, String)> = match cursor {
        None => None,
        Some(c) => {
            let (ms, arn) = c.split_once('|').ok_or_else(invalid_token)?;
            Some((ms.parse().map_err(|_| invalid_token())?, arn.to_string()))
        }
    };
    let status = opt_str(req, "statusFilter");
    let after_ref = after.as_ref().map(|(ms, arn)| (*ms, arn.as_str()));
    if let Some(run) = map_run {
        let rows = map_run_children(rt, run, status, after_ref, limit + 1)?;
        return Ok(execution_page(rows, limit, Some(run)));
    }
    let target = req_str(req, "stateMachineArn")?;
    let (machine_arn, qualifier) = match arn::parse(target)? {
        Resource::Machine { .. } => (target.to_string(), None),
        Resource::Version { .. } => {
            let v = rt
                .catalog
                .version(target)
                .ok_or_else(|| ApiError::machine_missing(target))?;
            (v.machine_arn, Some(target))
        }
        Resource::Alias { .. } => {
            let a = rt
                .catalog
                .alias(target)
                .ok_or_else(|| ApiError::machine_missing(target))?;
            (a.machine_arn, Some(target))
        }
        other => return Err(arn::wrong_kind(&other)),
    };
    let m = rt
        .catalog
        .machine(&machine_arn)
        .ok_or_else(|| ApiError::machine_missing(target))?;
    if m.kind == "EXPRESS" {
        return Err(ApiError::StateMachineTypeNotSupported(
            "This operation is not supported by this type of state machine".into(),
        ));
    }
    let rows = rt
        .db
        .executions(&machine_arn, status, qualifier, None, after_ref, limit + 1)?;
    Ok(execution_page(rows, limit, None))
}

/// One page of ListExecutions from `limit + 1` rows (the extra one says there is more).
fn execution_page(rows: Vec<ExecutionRow>, limit: usize, map_run: Option<&str>) -> Value {
    let more = rows.len() > limit;
    let last = rows
        .get(limit.wrapping_sub(1))
        .map(|e| format!("{}|{}", e.start_ms, e.arn));
    let items: Vec<Value> = rows
        .into_iter()
        .take(limit)
        .map(|e| {
            let mut v = json!({
                "executionArn": e.arn,
                "stateMachineArn": e.machine_arn,
                "name": e.name,
                "status": e.status,
                "startDate": ts(e.start_ms),
                "redriveCount": e.redrive_count,
            });
            if let Some(s) = e.stop_ms {
                v["stopDate"] = ts(s);
            }
            if let Some(x) = e.version_arn {
                v["stateMachineVersionArn"] = json!(x);
            }
            if let Some(x) = e.alias_arn {
                v["stateMachineAliasArn"] = json!(x);
            }
            if let Some(r) = map_run {
                v["mapRunArn"] = json!(r);
            }
            v
        })
        .collect();
    let mut out = json!({ "executions": items });
    if let (true, Some(last)) = (more, last) {
        out["nextToken"] = json!(encode_cursor(&last));
    }
    out
}

/// A Map Run's children, newest first.
fn map_run_children(
    rt: &Runtime,
    run: &str,
    status: Option<&str>,
    after: Option<(i64, &str)>,
    limit: usize,
) -> Result<Vec<ExecutionRow>, ApiError> {
    match arn::parse(run)? {
        Resource::MapRun => {}
        other => return Err(arn::wrong_kind(&other)),
    }
    let missing = || ApiError::ResourceNotFound(format!("Resource Not Found: '{run}'"));
    let row = rt.db.map_run(run)?.ok_or_else(missing)?;
    let (_, id) = run.rsplit_once(':').ok_or_else(missing)?;
    Ok(rt
        .db
        .executions(&row.state_machine_arn, status, None, Some(id), after, limit)?)
}

pub async fn stop(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let arn = req_str(req, "executionArn")?;
    let e = execution(rt, arn)?;
    if e.status == "RUNNING" {
        let stop = Event::Stop {
            error: opt_str(req, "error").map(String::from),
            cause: opt_str(req, "cause").map(String::from),
        };
        rt.deliver_for_caller(arn, stop, Expect::Anything).await?;
    }
    let e = execution(rt, arn)?;
    Ok(json!({"stopDate": ts(e.stop_ms.unwrap_or_else(now_ms))}))
}

pub async fn redrive(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let arn = req_str(req, "executionArn")?;
    let e = execution(rt, arn)?;
    let not_redrivable = |status: &str| {
        ApiError::ExecutionNotRedrivable(format!(
            "Execution with arn {arn} is {status} and cannot be redriven"
        ))
    };
    if !redrivable(&e) {
        return Err(not_redrivable(&e.status));
    }
    rt.deliver_for_caller(arn, Event::Redrive, Expect::Anything)
        .await?;
    let after = execution(rt, arn)?;
    if after.redrive_count == e.redrive_count {
        return Err(not_redrivable(&after.status));
    }
    Ok(json!({"redriveDate": ts(after.redrive_ms.unwrap_or_else(now_ms))}))
}

/// AWS redrives FAILED, ABORTED and TIMED_OUT Standard executions that stopped less than 14
/// days ago.
fn redrivable(e: &ExecutionRow) -> bool {
    matches!(e.status.as_str(), "FAILED" | "ABORTED" | "TIMED_OUT")
        && e.stop_ms
            .is_some_and(|s| now_ms() - s < 14 * 24 * 3600 * 1000)
}

#[cfg(test)]
mod tests {
    use crate::api::json_error;

    fn msg(text: &str) -> String {
        let e = serde_json::from_str::<serde_json::Value>(text).unwrap_err();
        json_error(text, &e).0
    }

    #[test]
    fn input_errors_read_as_aws_writes_them() {
        assert_eq!(
            msg("not some json"),
            "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        );
        assert_eq!(
            msg("{'not': 'json'"),
            "Unexpected character (''' (code 39)): was expecting double-quote to start field name"
        );
        assert_eq!(msg(""), "Invalid execution input.");
    }
}
