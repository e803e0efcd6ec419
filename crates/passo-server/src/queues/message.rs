//! One message in a queue, its attributes checked as SQS checks them, and the MD5 digests
//! SQS answers with (the SDKs compare them with their own: a wrong digest fails the call).

use super::error::SqsError;
use md5::{Digest, Md5};
use passo_store::QueueMessageRow;
use serde_json::{json, Map, Value};

/// The FIFO fields and system attributes of a message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct System {
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub sequence_number: Option<String>,
    pub trace_header: Option<String>,
    /// The queue a dead-lettered message came from.
    pub dead_letter_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub seq: i64,
    pub id: String,
    pub body: String,
    /// MessageAttributes as given: `{name: {DataType, StringValue | BinaryValue}}`.
    pub attributes: Map<String, Value>,
    pub system: System,
    pub sent_ms: i64,
    pub visible_ms: i64,
    pub receive_count: i64,
    pub first_receive_ms: Option<i64>,
}

impl Message {
    /// Whether a consumer holds it now (received, its visibility timeout not over).
    pub fn in_flight(&self, now: i64) -> bool {
        self.receive_count > 0 && self.visible_ms > now
    }

    pub fn to_row(&self, queue: &str) -> QueueMessageRow {
        let s = &self.system;
        let system = json!({
            "group": s.group_id, "dedup": s.dedup_id, "sequence": s.sequence_number,
            "trace": s.trace_header, "dlqSource": s.dead_letter_source,
        });
        QueueMessageRow {
            queue: queue.to_string(),
            seq: self.seq,
            id: self.id.clone(),
            body: self.body.clone(),
            attributes: Value::Object(self.attributes.clone()).to_string(),
            system: system.to_string(),
            sent_ms: self.sent_ms,
            visible_ms: self.visible_ms,
            receive_count: self.receive_count,
            first_receive_ms: self.first_receive_ms,
        }
    }

    pub fn from_row(r: QueueMessageRow) -> Message {
        let sys: Value = serde_json::from_str(&r.system).unwrap_or(Value::Null);
        let text = |k: &str| sys[k].as_str().map(str::to_string);
        Message {
            seq: r.seq,
            id: r.id,
            body: r.body,
            attributes: match serde_json::from_str(&r.attributes) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            },
            system: System {
                group_id: text("group"),
                dedup_id: text("dedup"),
                sequence_number: text("sequence"),
                trace_header: text("trace"),
                dead_letter_source: text("dlqSource"),
            },
            sent_ms: r.sent_ms,
            visible_ms: r.visible_ms,
            receive_count: r.receive_count,
            first_receive_ms: r.first_receive_ms,
        }
    }

    /// The system attributes ReceiveMessage may return, all of them (the caller filters).
    pub fn system_attributes(&self, account: &str) -> Map<String, Value> {
        let mut out = Map::new();
        let mut put = |k: &str, v: String| {
            out.insert(k.to_string(), Value::String(v));
        };
        put("SenderId", account.to_string());
        put("SentTimestamp", self.sent_ms.to_string());
        put("ApproximateReceiveCount", self.receive_count.to_string());
        if let Some(t) = self.first_receive_ms {
            put("ApproximateFirstReceiveTimestamp", t.to_string());
        }
        let s = &self.system;
        for (k, v) in [
            ("MessageGroupId", &s.group_id),
            ("MessageDeduplicationId", &s.dedup_id),
            ("SequenceNumber", &s.sequence_number),
            ("AWSTraceHeader", &s.trace_header),
            ("DeadLetterQueueSourceArn", &s.dead_letter_source),
        ] {
            if let Some(v) = v {
                put(k, v.clone());
            }
        }
        out
    }
}

pub fn md5_hex(bytes: &[u8]) -> String {
    let d = Md5::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// SQS's digest of message attributes: sorted by name, each as length-prefixed name and
/// data type, a transport byte (1 string or number, 2 binary) and the length-prefixed value.
pub fn md5_of_attributes(attrs: &Map<String, Value>) -> String {
    let mut names: Vec<&String> = attrs.keys().collect();
    names.sort();
    let mut buf = Vec::new();
    let field = |buf: &mut Vec<u8>, bytes: &[u8]| {
        buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        buf.extend_from_slice(bytes);
    };
    for name in names {
        let a = &attrs[name];
        let data_type = a["DataType"].as_str().unwrap_or_default();
        field(&mut buf, name.as_bytes());
        field(&mut buf, data_type.as_bytes());
        if data_type.starts_with("Binary") {
            buf.push(2);
            let bytes = binary(a).unwrap_or_default();
            field(&mut buf, &bytes);
        } else {
            buf.push(1);
            field(
                &mut buf,
                a["StringValue"].as_str().unwrap_or_default().as_bytes(),
            );
        }
    }
    md5_hex(&buf)
}

fn binary(a: &Value) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(a["BinaryValue"].as_str()?)
        .ok()
}

/// Checks MessageAttributes (or MessageSystemAttributes when `system`) as SendMessage
/// takes them, answering the attributes to keep and their size in bytes.
pub fn check_attributes(
    v: Option<&Value>,
    system: bool,
) -> Result<(Map<String, Value>, usize), SqsError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok((Map::new(), 0));
    };
    let Some(map) = v.as_object() else {
        return Err(SqsError::InvalidParameterValue(
            "MessageAttributes must be a map".into(),
        ));
    };
    if map.len() > 10 {
        return Err(SqsError::InvalidParameterValue(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [10].",
            map.len()
        )));
    }
    let mut size = 0;
    for (name, a) in map {
        if system && name != "AWSTraceHeader" {
            return Err(SqsError::InvalidParameterValue(format!(
                "Message system attribute name '{name}' is invalid."
            )));
        }
        let valid_name = !name.is_empty()
            && name.len() <= 256
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !name.starts_with('.')
            && !name.ends_with('.')
            && !name.contains("..");
        let reserved = !system && {
            let lower = name.to_ascii_lowercase();
            lower.starts_with("aws.") || lower.starts_with("amazon.")
        };
        if !valid_name || reserved {
            return Err(SqsError::InvalidParameterValue(format!(
                "Message attribute name '{name}' is invalid."
            )));
        }
        let data_type = a["DataType"].as_str().unwrap_or_default();
        let ok = if data_type.starts_with("Binary") {
            binary(a).is_some()
        } else if data_type.starts_with("String") || data_type.starts_with("Number") {
            let s = a["StringValue"].as_str();
            let numeric = !data_type.starts_with("Number")
                || s.is_some_and(|s| s.trim().parse::<f64>().is_ok());
            s.is_some() && numeric
        } else {
            false
        };
        if !ok {
            return Err(SqsError::InvalidParameterValue(format!(
                "The message attribute '{name}' has an invalid message attribute type, or a value that does not match it."
            )));
        }
        size += name.len()
            + data_type.len()
            + a["StringValue"].as_str().map_or(0, str::len)
            + binary(a).map_or(0, |b| b.len());
    }
    Ok((map.clone(), size))
}

/// Whether a name is selected by ReceiveMessage's MessageAttributeNames (`All`, `.*`,
/// `prefix.*` or the name itself).
pub fn selected(name: &str, wanted: &[String]) -> bool {
    wanted.iter().any(|w| {
        w == "All"
            || w == ".*"
            || w == name
            || w.strip_suffix(".*")
                .is_some_and(|p| name.starts_with(p) && name[p.len()..].starts_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_digest_is_plain_md5() {
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn attribute_digest_follows_sqs_encoding() {
        // The digest SQS (and moto, and botocore's checker) give for one String attribute
        // {"a": String "b"}: MD5 of 00000001 'a' 00000006 'String' 01 00000001 'b'.
        let mut buf = Vec::new();
        buf.extend_from_slice(&[0, 0, 0, 1, b'a', 0, 0, 0, 6]);
        buf.extend_from_slice(b"String");
        buf.extend_from_slice(&[1, 0, 0, 0, 1, b'b']);
        let attrs = json!({"a": {"DataType": "String", "StringValue": "b"}});
        assert_eq!(md5_of_attributes(attrs.as_object().unwrap()), md5_hex(&buf));
    }

    #[test]
    fn attributes_are_checked() {
        let good = json!({"n": {"DataType": "Number", "StringValue": "3.5"}});
        assert!(check_attributes(Some(&good), false).is_ok());
        let bad = json!({"n": {"DataType": "Number", "StringValue": "x"}});
        assert!(check_attributes(Some(&bad), false).is_err());
        let reserved = json!({"AWS.x": {"DataType": "String", "StringValue": "x"}});
        assert!(check_attributes(Some(&reserved), false).is_err());
        assert!(selected("a.b", &["a.*".into()]));
        assert!(!selected("ab", &["a.*".into()]));
    }
}
