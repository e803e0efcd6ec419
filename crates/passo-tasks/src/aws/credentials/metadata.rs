//! Credentials served over HTTP by the platform: the container credentials endpoint (ECS,
//! EKS Pod Identity) and EC2's instance metadata service (IMDSv2: a session token from a
//! `PUT`, then the instance role's credentials). Both answer
//! `{AccessKeyId, SecretAccessKey, Token, Expiration}`.

use super::{Credentials, CredentialsError, Expiring, Sources};
use crate::aws::time;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// ECS's link-local address for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
const ECS_HOST: &str = "http://169.254.170.2";

/// Instance metadata, unless `AWS_EC2_METADATA_SERVICE_ENDPOINT` names another.
const IMDS: &str = "http://169.254.169.254";

/// How long a metadata request may take: off EC2 nothing answers, and a laptop must not wait.
const METADATA_TIMEOUT: Duration = Duration::from_secs(1);

fn read(body: &Value) -> Option<Expiring> {
    let f = |k: &str| body[k].as_str().map(str::to_string);
    Some(Expiring {
        credentials: Arc::new(Credentials {
            key_id: f("AccessKeyId")?,
            secret: f("SecretAccessKey")?,
            session_token: f("Token"),
        }),
        expires: time::parse(&body["Expiration"]),
    })
}

/// Whether a full URI may be used over plain HTTP: only on the host itself or at the
/// container agents' link-local addresses (the SDKs' rule); anything else needs HTTPS.
fn allowed(uri: &url::Url) -> bool {
    if uri.scheme() == "https" {
        return true;
    }
    match uri.host() {
        Some(url::Host::Ipv4(ip)) => {
            ip.is_loopback()
                || ip.octets() == [169, 254, 170, 2]
                || ip.octets() == [169, 254, 170, 23]
        }
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23]
        }
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// The container's credentials, if the environment points at an endpoint.
pub async fn container(src: &Sources<'_>) -> Result<Option<Expiring>, CredentialsError> {
    let env = src.env;
    let fail = |why: &str| CredentialsError::Container(why.to_string());
    let uri = match (
        env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        env("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
    ) {
        (Some(rel), _) => format!("{ECS_HOST}{rel}"),
        (None, Some(full)) => {
            let u = url::Url::parse(&full)
                .map_err(|_| fail("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL"))?;
            if !allowed(&u) {
                return Err(fail("AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http on a loopback or container agent address"));
            }
            full
        }
        (None, None) => return Ok(None),
    };
    let token = match env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(file) => Some(
            std::fs::read_to_string(&file)
                .map_err(|_| fail(&format!("the token file '{file}' cannot be read")))?
                .trim()
                .to_string(),
        ),
        None => env("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    };
    let mut req = src.http.get(&uri).timeout(Duration::from_secs(5));
    if let Some(t) = token {
        req = req.header("authorization", t);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| fail(&format!("no answer ({})", without_url(&e))))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(fail(&format!("HTTP {}", status.as_u16())));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|_| fail("the answer was cut short"))?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|_| fail("the answer is not JSON"))?;
    read(&body)
        .map(Some)
        .ok_or_else(|| fail("the answer holds no credentials"))
}

/// reqwest's error without its URL (a full URI may carry a query the user considers private).
fn without_url(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        "request failed".into()
    }
}

/// The instance role's credentials from IMDSv2; None when no metadata service answers.
pub async fn instance(src: &Sources<'_>) -> Result<Option<Expiring>, CredentialsError> {
    let base = (src.env)("AWS_EC2_METADATA_SERVICE_ENDPOINT").unwrap_or_else(|| IMDS.to_string());
    let base = base.trim_end_matches('/');
    let http = src.http;
    let fail = |why: String| CredentialsError::Imds(why);
    let token = match http
        .put(format!("{base}/latest/api/token"))
        .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
        .timeout(METADATA_TIMEOUT)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r.text().await.map_err(|_| fail("no token".into()))?,
        // Nothing listens (not on EC2), or something that is not IMDS: no credentials here.
        Ok(_) | Err(_) => return Ok(None),
    };
    let get = |path: String| {
        http.get(format!("{base}{path}"))
            .header("x-aws-ec2-metadata-token", token.clone())
            .timeout(METADATA_TIMEOUT)
            .send()
    };
    let roles = get("/latest/meta-data/iam/security-credentials/".into())
        .await
        .map_err(|e| fail(without_url(&e)))?;
    if roles.status().as_u16() == 404 {
        return Ok(None); // an instance without a role
    }
    let list = roles.text().await.map_err(|e| fail(without_url(&e)))?;
    let Some(role) = list.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let resp = get(format!("/latest/meta-data/iam/security-credentials/{role}"))
        .await
        .map_err(|e| fail(without_url(&e)))?;
    if !resp.status().is_success() {
        return Err(fail(format!(
            "HTTP {} for the role's credentials",
            resp.status().as_u16()
        )));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|_| fail("the answer was cut short".into()))?;
    let body: Value =
        serde_json::from_slice(&bytes).map_err(|_| fail("the answer is not JSON".into()))?;
    read(&body)
        .map(Some)
        .ok_or_else(|| fail("the answer holds no credentials".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_uris_over_http_only_on_the_host_or_agent_addresses() {
        let ok = |s: &str| allowed(&url::Url::parse(s).unwrap());
        assert!(ok("http://127.0.0.1:8080/creds"));
        assert!(ok("http://localhost/creds"));
        assert!(ok("http://169.254.170.23/v1/credentials"));
        assert!(ok("https://creds.example.com/x"));
        assert!(!ok("http://creds.example.com/x"));
        assert!(!ok("http://10.0.0.1/x"));
    }

    #[test]
    fn answers_read_as_expiring_credentials() {
        let c = read(&serde_json::json!({"AccessKeyId": "A", "SecretAccessKey": "S", "Token": "T", "Expiration": "2030-01-01T00:00:00Z"})).unwrap();
        assert_eq!(c.credentials.session_token.as_deref(), Some("T"));
        assert_eq!(c.expires.unwrap().to_rfc3339(), "2030-01-01T00:00:00+00:00");
        assert!(read(&serde_json::json!({"Code": "Failed"})).is_none());
    }
}
