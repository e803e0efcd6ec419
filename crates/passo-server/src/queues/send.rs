//! SendMessage and SendMessageBatch: checks as SQS makes them (size, characters, FIFO
//! fields), deduplication, delay, and the digests the SDKs verify.

use super::error::SqsError;
use super::message::{check_attributes, md5_hex, md5_of_attributes, Message, System};
use super::{dedup_key, integer, now_ms, queue::DEDUP_WINDOW_MS, queue_name, Queues};
use passo_store::MessagingWrite;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// One message to send, read from SendMessage's input or a batch entry.
struct Outgoing {
    body: String,
    delay: Option<i64>,
    attributes: Map<String, Value>,
    system_attributes: Map<String, Value>,
    size: usize,
    group_id: Option<String>,
    dedup_id: Option<String>,
}

fn read(input: &Value) -> Result<Outgoing, SqsError> {
    let body = super::required(input, "MessageBody")?;
    if body.is_empty() {
        return Err(SqsError::MissingParameter(
            "The request must contain the parameter MessageBody.".into(),
        ));
    }
    // XML 1.0's characters, which is what SQS allows in a body.
    if body.chars().any(|c| {
        !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    }) {
        return Err(SqsError::InvalidParameterValue(
            "Invalid characters found. Valid characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF".into(),
        ));
    }
    let (attributes, attr_size) = check_attributes(input.get("MessageAttributes"), false)?;
    let (system_attributes, _) = check_attributes(input.get("MessageSystemAttributes"), true)?;
    let text = |k: &str| input.get(k).and_then(Value::as_str).map(String::from);
    Ok(Outgoing {
        size: body.len() + attr_size,
        body: body.to_string(),
        delay: integer(input, "DelaySeconds")?,
        attributes,
        system_attributes,
        group_id: text("MessageGroupId"),
        dedup_id: text("MessageDeduplicationId"),
    })
}

/// Accepts one message into `q` (in memory), answering SendMessage's result and the write
/// to commit (none for a duplicate within the deduplication window).
fn accept(
    qs: &Queues,
    q: &mut super::queue::Queue,
    m: Outgoing,
    now: i64,
) -> Result<(Value, Option<MessagingWrite>), SqsError> {
    let max = q.attributes.number("MaximumMessageSize") as usize;
    if m.size > max {
        return Err(SqsError::InvalidParameterValue(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {max} bytes."
        )));
    }
    if let Some(d) = m.delay {
        if q.fifo {
            return Err(SqsError::InvalidParameterValue(format!(
                "Value {d} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."
            )));
        }
        if !(0..=900).contains(&d) {
            return Err(SqsError::InvalidParameterValue(format!(
                "Value {d} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."
            )));
        }
    }
    let mut dedup_id = m.dedup_id.clone();
    if q.fifo {
        if m.group_id.is_none() {
            return Err(SqsError::MissingParameter(
                "The request must contain the parameter MessageGroupId.".into(),
            ));
        }
        if dedup_id.is_none() {
            if !q.attributes.flag("ContentBasedDeduplication") {
                return Err(SqsError::InvalidParameterValue(
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly".into(),
                ));
            }
            let d = Sha256::digest(m.body.as_bytes());
            dedup_id = Some(d.iter().map(|b| format!("{b:02x}")).collect());
        }
    } else if m.dedup_id.is_some() {
        return Err(SqsError::InvalidParameterValue(
            "The request include parameter MessageDeduplicationId that is not valid for this queue type".into(),
        ));
    }
    let seq = qs.seq();
    let mut result = Map::new();
    result.insert("MD5OfMessageBody".into(), md5_hex(m.body.as_bytes()).into());
    if !m.attributes.is_empty() {
        result.insert(
            "MD5OfMessageAttributes".into(),
            md5_of_attributes(&m.attributes).into(),
        );
    }
    if !m.system_attributes.is_empty() {
        result.insert(
            "MD5OfMessageSystemAttributes".into(),
            md5_of_attributes(&m.system_attributes).into(),
        );
    }
    if let Some(d) = &dedup_id {
        let key = dedup_key(q, m.group_id.as_deref(), d);
        if let Some(original) = q.duplicate(&key, now) {
            // Accepted, and not delivered again: the original's id.
            result.insert("MessageId".into(), original.into());
            result.insert("SequenceNumber".into(), format!("{seq:020}").into());
            return Ok((Value::Object(result), None));
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    let delay = m
        .delay
        .unwrap_or_else(|| q.attributes.number("DelaySeconds"));
    let message = Message {
        seq,
        id: id.clone(),
        body: m.body,
        attributes: m.attributes,
        system: System {
            group_id: m.group_id.clone(),
            dedup_id: dedup_id.clone().filter(|_| q.fifo),
            sequence_number: q.fifo.then(|| format!("{seq:020}")),
            trace_header: m
                .system_attributes
                .get("AWSTraceHeader")
                .and_then(|a| a["StringValue"].as_str())
                .map(String::from),
            dead_letter_source: None,
        },
        sent_ms: now,
        visible_ms: now + delay * 1000,
        receive_count: 0,
        first_receive_ms: None,
    };
    if let Some(d) = &message.system.dedup_id {
        let key = dedup_key(q, m.group_id.as_deref(), d);
        q.dedup.insert(key, (now + DEDUP_WINDOW_MS, id.clone()));
    }
    result.insert("MessageId".into(), id.into());
    if let Some(s) = &message.system.sequence_number {
        result.insert("SequenceNumber".into(), s.clone().into());
    }
    let write = MessagingWrite::PutMessage(message.to_row(&q.name));
    q.messages.insert(seq, message);
    q.notify.notify_waiters();
    Ok((Value::Object(result), Some(write)))
}

pub async fn send(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let m = read(input)?;
    let (result, commit) = {
        let mut state = qs.lock();
        let q = state.get_mut(&name).ok_or(SqsError::QueueDoesNotExist)?;
        let (result, write) = accept(qs, q, m, now_ms())?;
        (result, qs.submit(write.into_iter().collect()))
    };
    commit.await?;
    Ok(result)
}

/// The checks every batch call makes on its entries' ids.
pub(crate) fn check_batch(entries: &[Value]) -> Result<(), SqsError> {
    if entries.is_empty() {
        return Err(SqsError::EmptyBatchRequest);
    }
    if entries.len() > 10 {
        return Err(SqsError::TooManyEntriesInBatchRequest(entries.len()));
    }
    let mut seen = HashSet::new();
    for e in entries {
        let id = e["Id"].as_str().unwrap_or_default();
        let valid = !id.is_empty()
            && id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(SqsError::InvalidBatchEntryId);
        }
        if !seen.insert(id) {
            return Err(SqsError::BatchEntryIdsNotDistinct(id.to_string()));
        }
    }
    Ok(())
}

/// A batch entry's failure, as the `Failed` list carries it.
pub(crate) fn failed(id: &str, e: &SqsError) -> Value {
    json!({"Id": id, "SenderFault": e.fault() == "Sender", "Code": e.query_code(), "Message": e.to_string()})
}

pub async fn send_batch(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let entries = input["Entries"].as_array().cloned().unwrap_or_default();
    check_batch(&entries)?;
    let read: Vec<(String, Result<Outgoing, SqsError>)> = entries
        .iter()
        .map(|e| (e["Id"].as_str().unwrap_or_default().to_string(), read(e)))
        .collect();
    let total: usize = read
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().map(|m| m.size))
        .sum();
    let (successful, failures, commit) = {
        let mut state = qs.lock();
        let q = state.get_mut(&name).ok_or(SqsError::QueueDoesNotExist)?;
        let max = q.attributes.number("MaximumMessageSize") as usize;
        if total > max {
            return Err(SqsError::BatchRequestTooLong(format!(
                "Batch requests cannot be longer than {max} bytes. You have sent {total} bytes."
            )));
        }
        let now = now_ms();
        let (mut ok, mut bad, mut writes) = (Vec::new(), Vec::new(), Vec::new());
        for (id, m) in read {
            match m.and_then(|m| accept(qs, q, m, now)) {
                Ok((mut result, write)) => {
                    result["Id"] = id.into();
                    ok.push(result);
                    writes.extend(write);
                }
                Err(e) => bad.push(failed(&id, &e)),
            }
        }
        (ok, bad, qs.submit(writes))
    };
    commit.await?;
    Ok(json!({"Successful": successful, "Failed": failures}))
}
