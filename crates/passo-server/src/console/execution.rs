//! One execution's page: what it is (DescribeExecution, or the recent list for Express),
//! its definition drawn with each state coloured by how far it got, the table of every state
//! entered, the whole event history, its Map Runs; and the actions Stop and Redrive.
//! Live updates come from [`super::live`]; the history's export is the script's (it has the
//! events already).

use super::progress::{entries, statuses};
use super::{answer, api_fail, body_object, fail, ok, param, query, Ctx};
use crate::api;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Map, Value};

/// Whether an ARN names an Express execution (they live only in the recent list).
pub(super) fn is_express(arn: &str) -> bool {
    arn.contains(":express:")
}

/// The execution's description, definition and history events.
pub(super) fn load(c: &super::Console, arn: &str) -> Result<(Value, String, Vec<Value>), Response> {
    if is_express(arn) {
        let Some(e) = c.rt.recent_express.get(arn) else {
            return Err(fail(
                StatusCode::NOT_FOUND,
                "ExecutionDoesNotExist",
                "This Express execution is no longer in the server's recent list",
            ));
        };
        let definition =
            c.rt.catalog
                .machine(&e.machine_arn)
                .map(|m| m.definition)
                .unwrap_or_default();
        let mut d = json!({
            "executionArn": e.arn, "stateMachineArn": e.machine_arn, "name": e.name,
            "status": e.status, "startDate": api::ts(e.start_ms), "input": e.input,
            "historyDropped": e.history_dropped,
        });
        for (k, v) in [
            ("output", &e.output),
            ("error", &e.error),
            ("cause", &e.cause),
        ] {
            if let Some(v) = v {
                d[k] = json!(v);
            }
        }
        if let Some(s) = e.stop_ms {
            d["stopDate"] = api::ts(s);
        }
        let events = e.history.iter().map(|h| h.to_json()).collect();
        return Ok((d, definition, events));
    }
    let req = json!({"executionArn": arn});
    let d = api::executions::describe(&c.rt, &req).map_err(api_fail)?;
    let definition = api::executions::describe_machine_for(&c.rt, &req)
        .map(|m| m["definition"].as_str().unwrap_or("").to_string())
        .map_err(api_fail)?;
    let events = c.rt.history(arn).map_err(api_fail)?;
    Ok((d, definition, events))
}

pub async fn page(c: Ctx, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = c.caller(&headers) {
        return r;
    }
    let q = query(&uri);
    let arn = match param(&q, "arn") {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (execution, definition, events) = match load(&c, arn) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let es = entries(&events);
    let st: Map<String, Value> = statuses(&es)
        .into_iter()
        .map(|(k, v)| (k, json!(v.as_str())))
        .collect();
    let map_runs = if is_express(arn) {
        Value::Null
    } else {
        api::map_runs::list(&c.rt, &json!({"executionArn": arn}))
            .map(|v| v["mapRuns"].clone())
            .unwrap_or(Value::Null)
    };
    ok(json!({
        "execution": execution,
        "express": is_express(arn),
        "definition": definition,
        "graph": super::machines::graph_of(&definition),
        "states": st,
        "entries": es.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
        "events": events,
        "mapRuns": map_runs,
    }))
}

/// StopExecution.
pub async fn stop(c: Ctx, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = c.actor(&headers) {
        return r;
    }
    let req = match body_object(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut call = json!({"executionArn": req["executionArn"]});
    for k in ["error", "cause"] {
        if let Some(v) = req[k].as_str().filter(|v| !v.is_empty()) {
            call[k] = json!(v);
        }
    }
    answer(api::executions::stop(&c.rt, &call).await)
}

/// RedriveExecution.
pub async fn redrive(c: Ctx, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = c.actor(&headers) {
        return r;
    }
    let req = match body_object(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    answer(api::executions::redrive(&c.rt, &json!({"executionArn": req["executionArn"]})).await)
}
