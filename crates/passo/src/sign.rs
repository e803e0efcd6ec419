//! AWS Signature Version 4 for the requests the CLI sends to `passo server` (the same
//! signature the AWS SDKs make), with the standard credentials from the environment:
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, and the region from
//! `AWS_REGION` / `AWS_DEFAULT_REGION`.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Credentials to sign with.
pub struct Credentials {
    pub key_id: String,
    pub secret: String,
    pub session_token: Option<String>,
    pub region: String,
}

impl Credentials {
    /// The standard environment variables, if a key is set.
    pub fn from_env() -> Option<Credentials> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Some(Credentials {
            key_id: var("AWS_ACCESS_KEY_ID")?,
            secret: var("AWS_SECRET_ACCESS_KEY")?,
            session_token: var("AWS_SESSION_TOKEN"),
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
        })
    }
}

/// A JSON-protocol call (`POST /`), as far as its signature goes.
pub struct Request<'a> {
    pub content_type: &'a str,
    pub target: &'a str,
    /// The signing name: `states` (Step Functions' and Passo's actions), `events`.
    pub service: &'a str,
    pub body: &'a [u8],
}

/// The headers that sign `req` to `host`: X-Amz-Date, the session token when there is one,
/// and Authorization (Host, Content-Type and X-Amz-Target the request sets itself).
pub fn headers_for(
    c: &Credentials,
    host: &str,
    req: &Request<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(String, String)> {
    let date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let day = &date[..8];
    let mut signed: Vec<(String, String)> = vec![
        ("content-type".into(), req.content_type.to_string()),
        ("host".into(), host.to_string()),
        ("x-amz-date".into(), date.clone()),
    ];
    if let Some(t) = &c.session_token {
        signed.push(("x-amz-security-token".into(), t.clone()));
    }
    signed.push(("x-amz-target".into(), req.target.to_string()));
    let names: Vec<&str> = signed.iter().map(|(k, _)| k.as_str()).collect();
    let names = names.join(";");
    let canonical_headers: String = signed.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let canonical = format!(
        "POST\n/\n\n{canonical_headers}\n{names}\n{}",
        hex(&Sha256::digest(req.body))
    );
    let scope = format!("{day}/{}/{}/aws4_request", c.region, req.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", c.secret).as_bytes(), day);
    for part in [c.region.as_str(), req.service, "aws4_request"] {
        key = hmac(&key, part);
    }
    let signature = hex(&hmac(&key, &to_sign));
    let mut out: Vec<(String, String)> = signed
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "host" | "content-type" | "x-amz-target"))
        .collect();
    out.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={names}, Signature={signature}",
            c.key_id
        ),
    ));
    out
}
