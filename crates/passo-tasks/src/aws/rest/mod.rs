//! The REST protocols (restJson1: Lambda, API Gateway, Batch and ~250 more; restXml: Route 53,
//! CloudFront, S3 Control), driven by the model: the operation's `http` binding gives the
//! method and URI template; each input member goes where its `location` says (`uri`,
//! `querystring`, `header`, `headers` with a prefix), the `payload` member (or else every
//! member left) is the body; the answer's members come back from headers, the status code,
//! and the payload or body. What differs between the two is only the body:
//! [`json`] and [`xml`].
//!
//! `endpoint.hostPrefix` (`{AccountId}.`, `data-`) is applied on AWS's own endpoints only: the
//! AWS SDKs apply it to a custom endpoint too unless told not to (boto3's
//! `inject_host_prefix=False`, the Java SDK's `disableHostPrefixInjection`), but a configured
//! endpoint is an emulator or a proxy on one host, where `123456789012.127.0.0.1` resolves
//! nowhere.

pub mod json;
pub mod uri;
pub mod xml;

use super::request::{self, Request, Response};
use super::shapes::{member, pascal};
use super::{time, AwsError, Endpoint};
use base64::Engine as _;
use serde_json::{Map, Value};

/// Which body the service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Json,
    Xml,
}

/// Calls `operation` of the service at `endpoint` with `input`.
pub async fn call(
    http: &reqwest::Client,
    endpoint: &Endpoint<'_>,
    body: Body,
    operation: &str,
    input: &Value,
) -> Result<Value, AwsError> {
    let req = build(endpoint.model, body, operation, input, endpoint.custom)?;
    let resp = request::send(http, endpoint, req).await?;
    if !resp.ok() {
        return Err(match body {
            Body::Json => json::error(&resp),
            Body::Xml => xml::error(&resp),
        });
    }
    read(endpoint.model, body, operation, &resp)
}

/// A scalar's text for a URI label, a query value or a header.
fn text(model: &Value, shape: &str, v: &Value, default: time::Format) -> String {
    super::xml::text(&model["shapes"][shape], v, default)
}

/// The request for `operation` with `input`; `custom` endpoints get no host prefix.
pub fn build(
    model: &Value,
    body: Body,
    operation: &str,
    input: &Value,
    custom: bool,
) -> Result<Request, AwsError> {
    let op = &model["operations"][operation];
    let shape_name = op["input"]["shape"].as_str().unwrap_or_default();
    let shape = &model["shapes"][shape_name];
    let empty = Map::new();
    let obj = input.as_object().unwrap_or(&empty);
    let members = shape["members"].as_object();
    let bound = |loc: &'static str| {
        members
            .into_iter()
            .flatten()
            .filter(move |(_, m)| m["location"] == loc)
            .filter_map(|(n, m)| Some((n, m, member(obj, n)?)))
    };
    let template = op["http"]["requestUri"].as_str().unwrap_or("/");
    let (path, mut query) = uri::expand(template, |label| {
        let (_, m, v) = bound("uri")
            .find(|(n, m, _)| m["locationName"].as_str().unwrap_or(n.as_str()) == label)?;
        Some(text(model, m["shape"].as_str()?, v, time::Format::Iso8601))
    })
    .map_err(|e| AwsError::client(&e.to_string()))?;
    for (n, m, v) in bound("querystring") {
        let child = m["shape"].as_str().unwrap_or_default();
        let cs = &model["shapes"][child];
        let key = m["locationName"].as_str().unwrap_or(n);
        match (cs["type"].as_str(), v) {
            (Some("list"), Value::Array(items)) => {
                let item = cs["member"]["shape"].as_str().unwrap_or_default();
                for i in items {
                    query.push((key.to_string(), text(model, item, i, time::Format::Iso8601)));
                }
            }
            // A map in the query string: each key its own parameter (a list value repeats).
            (Some("map"), Value::Object(entries)) => {
                let vs = cs["value"]["shape"].as_str().unwrap_or_default();
                let vshape = &model["shapes"][vs];
                for (k, val) in entries {
                    match (vshape["type"].as_str(), val) {
                        (Some("list"), Value::Array(items)) => {
                            let item = vshape["member"]["shape"].as_str().unwrap_or_default();
                            for i in items {
                                query
                                    .push((k.clone(), text(model, item, i, time::Format::Iso8601)));
                            }
                        }
                        _ => query.push((k.clone(), text(model, vs, val, time::Format::Iso8601))),
                    }
                }
            }
            _ => query.push((
                key.to_string(),
                text(model, child, v, time::Format::Iso8601),
            )),
        }
    }
    let mut headers = Vec::new();
    for (n, m, v) in bound("header") {
        let child = m["shape"].as_str().unwrap_or_default();
        let cs = &model["shapes"][child];
        let value = match (cs["type"].as_str(), v) {
            (Some("list"), Value::Array(items)) => {
                let item = cs["member"]["shape"].as_str().unwrap_or_default();
                items
                    .iter()
                    .map(|i| text(model, item, i, time::Format::HttpDate))
                    .collect::<Vec<_>>()
                    .join(",")
            }
            // A JSON value in a header travels as base64 of its text.
            _ if cs["jsonvalue"] == true || m["jsonvalue"] == true => {
                base64::engine::general_purpose::STANDARD.encode(v.to_string())
            }
            _ => text(model, child, v, time::Format::HttpDate),
        };
        headers.push((m["locationName"].as_str().unwrap_or(n).to_string(), value));
    }
    for (_, m, v) in bound("headers") {
        let prefix = m["locationName"].as_str().unwrap_or_default();
        for (k, val) in v.as_object().into_iter().flatten() {
            let t = match val {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            headers.push((format!("{prefix}{k}"), t));
        }
    }
    let (content_type, bytes) = match shape["payload"].as_str() {
        Some(p) => payload_body(model, body, shape, p, obj)?,
        None => match body {
            Body::Json => json::body(model, shape_name, input),
            Body::Xml => xml::body(model, op, shape_name, input),
        },
    };
    if let Some(ct) = content_type {
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("content-type".into(), ct.to_string()));
        }
    }
    let host_prefix = match op["endpoint"]["hostPrefix"].as_str() {
        Some(p) if !custom => Some(
            uri::expand(p, |label| {
                let v = member(obj, label)?;
                Some(v.as_str().map_or_else(|| v.to_string(), str::to_string))
            })
            .map_err(|e| AwsError::client(&e.to_string()))?
            .0,
        ),
        _ => None,
    };
    let q = uri::query(&query);
    Ok(Request {
        method: method(op["http"]["method"].as_str().unwrap_or("POST")),
        path_and_query: if q.is_empty() {
            path
        } else {
            format!("{path}?{q}")
        },
        host_prefix,
        headers,
        body: bytes,
    })
}

fn method(m: &str) -> &'static str {
    match m {
        "GET" => "GET",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "PATCH" => "PATCH",
        _ => "POST",
    }
}

/// The body when one member is the payload: a structure as the protocol's document, a blob's
/// bytes (a Task gives text, or JSON that is sent as its text), a string's text.
fn payload_body(
    model: &Value,
    body: Body,
    shape: &Value,
    payload: &str,
    obj: &Map<String, Value>,
) -> Result<(Option<&'static str>, Vec<u8>), AwsError> {
    let m = &shape["members"][payload];
    let child = m["shape"].as_str().unwrap_or_default();
    let Some(v) = member(obj, payload) else {
        return Ok((None, Vec::new()));
    };
    let cs = &model["shapes"][child];
    Ok(match cs["type"].as_str() {
        Some("structure") => match body {
            Body::Json => (
                Some("application/json"),
                serde_json::to_vec(&super::shapes::to_wire(
                    model,
                    super::shapes::Wire::RestJson,
                    child,
                    v,
                ))
                .unwrap_or_default(),
            ),
            Body::Xml => {
                let name = m["locationName"].as_str().unwrap_or(child);
                let ns = m["xmlNamespace"]["uri"].as_str();
                let mut out = String::new();
                super::xml::write(model, child, name, ns, v, &mut out);
                (Some("application/xml"), out.into_bytes())
            }
        },
        Some("blob") => (
            Some("application/octet-stream"),
            match v {
                Value::String(s) => s.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            },
        ),
        _ => (
            Some("text/plain"),
            match v {
                Value::String(s) => s.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            },
        ),
    })
}

/// The Task's result from a successful answer.
pub fn read(
    model: &Value,
    body: Body,
    operation: &str,
    resp: &Response,
) -> Result<Value, AwsError> {
    let op = &model["operations"][operation];
    let Some(shape_name) = op["output"]["shape"].as_str() else {
        return Ok(Value::Object(Map::new()));
    };
    let shape = &model["shapes"][shape_name];
    let mut out = match shape["payload"].as_str() {
        Some(p) => {
            let m = &shape["members"][p];
            let child = m["shape"].as_str().unwrap_or_default();
            let mut o = Map::new();
            if !resp.body.is_empty() {
                let v = match (model["shapes"][child]["type"].as_str(), body) {
                    (Some("structure"), Body::Json) => json::read(model, child, &resp.body),
                    (Some("structure"), Body::Xml) => xml::read(model, child, &resp.body),
                    // Blobs as Step Functions shows them: base64.
                    (Some("blob"), _) => {
                        Value::String(base64::engine::general_purpose::STANDARD.encode(&resp.body))
                    }
                    _ => Value::String(String::from_utf8_lossy(&resp.body).into_owned()),
                };
                o.insert(pascal(p).into_owned(), v);
            }
            o
        }
        None => match body {
            Body::Json => json::read(model, shape_name, &resp.body),
            Body::Xml => xml::read(model, shape_name, &resp.body),
        }
        .as_object()
        .cloned()
        .unwrap_or_default(),
    };
    for (n, m) in shape["members"].as_object().into_iter().flatten() {
        let child = m["shape"].as_str().unwrap_or_default();
        let cs = &model["shapes"][child];
        match m["location"].as_str() {
            Some("header") => {
                let Some(h) = resp.header(m["locationName"].as_str().unwrap_or(n)) else {
                    continue;
                };
                let v = if cs["jsonvalue"] == true || m["jsonvalue"] == true {
                    base64::engine::general_purpose::STANDARD
                        .decode(h)
                        .ok()
                        .and_then(|b| serde_json::from_slice(&b).ok())
                        .unwrap_or_else(|| Value::String(h.to_string()))
                } else if cs["type"] == "list" {
                    Value::Array(
                        h.split(',')
                            .map(|p| Value::String(p.trim().to_string()))
                            .collect(),
                    )
                } else {
                    super::xml::scalar(cs, h)
                };
                out.insert(pascal(n).into_owned(), v);
            }
            Some("headers") => {
                let prefix = m["locationName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let map: Map<String, Value> = resp
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        let rest = k.as_str().strip_prefix(prefix.as_str())?;
                        Some((
                            rest.to_string(),
                            Value::String(v.to_str().ok()?.to_string()),
                        ))
                    })
                    .collect();
                if !map.is_empty() {
                    out.insert(pascal(n).into_owned(), Value::Object(map));
                }
            }
            Some("statusCode") => {
                out.insert(pascal(n).into_owned(), Value::from(resp.status));
            }
            _ => {}
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests;
