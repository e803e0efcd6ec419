//! The AWS Step Functions API over HTTP: the JSON 1.0 protocol (`POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Action>`), answered with AWS's shapes and errors; on the
//! same port, EventBridge's (`AWSEvents.<Action>`, JSON 1.1, see [`crate::bus`]) and Passo's
//! own (`Passo.<Action>`).

// The console (`crate::console`) calls the handlers themselves, hence pub(crate).
pub(crate) mod activities;
pub(crate) mod executions;
pub(crate) mod forward;
pub(crate) mod functions;
pub(crate) mod guard;
pub mod listener;
pub(crate) mod machines;
pub(crate) mod map_runs;
mod messaging;
pub mod query;
pub(crate) mod tasks;
mod test_state;
pub(crate) mod versions;

/// StartExecution as the API answers it (the event bus starts its targets with it).
pub(crate) use executions::start as start_execution;
pub(crate) use executions::start_sync as start_sync_execution;
/// ValidateStateMachineDefinition (pure: no runtime needed).
pub use functions::load as load_functions;
pub use machines::validate as validate_state_machine_definition;

use crate::error::ApiError;
use crate::runtime::Runtime;
use crate::sigv4;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub fn router(rt: Arc<Runtime>) -> Router {
    Router::new()
        .route("/", post(handle).get(link))
        // Older SQS clients post to the queue URL itself.
        .route("/{account}/{queue}", post(queue_path))
        .route("/health", axum::routing::get(|| async { "ok" }))
        .merge(forward::routes())
        .merge(crate::schedules::api::routes())
        .merge(crate::webhooks::routes())
        .merge(crate::ops::routes())
        .merge(crate::console::router(rt.clone()))
        .fallback(|| async {
            answer(Err(ApiError::NotFound(
                "Not found: the API is served at POST /".into(),
            )))
        })
        .method_not_allowed_fallback(|| async {
            answer(Err(ApiError::MethodNotAllowed(
                "Method not allowed: the API takes POST / (and GET /health)".into(),
            )))
        })
        // A panic answers 500 with AWS's shape instead of closing the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            answer(Err(ApiError::Internal(
                "The server failed on this request".into(),
            )))
        }))
        .with_state(rt)
}

async fn handle(
    State(rt): State<Arc<Runtime>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if messaging::is_sqs(&headers) {
        return messaging::sqs(&rt, &uri, &headers, body).await;
    }
    if messaging::is_query(&headers) {
        return messaging::sns(&rt, &uri, &headers, body).await;
    }
    let protocol = if target(&headers).starts_with(EVENTS) {
        JSON_1_1
    } else {
        JSON_1_0
    };
    answer_as(checked(&rt, &headers, body).await, protocol)
}

/// EventBridge's target prefix; its API speaks JSON 1.1.
const EVENTS: &str = "AWSEvents.";
const JSON_1_0: &str = "application/x-amz-json-1.0";
const JSON_1_1: &str = "application/x-amz-json-1.1";

fn target(headers: &HeaderMap) -> &str {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// GET `/`: only the links SNS puts in its messages.
async fn link(
    State(rt): State<Arc<Runtime>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    match messaging::link(&rt, &uri, &headers).await {
        Some(r) => r,
        None => answer(Err(ApiError::MethodNotAllowed(
            "Method not allowed: the API takes POST / (and GET /health)".into(),
        ))),
    }
}

/// POST to a queue URL: SQS calls only.
async fn queue_path(
    State(rt): State<Arc<Runtime>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if messaging::is_sqs(&headers) {
        return messaging::sqs(&rt, &uri, &headers, body).await;
    }
    answer(Err(ApiError::NotFound(
        "Not found: the API is served at POST /".into(),
    )))
}

/// The checks of `guard` before the request is read as a call.
async fn checked(rt: &Arc<Runtime>, headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    guard::check_host(headers, &rt.cfg.allowed_hosts)?;
    guard::check_header_size(headers)?;
    guard::check_content_type(headers)?;
    let timeout = std::time::Duration::from_millis(rt.cfg.body_timeout_ms);
    let body = guard::read_body(body, rt.cfg.max_request_bytes, timeout).await?;
    dispatch(rt, headers, &body).await
}

/// An API answer in AWS's JSON 1.0 shape, with a request id.
fn answer(result: Result<Value, ApiError>) -> Response {
    answer_as(result, JSON_1_0)
}

/// An API answer with the content type of its protocol, with a request id.
fn answer_as(result: Result<Value, ApiError>, content_type: &'static str) -> Response {
    let (status, body) = match result {
        Ok(v) => (StatusCode::OK, v.to_string()),
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            json!({"__type": e.code(), "message": e.message()}).to_string(),
        ),
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        // boto3's ResponseMetadata.RequestId and the SDKs' request ids come from here.
        h.insert("x-amzn-requestid", id);
    }
    resp
}

/// The call itself; the body's size was bounded by `guard::read_body`.
async fn dispatch(rt: &Arc<Runtime>, headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let target = target(headers);
    let events = target.strip_prefix(EVENTS);
    if !rt.cfg.access_keys.is_empty() {
        let now = crate::runtime::now_ms();
        match events {
            Some(_) => sigv4::verify_events(&rt.cfg, headers, body, now)?,
            None => sigv4::verify_states(&rt.cfg, headers, body, now)?,
        }
    }
    let api = if let Some(a) = target.strip_prefix("AWSStepFunctions.") {
        Api::States(a)
    } else if let Some(a) = target.strip_prefix("Passo.") {
        Api::Passo(a)
    } else if let Some(a) = events {
        Api::Events(a)
    } else {
        return Err(ApiError::UnknownOperation(format!(
            "Unknown operation: '{target}'"
        )));
    };
    let req: Value = if body.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::SerializationException(format!("Malformed request body: {e}")))?
    };
    if !req.is_object() {
        return Err(ApiError::SerializationException(
            "The request body must be a JSON object".into(),
        ));
    }
    let action = match api {
        Api::Events(action) => return Ok(crate::bus::api::dispatch(rt, action, &req).await?),
        Api::Passo(action) => return passo_action(rt, action, &req).await,
        Api::States(action) => action,
    };
    match action {
        "CreateStateMachine" => machines::create(rt, &req).await,
        "DescribeStateMachine" => machines::describe(rt, &req),
        "UpdateStateMachine" => machines::update(rt, &req).await,
        "DeleteStateMachine" => machines::delete(rt, &req).await,
        "ListStateMachines" => machines::list(rt, &req),
        "ValidateStateMachineDefinition" => machines::validate_off_thread(&req).await,
        "TestState" => test_state::test_state(rt, &req).await,
        "StartExecution" => executions::start(rt, &req).await,
        "StartSyncExecution" => executions::start_sync(rt, &req).await,
        "DescribeExecution" => executions::describe(rt, &req),
        "DescribeStateMachineForExecution" => executions::describe_machine_for(rt, &req),
        "GetExecutionHistory" => executions::history(rt, &req),
        "ListExecutions" => executions::list(rt, &req),
        "StopExecution" => executions::stop(rt, &req).await,
        "RedriveExecution" => executions::redrive(rt, &req).await,
        "PublishStateMachineVersion" => versions::publish(rt, &req).await,
        "ListStateMachineVersions" => versions::list(rt, &req),
        "DeleteStateMachineVersion" => versions::delete(rt, &req).await,
        "CreateStateMachineAlias" => versions::create_alias(rt, &req).await,
        "DescribeStateMachineAlias" => versions::describe_alias(rt, &req),
        "UpdateStateMachineAlias" => versions::update_alias(rt, &req).await,
        "DeleteStateMachineAlias" => versions::delete_alias(rt, &req).await,
        "ListStateMachineAliases" => versions::list_aliases(rt, &req),
        "CreateActivity" => activities::create(rt, &req).await,
        "DescribeActivity" => activities::describe(rt, &req),
        "DeleteActivity" => activities::delete(rt, &req).await,
        "ListActivities" => activities::list(rt, &req),
        "GetActivityTask" => activities::get_task(rt, &req).await,
        "SendTaskSuccess" => tasks::success(rt, &req).await,
        "SendTaskFailure" => tasks::failure(rt, &req).await,
        "SendTaskHeartbeat" => tasks::heartbeat(rt, &req).await,
        "DescribeMapRun" => map_runs::describe(rt, &req),
        "ListMapRuns" => map_runs::list(rt, &req),
        "UpdateMapRun" => map_runs::update(rt, &req),
        "TagResource" => versions::tag(rt, &req).await,
        "UntagResource" => versions::untag(rt, &req).await,
        "ListTagsForResource" => versions::list_tags(rt, &req),
        other => Err(ApiError::UnknownOperation(format!(
            "The action {other} is not supported by Passo yet"
        ))),
    }
}

/// Which API a request's X-Amz-Target names, and its action.
enum Api<'a> {
    States(&'a str),
    Events(&'a str),
    Passo(&'a str),
}

/// Passo's own actions.
async fn passo_action(rt: &Arc<Runtime>, action: &str, req: &Value) -> Result<Value, ApiError> {
    match action {
        "ListDeadLetters" => crate::bus::delivery::list_dead_letters(rt, req),
        "CreateWebhook" => crate::webhooks::create(rt, req).await,
        "ListWebhooks" => Ok(crate::webhooks::list(rt)),
        "DeleteWebhook" => crate::webhooks::delete(rt, req).await,
        "ListSchedules" => Ok(crate::schedules::overview::list(rt)),
        "CreateFunction" => functions::create(rt, req).await,
        "GetFunction" => functions::get(rt, req),
        "ListFunctions" => functions::list(rt),
        "DeleteFunction" => functions::delete(rt, req).await,
        "DescribeServer" => Ok(describe_server(rt)),
        other => Err(ApiError::UnknownOperation(format!(
            "Unknown operation: 'Passo.{other}'"
        ))),
    }
}

/// What the server holds and has found: for operators, and for the tests that assert the
/// sweeper never finds a stranded execution.
fn describe_server(rt: &Arc<Runtime>) -> Value {
    json!({
        "executionsInMemory": rt.active_count(),
        "tasksInFlight": rt.inflight_count(),
        "activityTasksQueued": rt.activities.len(),
        "timersInMemory": rt.timers.len(),
        "expressInFlight": rt.express_in_flight(),
        "sweeps": rt.sweeper.sweeps(),
        "strandedFound": rt.sweeper.stranded(),
        "rebuiltFromSnapshots": rt.rebuilds.from_snapshot.load(Ordering::Relaxed),
        "rebuiltInFull": rt.rebuilds.in_full.load(Ordering::Relaxed),
        "snapshotsPassedOver": rt.rebuilds.passed_over.load(Ordering::Relaxed),
        "stepsReplayed": rt.rebuilds.steps_replayed.load(Ordering::Relaxed),
    })
}

/// An optional string field.
pub(crate) fn opt_str<'a>(req: &'a Value, key: &str) -> Option<&'a str> {
    req.get(key).and_then(Value::as_str)
}

/// A required string field.
pub(crate) fn req_str<'a>(req: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    match req.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(Value::Null) | None => Err(ApiError::ValidationException(format!(
            "1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null"
        ))),
        Some(_) => Err(ApiError::SerializationException(format!(
            "Field '{key}' must be a string"
        ))),
    }
}

/// Epoch seconds, as the JSON protocol carries timestamps.
pub(crate) fn ts(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// A page request: `maxResults` (0 or absent: `default`) and the cursor in `nextToken`.
pub(crate) fn page_cursor(
    req: &Value,
    default: usize,
) -> Result<(usize, Option<String>), ApiError> {
    let max = match req.get("maxResults") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_i64().ok_or_else(|| {
            ApiError::SerializationException("maxResults must be an integer".into())
        })?,
    };
    if max > 1000 {
        return Err(ApiError::constraint(
            &max.to_string(),
            "maxResults",
            "Member must have value less than or equal to 1000",
        ));
    }
    if max < 0 {
        return Err(ApiError::constraint(
            &max.to_string(),
            "maxResults",
            "Member must have value greater than or equal to 0",
        ));
    }
    let cursor = match opt_str(req, "nextToken") {
        None => None,
        Some(t) if t.len() > 1024 => {
            return Err(ApiError::constraint(
                t,
                "nextToken",
                "Member must have length less than or equal to 1024",
            ))
        }
        Some("") => {
            return Err(ApiError::constraint(
                "",
                "nextToken",
                "Member must have length greater than or equal to 1",
            ))
        }
        Some(t) => Some(decode_token(t).ok_or_else(invalid_token)?),
    };
    Ok((if max == 0 { default } else { max as usize }, cursor))
}

pub(crate) fn invalid_token() -> ApiError {
    ApiError::InvalidToken("Invalid Token: 'Invalid token'".into())
}

/// A page request over a list that only grows at its end: the cursor is an offset.
pub(crate) fn page(req: &Value, default: usize) -> Result<(usize, usize), ApiError> {
    let (limit, cursor) = page_cursor(req, default)?;
    let offset = match cursor {
        None => 0,
        Some(c) => c.parse().map_err(|_| invalid_token())?,
    };
    Ok((limit, offset))
}

const TOKEN_PREFIX: &str = "passo:";

/// An opaque page token holding `cursor`.
pub(crate) fn encode_cursor(cursor: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{TOKEN_PREFIX}{cursor}"))
}

pub(crate) fn encode_token(offset: usize) -> String {
    encode_cursor(&offset.to_string())
}

/// The offset an [`encode_token`] page token holds.
pub(crate) fn decode_offset(t: &str) -> Option<usize> {
    decode_token(t)?.parse().ok()
}

fn decode_token(t: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(t).ok()?;
    let s = String::from_utf8(bytes).ok()?;
    s.strip_prefix(TOKEN_PREFIX).map(String::from)
}

/// Takes one page of `items` and adds `nextToken` when more follow.
pub(crate) fn paged(items: Vec<Value>, key: &str, offset: usize, limit: usize) -> Value {
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let mut out = Map::new();
    out.insert(key.to_string(), Value::Array(page));
    if offset + limit < total {
        out.insert(
            "nextToken".into(),
            Value::String(encode_token(offset + limit)),
        );
    }
    Value::Object(out)
}

/// Why input text is not JSON, worded as AWS's (Jackson's) parser words it where the
/// cause is recognisable; serde_json's message otherwise.
/// Answers the message and the column AWS reports.
pub(crate) fn json_error(text: &str, e: &serde_json::Error) -> (String, usize) {
    if text.trim().is_empty() {
        return ("Invalid execution input.".into(), 1);
    }
    // The character where parsing stopped (serde_json counts lines and columns from 1).
    let at = text
        .lines()
        .nth(e.line().saturating_sub(1))
        .and_then(|l| l.get(e.column().saturating_sub(1)..))
        .unwrap_or("");
    let msg = e.to_string();
    if msg.starts_with("key must be a string") {
        if let Some(c) = at.chars().next() {
            return (
                format!(
                    "Unexpected character ('{c}' (code {})): was expecting double-quote to start field name",
                    c as u32
                ),
                e.column() + 1,
            );
        }
    }
    if msg.starts_with("expected ident") || msg.starts_with("expected value") {
        // Jackson names the whole token (letters and digits) that is not JSON.
        let token: String = text
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !token.is_empty() {
            let start = text.len() - text.trim_start().len();
            return (
                format!(
                    "Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
                ),
                start + token.chars().count() + 1,
            );
        }
    }
    let column = e.column();
    match msg.find(" at line ") {
        Some(i) => (msg[..i].to_string(), column),
        None => (msg, column),
    }
}
