//! AWS Signature Version 4 checks: with access keys configured, every request must be
//! signed with one of them (the aws CLI and the SDKs always sign).
//!
//! The checks follow AWS's documented rules, in the order AWS's JSON services apply them
//! (so a request with several faults gets the error AWS would give first):
//! 1. an `AWS4-` Authorization header (MissingAuthenticationToken);
//! 2. its Credential, SignedHeaders and Signature parameters and an X-Amz-Date header
//!    (IncompleteSignature), the date in ISO-8601 basic format (IncompleteSignature);
//! 3. X-Amz-Date within 15 minutes of the server's clock (InvalidSignature);
//! 4. SignedHeaders naming `host`, `content-type` when sent and every `x-amz-*` header the
//!    request carries (X-Amz-Target, X-Amz-Security-Token, ...), and only headers it carries
//!    (IAM User Guide, "Create a signed AWS API request": the canonical headers must include
//!    the host header, Content-Type if present, and any x-amz-* headers);
//! 5. the algorithm AWS4-HMAC-SHA256 and a five-part credential (IncompleteSignature);
//! 6. the credential scope `DATE/REGION/SERVICE/aws4_request` with DATE the X-Amz-Date's
//!    day, REGION the server's and SERVICE one it serves (InvalidSignature);
//! 7. a known access key id (UnrecognizedClient);
//! 8. X-Amz-Content-Sha256, when sent, the body's SHA-256; the canonical request always
//!    hashes the body itself, so `UNSIGNED-PAYLOAD` signs nothing (InvalidSignature);
//! 9. the signature (InvalidSignature).
//!
//! The messages are AWS's (see the tests for where each was found).

use crate::error::ApiError;
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How far a request's X-Amz-Date may be from the server's clock (AWS: 15 minutes).
const MAX_SKEW_MS: i64 = 15 * 60 * 1000;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
const AMZ_DATE: &str = "%Y%m%dT%H%M%SZ";

/// What a credential scope must name: this server's region and one of the services it
/// answers for (`states` for Step Functions; `events` once EventBridge is served too).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub region: &'a str,
    /// Accepted signing names; the first is the one refusals name.
    pub services: &'a [&'a str],
}

/// The Step Functions API's signing name.
pub const STATES: &[&str] = &["states"];

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
struct Authorization<'a> {
    algorithm: &'a str,
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_authorization(auth: &str) -> Authorization<'_> {
    let (algorithm, rest) = auth.trim().split_once(' ').unwrap_or((auth.trim(), ""));
    let mut a = Authorization {
        algorithm,
        credential: "",
        signed_headers: "",
        signature: "",
    };
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "Credential" => a.credential = v.trim(),
            "SignedHeaders" => a.signed_headers = v.trim(),
            "Signature" => a.signature = v.trim(),
            _ => {}
        }
    }
    a
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// AWS's ISO-8601 basic form, as in its expiry messages.
fn amz(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format(AMZ_DATE).to_string())
        .unwrap_or_default()
}

/// [`verify`] for the Step Functions API of the server configured by `cfg`.
pub fn verify_states(
    cfg: &crate::Config,
    headers: &HeaderMap,
    body: &[u8],
    now_ms: i64,
) -> Result<(), ApiError> {
    let scope = Scope {
        region: &cfg.realm.region,
        services: STATES,
    };
    verify(&cfg.access_keys, &scope, headers, body, now_ms)
}

/// [`verify`] for the EventBridge API (signing name `events`) of the server.
pub fn verify_events(
    cfg: &crate::Config,
    headers: &HeaderMap,
    body: &[u8],
    now_ms: i64,
) -> Result<(), ApiError> {
    let scope = Scope {
        region: &cfg.realm.region,
        services: EVENTS,
    };
    verify(&cfg.access_keys, &scope, headers, body, now_ms)
}

/// EventBridge's signing name.
pub const EVENTS: &[&str] = &["events"];

/// Checks the request's Authorization header against the configured (id, secret) pairs:
/// signed within 15 minutes of `now_ms`, for `scope`, over every header that must be signed.
pub fn verify(
    keys: &[(String, String)],
    scope: &Scope<'_>,
    headers: &HeaderMap,
    body: &[u8],
    now_ms: i64,
) -> Result<(), ApiError> {
    let auth = header(headers, "authorization")
        .filter(|a| a.trim_start().starts_with("AWS4-"))
        .ok_or_else(|| {
            ApiError::MissingAuthenticationToken("Request is missing Authentication Token".into())
        })?;
    let a = parse_authorization(auth);
    let amz_date = header(headers, "x-amz-date").unwrap_or("");
    check_complete(&a, auth, amz_date)?;
    let signed_at = chrono::NaiveDateTime::parse_from_str(amz_date, AMZ_DATE)
        .map(|t| t.and_utc().timestamp_millis())
        .map_err(|_| {
            ApiError::IncompleteSignature(format!(
                "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ))
        })?;
    check_fresh(amz_date, signed_at, now_ms)?;
    let signed: Vec<&str> = a.signed_headers.split(';').collect();
    check_signed_headers(&signed, headers)?;
    if a.algorithm != ALGORITHM {
        return Err(ApiError::IncompleteSignature(format!(
            "Unsupported AWS 'algorithm': '{}' (only {ALGORITHM} for now). ",
            a.algorithm
        )));
    }
    let parts: Vec<&str> = a.credential.trim_end_matches('/').split('/').collect();
    let [key_id, date, region, service, terminator] = parts[..] else {
        return Err(ApiError::IncompleteSignature(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
            a.credential
        )));
    };
    check_scope(scope, date, region, service, terminator, amz_date)?;
    let secret = keys
        .iter()
        .find(|(id, _)| id == key_id)
        .map(|(_, s)| s)
        .ok_or_else(|| {
            ApiError::UnrecognizedClient(
                "The security token included in the request is invalid.".into(),
            )
        })?;
    let body_hash = hex(&Sha256::digest(body));
    if header(headers, "x-amz-content-sha256").is_some_and(|h| h != body_hash) {
        // S3's words: the JSON services document no message of their own for this.
        return Err(ApiError::InvalidSignature(
            "The provided 'x-amz-content-sha256' header does not match what was computed.".into(),
        ));
    }
    let canonical = canonical_request(&signed, a.signed_headers, headers, &body_hash);
    let credential_scope = format!("{date}/{region}/{service}/{terminator}");
    let to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{credential_scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut k = hmac(format!("AWS4{secret}").as_bytes(), date);
    for p in [region, service, terminator] {
        k = hmac(&k, p);
    }
    let expected = hex(&hmac(&k, &to_sign));
    if constant_time_eq(expected.as_bytes(), a.signature.as_bytes()) {
        Ok(())
    } else {
        // AWS shows what it computed, so a client can find where its signing differs.
        Err(ApiError::InvalidSignature(format!(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{to_sign}'\n"
        )))
    }
}

/// Credential, SignedHeaders, Signature and a date: AWS lists every one missing.
fn check_complete(a: &Authorization<'_>, auth: &str, amz_date: &str) -> Result<(), ApiError> {
    let mut msg = String::new();
    for (name, value) in [
        ("Credential", a.credential),
        ("Signature", a.signature),
        ("SignedHeaders", a.signed_headers),
    ] {
        if value.is_empty() {
            msg.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if amz_date.is_empty() {
        msg.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    if msg.is_empty() {
        Ok(())
    } else {
        Err(ApiError::IncompleteSignature(format!(
            "{msg}Authorization={auth}"
        )))
    }
}

fn check_fresh(amz_date: &str, signed_at: i64, now_ms: i64) -> Result<(), ApiError> {
    if signed_at < now_ms - MAX_SKEW_MS {
        return Err(ApiError::InvalidSignature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            amz(now_ms - MAX_SKEW_MS),
            amz(now_ms)
        )));
    }
    if signed_at > now_ms + MAX_SKEW_MS {
        return Err(ApiError::InvalidSignature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            amz(now_ms + MAX_SKEW_MS),
            amz(now_ms)
        )));
    }
    Ok(())
}

/// Every header that decides what the request does must be covered by the signature: a
/// request signed over {host, x-amz-date} alone could otherwise be replayed with another
/// X-Amz-Target (StartExecution re-aimed at StopExecution) and still verify.
fn check_signed_headers(signed: &[&str], headers: &HeaderMap) -> Result<(), ApiError> {
    if !signed.contains(&"host") {
        return Err(ApiError::InvalidSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    let mut sent: Vec<&str> = headers
        .keys()
        .map(|n| n.as_str())
        .filter(|n| *n == "content-type" || n.starts_with("x-amz-"))
        .collect();
    sent.sort_unstable();
    if let Some(unsigned) = sent.iter().find(|n| !signed.contains(*n)) {
        // AWS's wording for Host and Content-Type, applied to each header it requires.
        return Err(ApiError::InvalidSignature(format!(
            "'{}' must be a 'SignedHeader' in the AWS Authorization.",
            display_name(unsigned)
        )));
    }
    if let Some(absent) = signed.iter().find(|n| !headers.contains_key(**n)) {
        return Err(ApiError::IncompleteSignature(format!(
            "'{absent}' is named as a SignedHeader, but it does not exist in the HTTP request."
        )));
    }
    Ok(())
}

/// `x-amz-target` as AWS writes it in messages: `X-Amz-Target`.
fn display_name(lower: &str) -> String {
    lower
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// AWS reports every scope fault at once, in this order.
fn check_scope(
    scope: &Scope<'_>,
    date: &str,
    region: &str,
    service: &str,
    terminator: &str,
    amz_date: &str,
) -> Result<(), ApiError> {
    let mut faults = Vec::new();
    if region != scope.region {
        faults.push(format!(
            "Credential should be scoped to a valid region, not '{region}'."
        ));
    }
    if !scope.services.contains(&service) {
        faults.push(format!(
            "Credential should be scoped to correct service: '{}'.",
            scope.services.first().copied().unwrap_or("")
        ));
    }
    if terminator != TERMINATOR {
        faults.push(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
        ));
    }
    let day = &amz_date[..8];
    if date != day {
        faults.push(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{day}', from '{amz_date}'."
        ));
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(ApiError::InvalidSignature(faults.join(" ")))
    }
}

/// The canonical request of a `POST /` (the only route that needs signing): each signed
/// header with its values trimmed, runs of spaces folded and repeats joined by commas.
fn canonical_request(
    signed: &[&str],
    signed_list: &str,
    headers: &HeaderMap,
    body_hash: &str,
) -> String {
    let mut canonical_headers = String::new();
    for name in signed {
        let value = headers
            .get_all(*name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join(",");
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    format!("POST\n/\n\n{canonical_headers}\n{signed_list}\n{body_hash}")
}

/// The signature is derived from the secret: compare without leaking where it differs.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
