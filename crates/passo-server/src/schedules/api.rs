//! EventBridge Scheduler's API (restJson1, signing name `scheduler`) on the server's port:
//! CreateSchedule (`POST /schedules/NAME`), GetSchedule (`GET`), UpdateSchedule (`PUT`),
//! DeleteSchedule (`DELETE`), ListSchedules (`GET /schedules`), and the `default`
//! schedule group (GetScheduleGroup, ListScheduleGroups). Errors carry their name in
//! `x-amzn-ErrorType` and a `Message`, as the SDKs read them.

use super::error::SchedulerError;
use super::spec::{Spec, DEFAULT_GROUP};
use crate::runtime::{now_ms, Runtime};
use crate::sigv4::{percent_decode, RequestLine};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use passo_store::{ScheduleRow, Write};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The operations, by route and method.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Create,
    Get,
    Update,
    Delete,
    List,
    GetGroup,
    ListGroups,
}

pub fn routes() -> Router<Arc<Runtime>> {
    Router::new()
        .route("/schedules", get(list))
        .route("/schedules/{name}", get(one).post(one).put(one).delete(one))
        .route("/schedule-groups", get(groups))
        .route("/schedule-groups/{name}", get(group))
}

async fn list(
    State(rt): State<Arc<Runtime>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(handle(&rt, Op::List, "", &Method::GET, &uri, &headers, body).await)
}

async fn groups(
    State(rt): State<Arc<Runtime>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(handle(&rt, Op::ListGroups, "", &Method::GET, &uri, &headers, body).await)
}

async fn group(
    State(rt): State<Arc<Runtime>>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    answer(handle(&rt, Op::GetGroup, &name, &Method::GET, &uri, &headers, body).await)
}

async fn one(
    State(rt): State<Arc<Runtime>>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let op = match method {
        Method::POST => Op::Create,
        Method::PUT => Op::Update,
        Method::DELETE => Op::Delete,
        _ => Op::Get,
    };
    answer(handle(&rt, op, &name, &method, &uri, &headers, body).await)
}

/// An answer with the error's name where the SDKs look for it.
fn answer(result: Result<Value, Failure>) -> Response {
    let (status, body, code) = match result {
        Ok(v) => (200, v, None),
        Err(Failure::Scheduler(e)) => (
            e.status(),
            json!({"Message": e.to_string()}),
            Some(e.code()),
        ),
        Err(Failure::Api(e)) => (e.status(), json!({"Message": e.message()}), Some(e.code())),
    };
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        body.to_string(),
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(code) = code {
        h.insert("x-amzn-errortype", HeaderValue::from_static(code));
    }
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        h.insert("x-amzn-requestid", id);
    }
    resp
}

enum Failure {
    Scheduler(SchedulerError),
    Api(crate::error::ApiError),
}

impl From<SchedulerError> for Failure {
    fn from(e: SchedulerError) -> Self {
        Failure::Scheduler(e)
    }
}

impl From<crate::error::ApiError> for Failure {
    fn from(e: crate::error::ApiError) -> Self {
        Failure::Api(e)
    }
}

/// The query string's parameters, decoded.
fn query(uri: &Uri) -> HashMap<String, String> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

async fn handle(
    rt: &Arc<Runtime>,
    op: Op,
    name: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Value, Failure> {
    crate::api::guard::check_host(headers, &rt.cfg.allowed_hosts)?;
    crate::api::guard::check_header_size(headers)?;
    let timeout = std::time::Duration::from_millis(rt.cfg.body_timeout_ms);
    let body = crate::api::guard::read_body(body, rt.cfg.max_request_bytes, timeout).await?;
    if !rt.cfg.access_keys.is_empty() {
        let line = RequestLine {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query().unwrap_or(""),
        };
        crate::sigv4::verify_rest(&rt.cfg, "scheduler", &line, headers, &body, now_ms())?;
    }
    let req: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| {
                SchedulerError::Validation("The request body is not a JSON object.".into())
            })?
    };
    let q = query(uri);
    let name = percent_decode(name);
    Ok(match op {
        Op::Create => put(rt, &name, &req, true).await?,
        Op::Update => put(rt, &name, &req, false).await?,
        Op::Get => get_schedule(rt, &name, q.get("groupName"))?,
        Op::Delete => delete(rt, &name, q.get("groupName")).await?,
        Op::List => list_schedules(rt, &q)?,
        Op::GetGroup => group_json(rt, &name)?,
        Op::ListGroups => json!({"ScheduleGroups": [group_json(rt, DEFAULT_GROUP)?]}),
    })
}

/// Passo has the `default` group only.
fn group_of(given: Option<&String>) -> Result<String, SchedulerError> {
    match given.map(String::as_str) {
        None | Some("") | Some(DEFAULT_GROUP) => Ok(DEFAULT_GROUP.to_string()),
        Some(g) => Err(SchedulerError::ResourceNotFound(format!(
            "Schedule group {g} does not exist."
        ))),
    }
}

fn group_json(rt: &Runtime, name: &str) -> Result<Value, SchedulerError> {
    let g = group_of(Some(&name.to_string()))?;
    Ok(json!({
        "Arn": format!("arn:aws:scheduler:{}:{}:schedule-group/{g}", rt.cfg.realm.region, rt.cfg.realm.account),
        "Name": g,
        "State": "ACTIVE",
        "CreationDate": 0.0,
        "LastModificationDate": 0.0,
    }))
}

async fn put(
    rt: &Arc<Runtime>,
    name: &str,
    req: &Value,
    create: bool,
) -> Result<Value, SchedulerError> {
    let group = group_of(
        req.get("GroupName")
            .and_then(Value::as_str)
            .map(String::from)
            .as_ref(),
    )?;
    for required in ["ScheduleExpression", "FlexibleTimeWindow", "Target"] {
        if req.get(required).is_none_or(Value::is_null) {
            return Err(SchedulerError::Validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                required[..1].to_ascii_lowercase() + &required[1..]
            )));
        }
    }
    let _change = rt.scheduler.changes.lock().await;
    let existing = rt.scheduler.get(&group, name);
    match (&existing, create) {
        (Some(_), true) => {
            return Err(SchedulerError::Conflict(format!(
                "Schedule {name} already exists."
            )))
        }
        (None, false) => return Err(SchedulerError::schedule_missing(name)),
        _ => {}
    }
    let now = now_ms();
    let created = existing.as_ref().map_or(now, |e| e.created_ms);
    let mut given = req.clone();
    if let Some(o) = given.as_object_mut() {
        o.remove("ClientToken");
        o.remove("Name");
    }
    let spec = Spec::parse(&rt.cfg.realm, &group, name, &given, created, now)?;
    let row = ScheduleRow {
        group: group.clone(),
        name: name.to_string(),
        spec: given.to_string(),
        created_ms: created,
        modified_ms: now,
    };
    rt.db.write(vec![Write::PutSchedule(row)]).await?;
    let arn = spec.arn.clone();
    rt.scheduler.put(spec);
    Ok(json!({"ScheduleArn": arn}))
}

fn get_schedule(rt: &Runtime, name: &str, group: Option<&String>) -> Result<Value, SchedulerError> {
    let group = group_of(group)?;
    rt.scheduler
        .get(&group, name)
        .map(|s| s.describe())
        .ok_or_else(|| SchedulerError::schedule_missing(name))
}

async fn delete(
    rt: &Arc<Runtime>,
    name: &str,
    group: Option<&String>,
) -> Result<Value, SchedulerError> {
    let group = group_of(group)?;
    let _change = rt.scheduler.changes.lock().await;
    let spec = rt
        .scheduler
        .get(&group, name)
        .ok_or_else(|| SchedulerError::schedule_missing(name))?;
    rt.db
        .write(vec![
            Write::DeleteSchedule(group.clone(), name.to_string()),
            Write::DeleteScheduleMark(spec.arn.clone()),
        ])
        .await?;
    rt.scheduler.remove(&group, name);
    Ok(json!({}))
}

fn list_schedules(rt: &Runtime, q: &HashMap<String, String>) -> Result<Value, SchedulerError> {
    let limit = match q.get("MaxResults") {
        None => 100,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(SchedulerError::Validation(format!(
                    "1 validation error detected: Value '{m}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100"
                )))
            }
        },
    };
    let offset = match q.get("NextToken") {
        None => 0,
        Some(t) => crate::api::decode_offset(t)
            .ok_or_else(|| SchedulerError::Validation("The NextToken is not valid.".into()))?,
    };
    let prefix = q.get("NamePrefix").map_or("", String::as_str);
    let state = q.get("State").map(String::as_str);
    let group = q.get("ScheduleGroup");
    let all: Vec<Value> = rt
        .scheduler
        .list()
        .iter()
        .filter(|s| s.name.starts_with(prefix))
        .filter(|s| group.is_none_or(|g| *g == s.group))
        .filter(|s| state.is_none_or(|st| (st == "ENABLED") == s.enabled))
        .map(Spec::summary)
        .collect();
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(offset).take(limit).collect();
    let mut out = json!({"Schedules": page});
    if offset + limit < total {
        out["NextToken"] = json!(crate::api::encode_token(offset + limit));
    }
    Ok(out)
}
