//! How Step Functions presents a function call: the bare function ARN (`Resource:
//! arn:aws:lambda:REGION:ACCOUNT:function:NAME`: the result is the function's response) and
//! `arn:aws:states:::lambda:invoke` (the result is Lambda's Invoke response, with the
//! function's response under `Payload`). Errors keep the function's `errorType` as their
//! name; the cause is the error object as JSON text (Python-spaced for a bare ARN, compact
//! for `lambda:invoke`, as AWS writes them).

use crate::functions::{CallError, FunctionError, Reply};
use crate::pyjson;
use crate::TaskResult;
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// The function a bare Lambda ARN names, with its qualifier.
pub fn bare_function(resource: &str) -> Option<(String, Option<String>)> {
    let parts: Vec<&str> = resource.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name] => Some((name.to_string(), None)),
        ["arn", _, "lambda", _, _, "function", name, q] => {
            Some((name.to_string(), Some(q.to_string())))
        }
        _ => None,
    }
}

/// Whether a resource is the optimised Lambda integration.
pub fn is_invoke(resource: &str) -> bool {
    let rest = resource.splitn(6, ':').nth(5).unwrap_or_default();
    rest == "lambda:invoke" || rest == "lambda:invoke.waitForTaskToken"
}

/// A `lambda:invoke` request read from the task's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeRequest {
    pub name: String,
    pub qualifier: Option<String>,
    /// The request body: a string Payload is sent as it is, anything else as JSON, none empty.
    pub payload: Vec<u8>,
    /// `Event`: fire and forget (StatusCode 202).
    pub asynchronous: bool,
    /// `LogType: "Tail"`: the response carries the end of the call's log (`LogResult`).
    pub log_tail: bool,
}

/// Reads FunctionName (a name, `name:qualifier`, a full or partial ARN), Qualifier, Payload,
/// InvocationType and LogType, with Lambda's errors for what it refuses.
pub fn invoke_request(params: &Value) -> Result<InvokeRequest, (String, Option<String>)> {
    let Some(fname) = params.get("FunctionName").and_then(Value::as_str) else {
        return Err((
            "States.Runtime".into(),
            Some("The field 'FunctionName' is required by the lambda:invoke integration".into()),
        ));
    };
    let parts: Vec<&str> = fname.split(':').collect();
    let (name, mut qualifier) = match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", n] => (*n, None),
        ["arn", _, "lambda", _, _, "function", n, q] => (*n, Some(*q)),
        [_, "function", n] => (*n, None),
        [_, "function", n, q] => (*n, Some(*q)),
        [n, q] => (*n, Some(*q)),
        [n] => (*n, None),
        _ => ("", None),
    };
    if name.is_empty() || name.len() > 64 {
        return Err(invalid_parameter(fname));
    }
    if let Some(q) = params.get("Qualifier").and_then(Value::as_str) {
        qualifier = Some(q);
    }
    let payload = match params.get("Payload") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(v) => v.to_string().into_bytes(),
    };
    let log_tail = match params.get("LogType") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s == "None" => false,
        Some(Value::String(s)) if s == "Tail" => true,
        Some(v) => return Err(invalid_log_type(v)),
    };
    Ok(InvokeRequest {
        name: name.to_string(),
        qualifier: qualifier.map(String::from),
        payload,
        asynchronous: params.get("InvocationType").and_then(Value::as_str) == Some("Event"),
        log_tail,
    })
}

fn invalid_log_type(v: &Value) -> (String, Option<String>) {
    let v = match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    (
        "Lambda.InvalidParameterValueException".into(),
        Some(format!(
            "1 validation error detected: Value '{v}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, None]"
        )),
    )
}

/// What `LogType: "Tail"` returns: the last 4 KB of the call's log, base64-encoded. The log
/// of a function that prints nothing holds the runtime's START, END and REPORT lines.
fn log_tail(request_id: &str, version: &str) -> String {
    let log = format!(
        "START RequestId: {request_id} Version: {version}\nEND RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 32 MB\t\n"
    );
    let log = &log.as_bytes()[log.len().saturating_sub(4096)..];
    base64::engine::general_purpose::STANDARD.encode(log)
}

fn invalid_parameter(fname: &str) -> (String, Option<String>) {
    (
        "Lambda.InvalidParameterValueException".into(),
        Some(format!(
            "1 validation error detected: Value '{fname}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
        )),
    )
}

/// Where the call ran, for the names and metadata in results.
#[derive(Debug, Clone)]
pub struct Site {
    pub region: String,
    pub account: String,
    /// Largest result a state may take (AWS: 256 KiB); 0: no limit.
    pub payload_limit: usize,
}

/// The error object as the function reported it, in AWS's key order.
fn error_object(e: &FunctionError, request_id: &str) -> Value {
    let mut m = Map::new();
    m.insert("errorMessage".into(), json!(e.error_message));
    m.insert("errorType".into(), json!(e.error_type));
    m.insert("requestId".into(), json!(request_id));
    if let Some(st) = &e.stack_trace {
        m.insert("stackTrace".into(), st.clone());
    }
    Value::Object(m)
}

fn too_large(what: &str) -> (String, Option<String>) {
    (
        "States.DataLimitExceeded".into(),
        Some(format!(
            "The state/task '{what}' returned a result with a size exceeding the maximum number of bytes service limit."
        )),
    )
}

fn not_found(
    site: &Site,
    name: &str,
    qualifier: Option<&str>,
    request_id: &str,
) -> (String, Option<String>) {
    (
        "Lambda.ResourceNotFoundException".into(),
        Some(format!(
            "Function not found: arn:aws:lambda:{}:{}:function:{name}:{} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {request_id}; Proxy: null)",
            site.region,
            site.account,
            qualifier.unwrap_or("$LATEST")
        )),
    )
}

fn service_failed(message: &str, request_id: &str) -> (String, Option<String>) {
    (
        "Lambda.ServiceException".into(),
        Some(format!(
            "{message} (Service: AWSLambda; Status Code: 500; Error Code: ServiceException; Request ID: {request_id}; Proxy: null)"
        )),
    )
}

fn parse_response(body: &[u8]) -> Result<Value, (String, Option<String>)> {
    serde_json::from_slice(body).map_err(|e| {
        (
            "States.Runtime".into(),
            Some(format!("The function's response is not valid JSON: {e}")),
        )
    })
}

/// The result of a bare-ARN task: the function's response itself.
pub fn bare_result(
    site: &Site,
    resource: &str,
    name: &str,
    qualifier: Option<&str>,
    reply: Result<Reply, CallError>,
    request_id: &str,
) -> TaskResult {
    match reply {
        Ok(Reply::Ok(body)) => {
            if site.payload_limit > 0 && body.len() > site.payload_limit {
                return Err(too_large(resource));
            }
            parse_response(&body)
        }
        Ok(Reply::Failed(e)) => Err((
            e.error_type.clone(),
            Some(pyjson::dumps(&error_object(&e, request_id))),
        )),
        Err(CallError::NotFound(_)) => Err(not_found(site, name, qualifier, request_id)),
        Err(CallError::Service(m)) => Err(service_failed(&m, request_id)),
    }
}

/// The result of a `lambda:invoke` task: Lambda's Invoke response.
pub fn invoke_result(
    site: &Site,
    req: &InvokeRequest,
    reply: Result<Reply, CallError>,
    request_id: &str,
    date: &str,
) -> TaskResult {
    let body = match reply {
        Ok(Reply::Ok(body)) => body,
        Ok(Reply::Failed(e)) => {
            return Err((
                e.error_type.clone(),
                Some(error_object(&e, request_id).to_string()),
            ))
        }
        Err(CallError::NotFound(_)) => {
            return Err(not_found(
                site,
                &req.name,
                req.qualifier.as_deref(),
                request_id,
            ))
        }
        Err(CallError::Service(m)) => return Err(service_failed(&m, request_id)),
    };
    if site.payload_limit > 0 && body.len() > site.payload_limit {
        return Err(too_large("lambda"));
    }
    let (status, payload) = if req.asynchronous {
        (202, Value::String(String::new()))
    } else {
        (200, parse_response(&body)?)
    };
    let len = if req.asynchronous { 0 } else { body.len() }.to_string();
    let version = "$LATEST";
    let hex = request_id.replace('-', "");
    let trace = format!("Root=1-{}", &hex[..24.min(hex.len())]);
    // A synchronous call asked for its log gets it in the body and in a header (the first
    // of AWS's header list; in the sorted one, after X-Amz-Executed-Version).
    let log = (req.log_tail && !req.asynchronous).then(|| log_tail(request_id, version));
    let mut r = json!({
        "ExecutedVersion": version,
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": [version],
                "x-amzn-Remapped-Content-Length": ["0"],
                "Connection": ["keep-alive"],
                "x-amzn-RequestId": [request_id],
                "Content-Length": [len],
                "Date": [date],
                "X-Amzn-Trace-Id": [trace],
                "Content-Type": ["application/json"]
            },
            "HttpHeaders": {
                "Connection": "keep-alive",
                "Content-Length": len,
                "Content-Type": "application/json",
                "Date": date,
                "X-Amz-Executed-Version": version,
                "x-amzn-Remapped-Content-Length": "0",
                "x-amzn-RequestId": request_id,
                "X-Amzn-Trace-Id": trace
            },
            "HttpStatusCode": status
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": status
    });
    if let Some(log) = log {
        // Inserted after `after` (first when None), where AWS lists it.
        let insert = |v: &mut Value, after: Option<&str>, k: &str, x: Value| {
            if let Some(m) = v.as_object_mut() {
                let at = after.and_then(|a| m.keys().position(|k| k == a));
                let at = at.map_or(0, |i| i + 1);
                m.shift_insert(at, k.into(), x);
            }
        };
        let http = &mut r["SdkHttpMetadata"];
        insert(
            &mut http["AllHttpHeaders"],
            None,
            "X-Amz-Log-Result",
            json!([log]),
        );
        let after = Some("X-Amz-Executed-Version");
        insert(
            &mut http["HttpHeaders"],
            after,
            "X-Amz-Log-Result",
            json!(log),
        );
        insert(&mut r, Some("ExecutedVersion"), "LogResult", json!(log));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            payload_limit: 262_144,
        }
    }

    #[test]
    fn names_and_payloads() {
        assert_eq!(
            bare_function("arn:aws:lambda:us-east-1:1:function:f:prod"),
            Some(("f".into(), Some("prod".into())))
        );
        assert!(bare_function("arn:aws:states:::lambda:invoke").is_none());
        assert!(is_invoke("arn:aws:states:::lambda:invoke.waitForTaskToken"));
        for (fname, name, q) in [
            ("f", "f", None),
            ("f:3", "f", Some("3")),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:f",
                "f",
                None,
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST",
                "f",
                Some("$LATEST"),
            ),
            ("123456789012:function:f", "f", None),
        ] {
            let r = invoke_request(&json!({"FunctionName": fname})).unwrap();
            assert_eq!(
                (r.name.as_str(), r.qualifier.as_deref()),
                (name, q),
                "{fname}"
            );
        }
        // A string Payload goes as it is; JSON values as JSON; none as an empty body.
        let p = |v: Value| {
            invoke_request(&json!({"FunctionName": "f", "Payload": v}))
                .unwrap()
                .payload
        };
        assert_eq!(p(json!("\"HelloWorld\"")), b"\"HelloWorld\"");
        assert_eq!(p(json!({"a": 1})), br#"{"a":1}"#);
        assert_eq!(p(Value::Null), b"");
        assert!(invoke_request(&json!({})).is_err());
    }

    #[test]
    fn error_causes_are_shaped_as_aws_writes_them() {
        let e = FunctionError {
            error_type: "CustomException".into(),
            error_message: String::new(),
            stack_trace: Some(json!(["  File x\n"])),
        };
        let (err, cause) = bare_result(
            &site(),
            "arn",
            "f",
            None,
            Ok(Reply::Failed(e.clone())),
            "r-1",
        )
        .unwrap_err();
        assert_eq!(err, "CustomException");
        assert_eq!(
            cause.unwrap(),
            r#"{"errorMessage": "", "errorType": "CustomException", "requestId": "r-1", "stackTrace": ["  File x\n"]}"#
        );
        let req = invoke_request(&json!({"FunctionName": "f"})).unwrap();
        let (_, cause) =
            invoke_result(&site(), &req, Ok(Reply::Failed(e)), "r-1", "d").unwrap_err();
        assert_eq!(
            cause.unwrap(),
            r#"{"errorMessage":"","errorType":"CustomException","requestId":"r-1","stackTrace":["  File x\n"]}"#
        );
        let (err, cause) = invoke_result(
            &site(),
            &req,
            Err(CallError::NotFound("f".into())),
            "r-2",
            "d",
        )
        .unwrap_err();
        assert_eq!(err, "Lambda.ResourceNotFoundException");
        assert!(cause.unwrap().starts_with(
            "Function not found: arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST (Service: AWSLambda; Status Code: 404"
        ));
    }

    #[test]
    fn log_type_tail_returns_the_log() {
        let req = invoke_request(&json!({"FunctionName": "f", "LogType": "Tail"})).unwrap();
        assert!(req.log_tail);
        let r = invoke_result(&site(), &req, Ok(Reply::Ok(b"{}".to_vec())), "r-1", "d").unwrap();
        let log = r["LogResult"].as_str().unwrap();
        let text = base64::engine::general_purpose::STANDARD
            .decode(log)
            .unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.starts_with("START RequestId: r-1 Version: $LATEST\n"),
            "{text}"
        );
        assert!(
            text.contains("\nEND RequestId: r-1\nREPORT RequestId: r-1\t"),
            "{text}"
        );
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys[..2], ["ExecutedVersion", "LogResult"]);
        let all = r["SdkHttpMetadata"]["AllHttpHeaders"].as_object().unwrap();
        assert_eq!(all.keys().next().unwrap(), "X-Amz-Log-Result");
        assert_eq!(all["X-Amz-Log-Result"], json!([log]));
        let headers = r["SdkHttpMetadata"]["HttpHeaders"].as_object().unwrap();
        assert_eq!(headers["X-Amz-Log-Result"], json!(log));
        let after: Vec<&String> = headers
            .keys()
            .skip_while(|k| *k != "X-Amz-Executed-Version")
            .take(2)
            .collect();
        assert_eq!(after, ["X-Amz-Executed-Version", "X-Amz-Log-Result"]);

        // None (or no LogType) gives no log, nor does an asynchronous call.
        let none = invoke_request(&json!({"FunctionName": "f", "LogType": "None"})).unwrap();
        assert!(!none.log_tail);
        let r = invoke_result(&site(), &none, Ok(Reply::Ok(b"{}".to_vec())), "r", "d").unwrap();
        assert!(r.get("LogResult").is_none());
        assert!(r["SdkHttpMetadata"]["HttpHeaders"]
            .get("X-Amz-Log-Result")
            .is_none());
        let event = invoke_request(
            &json!({"FunctionName": "f", "LogType": "Tail", "InvocationType": "Event"}),
        )
        .unwrap();
        let r = invoke_result(&site(), &event, Ok(Reply::Ok(Vec::new())), "r", "d").unwrap();
        assert!(r.get("LogResult").is_none());

        // Anything else is refused by Lambda.
        for bad in [json!("tail"), json!(1)] {
            let (err, cause) =
                invoke_request(&json!({"FunctionName": "f", "LogType": bad})).unwrap_err();
            assert_eq!(err, "Lambda.InvalidParameterValueException");
            assert!(cause
                .unwrap()
                .contains("at 'logType' failed to satisfy constraint"));
        }
    }

    #[test]
    fn invoke_wraps_the_payload_and_big_results_fail() {
        let req = invoke_request(&json!({"FunctionName": "f"})).unwrap();
        let r = invoke_result(&site(), &req, Ok(Reply::Ok(b"{}".to_vec())), "r", "d").unwrap();
        assert_eq!(r["Payload"], json!({}));
        assert_eq!(r["StatusCode"], 200);
        assert_eq!(r["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"], "2");
        let big = vec![b'a'; 300_000];
        let (err, cause) =
            bare_result(&site(), "arn:f", "f", None, Ok(Reply::Ok(big)), "r").unwrap_err();
        assert_eq!(err, "States.DataLimitExceeded");
        assert!(cause.unwrap().contains("'arn:f'"));
    }
}
