//! Receipt handles: which receive of which message a consumer holds. Each receive of a
//! message hands out a new handle; only the latest one deletes it or changes its
//! visibility (SQS: an older handle's delete "succeeds, but the message might not be
//! deleted").

use base64::Engine as _;

#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub queue: String,
    pub seq: i64,
    /// The message's receive count when this handle was given out.
    pub receive: i64,
}

const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

impl Receipt {
    pub fn encode(&self) -> String {
        // The random part makes handles unguessable, as SQS's are.
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        ENGINE.encode(format!(
            "{}\n{}\n{}\n{nonce}",
            self.queue, self.seq, self.receive
        ))
    }

    pub fn decode(handle: &str) -> Option<Receipt> {
        let bytes = ENGINE.decode(handle.trim()).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.split('\n');
        let queue = parts.next()?.to_string();
        let seq = parts.next()?.parse().ok()?;
        let receive = parts.next()?.parse().ok()?;
        parts.next()?;
        Some(Receipt {
            queue,
            seq,
            receive,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_differ_each_time() {
        let r = Receipt {
            queue: "q".into(),
            seq: 7,
            receive: 2,
        };
        let (a, b) = (r.encode(), r.encode());
        assert_ne!(a, b);
        assert_eq!(Receipt::decode(&a), Some(r));
        assert_eq!(Receipt::decode("not a handle"), None);
    }
}
