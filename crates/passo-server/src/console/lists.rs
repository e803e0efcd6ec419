//! Activities (with the tasks queued for their workers) and functions.

use super::{api_fail, ok, Ctx};
use crate::api;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};

pub async fn activities(c: Ctx, headers: HeaderMap) -> Response {
    if let Err(r) = c.caller(&headers) {
        return r;
    }
    let mut listed = match api::activities::list(&c.rt, &json!({"maxResults": 1000})) {
        Ok(v) => v,
        Err(e) => return api_fail(e),
    };
    let rt = c.rt.clone();
    let waiting = tokio::task::spawn_blocking(move || rt.waiting_tasks(2000))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    if let Some(items) = listed["activities"].as_array_mut() {
        for a in items {
            let arn = a["activityArn"].as_str().unwrap_or("").to_string();
            let of = |p: passo_engine::TaskPhase| {
                waiting
                    .iter()
                    .filter(|w| w.resource == arn && w.phase == p)
                    .count()
            };
            a["queued"] = json!(of(passo_engine::TaskPhase::Invoked));
            a["started"] = json!(of(passo_engine::TaskPhase::Started));
        }
    }
    ok(listed)
}

pub async fn functions(c: Ctx, headers: HeaderMap) -> Response {
    if let Err(r) = c.caller(&headers) {
        return r;
    }
    match api::functions::list(&c.rt) {
        Ok(mut v) => {
            if let Ok(r) = api::functions::recent_calls(&c.rt) {
                v["recentCalls"] = r["recentCalls"].clone();
            }
            ok(v)
        }
        // A server without a function registry has none.
        Err(_) => ok(json!({"functions": Value::Array(Vec::new())})),
    }
}
