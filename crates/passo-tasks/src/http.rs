//! The HTTP task (`arn:aws:states:::http:invoke`): calls an HTTP(S) API with the
//! authentication of a connection declared in the project file, and answers as AWS does:
//! `{Headers, ResponseBody, StatusCode, StatusText}`; a status outside 2xx fails with
//! `States.Http.StatusCode.NNN`, a connection failure or timeout with `States.Http.Socket`.

use crate::project::{Auth, Connection};
use crate::TaskResult;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// AWS gives an HTTP task's request 60 seconds.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub fn is_http(resource: &str) -> bool {
    resource
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(':'))
        .is_some_and(|(_, rest)| rest == "states:::http:invoke")
}

/// How arrays are written in a URL-encoded body (`Transform.RequestEncodingOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayFormat {
    /// `a[0]=x&a[1]=y` (the default).
    Indices,
    /// `a=x&a=y`.
    Repeat,
    /// `a=x,y`.
    Commas,
    /// `a[]=x&a[]=y`.
    Brackets,
}

/// The request a task's parameters describe.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCall {
    pub endpoint: String,
    pub method: reqwest::Method,
    pub connection_arn: String,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// `Transform.RequestBodyEncoding` URL_ENCODED, with its array format.
    pub url_encoded: Option<ArrayFormat>,
}

type CallError = (String, Option<String>);

fn runtime(msg: impl Into<String>) -> CallError {
    ("States.Runtime".into(), Some(msg.into()))
}

/// Headers a definition may not set: the service sets them, or they would change how the
/// request travels.
fn forbidden_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("x-forwarded-")
        || n.starts_with("x-amz-")
        || n.starts_with("x-amzn-")
        || [
            "a-im",
            "accept-charset",
            "accept-datetime",
            "accept-encoding",
            "authorization",
            "cache-control",
            "connection",
            "content-encoding",
            "content-md5",
            "date",
            "expect",
            "forwarded",
            "from",
            "host",
            "http2-settings",
            "if-match",
            "if-modified-since",
            "if-none-match",
            "if-range",
            "if-unmodified-since",
            "max-forwards",
            "origin",
            "pragma",
            "proxy-authorization",
            "referer",
            "server",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "via",
            "warning",
        ]
        .contains(&n.as_str())
}

/// A scalar as a header, query or form value (arrays in headers join with commas).
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Reads the task's parameters.
pub fn http_call(params: &Value) -> Result<HttpCall, CallError> {
    let p = params
        .as_object()
        .ok_or_else(|| runtime("The parameters of an HTTP task must be an object"))?;
    let endpoint = match p.get("ApiEndpoint") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(runtime("The field 'ApiEndpoint' is required (a string)")),
    };
    match reqwest::Url::parse(&endpoint) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => {
            return Err(runtime(format!(
                "ApiEndpoint '{endpoint}' is not an http:// or https:// URL"
            )))
        }
    }
    let method = match p.get("Method").and_then(Value::as_str) {
        Some(m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "HEAD")) => {
            reqwest::Method::from_bytes(m.as_bytes()).map_err(|e| runtime(e.to_string()))?
        }
        Some(m) => {
            return Err(runtime(format!(
                "Method '{m}' is not one of GET, POST, PUT, DELETE, PATCH, OPTIONS, HEAD"
            )))
        }
        None => return Err(runtime("The field 'Method' is required")),
    };
    let connection_arn = p
        .get("Authentication")
        .and_then(|a| a.get("ConnectionArn"))
        .and_then(Value::as_str)
        .ok_or_else(|| runtime("The field 'Authentication.ConnectionArn' is required"))?
        .to_string();
    let mut headers = Vec::new();
    match p.get("Headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, v) in h {
                if forbidden_header(k) {
                    return Err(runtime(format!(
                        "The header '{k}' cannot be set in an HTTP task"
                    )));
                }
                headers.push((k.clone(), scalar(v)));
            }
        }
        Some(_) => return Err(runtime("The field 'Headers' must be an object")),
    }
    let mut query = Vec::new();
    match p.get("QueryParameters") {
        None | Some(Value::Null) => {}
        Some(Value::Object(q)) => {
            for (k, v) in q {
                match v {
                    Value::Array(items) => {
                        query.extend(items.iter().map(|i| (k.clone(), scalar(i))))
                    }
                    v => query.push((k.clone(), scalar(v))),
                }
            }
        }
        Some(_) => return Err(runtime("The field 'QueryParameters' must be an object")),
    }
    let url_encoded = match p.get("Transform") {
        None | Some(Value::Null) => None,
        Some(t) => {
            let format = match t
                .get("RequestEncodingOptions")
                .and_then(|o| o.get("ArrayFormat"))
                .and_then(Value::as_str)
            {
                None | Some("INDICES") => ArrayFormat::Indices,
                Some("REPEAT") => ArrayFormat::Repeat,
                Some("COMMAS") => ArrayFormat::Commas,
                Some("BRACKETS") => ArrayFormat::Brackets,
                Some(other) => {
                    return Err(runtime(format!(
                        "ArrayFormat '{other}' is not one of INDICES, REPEAT, COMMAS, BRACKETS"
                    )))
                }
            };
            match t.get("RequestBodyEncoding").and_then(Value::as_str) {
                None | Some("NONE") => None,
                Some("URL_ENCODED") => Some(format),
                Some(other) => {
                    return Err(runtime(format!(
                        "RequestBodyEncoding '{other}' is not one of NONE, URL_ENCODED"
                    )))
                }
            }
        }
    };
    Ok(HttpCall {
        endpoint,
        method,
        connection_arn,
        headers,
        query,
        body: p.get("RequestBody").filter(|b| !b.is_null()).cloned(),
        url_encoded,
    })
}

/// A JSON object as `application/x-www-form-urlencoded` text; nested objects as `a[b]=x`.
pub fn form_encode(body: &Value, format: ArrayFormat) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    fn walk(key: &str, v: &Value, format: ArrayFormat, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let name = if key.is_empty() {
                        k.clone()
                    } else {
                        format!("{key}[{k}]")
                    };
                    walk(&name, x, format, out);
                }
            }
            Value::Array(items) => match format {
                ArrayFormat::Commas => out.push((key.to_string(), scalar(v))),
                _ => {
                    for (i, x) in items.iter().enumerate() {
                        let name = match format {
                            ArrayFormat::Indices => format!("{key}[{i}]"),
                            ArrayFormat::Brackets => format!("{key}[]"),
                            _ => key.to_string(),
                        };
                        walk(&name, x, format, out);
                    }
                }
            },
            v => out.push((key.to_string(), scalar(v))),
        }
    }
    match body {
        Value::String(s) => return s.clone(),
        v => walk("", v, format, &mut pairs),
    }
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The task's result for a response (success for 2xx, else the status's error with the
/// response as cause).
pub fn response_result(
    status: u16,
    reason: &str,
    headers: &[(String, String)],
    body: &[u8],
    payload_limit: usize,
) -> TaskResult {
    if payload_limit > 0 && body.len() > payload_limit {
        return Err((
            "States.DataLimitExceeded".into(),
            Some(format!(
                "The HTTP response of {} bytes exceeds the payload size limit of {payload_limit} bytes",
                body.len()
            )),
        ));
    }
    let mut h: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut content_type = String::new();
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("content-type") {
            content_type = v.to_ascii_lowercase();
        }
        h.entry(k.clone())
            .or_default()
            .push(Value::String(v.clone()));
    }
    let text = String::from_utf8_lossy(body).into_owned();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let json_body = media == "application/json" || media.ends_with("+json");
    let response_body = if json_body {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    } else {
        Value::String(text)
    };
    let headers: Map<String, Value> = h.into_iter().map(|(k, v)| (k, Value::Array(v))).collect();
    let out = json!({
        "Headers": headers,
        "ResponseBody": response_body,
        "StatusCode": status,
        "StatusText": reason,
    });
    if (200..300).contains(&status) {
        Ok(out)
    } else {
        Err((
            format!("States.Http.StatusCode.{status}"),
            Some(out.to_string()),
        ))
    }
}

/// Finds the connection a task names: by its declared ARN, else by the name in the ARN
/// (`...:connection/NAME[/ID]`).
pub fn find_connection<'a>(
    connections: &'a BTreeMap<String, Connection>,
    arn: &str,
) -> Option<&'a Connection> {
    if let Some(c) = connections.values().find(|c| c.arn.as_deref() == Some(arn)) {
        return Some(c);
    }
    let name = arn.split_once(":connection/")?.1.split('/').next()?;
    connections.get(name)
}

fn socket(msg: impl std::fmt::Display) -> CallError {
    ("States.Http.Socket".into(), Some(msg.to_string()))
}

/// Performs the call with the connection's authentication and parameters.
pub async fn invoke(
    client: &reqwest::Client,
    connections: &BTreeMap<String, Connection>,
    params: &Value,
    payload_limit: usize,
) -> TaskResult {
    let call = http_call(params)?;
    let Some(conn) = find_connection(connections, &call.connection_arn) else {
        return Err((
            "Events.ConnectionResource.ResourceNotFound".into(),
            Some(format!(
                "Connection '{}' does not exist: declare it in passo.toml as [connections.NAME]",
                call.connection_arn
            )),
        ));
    };
    let mut url = reqwest::Url::parse(&call.endpoint).map_err(|e| runtime(e.to_string()))?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in call.query.iter().chain(conn.query.iter()) {
            q.append_pair(k, v);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    let mut body = call.body.clone();
    if !conn.body.is_empty() {
        let mut merged = match body {
            Some(Value::Object(m)) => m,
            None => Map::new(),
            Some(_) => return Err(runtime(
                "A RequestBody that is not an object cannot take the connection's body parameters",
            )),
        };
        for (k, v) in &conn.body {
            merged.insert(k.clone(), Value::String(v.clone()));
        }
        body = Some(Value::Object(merged));
    }
    let mut req = client
        .request(call.method.clone(), url)
        .timeout(REQUEST_TIMEOUT)
        .header("User-Agent", "Amazon|StepFunctions|HttpInvoke|passo");
    let has_type = call
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    match (&body, call.url_encoded) {
        (None, _) => {}
        (Some(b), Some(format)) => {
            if !has_type {
                req = req.header("Content-Type", "application/x-www-form-urlencoded");
            }
            req = req.body(form_encode(b, format));
        }
        (Some(Value::String(s)), None) => req = req.body(s.clone()),
        (Some(b), None) => {
            if !has_type {
                req = req.header("Content-Type", "application/json; charset=UTF-8");
            }
            req = req.body(b.to_string());
        }
    }
    for (k, v) in call.headers.iter().chain(conn.headers.iter()) {
        req = req.header(k, v);
    }
    req = match &conn.auth {
        Auth::None => req,
        Auth::ApiKey { name, value } => req.header(name, value),
        Auth::Basic { username, password } => req.basic_auth(username, Some(password)),
        Auth::OAuthClientCredentials {
            endpoint,
            client_id,
            client_secret,
            scope,
        } => {
            let token =
                oauth_token(client, endpoint, client_id, client_secret, scope.as_deref()).await?;
            req.bearer_auth(token)
        }
    };
    let resp = req.send().await.map_err(socket)?;
    let status = resp.status();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let bytes = resp.bytes().await.map_err(socket)?;
    response_result(
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        &headers,
        &bytes,
        payload_limit,
    )
}

/// An OAuth client-credentials token from the connection's authorization endpoint.
async fn oauth_token(
    client: &reqwest::Client,
    endpoint: &str,
    client_id: &str,
    client_secret: &str,
    scope: Option<&str>,
) -> Result<String, CallError> {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let failed = |why: String| {
        (
            "Events.ConnectionResource.AuthorizationFailed".to_string(),
            Some(format!(
                "The OAuth token request to {endpoint} failed: {why}"
            )),
        )
    };
    let resp = client
        .post(endpoint)
        .timeout(REQUEST_TIMEOUT)
        .basic_auth(client_id, Some(client_secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| failed(e.to_string()))?;
    if !status.is_success() {
        return Err(failed(format!("status {status}")));
    }
    serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("access_token")?.as_str().map(String::from))
        .ok_or_else(|| failed("the answer has no access_token".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_and_checked() {
        let c = http_call(&json!({
            "ApiEndpoint": "https://api.example.com/v1/items",
            "Method": "POST",
            "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:1:connection/shop/abc"},
            "Headers": {"X-Trace": "t1", "Accept": ["a", "b"]},
            "QueryParameters": {"page": 2, "tag": ["x", "y"]},
            "RequestBody": {"a": 1},
            "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                          "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}}
        }))
        .unwrap();
        assert_eq!(c.method, reqwest::Method::POST);
        assert!(c.headers.contains(&("Accept".into(), "a,b".into())));
        assert_eq!(c.query.len(), 3);
        assert_eq!(c.url_encoded, Some(ArrayFormat::Brackets));
        let bad = |p: Value| http_call(&p).unwrap_err().1.unwrap();
        let base = json!({"ApiEndpoint": "https://x.example", "Method": "GET",
                          "Authentication": {"ConnectionArn": "arn"}});
        let mut p = base.clone();
        p["Method"] = json!("TRACE");
        assert!(bad(p).contains("TRACE"));
        let mut p = base.clone();
        p["Headers"] = json!({"Authorization": "x"});
        assert!(bad(p).contains("'Authorization'"));
        let mut p = base.clone();
        p["ApiEndpoint"] = json!("ftp://x");
        assert!(bad(p).contains("not an http"));
        let mut p = base;
        p.as_object_mut().unwrap().remove("Authentication");
        assert!(bad(p).contains("ConnectionArn"));
    }

    #[test]
    fn form_encoding_follows_the_array_format() {
        let b = json!({"a": ["x", "y"], "n": 1, "o": {"k": "v w"}});
        assert_eq!(
            form_encode(&b, ArrayFormat::Indices),
            "a%5B0%5D=x&a%5B1%5D=y&n=1&o%5Bk%5D=v+w"
        );
        assert_eq!(
            form_encode(&b, ArrayFormat::Repeat),
            "a=x&a=y&n=1&o%5Bk%5D=v+w"
        );
        assert_eq!(
            form_encode(&b, ArrayFormat::Commas),
            "a=x%2Cy&n=1&o%5Bk%5D=v+w"
        );
        assert_eq!(
            form_encode(&b, ArrayFormat::Brackets),
            "a%5B%5D=x&a%5B%5D=y&n=1&o%5Bk%5D=v+w"
        );
    }

    #[test]
    fn responses_become_results_and_errors() {
        let h = vec![("content-type".to_string(), "application/json".to_string())];
        let ok = response_result(200, "OK", &h, br#"{"id": 7}"#, 0).unwrap();
        assert_eq!(ok["ResponseBody"]["id"], 7);
        assert_eq!(ok["Headers"]["content-type"][0], "application/json");
        assert_eq!(ok["StatusText"], "OK");
        let (e, cause) = response_result(404, "Not Found", &[], b"nope", 0).unwrap_err();
        assert_eq!(e, "States.Http.StatusCode.404");
        let cause: Value = serde_json::from_str(&cause.unwrap()).unwrap();
        assert_eq!(cause["ResponseBody"], "nope");
        let (e, _) = response_result(200, "OK", &[], &[b'x'; 11], 10).unwrap_err();
        assert_eq!(e, "States.DataLimitExceeded");
        assert!(is_http("arn:aws:states:::http:invoke"));
        assert!(!is_http("arn:aws:states:::http:invoke.waitForTaskToken"));
    }
}
