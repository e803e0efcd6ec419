//! The state machines: the list (with each one's last run), one machine's page (its graph,
//! definition, versions, aliases and recent executions), and starting an execution.

use super::{answer, api_fail, body_object, fail, ok, param, query, svg, Ctx};
use crate::api;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};

/// The status of a machine's latest execution (Standard from the store, Express from the
/// recent list).
fn last_run(c: &super::Console, arn: &str, kind: &str) -> Option<Value> {
    if kind == "EXPRESS" {
        let e =
            c.rt.recent_express
                .list()
                .into_iter()
                .find(|e| e.machine_arn == arn)?;
        return Some(json!({"status": e.status, "startMs": e.start_ms, "executionArn": e.arn}));
    }
    let rows = c.rt.db.executions(arn, None, None, None, None, 1).ok()?;
    let e = rows.into_iter().next()?;
    Some(json!({"status": e.status, "startMs": e.start_ms, "executionArn": e.arn}))
}

pub async fn list(c: Ctx, headers: HeaderMap) -> Response {
    if let Err(r) = c.caller(&headers) {
        return r;
    }
    let listed = match api::machines::list(&c.rt, &json!({"maxResults": 1000})) {
        Ok(v) => v,
        Err(e) => return api_fail(e),
    };
    let mut out = Vec::new();
    for m in listed["stateMachines"].as_array().into_iter().flatten() {
        let arn = m["stateMachineArn"].as_str().unwrap_or("");
        let kind = m["type"].as_str().unwrap_or("");
        let mut m = m.clone();
        m["lastRun"] = last_run(&c, arn, kind).unwrap_or(Value::Null);
        out.push(m);
    }
    ok(json!({"stateMachines": out}))
}

/// The graph of a definition's text: the SVG, or why it cannot be drawn.
pub(super) fn graph_of(definition: &str) -> Value {
    match passo_asl::parse_str(definition) {
        Ok(m) => {
            let g = super::graph::Graph::of(&m);
            json!({"svg": svg::render(&g, false), "states": g.nodes.len()})
        }
        Err(d) => json!({"error": passo_asl::invalid_definition_message(&d)}),
    }
}

pub async fn detail(c: Ctx, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = c.caller(&headers) {
        return r;
    }
    let q = query(&uri);
    let arn = match param(&q, "arn") {
        Ok(a) => a,
        Err(r) => return r,
    };
    let req = json!({"stateMachineArn": arn});
    let mut m = match api::machines::describe(&c.rt, &req) {
        Ok(v) => v,
        Err(e) => return api_fail(e),
    };
    let definition = m["definition"].as_str().unwrap_or("").to_string();
    m["graph"] = graph_of(&definition);
    m["versions"] = api::versions::list(&c.rt, &req)
        .map(|v| v["stateMachineVersions"].clone())
        .unwrap_or(Value::Null);
    m["aliases"] = api::versions::list_aliases(&c.rt, &req)
        .map(|v| v["stateMachineAliases"].clone())
        .unwrap_or(Value::Null);
    ok(m)
}

/// StartExecution, after checking the input is JSON (the API checks again).
pub async fn start(c: Ctx, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = c.actor(&headers) {
        return r;
    }
    let req = match body_object(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let input = req["input"].as_str().unwrap_or("{}");
    if let Err(e) = serde_json::from_str::<Value>(input) {
        return fail(
            StatusCode::BAD_REQUEST,
            "InvalidExecutionInput",
            &format!("The input is not JSON: {e}"),
        );
    }
    let mut call = json!({
        "stateMachineArn": req["stateMachineArn"],
        "input": input,
    });
    if let Some(n) = req["name"].as_str().filter(|n| !n.is_empty()) {
        call["name"] = json!(n);
    }
    answer(api::executions::start(&c.rt, &call).await)
}
