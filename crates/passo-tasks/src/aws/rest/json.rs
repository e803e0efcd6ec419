//! restJson1's bodies: the members not bound to the URI, query or headers as a JSON object
//! (named by `locationName` where the model gives one, timestamps as epoch seconds), and its
//! errors: the code from the `x-amzn-errortype` header, else the body's `__type` or `code`,
//! the message from `message` or `Message`.

use super::super::json::short_code;
use super::super::request::Response;
use super::super::shapes::{self, Wire};
use super::super::AwsError;
use serde_json::Value;

/// The JSON body of the input's body members: `{}` when the shape has body members but the
/// Task set none (as the SDKs send), nothing when it has none.
pub fn body(model: &Value, shape: &str, input: &Value) -> (Option<&'static str>, Vec<u8>) {
    let has_body = model["shapes"][shape]["members"]
        .as_object()
        .is_some_and(|m| m.values().any(|m| !m["location"].is_string()));
    if !has_body {
        return (None, Vec::new());
    }
    let wire = shapes::to_wire(model, Wire::RestJson, shape, input);
    (
        Some("application/json"),
        serde_json::to_vec(&wire).unwrap_or_default(),
    )
}

/// A JSON body read as `shape`, its members in PascalCase.
pub fn read(model: &Value, shape: &str, bytes: &[u8]) -> Value {
    let v: Value = if bytes.is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(bytes).unwrap_or(Value::Null)
    };
    shapes::from_wire(model, Wire::RestJson, shape, &v)
}

/// The error a restJson1 answer carries.
pub fn error(resp: &Response) -> AwsError {
    let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let code = resp
        .header("x-amzn-errortype")
        .map(str::to_string)
        .or_else(|| v["__type"].as_str().map(str::to_string))
        .or_else(|| v["code"].as_str().map(str::to_string))
        .or_else(|| v["Code"].as_str().map(str::to_string))
        .map(|c| short_code(&c).to_string())
        .filter(|c| !c.is_empty());
    let message = ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|k| v[*k].as_str())
        .unwrap_or_default()
        .to_string();
    AwsError {
        code,
        message,
        status: Some(resp.status),
        request_id: resp.request_id(),
    }
}
