//! Task tokens: what a callback or an activity worker sends back with SendTaskSuccess,
//! SendTaskFailure or SendTaskHeartbeat.
//!
//! A token names its execution and task and carries an HMAC-SHA256 of both under a secret
//! the host gives the interpreter. So it is unguessable, it needs no table of its own (the
//! execution's history says whether the task is still open, which makes a token single-use),
//! and replaying an execution mints the same tokens again: a callback that was sent out before
//! a crash still works after the restart.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::execution::TaskId;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token this server could have minted (bad encoding, bad length).
    #[error("the task token is malformed")]
    Malformed,
    /// Well formed, but its signature does not match: forged, or minted under another secret.
    #[error("the task token's signature does not match")]
    BadSignature,
}

/// What a token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub execution_arn: String,
    pub task: TaskId,
}

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    m.update(body);
    m
}

/// The token of task `task` of execution `execution_arn`.
pub fn mint(secret: &[u8], execution_arn: &str, task: TaskId) -> String {
    let mut body = Vec::with_capacity(8 + execution_arn.len());
    body.extend_from_slice(&task.to_be_bytes());
    body.extend_from_slice(execution_arn.as_bytes());
    let sig = mac(secret, &body).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&body),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

/// Checks a token's signature and says what it names.
pub fn open(secret: &[u8], token: &str) -> Result<TokenClaims, TokenError> {
    let (body, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let body = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| TokenError::Malformed)?;
    if body.len() <= 8 || sig.len() != 32 {
        return Err(TokenError::Malformed);
    }
    mac(secret, &body)
        .verify_slice(&sig)
        .map_err(|_| TokenError::BadSignature)?;
    let task = TaskId::from_be_bytes(body[..8].try_into().expect("checked length"));
    let execution_arn = String::from_utf8(body[8..].to_vec()).map_err(|_| TokenError::Malformed)?;
    Ok(TokenClaims {
        execution_arn,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:m:e";

    #[test]
    fn a_token_opens_to_what_it_names() {
        let t = mint(b"secret", ARN, 42);
        let c = open(b"secret", &t).unwrap();
        assert_eq!(c.execution_arn, ARN);
        assert_eq!(c.task, 42);
        // Deterministic: replay mints the same token.
        assert_eq!(t, mint(b"secret", ARN, 42));
        assert_ne!(t, mint(b"secret", ARN, 43));
    }

    #[test]
    fn forged_and_foreign_tokens_are_refused() {
        let t = mint(b"secret", ARN, 7);
        assert_eq!(open(b"other", &t), Err(TokenError::BadSignature));
        let (body, sig) = t.split_once('.').unwrap();
        let other_body = URL_SAFE_NO_PAD.encode([&8u64.to_be_bytes()[..], ARN.as_bytes()].concat());
        assert_eq!(
            open(b"secret", &format!("{other_body}.{sig}")),
            Err(TokenError::BadSignature)
        );
        assert_eq!(open(b"secret", body), Err(TokenError::Malformed));
        assert_eq!(open(b"secret", "not a token"), Err(TokenError::Malformed));
        assert_eq!(open(b"secret", ""), Err(TokenError::Malformed));
        assert_eq!(open(b"secret", "a.b"), Err(TokenError::Malformed));
    }
}
