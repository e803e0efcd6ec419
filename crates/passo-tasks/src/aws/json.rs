//! The AWS JSON protocols (awsJson1_0 and awsJson1_1: DynamoDB, EventBridge, SQS, Step
//! Functions, Secrets Manager and ~140 more): `POST /` with `X-Amz-Target: PREFIX.Operation`
//! and the parameters as the JSON body, named as the API names them, which is how Step
//! Functions passes a Task's parameters on; the answer's JSON is the Task's result.

use super::request::{self, Request};
use super::shapes::{self, Wire};
use super::{AwsError, Endpoint};
use serde_json::Value;

/// Calls `operation` of the service at `endpoint` with `input`.
pub async fn call(
    http: &reqwest::Client,
    endpoint: &Endpoint<'_>,
    operation: &str,
    input: &Value,
) -> Result<Value, AwsError> {
    let model = endpoint.model;
    let meta = &model["metadata"];
    let op = &model["operations"][operation];
    let version = meta["jsonVersion"].as_str().unwrap_or("1.0");
    let target = match meta["targetPrefix"].as_str() {
        Some(p) => format!("{p}.{operation}"),
        None => operation.to_string(),
    };
    let wire = match op["input"]["shape"].as_str() {
        Some(shape) => shapes::to_wire(model, Wire::Json, shape, input),
        None => Value::Object(Default::default()),
    };
    let body = serde_json::to_vec(&wire).unwrap_or_default();
    let headers = vec![
        (
            "content-type".to_string(),
            format!("application/x-amz-json-{version}"),
        ),
        ("x-amz-target".to_string(), target),
    ];
    let mut req = Request::post(headers, body);
    req.host_prefix = request::host_prefix(op, input, endpoint.custom)?;
    let resp = request::send(http, endpoint, req).await?;
    let v: Value = if resp.body.is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&resp.body).unwrap_or(Value::Null)
    };
    if resp.ok() {
        return Ok(match op["output"]["shape"].as_str() {
            Some(shape) => shapes::from_wire(model, Wire::Json, shape, &v),
            None => Value::Object(Default::default()),
        });
    }
    // A service that moved from the query protocol to JSON (SQS) also sends the code its
    // query protocol gave the error, which is the one the SDKs report for it.
    let query_code = model["metadata"]
        .get("awsQueryCompatible")
        .and_then(|_| resp.header("x-amzn-query-error"))
        .and_then(|h| h.split(';').next())
        .filter(|c| !c.is_empty());
    let code = query_code
        .or(v["__type"].as_str())
        .or(resp.header("x-amzn-errortype"))
        .map(|t| short_code(t).to_string());
    let message = ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|k| v[*k].as_str())
        .unwrap_or_default()
        .to_string();
    Err(AwsError {
        code,
        message,
        status: Some(resp.status),
        request_id: resp.request_id(),
    })
}

/// `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException` or
/// `ResourceNotFoundException:http://...` -> `ResourceNotFoundException`.
pub(crate) fn short_code(t: &str) -> &str {
    let t = t.rsplit('#').next().unwrap_or(t);
    t.split(':').next().unwrap_or(t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_codes_lose_their_namespace() {
        assert_eq!(
            super::short_code("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            super::short_code("InvalidToken:http://internal.amazon.com/"),
            "InvalidToken"
        );
    }
}
