//! The executions list: Standard ones from the store, filtered by machine, status, name and
//! start time, newest first, in pages; Express ones from the runtime's recent list.

use super::{api_fail, ok, query, Ctx};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use passo_store::ExecutionFilter;
use serde_json::{json, Value};

const PAGE: usize = 50;

fn number(q: &std::collections::HashMap<String, String>, key: &str) -> Option<i64> {
    q.get(key).and_then(|v| v.parse().ok())
}

pub async fn list(c: Ctx, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = c.caller(&headers) {
        return r;
    }
    let q = query(&uri);
    let nonempty = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let filter = ExecutionFilter {
        machine_arn: nonempty("machine"),
        status: nonempty("status"),
        name_contains: nonempty("name"),
        started_after_ms: number(&q, "from"),
        started_before_ms: number(&q, "to"),
    };
    if nonempty("type") == Some("EXPRESS") {
        let items: Vec<Value> =
            c.rt.recent_express
                .list()
                .into_iter()
                .filter(|e| {
                    filter.machine_arn.is_none_or(|m| e.machine_arn == m)
                        && filter.status.is_none_or(|s| e.status == s)
                        && filter.name_contains.is_none_or(|n| e.name.contains(n))
                        && filter.started_after_ms.is_none_or(|t| e.start_ms >= t)
                        && filter.started_before_ms.is_none_or(|t| e.start_ms < t)
                })
                .take(500)
                .map(|e| {
                    json!({"executionArn": e.arn, "stateMachineArn": e.machine_arn, "name": e.name,
                       "status": e.status, "startMs": e.start_ms, "stopMs": e.stop_ms,
                       "type": "EXPRESS"})
                })
                .collect();
        return ok(json!({"executions": items}));
    }
    // The cursor is the (start time, ARN) of the last row shown.
    let after = nonempty("after").and_then(|a| {
        let (ms, arn) = a.split_once('|')?;
        Some((ms.parse::<i64>().ok()?, arn.to_string()))
    });
    let after_ref = after.as_ref().map(|(ms, a)| (*ms, a.as_str()));
    let rows = match c.rt.db.search_executions(&filter, after_ref, PAGE + 1) {
        Ok(r) => r,
        Err(e) => return api_fail(e.into()),
    };
    let more = rows.len() > PAGE;
    let items: Vec<Value> = rows
        .iter()
        .take(PAGE)
        .map(|e| {
            json!({"executionArn": e.arn, "stateMachineArn": e.machine_arn, "name": e.name,
                   "status": e.status, "startMs": e.start_ms, "stopMs": e.stop_ms,
                   "type": "STANDARD", "redriveCount": e.redrive_count})
        })
        .collect();
    let next = if more {
        rows.get(PAGE - 1)
            .map(|e| format!("{}|{}", e.start_ms, e.arn))
    } else {
        None
    };
    ok(json!({"executions": items, "next": next}))
}
