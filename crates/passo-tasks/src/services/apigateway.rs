//! `apigateway:invoke`: a call to an API Gateway REST or HTTP API. Parameters as Step
//! Functions takes them: `ApiEndpoint` (the host, `<id>.execute-api.<region>.amazonaws.com`;
//! Passo also takes `http://host:port` for an API served locally), `Method`, `Stage`,
//! `Path`, `QueryParameters` and `Headers` (each name to a list of values), `RequestBody`
//! (sent as JSON; nulls left out unless `AllowNullValues`), `AuthType` (`NO_AUTH`;
//! `IAM_ROLE` and `RESOURCE_POLICY` sign the request with SigV4 for `execute-api`).
//!
//! The result is `{ResponseBody, StatusCode, StatusText, Headers}` (the body parsed when it
//! is JSON, header values as lists); an answer of 400 or more fails the task with
//! `ApiGateway.<status>` and the body for cause, as the recorded cases show
//! (`ApiGateway.403`, `{"message":"Missing Authentication Token"}`).

use super::Failure;
use crate::aws;
use crate::TaskResult;
use serde_json::{json, Map, Value};
use std::time::Duration;

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// Why the parameters cannot start the call.
fn invalid(field: &str) -> Failure {
    (
        "States.Runtime".to_string(),
        Some(format!(
            "The value of the field '{field}' has an invalid format"
        )),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    None,
    /// IAM_ROLE and RESOURCE_POLICY: the request is signed.
    Signed,
}

/// One call, validated.
#[derive(Debug, PartialEq)]
pub struct Call {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    signed: bool,
    region: String,
}

/// A map of names to lists of strings (`Headers`, `QueryParameters`).
fn multi(p: &Map<String, Value>, field: &str) -> Result<Vec<(String, String)>, Failure> {
    let Some(v) = p.get(field) else {
        return Ok(Vec::new());
    };
    let o = v.as_object().ok_or_else(|| invalid(field))?;
    let mut out = Vec::new();
    for (k, vs) in o {
        let vs = vs.as_array().ok_or_else(|| invalid(field))?;
        for v in vs {
            out.push((
                k.clone(),
                v.as_str().ok_or_else(|| invalid(field))?.to_string(),
            ));
        }
    }
    Ok(out)
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), without_nulls(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// The call the parameters describe.
pub fn request(input: &Value) -> Result<Call, Failure> {
    let p = input.as_object().ok_or_else(|| invalid("Parameters"))?;
    let endpoint = p
        .get("ApiEndpoint")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| invalid("ApiEndpoint"))?;
    let method = p
        .get("Method")
        .and_then(Value::as_str)
        .filter(|m| METHODS.contains(m))
        .ok_or_else(|| invalid("Method"))?;
    let text = |k: &str| -> Result<Option<&str>, Failure> {
        match p.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(invalid(k)),
        }
    };
    let auth = match text("AuthType")?.unwrap_or("NO_AUTH") {
        "NO_AUTH" => Auth::None,
        "IAM_ROLE" | "RESOURCE_POLICY" => Auth::Signed,
        _ => return Err(invalid("AuthType")),
    };
    let base = if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        endpoint.trim_end_matches('/').to_string()
    } else {
        format!("https://{endpoint}")
    };
    let mut url = url::Url::parse(&base).map_err(|_| invalid("ApiEndpoint"))?;
    let host = url.host_str().unwrap_or_default().to_string();
    {
        let mut segs = url
            .path_segments_mut()
            .map_err(|_| invalid("ApiEndpoint"))?;
        segs.pop_if_empty();
        for part in [text("Stage")?, text("Path")?].into_iter().flatten() {
            segs.extend(part.split('/').filter(|s| !s.is_empty()));
        }
    }
    let query = multi(p, "QueryParameters")?;
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query.iter());
    }
    let headers = multi(p, "Headers")?;
    let allow_nulls = p.get("AllowNullValues").and_then(Value::as_bool) == Some(true);
    let body = match p.get("RequestBody") {
        None | Some(Value::Null) => None,
        Some(v) if allow_nulls => Some(v.to_string().into_bytes()),
        Some(v) => Some(without_nulls(v).to_string().into_bytes()),
    };
    // `<id>.execute-api.<region>.amazonaws.com` names its region; else the configured one.
    let region = host
        .split('.')
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[0] == "execute-api")
        .map(|w| w[1].to_string())
        .unwrap_or_else(|| aws::context::current().route("API Gateway").region);
    Ok(Call {
        method: method.to_string(),
        url: url.to_string(),
        headers,
        body,
        signed: auth == Auth::Signed,
        region,
    })
}

/// `content-type` -> `Content-Type`: how API Gateway's answers name their headers.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(crate::aws::shapes::pascal)
        .collect::<Vec<_>>()
        .join("-")
}

/// The task's result from an answer.
pub fn result(status: u16, headers: &http::HeaderMap, body: &[u8]) -> TaskResult {
    let text = String::from_utf8_lossy(body).into_owned();
    if status >= 400 {
        return Err((format!("ApiGateway.{status}"), Some(text)));
    }
    let mut hs: Map<String, Value> = Map::new();
    for (k, v) in headers {
        let entry = hs
            .entry(title_case(k.as_str()))
            .or_insert_with(|| Value::Array(Vec::new()));
        if let (Value::Array(a), Ok(v)) = (entry, v.to_str()) {
            a.push(json!(v));
        }
    }
    let is_json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
    let response_body = match serde_json::from_str::<Value>(&text) {
        Ok(v) if is_json => v,
        _ => Value::String(text),
    };
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or_default();
    Ok(json!({
        "Headers": hs,
        "ResponseBody": response_body,
        "StatusCode": status,
        "StatusText": reason,
    }))
}

pub async fn invoke(
    http: &reqwest::Client,
    input: &Value,
    deadline: Option<Duration>,
) -> TaskResult {
    let call = request(input)?;
    let failed = |e: String| ("States.TaskFailed".to_string(), Some(e));
    let mut b = ::http::Request::builder()
        .method(call.method.as_str())
        .uri(call.url.as_str());
    let mut has_type = false;
    for (k, v) in &call.headers {
        has_type |= k.eq_ignore_ascii_case("content-type");
        b = b.header(k.as_str(), v.as_str());
    }
    if call.body.is_some() && !has_type {
        b = b.header("content-type", "application/json");
    }
    let mut req = b
        .body(call.body.clone().unwrap_or_default())
        .map_err(|e| failed(format!("The request cannot be made: {e}")))?;
    if call.signed {
        // The standard chain (environment, profiles, web identity, container, instance).
        let creds = aws::context::current()
            .credentials(http)
            .await
            .map_err(|e| failed(e.to_string()))?;
        aws::sign::sign(&mut req, creds.as_deref(), &call.region, "execute-api").map_err(failed)?;
    }
    let mut req = reqwest::Request::try_from(req)
        .map_err(|e| failed(format!("The request cannot be made: {e}")))?;
    *req.timeout_mut() = deadline;
    let resp = http
        .execute(req)
        .await
        .map_err(|e| failed(format!("Unable to execute HTTP request: {e}")))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .bytes()
        .await
        .map_err(|e| failed(format!("Unable to read the response: {e}")))?;
    result(status, &headers, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_endpoint_stage_path_and_query() {
        let c = request(&json!({
            "ApiEndpoint": "abc123.execute-api.eu-west-1.amazonaws.com",
            "Method": "POST", "Stage": "prod", "Path": "/pets/cats",
            "QueryParameters": {"a": ["1", "2"], "b": ["x y"]},
            "Headers": {"X-Team": ["blue"]},
            "RequestBody": {"name": "Tom", "age": null},
            "AuthType": "IAM_ROLE"
        }))
        .unwrap();
        assert_eq!(
            c.url,
            "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/pets/cats?a=1&a=2&b=x+y"
        );
        assert_eq!(c.headers, vec![("X-Team".to_string(), "blue".to_string())]);
        assert_eq!(c.body.as_deref(), Some(br#"{"name":"Tom"}"#.as_slice()));
        assert!(c.signed);
        assert_eq!(c.region, "eu-west-1");
        let local =
            request(&json!({"ApiEndpoint": "http://127.0.0.1:8080", "Method": "GET", "Path": "x"}))
                .unwrap();
        assert_eq!(local.url, "http://127.0.0.1:8080/x");
        assert_eq!(local.body, None);
    }

    #[test]
    fn nulls_stay_when_allowed() {
        let c = request(&json!({"ApiEndpoint": "h", "Method": "PUT", "RequestBody": {"a": null}, "AllowNullValues": true})).unwrap();
        assert_eq!(c.body.as_deref(), Some(br#"{"a":null}"#.as_slice()));
    }

    #[test]
    fn headers_and_fields_of_the_wrong_shape_are_refused_as_aws_words_it() {
        let e = request(&json!({"ApiEndpoint": "h", "Method": "POST", "Headers": {"custom_header": "singleStringHeader"}})).unwrap_err();
        assert_eq!(
            e,
            (
                "States.Runtime".to_string(),
                Some("The value of the field 'Headers' has an invalid format".to_string())
            )
        );
        assert!(request(&json!({"ApiEndpoint": "h", "Method": "FETCH"})).is_err());
        assert!(request(&json!({"Method": "GET"})).is_err());
        assert!(
            request(&json!({"ApiEndpoint": "h", "Method": "GET", "AuthType": "COGNITO"})).is_err()
        );
    }

    #[test]
    fn answers_carry_status_headers_and_a_parsed_json_body() {
        let mut h = http::HeaderMap::new();
        h.insert("content-type", "application/json".parse().unwrap());
        h.append("x-amz-apigw-id", "abc".parse().unwrap());
        let ok = result(200, &h, br#"{"body":{"message":["Hello"]}}"#).unwrap();
        assert_eq!(ok["StatusCode"], 200);
        assert_eq!(ok["StatusText"], "OK");
        assert_eq!(ok["Headers"]["Content-Type"], json!(["application/json"]));
        assert_eq!(ok["Headers"]["X-Amz-Apigw-Id"], json!(["abc"]));
        assert_eq!(ok["ResponseBody"], json!({"body": {"message": ["Hello"]}}));
        let text = result(200, &http::HeaderMap::new(), b"plain").unwrap();
        assert_eq!(text["ResponseBody"], "plain");
        assert_eq!(
            result(403, &h, br#"{"message":"Missing Authentication Token"}"#).unwrap_err(),
            (
                "ApiGateway.403".to_string(),
                Some(r#"{"message":"Missing Authentication Token"}"#.to_string())
            )
        );
    }
}
