//! The AWS JSON protocols (awsJson1_0 and awsJson1_1: DynamoDB, EventBridge, SQS, Step
//! Functions, Secrets Manager and ~140 more): `POST /` with `X-Amz-Target: PREFIX.Operation`
//! and the parameters as the JSON body, named as the API names them, which is how Step
//! Functions passes a Task's parameters on; the answer's JSON is the Task's result.

use super::{AwsError, Endpoint};
use serde_json::Value;

/// Calls `operation` of the service at `endpoint` with `input`.
pub async fn call(
    http: &reqwest::Client,
    endpoint: &Endpoint<'_>,
    operation: &str,
    input: &Value,
) -> Result<Value, AwsError> {
    let meta = &endpoint.model["metadata"];
    let version = meta["jsonVersion"].as_str().unwrap_or("1.0");
    let target = match meta["targetPrefix"].as_str() {
        Some(p) => format!("{p}.{operation}"),
        None => operation.to_string(),
    };
    let body = serde_json::to_vec(input).unwrap_or_default();
    let headers = [
        ("content-type", format!("application/x-amz-json-{version}")),
        ("x-amz-target", target),
    ];
    let resp = super::post(http, endpoint, &headers, body).await?;
    let status = resp.status().as_u16();
    let request_id = resp
        .headers()
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let header_type = resp
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| AwsError::client(&e.to_string()))?;
    let v: Value = if bytes.is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    if (200..300).contains(&status) {
        return Ok(v);
    }
    let code = v["__type"]
        .as_str()
        .map(str::to_string)
        .or(header_type)
        .map(|t| short_code(&t).to_string());
    let message = ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|k| v[*k].as_str())
        .unwrap_or_default()
        .to_string();
    Err(AwsError {
        code,
        message,
        status: Some(status),
        request_id,
    })
}

/// `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException` or
/// `ResourceNotFoundException:http://...` -> `ResourceNotFoundException`.
fn short_code(t: &str) -> &str {
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
