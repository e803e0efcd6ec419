//! Passo's queues and topics on a node that does not serve them (`runtime::messaging_lease`):
//! SQS and SNS requests go on to the node that does, and Tasks' calls reach it on an
//! internal route.
//!
//! - A client's request is forwarded unchanged: method, path, query, body and headers,
//!   Host and Authorization included (SigV4 signs the Host header as the client sent it,
//!   so the holder checks the signature as if it had been asked itself). Only the
//!   hop-by-hop headers are the connection's own, and one header is added
//!   ([`FORWARDED`]): a node asked by another that no longer serves them answers 503
//!   (marked [`NOT_SERVING`]) instead of forwarding again, so two nodes that disagree
//!   never bounce a request; the forwarder then asks the database who holds the lease and
//!   tries that node once.
//! - A Task's call goes to `POST /_passo/local/{SQS|SNS}/{operation}` with the JSON input
//!   and the cluster's secret (kept in the database, read by every node); the route
//!   refuses any caller without it.
//! - No holder known, or it does not answer: an error the caller shows as 503 in its
//!   protocol's shape, after asking the database once more who holds the lease. The
//!   connection is given 2 s; an answer as long as the longest long poll (20 s) and more.

use super::guard;
use crate::runtime::messaging_lease::Messaging;
use crate::runtime::Runtime;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use passo_tasks::aws::AwsError;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// Added to a forwarded request: the node that forwarded it.
pub(crate) const FORWARDED: &str = "x-passo-forwarded-by";
/// On the answer to a forwarded request: the node asked does not serve them (any more), and
/// did nothing with it.
pub(crate) const NOT_SERVING: &str = "x-passo-not-serving";
/// The cluster's secret, on the internal route.
const SECRET: &str = "x-passo-cluster-secret";

/// Headers of one connection, not of the request (RFC 9110 7.6.1), and the length, which
/// the client sets from the body it sends.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
    )
}

/// How long the holder may take: a receive may wait 20 s for messages (its own
/// WaitTimeSeconds or the queue's ReceiveMessageWaitTimeSeconds), everything else commits
/// or fails within 10 s.
fn patience(receive: bool) -> Duration {
    Duration::from_secs(if receive { 45 } else { 30 })
}

const NO_HOLDER: &str =
    "No node serves queues and topics right now (their lease is changing hands); try again";

/// The holder's URL: as last read, else read now.
fn holder(m: &Messaging) -> Option<String> {
    m.holder().or_else(|| m.find_holder())
}

/// Sends the client's request to the node that serves queues and topics and answers what it
/// answered. Err: the message of a 503 (nobody serves them, or the holder did not answer).
pub(super) async fn forward(
    m: &Messaging,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, String> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let receive = headers
        .get("x-amz-target")
        .is_some_and(|t| t.as_bytes() == b"AmazonSQS.ReceiveMessage");
    let mut url = holder(m);
    m.forwarded();
    for attempt in 0..2 {
        let base = url.clone().ok_or(NO_HOLDER)?;
        let mut req = m
            .http
            .request(method.clone(), format!("{base}{path}"))
            .timeout(patience(receive))
            .header(FORWARDED, m.node_id())
            .body(body.clone());
        for (k, v) in headers {
            if !hop_by_hop(k) && k != FORWARDED {
                req = req.header(k, v);
            }
        }
        match req.send().await {
            // It gave the lease up or lost it: whoever holds it now, once.
            Ok(r) if r.headers().contains_key(NOT_SERVING) && attempt == 0 => {
                let now = m.find_holder();
                if now.is_none() || now == url {
                    return answer(r).await;
                }
                url = now;
            }
            Ok(r) => return answer(r).await,
            // It died or moved: whoever holds the lease now, once.
            Err(e) if e.is_connect() && attempt == 0 => {
                let now = m.find_holder();
                if now.is_none() || now == url {
                    return Err(format!("{NO_HOLDER} ({base} did not answer)"));
                }
                url = now;
            }
            Err(e) => {
                return Err(format!(
                    "The node serving queues and topics ({base}) did not answer: {e}"
                ))
            }
        }
    }
    Err(NO_HOLDER.into())
}

/// The holder's answer, as ours.
async fn answer(r: reqwest::Response) -> Result<Response, String> {
    let status = r.status();
    let headers = r.headers().clone();
    let body = r
        .bytes()
        .await
        .map_err(|e| format!("The node serving queues and topics broke off its answer: {e}"))?;
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    for (k, v) in &headers {
        if !hop_by_hop(k) {
            resp.headers_mut().append(k, v.clone());
        }
    }
    Ok(resp)
}

/// A Task's (or an event target's) SQS or SNS call, sent to the holder's internal route.
pub(crate) async fn call_holder(
    m: &Messaging,
    service_id: &str,
    operation: &str,
    input: &Value,
) -> Result<Value, AwsError> {
    let unavailable = |message: &str| AwsError::service("ServiceUnavailable", message, 503);
    let secret = m.secret().unwrap_or_default();
    let mut url = holder(m);
    m.forwarded();
    for attempt in 0..2 {
        let base = url.clone().ok_or_else(|| unavailable(NO_HOLDER))?;
        let sent = m
            .http
            .post(format!("{base}/_passo/local/{service_id}/{operation}"))
            .timeout(patience(operation == "ReceiveMessage"))
            .header(SECRET, secret)
            .header("content-type", "application/json")
            .body(input.to_string())
            .send()
            .await;
        let retry = match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r.bytes().await.map_err(|e| unavailable(&e.to_string()))?;
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if status == 200 {
                    return Ok(v);
                }
                let code = v["code"].as_str().unwrap_or("InternalFailure");
                let message = v["message"].as_str().unwrap_or_default();
                // The node asked no longer serves them (nothing was done): the holder, once.
                if !(status == 503 && v["serving"] == false && attempt == 0) {
                    return Err(AwsError::service(code, message, status));
                }
                message.to_string()
            }
            Err(e) if e.is_connect() && attempt == 0 => e.to_string(),
            Err(e) => return Err(unavailable(&format!("{base} did not answer: {e}"))),
        };
        let now = m.find_holder();
        if now.is_none() || now == url {
            return Err(unavailable(&format!("{NO_HOLDER} ({base}: {retry})")));
        }
        url = now;
    }
    Err(unavailable(NO_HOLDER))
}

pub(super) fn routes() -> Router<Arc<Runtime>> {
    Router::new().route("/_passo/local/{service}/{operation}", post(internal))
}

fn reply(status: StatusCode, v: Value) -> Response {
    let mut resp = (status, v.to_string()).into_response();
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

/// `POST /_passo/local/{SQS|SNS}/{operation}`: another node's Task calling the queues and
/// topics this node serves.
async fn internal(
    State(rt): State<Arc<Runtime>>,
    Path((service, operation)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let refuse = |status: StatusCode, code: &str, message: &str| {
        reply(status, json!({"code": code, "message": message}))
    };
    let Some((m, secret)) = rt
        .messaging()
        .and_then(|m| m.secret().map(|s| (m, s.to_string())))
    else {
        return refuse(StatusCode::NOT_FOUND, "NotFound", "Not found");
    };
    let given = headers.get(SECRET).map_or(&b""[..], |v| v.as_bytes());
    if !bool::from(given.ct_eq(secret.as_bytes())) {
        return refuse(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "This route is for the nodes of the cluster",
        );
    }
    let timeout = Duration::from_millis(rt.cfg.body_timeout_ms);
    let body = match guard::read_body(body, rt.cfg.max_request_bytes, timeout).await {
        Ok(b) => b,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.code(), &e.message()),
    };
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !input.is_object() || !matches!(service.as_str(), "SQS" | "SNS") {
        return refuse(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "A JSON object for SQS or SNS",
        );
    }
    let Some(local) = m.local() else {
        return reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"code": "ServiceUnavailable", "serving": false,
                   "message": "This node does not serve queues and topics (any more)"}),
        );
    };
    match local.call(&service, &operation, &input).await {
        Ok(v) => reply(StatusCode::OK, v),
        Err(e) => {
            let status = StatusCode::from_u16(e.status.unwrap_or(500))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            refuse(
                status,
                e.code.as_deref().unwrap_or("InternalFailure"),
                &e.message,
            )
        }
    }
}
