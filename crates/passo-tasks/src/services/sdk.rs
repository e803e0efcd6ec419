//! What the optimized integrations share: the call (through [`crate::aws`]), the HTTP
//! metadata Step Functions adds to a result, and errors named as the AWS SDK for Java 1
//! (which Step Functions' optimized integrations run on) names them.
//!
//! Errors: a service error whose code is one of the service's modelled exceptions is
//! `{Prefix}.{Exception}` (`DynamoDB.ResourceNotFoundException`, `SNS.NotFoundException` for
//! the code `NotFound`); any other is `{Prefix}.Amazon{Service}Exception`
//! (`SQS.AmazonSQSException` for `MissingParameter`); a call that got no answer is
//! `{Prefix}.SdkClientException`. The cause is the SDK's: "message (Service: AmazonSQS;
//! Status Code: 400; Error Code: MissingParameter; Request ID: ...; Proxy: null)".
//!
//! Metadata: `SdkHttpMetadata` (the answer's headers, all and first values, and status) and
//! `SdkResponseMetadata` (its request id). Passo gives the headers AWS's endpoint for the
//! service sends, whichever server answered: a workflow written against AWS reads those,
//! and neither a local service nor a compatible server's own headers (`Server: Werkzeug`)
//! are what it expects.

use super::Context;
use crate::aws::{self, AwsError, CallError};
use serde_json::{json, Map, Value};

/// How one service's optimized integration names and frames things.
pub struct Service {
    /// The service as [`crate::aws::call`] names it (`sqs`).
    pub sdk_name: &'static str,
    /// botocore's model name, for the exceptions it declares.
    pub model: &'static str,
    /// Error prefix (`SQS`).
    pub prefix: &'static str,
    /// The Java 1 client's service name in causes (`AmazonSQS`).
    pub service_name: &'static str,
    /// The Java 1 client's exception for unmodelled codes (`AmazonSQSException`).
    pub base_exception: &'static str,
    /// The answer's Content-Type.
    pub content_type: &'static str,
    /// The headers AWS's endpoint adds beyond the common ones (name, value).
    pub extra_headers: &'static [(&'static str, &'static str)],
    /// The request-id header's name as the endpoint spells it.
    pub request_id_header: &'static str,
    /// The connection header's name as the endpoint spells it.
    pub connection_header: &'static str,
}

/// The task's failure for a request Step Functions refuses before calling the service.
pub fn runtime_error(cx: &Context<'_>, why: &str) -> (String, Option<String>) {
    (
        "States.Runtime".to_string(),
        Some(format!(
            "An error occurred while executing the state '{}'. {why}",
            cx.state_name
        )),
    )
}

/// Refuses parameters the integration does not take (Step Functions passes only the ones
/// it documents for each action).
pub fn check_parameters(
    cx: &Context<'_>,
    input: &Value,
    supported: &[&str],
) -> Result<(), (String, Option<String>)> {
    let Some(m) = input.as_object() else {
        return Err(runtime_error(cx, "The parameters must be a JSON object"));
    };
    match m.keys().find(|k| !supported.contains(&k.as_str())) {
        Some(k) => Err(runtime_error(
            cx,
            &format!("The field \"{k}\" is not supported by Step Functions"),
        )),
        None => Ok(()),
    }
}

/// The parameters as the SDK's request object holds them: a member set to null is unset.
pub fn without_nulls(input: &Value) -> Value {
    match input {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A member that is not a string is sent as its JSON text (a message body, a detail).
pub fn as_text(v: &Value) -> Value {
    match v {
        Value::String(_) | Value::Null => v.clone(),
        other => Value::String(other.to_string()),
    }
}

/// Calls `action` of the service: its result, or the task's error.
pub async fn call(
    cx: &Context<'_>,
    service: &Service,
    action: &str,
    input: &Value,
) -> Result<Value, (String, Option<String>)> {
    aws::call_raw(
        cx.http,
        cx.local,
        service.sdk_name,
        action,
        input,
        cx.deadline,
    )
    .await
    .map_err(|e| match e {
        CallError::Unusable(what) => ("States.TaskFailed".to_string(), Some(what)),
        CallError::Service { raw, .. } => task_error(service, &raw),
    })
}

/// Step Functions' error name and cause for a service's error.
pub fn task_error(service: &Service, e: &AwsError) -> (String, Option<String>) {
    let (Some(status), Some(code)) = (e.status, e.code.as_deref()) else {
        return match e.status {
            None => (
                format!("{}.SdkClientException", service.prefix),
                Some(e.message.clone()),
            ),
            Some(status) => (
                format!("{}.{}", service.prefix, service.base_exception),
                Some(cause(service, &e.message, status, "null", &e.request_id)),
            ),
        };
    };
    let (exception, wire_code) = match modelled(service.model, code) {
        Some((shape, wire)) => (java_exception(&shape), wire),
        None => (service.base_exception.to_string(), code.to_string()),
    };
    (
        format!("{}.{exception}", service.prefix),
        Some(cause(
            service,
            &e.message,
            status,
            &wire_code,
            &e.request_id,
        )),
    )
}

fn cause(service: &Service, message: &str, status: u16, code: &str, request_id: &str) -> String {
    format!(
        "{message} (Service: {}; Status Code: {status}; Error Code: {code}; Request ID: {request_id}; Proxy: null)",
        service.service_name
    )
}

/// The Java 1 SDK's class for an exception shape: its name, ending in `Exception`.
fn java_exception(shape: &str) -> String {
    if shape.ends_with("Exception") {
        shape.to_string()
    } else {
        format!("{shape}Exception")
    }
}

/// The exception shape a code names (by the shape's name, or the code it is sent with), and
/// the code as sent on the wire.
fn modelled(model: &str, code: &str) -> Option<(String, String)> {
    let model = aws::models::model(model).ok()?;
    let shapes = model["shapes"].as_object()?;
    shapes.iter().find_map(|(name, s)| {
        if s["exception"] != true {
            return None;
        }
        let wire = s["error"]["code"].as_str();
        (name == code || wire == Some(code))
            .then(|| (name.clone(), wire.unwrap_or(code).to_string()))
    })
}

/// `result` with the SDK's metadata of an answer whose body had `body_len` bytes.
pub fn with_metadata(service: &Service, result: Value, body_len: usize) -> Value {
    let request_id = uuid::Uuid::new_v4().to_string();
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut headers: Vec<(&str, String)> = vec![
        (service.request_id_header, request_id.clone()),
        (service.connection_header, "keep-alive".to_string()),
        ("Content-Length", body_len.to_string()),
        ("Date", date),
        ("Content-Type", service.content_type.to_string()),
    ];
    headers.extend(
        service
            .extra_headers
            .iter()
            .map(|(k, v)| (*k, v.to_string())),
    );
    let all: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), json!([v])))
        .collect();
    let first: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let mut out = match result {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    out.insert(
        "SdkHttpMetadata".into(),
        json!({"AllHttpHeaders": all, "HttpHeaders": first, "HttpStatusCode": 200}),
    );
    out.insert(
        "SdkResponseMetadata".into(),
        json!({ "RequestId": request_id }),
    );
    Value::Object(out)
}

/// The length of a JSON protocol's answer: its compact JSON text.
pub fn json_len(v: &Value) -> usize {
    v.to_string().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DDB: Service = Service {
        sdk_name: "dynamodb",
        model: "dynamodb",
        prefix: "DynamoDB",
        service_name: "AmazonDynamoDBv2",
        base_exception: "AmazonDynamoDBException",
        content_type: "application/x-amz-json-1.0",
        extra_headers: &[],
        request_id_header: "x-amzn-RequestId",
        connection_header: "Connection",
    };

    fn err(code: Option<&str>, status: Option<u16>) -> AwsError {
        AwsError {
            code: code.map(String::from),
            message: "Requested resource not found".into(),
            status,
            request_id: "R1".into(),
        }
    }

    #[test]
    fn modelled_exceptions_keep_their_names_and_others_take_the_clients() {
        let (name, cause) = task_error(&DDB, &err(Some("ResourceNotFoundException"), Some(400)));
        assert_eq!(name, "DynamoDB.ResourceNotFoundException");
        assert_eq!(
            cause.unwrap(),
            "Requested resource not found (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ResourceNotFoundException; Request ID: R1; Proxy: null)"
        );
        let (name, _) = task_error(&DDB, &err(Some("ValidationException"), Some(400)));
        assert_eq!(name, "DynamoDB.AmazonDynamoDBException");
        let (name, cause) = task_error(&DDB, &err(None, None));
        assert_eq!(name, "DynamoDB.SdkClientException");
        assert_eq!(cause.unwrap(), "Requested resource not found");
    }

    #[test]
    fn a_code_sent_on_the_wire_finds_its_exception_shape() {
        let sns = Service {
            model: "sns",
            prefix: "SNS",
            service_name: "AmazonSNS",
            ..DDB
        };
        let (name, cause) = task_error(&sns, &err(Some("NotFound"), Some(404)));
        assert_eq!(name, "SNS.NotFoundException");
        assert!(cause.unwrap().contains("Error Code: NotFound;"));
    }

    #[test]
    fn metadata_counts_the_answer_and_names_the_request() {
        let out = with_metadata(&DDB, json!({"Item": {}}), 11);
        let m = &out["SdkHttpMetadata"];
        assert_eq!(m["HttpStatusCode"], 200);
        assert_eq!(m["HttpHeaders"]["Content-Length"], "11");
        assert_eq!(m["AllHttpHeaders"]["Content-Length"], json!(["11"]));
        assert_eq!(
            m["HttpHeaders"]["x-amzn-RequestId"],
            out["SdkResponseMetadata"]["RequestId"]
        );
        assert_eq!(out["Item"], json!({}));
    }
}
