//! How a webhook's caller proves it knows the shared secret: an HMAC-SHA256 of the body in
//! a header, as GitHub signs (`X-Hub-Signature-256: sha256=<hex>`) or as Stripe signs
//! (`Stripe-Signature: t=<time>,v1=<hex>` over `<time>.<body>`), or a bearer token.
//! Every comparison is constant-time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// A webhook's authentication.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// `header` (lower-case) holds `sha256=<hex>` of the body.
    Hub { secret: String, header: String },
    /// `Stripe-Signature: t=...,v1=...` over `t.body`.
    Stripe { secret: String },
    /// `Authorization: Bearer <token>`.
    Bearer { token: String },
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("the request has no {0} header")]
    Missing(String),
    #[error("the {0} header does not match the body: wrong secret, or the body was changed")]
    BadSignature(String),
    #[error("the bearer token is not this webhook's")]
    BadToken,
}

fn mac(secret: &str, parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    for p in parts {
        m.update(p);
    }
    m
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The signature header a GitHub-style sender sets for `body` (for tests and the bench).
pub fn hub_signature(secret: &str, body: &[u8]) -> String {
    let bytes = mac(secret, &[body]).finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

impl Auth {
    /// Checks a request: `header(name)` gives a header's value.
    pub fn check<'a>(
        &self,
        header: impl Fn(&str) -> Option<&'a str>,
        body: &[u8],
    ) -> Result<(), Refusal> {
        match self {
            Auth::Hub {
                secret,
                header: name,
            } => {
                let given = header(name).ok_or_else(|| Refusal::Missing(name.clone()))?;
                let sig = given
                    .trim()
                    .strip_prefix("sha256=")
                    .and_then(unhex)
                    .ok_or_else(|| Refusal::BadSignature(name.clone()))?;
                mac(secret, &[body])
                    .verify_slice(&sig)
                    .map_err(|_| Refusal::BadSignature(name.clone()))
            }
            Auth::Stripe { secret } => {
                let name = "stripe-signature";
                let given = header(name).ok_or_else(|| Refusal::Missing(name.into()))?;
                let mut t = None;
                let mut sigs = Vec::new();
                for part in given.split(',') {
                    match part.trim().split_once('=') {
                        Some(("t", v)) => t = Some(v),
                        Some(("v1", v)) => sigs.extend(unhex(v)),
                        _ => {}
                    }
                }
                let t = t.ok_or_else(|| Refusal::BadSignature(name.into()))?;
                let expected = mac(secret, &[t.as_bytes(), b".", body])
                    .finalize()
                    .into_bytes();
                let ok = sigs
                    .iter()
                    .any(|s| bool::from(s.as_slice().ct_eq(expected.as_slice())));
                if ok {
                    Ok(())
                } else {
                    Err(Refusal::BadSignature(name.into()))
                }
            }
            Auth::Bearer { token } => {
                let given = header("authorization")
                    .and_then(|a| {
                        a.strip_prefix("Bearer ")
                            .or_else(|| a.strip_prefix("bearer "))
                    })
                    .ok_or_else(|| Refusal::Missing("Authorization: Bearer".into()))?;
                if bool::from(given.trim().as_bytes().ct_eq(token.as_bytes())) {
                    Ok(())
                } else {
                    Err(Refusal::BadToken)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(h: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |n| h.iter().find(|(k, _)| *k == n).map(|(_, v)| *v)
    }

    #[test]
    fn a_hub_signature_of_the_body_passes_and_any_other_fails() {
        let a = Auth::Hub {
            secret: "s3cret".into(),
            header: "x-hub-signature-256".into(),
        };
        let body = br#"{"action":"opened"}"#;
        let sig = hub_signature("s3cret", body);
        assert_eq!(
            a.check(headers(&[("x-hub-signature-256", &sig)]), body),
            Ok(())
        );
        // GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
        assert_eq!(
            hub_signature("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        assert!(matches!(
            a.check(headers(&[("x-hub-signature-256", &sig)]), b"{}"),
            Err(Refusal::BadSignature(_))
        ));
        let other = hub_signature("other", body);
        assert!(a
            .check(headers(&[("x-hub-signature-256", &other)]), body)
            .is_err());
        assert!(a
            .check(headers(&[("x-hub-signature-256", "sha256=zz")]), body)
            .is_err());
        assert!(matches!(
            a.check(headers(&[]), body),
            Err(Refusal::Missing(_))
        ));
    }

    #[test]
    fn a_stripe_signature_covers_the_time_and_the_body() {
        let a = Auth::Stripe {
            secret: "whsec".into(),
        };
        let body = b"{}";
        let v1: String = mac("whsec", &[b"1700000000", b".", body])
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let good = format!("t=1700000000,v1={v1}");
        assert_eq!(
            a.check(headers(&[("stripe-signature", &good)]), body),
            Ok(())
        );
        let moved = format!("t=1700000001,v1={v1}");
        assert!(a
            .check(headers(&[("stripe-signature", &moved)]), body)
            .is_err());
    }

    #[test]
    fn a_bearer_token_must_be_the_webhooks() {
        let a = Auth::Bearer {
            token: "tok".into(),
        };
        assert_eq!(
            a.check(headers(&[("authorization", "Bearer tok")]), b""),
            Ok(())
        );
        assert_eq!(
            a.check(headers(&[("authorization", "Bearer tok2")]), b""),
            Err(Refusal::BadToken)
        );
        assert!(a.check(headers(&[]), b"").is_err());
    }
}
