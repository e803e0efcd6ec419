//! One Map Run: DescribeMapRun's progress counts, its child executions (links to their
//! pages) and the ones that failed.

use super::{api_fail, ok, param, query, Ctx};
use crate::api;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::json;

pub async fn detail(c: Ctx, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = c.caller(&headers) {
        return r;
    }
    let q = query(&uri);
    let arn = match param(&q, "arn") {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut run = match api::map_runs::describe(&c.rt, &json!({"mapRunArn": arn})) {
        Ok(v) => v,
        Err(e) => return api_fail(e),
    };
    let children = |status: Option<&str>| {
        let mut req = json!({"mapRunArn": arn, "maxResults": 200});
        if let Some(s) = status {
            req["statusFilter"] = json!(s);
        }
        api::executions::list(&c.rt, &req)
            .map(|v| v["executions"].clone())
            .unwrap_or_default()
    };
    run["children"] = children(None);
    run["failures"] = children(Some("FAILED"));
    ok(run)
}
