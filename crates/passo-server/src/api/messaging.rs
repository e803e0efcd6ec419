//! SQS and SNS on the server's port, beside Step Functions: SQS's JSON protocol
//! (`X-Amz-Target: AmazonSQS.<Action>`, errors with `__type` and `x-amzn-query-error`) and
//! SNS's query protocol (a form with `Action=...`, XML answers), plus the GET links SNS
//! puts in its messages (SubscribeURL, UnsubscribeURL). On a node of a shared database that
//! does not serve the queues and topics now, every such request goes to the one that does
//! (`forward`).

use super::{forward, guard, query};
use crate::error::ApiError;
use crate::local::Local;
use crate::runtime::Runtime;
use crate::sigv4;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;

pub fn is_sqs(headers: &HeaderMap) -> bool {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("AmazonSQS."))
}

/// A query-protocol call: a form with no `X-Amz-Target` (a form that names a target is a
/// Step Functions call with the wrong content type, refused as before).
pub fn is_query(headers: &HeaderMap) -> bool {
    headers.get("x-amz-target").is_none()
        && headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| {
                t.trim_start()
                    .starts_with("application/x-www-form-urlencoded")
            })
}

/// A form is what any web page can make a browser send to 127.0.0.1 without asking; a
/// signature header is not. So SNS calls must be signed even when the server takes any
/// signature (the SDKs and the CLI always sign).
fn check_signed(headers: &HeaderMap) -> Result<(), ApiError> {
    let signed = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.trim_start().starts_with("AWS4-"));
    if signed {
        Ok(())
    } else {
        Err(ApiError::MissingAuthenticationToken(
            "Request is missing Authentication Token".into(),
        ))
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn with_headers(status: u16, body: String, content_type: &'static str, id: &str) -> Response {
    let mut resp = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        body,
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// The checks every API request gets (Host, header size, body size and time, signature).
async fn read(
    rt: &Arc<Runtime>,
    headers: &HeaderMap,
    body: Body,
    signing_name: &'static [&'static str],
) -> Result<axum::body::Bytes, ApiError> {
    guard::check_host(headers, &rt.cfg.allowed_hosts)?;
    guard::check_header_size(headers)?;
    let timeout = std::time::Duration::from_millis(rt.cfg.body_timeout_ms);
    let body = guard::read_body(body, rt.cfg.max_request_bytes, timeout).await?;
    if !rt.cfg.access_keys.is_empty() {
        let scope = sigv4::Scope {
            region: &rt.cfg.realm.region,
            services: signing_name,
        };
        sigv4::verify(
            &rt.cfg.access_keys,
            &scope,
            headers,
            &body,
            crate::runtime::now_ms(),
        )?;
    }
    Ok(body)
}

/// Who answers a request for the queues and topics.
enum Serve {
    Here(Arc<Local>),
    /// Another node serves them: forward the request there.
    Elsewhere(Arc<crate::runtime::messaging_lease::Messaging>),
    Refused(ApiError),
}

fn serving(rt: &Arc<Runtime>, headers: &HeaderMap) -> Serve {
    let Some(m) = rt.messaging() else {
        return Serve::Refused(ApiError::UnknownOperation(
            "This server does not serve queues and topics".into(),
        ));
    };
    if let Some(l) = m.local() {
        return Serve::Here(l);
    }
    if !m.clustered() {
        return Serve::Refused(ApiError::UnknownOperation(
            "This server does not serve queues and topics".into(),
        ));
    }
    if headers.contains_key(forward::FORWARDED) {
        // Forwarded by a node that thinks this one serves them: never forward again.
        return Serve::Refused(ApiError::ServiceUnavailable(
            "This node no longer serves queues and topics; try again".into(),
        ));
    }
    Serve::Elsewhere(m.clone())
}

/// A refusal of a forwarded request says so, for the forwarder to look for the holder
/// again (`forward::NOT_SERVING`).
fn bounced(headers: &HeaderMap, mut resp: Response) -> Response {
    if headers.contains_key(forward::FORWARDED) {
        resp.headers_mut()
            .insert(forward::NOT_SERVING, HeaderValue::from_static("1"));
    }
    resp
}

/// The request as the holder must see it: the guard's checks (Host, sizes) here, the
/// signature there.
async fn forwarded(
    rt: &Arc<Runtime>,
    m: &crate::runtime::messaging_lease::Messaging,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    guard::check_host(headers, &rt.cfg.allowed_hosts)?;
    guard::check_header_size(headers)?;
    let timeout = std::time::Duration::from_millis(rt.cfg.body_timeout_ms);
    let body = guard::read_body(body, rt.cfg.max_request_bytes, timeout).await?;
    forward::forward(m, method, uri, headers, body)
        .await
        .map_err(ApiError::ServiceUnavailable)
}

pub async fn sqs(rt: &Arc<Runtime>, uri: &Uri, headers: &HeaderMap, body: Body) -> Response {
    let id = request_id();
    let json_error = |status: u16, shape: &str, query_code: &str, message: &str| {
        let mut resp = with_headers(
            status,
            json!({"__type": format!("com.amazonaws.sqs#{shape}"), "message": message}).to_string(),
            "application/x-amz-json-1.0",
            &id,
        );
        if let Ok(v) = HeaderValue::from_str(&format!("{query_code};Sender")) {
            resp.headers_mut().insert("x-amzn-query-error", v);
        }
        resp
    };
    let api_error = |e: ApiError| {
        let mut resp = json_error(e.status(), e.code(), e.code(), &e.message());
        if e.status() >= 500 {
            if let Ok(v) = HeaderValue::from_str(&format!("{};Receiver", e.code())) {
                resp.headers_mut().insert("x-amzn-query-error", v);
            }
        }
        resp
    };
    let local = match serving(rt, headers) {
        Serve::Here(l) => l,
        Serve::Elsewhere(m) => {
            return forwarded(rt, &m, Method::POST, uri, headers, body)
                .await
                .unwrap_or_else(api_error)
        }
        Serve::Refused(e) => return bounced(headers, api_error(e)),
    };
    // The JSON protocol's content type, as for Step Functions (a browser cannot send it
    // without a preflight).
    let checked = match guard::check_content_type(headers) {
        Ok(()) => read(rt, headers, body, &["sqs"]).await,
        Err(e) => Err(e),
    };
    let body = match checked {
        Ok(b) => b,
        Err(e) => return api_error(e),
    };
    let action = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("AmazonSQS."))
        .unwrap_or_default();
    let input: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return json_error(
                    400,
                    "InvalidParameterValueException",
                    "InvalidParameterValue",
                    "The request body must be a JSON object",
                )
            }
        }
    };
    match local.queues.call(action, &input).await {
        Ok(v) => with_headers(200, v.to_string(), "application/x-amz-json-1.0", &id),
        Err(e) => {
            let mut resp = json_error(e.status(), e.shape(), e.query_code(), &e.to_string());
            if let Ok(v) = HeaderValue::from_str(&format!("{};{}", e.query_code(), e.fault())) {
                resp.headers_mut().insert("x-amzn-query-error", v);
            }
            resp
        }
    }
}

/// An SNS call from a form: the operation named by `Action`, its input read by the
/// model's shapes.
async fn sns_form(local: &Arc<Local>, form: &query::Form, id: &str) -> Response {
    let model = match passo_tasks::aws::models::model("sns") {
        Ok(m) => m,
        Err(e) => return with_headers(500, e.to_string(), "text/plain", id),
    };
    let action = form.get("Action").map(String::as_str).unwrap_or_default();
    let xml_error = |status: u16, code: &str, message: &str| {
        with_headers(
            status,
            query::error(&model, code, message, status < 500, id),
            "text/xml",
            id,
        )
    };
    let Some(shape) = model["operations"][action]["input"]["shape"].as_str() else {
        return xml_error(
            400,
            "InvalidAction",
            &format!("The action {action} is not valid for this web service."),
        );
    };
    let input = query::decode(&model, shape, form, "");
    match local.topics.call(action, &input).await {
        Ok(v) => with_headers(200, query::response(&model, action, &v, id), "text/xml", id),
        Err(e) => xml_error(e.status(), e.code(), &e.to_string()),
    }
}

fn sns_error(e: &ApiError, id: &str) -> Response {
    let model = passo_tasks::aws::models::model("sns").ok();
    let xml = model.map_or_else(String::new, |m| {
        query::error(&m, e.code(), &e.message(), e.status() < 500, id)
    });
    with_headers(e.status(), xml, "text/xml", id)
}

pub async fn sns(rt: &Arc<Runtime>, uri: &Uri, headers: &HeaderMap, body: Body) -> Response {
    let id = request_id();
    let local = match serving(rt, headers) {
        Serve::Here(l) => l,
        Serve::Elsewhere(m) => {
            return forwarded(rt, &m, Method::POST, uri, headers, body)
                .await
                .unwrap_or_else(|e| sns_error(&e, &id))
        }
        Serve::Refused(e) => return bounced(headers, sns_error(&e, &id)),
    };
    let checked = match check_signed(headers) {
        Ok(()) => read(rt, headers, body, &["sns"]).await,
        Err(e) => Err(e),
    };
    let body = match checked {
        Ok(b) => b,
        Err(e) => return sns_error(&e, &id),
    };
    sns_form(&local, &query::parse_form(&body), &id).await
}

/// GET `/?Action=ConfirmSubscription&TopicArn=...&Token=...` (an HTTP subscriber visiting
/// its SubscribeURL) and `/?Action=Unsubscribe&SubscriptionArn=...`; unsigned, as in SNS.
/// None for any other GET.
pub async fn link(rt: &Arc<Runtime>, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    let id = request_id();
    let form = query::parse_form(uri.query().unwrap_or_default().as_bytes());
    let action = form.get("Action").map(String::as_str);
    if !matches!(action, Some("ConfirmSubscription" | "Unsubscribe")) {
        return None;
    }
    Some(match serving(rt, headers) {
        Serve::Here(l) => sns_form(&l, &form, &id).await,
        Serve::Elsewhere(m) => forwarded(rt, &m, Method::GET, uri, headers, Body::empty())
            .await
            .unwrap_or_else(|e| sns_error(&e, &id)),
        Serve::Refused(e) if headers.contains_key(forward::FORWARDED) => {
            bounced(headers, sns_error(&e, &id))
        }
        Serve::Refused(_) => return None,
    })
}
