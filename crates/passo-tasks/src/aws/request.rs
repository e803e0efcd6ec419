//! One signed HTTP request of any method, URI and headers, bounded by the Task's deadline: what
//! every protocol layer sends. The answer is read whole (status, headers, body) so the
//! protocol layers parse plain bytes and no connection is held while they do.

use super::{AwsError, Endpoint};

/// A request as a protocol layer builds it: the path and query are relative to the endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: &'static str,
    /// `/2015-03-31/functions/` with the query (`?MaxItems=2`), already percent-encoded;
    /// `/` for the RPC protocols.
    pub path_and_query: String,
    /// A host prefix (`data-` of an operation's `endpoint.hostPrefix`), already expanded.
    pub host_prefix: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A `POST /` of `body`: the RPC protocols' request.
    pub fn post(headers: Vec<(String, String)>, body: Vec<u8>) -> Request {
        Request {
            method: "POST",
            path_and_query: "/".into(),
            host_prefix: None,
            headers,
            body,
        }
    }
}

/// A service's answer, read whole.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The request id AWS gives in a header (`x-amzn-RequestId`, S3-style `x-amz-request-id`).
    pub fn request_id(&self) -> String {
        ["x-amzn-requestid", "x-amz-request-id"]
            .iter()
            .find_map(|h| self.header(h))
            .unwrap_or_default()
            .to_string()
    }
}

/// The URL `req` goes to at `endpoint`: the endpoint's base path joined with the request's
/// path, the host prefix before the host.
fn url(endpoint: &Endpoint<'_>, req: &Request) -> Result<String, AwsError> {
    let base = url::Url::parse(&endpoint.url)
        .map_err(|e| AwsError::client(&format!("The endpoint is not a URL: {e}")))?;
    let host = base
        .host_str()
        .ok_or_else(|| AwsError::client("The endpoint names no host"))?;
    let host = match &req.host_prefix {
        Some(p) => format!("{p}{host}"),
        None => host.to_string(),
    };
    let port = base.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = base.path().trim_end_matches('/');
    Ok(format!(
        "{}://{host}{port}{path}{}",
        base.scheme(),
        req.path_and_query
    ))
}

/// Sends `req`, signed for the endpoint's service and region: the answer, or a client error
/// (no answer by the deadline, no connection). Errors never carry the request's headers,
/// where the signature and session token are.
pub async fn send(
    http: &reqwest::Client,
    endpoint: &Endpoint<'_>,
    req: Request,
) -> Result<Response, AwsError> {
    let mut b = ::http::Request::builder()
        .method(req.method)
        .uri(url(endpoint, &req)?);
    for (k, v) in &req.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let mut signed = b
        .body(req.body)
        .map_err(|e| AwsError::client(&format!("The request is not valid HTTP: {e}")))?;
    super::sign::sign(
        &mut signed,
        endpoint.credentials,
        endpoint.region,
        endpoint.signing_name,
    )
    .map_err(|e| AwsError::client(&e))?;
    let mut r = reqwest::Request::try_from(signed).map_err(|e| AwsError::client(&e.to_string()))?;
    *r.timeout_mut() = endpoint.deadline;
    let resp = http
        .execute(r)
        .await
        .map_err(|e| AwsError::client(&format!("Unable to execute HTTP request: {e}")))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .bytes()
        .await
        .map_err(|e| AwsError::client(&format!("Unable to read the response: {e}")))?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(url: &str) -> Endpoint<'static> {
        Endpoint {
            url: url.into(),
            deadline: None,
            region: "us-east-1",
            signing_name: "x",
            credentials: None,
            model: Box::leak(Box::new(serde_json::Value::Null)),
            custom: true,
        }
    }

    #[test]
    fn paths_join_the_endpoints_base_and_prefixes_go_before_the_host() {
        let mut r = Request::post(vec![], vec![]);
        r.path_and_query = "/2015-03-31/functions/?MaxItems=2".into();
        assert_eq!(
            url(&at("http://127.0.0.1:5000"), &r).unwrap(),
            "http://127.0.0.1:5000/2015-03-31/functions/?MaxItems=2"
        );
        assert_eq!(
            url(&at("https://proxy.example/aws/"), &r).unwrap(),
            "https://proxy.example/aws/2015-03-31/functions/?MaxItems=2"
        );
        r.host_prefix = Some("data-".into());
        assert_eq!(
            url(&at("https://iot.us-east-1.amazonaws.com"), &r).unwrap(),
            "https://data-iot.us-east-1.amazonaws.com/2015-03-31/functions/?MaxItems=2"
        );
    }
}
