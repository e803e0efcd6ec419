//! Task tokens: what a callback or an activity worker sends back with SendTaskSuccess,
//! SendTaskFailure or SendTaskHeartbeat.
//!
//! A token names one task of one execution *instance*: its body is a format version, the
//! task id, a nonce derived from the execution's random seed and the task id, and the
//! execution ARN; an HMAC-SHA256 of the body under the host's secret signs it. So:
//! - it is unguessable and needs no table of its own (the execution's history says whether
//!   the task is still open, which makes a token single-use);
//! - replaying an execution mints the same tokens again (the seed is stored with the
//!   execution), so a callback sent out before a crash still works after the restart;
//! - a later execution that reuses the name (after the first one was purged) has another
//!   seed, so the old execution's tokens do not name its tasks: the host compares the
//!   token's nonce with [`nonce`] of the execution it finds ([`TokenClaims::minted_for`]).
//!
//! The host keeps its secrets in a [`KeyRing`]: tokens are minted under the newest key and
//! opened under any, so a key can be rotated while tokens minted before are still in flight.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;

use crate::execution::TaskId;

/// Bytes of the per-task nonce a token carries.
pub const NONCE_LEN: usize = 16;
/// What ties a token to one execution instance (see [`nonce`]).
pub type Nonce = [u8; NONCE_LEN];

/// The body's first byte. Tokens of the first format (task id, then ARN: no nonce) began
/// with a task id's high byte, 0; they are refused as malformed, since they are exactly the
/// tokens a later execution of the same name would accept.
const VERSION: u8 = 1;
const TASK_AT: usize = 1;
const TASK_LEN: usize = 8;
const NONCE_AT: usize = TASK_AT + TASK_LEN;
const ARN_AT: usize = NONCE_AT + NONCE_LEN;
const SIG_LEN: usize = 32;

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
    /// The nonce of the execution instance it was minted for.
    pub nonce: Nonce,
}

impl TokenClaims {
    /// Whether the token was minted by the execution instance whose seed is `seed` (and not
    /// by an earlier execution of the same ARN).
    pub fn minted_for(&self, seed: u64) -> bool {
        let want = nonce(seed, self.task);
        // Constant time, as for any value an attacker may probe byte by byte.
        want.iter()
            .zip(&self.nonce)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    m.update(body);
    m
}

/// The nonce of task `task` in the execution seeded with `seed`: a function of both, so one
/// instance's tokens are all distinct and another instance (another seed) mints others.
pub fn nonce(seed: u64, task: TaskId) -> Nonce {
    let mut m = mac(&seed.to_be_bytes(), b"passo task token nonce");
    m.update(&task.to_be_bytes());
    let full = m.finalize().into_bytes();
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(&full[..NONCE_LEN]);
    n
}

/// The token of task `task` of the execution `execution_arn` seeded with `seed`.
pub fn mint(secret: &[u8], execution_arn: &str, seed: u64, task: TaskId) -> String {
    let mut body = Vec::with_capacity(ARN_AT + execution_arn.len());
    body.push(VERSION);
    body.extend_from_slice(&task.to_be_bytes());
    body.extend_from_slice(&nonce(seed, task));
    body.extend_from_slice(execution_arn.as_bytes());
    let sig = mac(secret, &body).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&body),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

/// A token split into its body and signature, before any key is tried.
fn split(token: &str) -> Result<(Vec<u8>, Vec<u8>), TokenError> {
    let (body, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let body = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| TokenError::Malformed)?;
    if body.len() <= ARN_AT || body[0] != VERSION || sig.len() != SIG_LEN {
        return Err(TokenError::Malformed);
    }
    Ok((body, sig))
}

fn claims(body: &[u8]) -> Result<TokenClaims, TokenError> {
    let task = TaskId::from_be_bytes(body[TASK_AT..NONCE_AT].try_into().expect("checked length"));
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&body[NONCE_AT..ARN_AT]);
    let execution_arn =
        String::from_utf8(body[ARN_AT..].to_vec()).map_err(|_| TokenError::Malformed)?;
    Ok(TokenClaims {
        execution_arn,
        task,
        nonce,
    })
}

/// Checks a token's signature under `secret` and says what it names.
pub fn open(secret: &[u8], token: &str) -> Result<TokenClaims, TokenError> {
    KeyRing::new(vec![secret.to_vec()]).open(token)
}

/// The host's token keys, newest first: it mints with the newest and opens with any, so
/// adding a key (rotation) leaves the tokens already handed out working.
#[derive(Debug, Clone)]
pub struct KeyRing(Arc<[Arc<[u8]>]>);

impl KeyRing {
    /// A ring of `keys`, newest first.
    ///
    /// # Panics
    /// When `keys` is empty: a ring always has a key to mint with.
    pub fn new(keys: Vec<Vec<u8>>) -> Self {
        assert!(!keys.is_empty(), "a key ring needs at least one key");
        KeyRing(keys.into_iter().map(Arc::from).collect())
    }

    /// The key new tokens are minted with.
    pub fn newest(&self) -> Arc<[u8]> {
        self.0[0].clone()
    }

    /// Every key, newest first.
    pub fn keys(&self) -> &[Arc<[u8]>] {
        &self.0
    }

    /// Checks a token's signature under each key in turn and says what it names.
    pub fn open(&self, token: &str) -> Result<TokenClaims, TokenError> {
        let (body, sig) = split(token)?;
        if self
            .0
            .iter()
            .any(|k| mac(k, &body).verify_slice(&sig).is_ok())
        {
            claims(&body)
        } else {
            Err(TokenError::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:m:e";
    const SEED: u64 = 0x5eed;

    #[test]
    fn a_token_opens_to_what_it_names() {
        let t = mint(b"secret", ARN, SEED, 42);
        let c = open(b"secret", &t).unwrap();
        assert_eq!(c.execution_arn, ARN);
        assert_eq!(c.task, 42);
        assert_eq!(c.nonce, nonce(SEED, 42));
        assert!(c.minted_for(SEED));
        // Deterministic: replay (same seed) mints the same token.
        assert_eq!(t, mint(b"secret", ARN, SEED, 42));
        assert_ne!(t, mint(b"secret", ARN, SEED, 43));
    }

    /// An execution purged and started again under the same name has another seed: the
    /// first one's tokens verify (same secret, same ARN) but do not name its tasks.
    #[test]
    fn a_token_of_seed_a_is_not_one_of_seed_b() {
        let old = open(b"secret", &mint(b"secret", ARN, SEED, 7)).unwrap();
        assert!(old.minted_for(SEED));
        assert!(!old.minted_for(SEED + 1));
        assert_ne!(
            mint(b"secret", ARN, SEED, 7),
            mint(b"secret", ARN, SEED + 1, 7)
        );
        // Nor does another task's nonce stand in for this one's.
        assert_ne!(nonce(SEED, 7), nonce(SEED, 8));
    }

    #[test]
    fn forged_and_foreign_tokens_are_refused() {
        let t = mint(b"secret", ARN, SEED, 7);
        assert_eq!(open(b"other", &t), Err(TokenError::BadSignature));
        let (body, sig) = t.split_once('.').unwrap();
        // Another task id, or another nonce (to pass off an old token as the new
        // instance's), under the original signature.
        let mut raw = URL_SAFE_NO_PAD.decode(body).unwrap();
        raw[NONCE_AT - 1] ^= 1;
        let other_task = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(
            open(b"secret", &format!("{other_task}.{sig}")),
            Err(TokenError::BadSignature)
        );
        let mut raw = URL_SAFE_NO_PAD.decode(body).unwrap();
        raw[NONCE_AT..ARN_AT].copy_from_slice(&nonce(SEED + 1, 7));
        let other_nonce = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(
            open(b"secret", &format!("{other_nonce}.{sig}")),
            Err(TokenError::BadSignature)
        );
        assert_eq!(open(b"secret", body), Err(TokenError::Malformed));
        // A first-format token (task id, ARN; no version, no nonce), correctly signed.
        let legacy = [&7u64.to_be_bytes()[..], ARN.as_bytes()].concat();
        let legacy_sig = mac(b"secret", &legacy).finalize().into_bytes();
        let legacy = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&legacy),
            URL_SAFE_NO_PAD.encode(legacy_sig)
        );
        assert_eq!(open(b"secret", &legacy), Err(TokenError::Malformed));
        assert_eq!(open(b"secret", "not a token"), Err(TokenError::Malformed));
        assert_eq!(open(b"secret", ""), Err(TokenError::Malformed));
        assert_eq!(open(b"secret", "a.b"), Err(TokenError::Malformed));
    }

    #[test]
    fn after_rotation_the_ring_opens_old_and_new_tokens() {
        let before = KeyRing::new(vec![b"old".to_vec()]);
        let old_token = mint(&before.newest(), ARN, SEED, 1);
        let after = KeyRing::new(vec![b"new".to_vec(), b"old".to_vec()]);
        assert_eq!(&*after.newest(), b"new");
        let new_token = mint(&after.newest(), ARN, SEED, 2);
        assert_eq!(after.open(&old_token).unwrap().task, 1);
        assert_eq!(after.open(&new_token).unwrap().task, 2);
        // A key dropped from the ring no longer opens its tokens.
        let dropped = KeyRing::new(vec![b"new".to_vec()]);
        assert_eq!(dropped.open(&old_token), Err(TokenError::BadSignature));
        assert_eq!(before.open(&new_token), Err(TokenError::BadSignature));
    }
}
