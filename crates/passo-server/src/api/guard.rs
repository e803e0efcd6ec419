//! What a request must look like before it is read as an API call: a Host that cannot be
//! a rebound name, AWS's Content-Type, headers and a body of bounded size sent in bounded
//! time. A web page can make a browser send requests to 127.0.0.1, but only with a Host of
//! the page's own name (DNS rebinding: a name of the attacker's resolving to 127.0.0.1) and
//! without AWS's Content-Type unless a CORS preflight allowed it (Passo answers none); both
//! checks together keep such pages out even when no access keys are configured.

use crate::error::ApiError;
use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use std::net::IpAddr;
use std::time::Duration;

/// Accepts a Host that is an IP address (a rebinding attack needs a name), `localhost` or
/// a name under it, or one of the configured names; with or without a port.
pub fn check_host(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = strip_port(host);
    let ok = name.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || name.to_ascii_lowercase().ends_with(".localhost")
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(name));
    if ok {
        return Ok(());
    }
    Err(ApiError::AccessDenied(format!(
        "Host '{host}' is not allowed: use an IP address or localhost, or start the server with --allowed-host {name}"
    )))
}

/// The host name of a Host header: `[::1]:8083` -> `::1`, `a.b:80` -> `a.b`.
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The AWS JSON protocols' Content-Type (1.0: Step Functions; 1.1: EventBridge and others).
pub fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/x-amz-json-1.0")
        || media.eq_ignore_ascii_case("application/x-amz-json-1.1")
    {
        return Ok(());
    }
    Err(ApiError::UnsupportedMediaType(format!(
        "Content-Type '{ct}' is not supported: the API takes application/x-amz-json-1.0 (as the AWS SDKs send)"
    )))
}

/// Most bytes of headers a request may carry (names and values).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

pub fn check_header_size(headers: &HeaderMap) -> Result<(), ApiError> {
    let n: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if n > MAX_HEADER_BYTES {
        return Err(ApiError::HeadersTooLarge(format!(
            "Request headers of {n} bytes exceed the limit of {MAX_HEADER_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Reads the body: at most `limit` bytes, within `timeout`.
pub async fn read_body(body: Body, limit: usize, timeout: Duration) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::RequestEntityTooLarge(format!("Request body exceeds the limit of {limit} bytes"))
    };
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(ApiError::RequestTimeout(format!(
            "The request body was not received within {} s",
            timeout.as_secs()
        ))),
        Ok(Err(e)) if is_length_limit(&e) => Err(too_large()),
        Ok(Err(e)) => Err(ApiError::SerializationException(format!(
            "The request body could not be read: {e}"
        ))),
        Ok(Ok(b)) => Ok(b),
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.to_string().contains("length limit exceeded") {
            return true;
        }
        source = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn host(h: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert("host", HeaderValue::from_str(h).unwrap());
        m
    }

    #[test]
    fn ip_addresses_and_localhost_pass_names_do_not() {
        for ok in [
            "127.0.0.1:8083",
            "[::1]:8083",
            "localhost",
            "LocalHost:1",
            "a.localhost:9",
            "10.0.0.5",
        ] {
            assert!(check_host(&host(ok), &[]).is_ok(), "{ok}");
        }
        for bad in [
            "evil.example:8083",
            "127.0.0.1.nip.io",
            "localhost.evil.com",
            "",
        ] {
            assert!(check_host(&host(bad), &[]).is_err(), "{bad}");
        }
        let allowed = vec!["passo.internal".to_string()];
        assert!(check_host(&host("passo.internal:8083"), &allowed).is_ok());
    }

    #[test]
    fn only_aws_json_content_types_pass() {
        let mut m = HeaderMap::new();
        assert!(check_content_type(&m).is_err());
        for (ct, ok) in [
            ("application/x-amz-json-1.0", true),
            ("application/x-amz-json-1.1; charset=utf-8", true),
            ("text/plain", false),
            ("application/json", false),
            ("application/x-www-form-urlencoded", false),
        ] {
            m.insert("content-type", HeaderValue::from_static(ct));
            assert_eq!(check_content_type(&m).is_ok(), ok, "{ct}");
        }
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        let e = read_body(Body::from(vec![b'x'; 100]), 10, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(e, ApiError::RequestEntityTooLarge(_)), "{e:?}");
        let b = read_body(Body::from("abc"), 10, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(&b[..], b"abc");
    }
}
