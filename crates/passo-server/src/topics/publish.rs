//! Publish and PublishBatch: the checks SNS makes, the notification envelope, and fan-out
//! to the topic's confirmed subscriptions whose filter policy passes.

use super::error::SnsError;
use super::{required, Protocol, Subscription, Topics};
use crate::runtime::now_ms;
use passo_store::MessagingWrite;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// One message as published.
#[derive(Debug, Clone)]
pub struct Notification {
    pub id: String,
    pub topic_arn: String,
    pub subject: Option<String>,
    /// The text, or with MessageStructure json, one text per protocol with `default`.
    pub message: Value,
    pub attributes: Map<String, Value>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub sequence_number: Option<String>,
    pub timestamp: String,
}

impl Notification {
    /// The text a subscriber of `protocol` gets.
    pub fn text(&self, protocol: Protocol) -> String {
        match &self.message {
            Value::String(s) => s.clone(),
            v => v[protocol.name()]
                .as_str()
                .or(v["default"].as_str())
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// The envelope SNS delivers to queues (unless raw) and HTTP endpoints. `lambda`: the
    /// `Sns` record of a Lambda event, which spells two keys differently.
    pub fn envelope(&self, protocol: Protocol, base_url: &str, subscription_arn: &str) -> Value {
        let lambda = protocol == Protocol::Lambda;
        let mut e = Map::new();
        e.insert("Type".into(), "Notification".into());
        e.insert("MessageId".into(), self.id.clone().into());
        if let Some(s) = &self.sequence_number {
            e.insert("SequenceNumber".into(), s.clone().into());
        }
        e.insert("TopicArn".into(), self.topic_arn.clone().into());
        if let Some(s) = &self.subject {
            e.insert("Subject".into(), s.clone().into());
        } else if lambda {
            e.insert("Subject".into(), Value::Null);
        }
        e.insert("Message".into(), self.text(protocol).into());
        e.insert("Timestamp".into(), self.timestamp.clone().into());
        // Passo holds no AWS signing certificate: notifications are not signed.
        e.insert("SignatureVersion".into(), "1".into());
        e.insert("Signature".into(), "".into());
        let cert = if lambda {
            "SigningCertUrl"
        } else {
            "SigningCertURL"
        };
        e.insert(cert.into(), "".into());
        let unsub = if lambda {
            "UnsubscribeUrl"
        } else {
            "UnsubscribeURL"
        };
        e.insert(
            unsub.into(),
            format!(
                "{base_url}/?Action=Unsubscribe&SubscriptionArn={}",
                encode(subscription_arn)
            )
            .into(),
        );
        if !self.attributes.is_empty() || lambda {
            let attrs: Map<String, Value> = self
                .attributes
                .iter()
                .map(|(k, a)| {
                    let value = a["StringValue"].as_str().or(a["BinaryValue"].as_str());
                    (k.clone(), json!({"Type": a["DataType"], "Value": value}))
                })
                .collect();
            e.insert("MessageAttributes".into(), Value::Object(attrs));
        }
        Value::Object(e)
    }
}

pub fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn read(
    ts: &Topics,
    topic_arn: &str,
    fifo: bool,
    content_dedup: bool,
    input: &Value,
) -> Result<Notification, SnsError> {
    let message = required(input, "Message")?;
    if message.is_empty() {
        return Err(SnsError::InvalidParameter("Empty message".into()));
    }
    let message = match input["MessageStructure"].as_str() {
        Some("json") => {
            let v: Value = serde_json::from_str(message).map_err(|_| {
                SnsError::InvalidParameter(
                    "Message Structure - JSON message body failed to parse".into(),
                )
            })?;
            if !v["default"].is_string() {
                return Err(SnsError::InvalidParameter(
                    "Message Structure - No default entry in JSON message body".into(),
                ));
            }
            v
        }
        Some(other) => {
            return Err(SnsError::InvalidParameter(format!(
                "MessageStructure: invalid value {other}"
            )))
        }
        None => Value::String(message.to_string()),
    };
    let size = serde_json::to_string(&message).map_or(0, |s| s.len());
    if size > 262_144 {
        return Err(SnsError::InvalidParameter("Message too long".into()));
    }
    let attributes = input["MessageAttributes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (name, a) in &attributes {
        let t = a["DataType"].as_str().unwrap_or_default();
        let ok = if t.starts_with("Binary") {
            a["BinaryValue"].is_string()
        } else if t.starts_with("Number") {
            a["StringValue"]
                .as_str()
                .is_some_and(|s| s.trim().parse::<f64>().is_ok())
        } else if t == "String.Array" {
            a["StringValue"]
                .as_str()
                .is_some_and(|s| serde_json::from_str::<Vec<Value>>(s).is_ok())
        } else {
            t.starts_with("String") && a["StringValue"].is_string()
        };
        if !ok {
            return Err(SnsError::InvalidParameterValue(format!(
                "The message attribute '{name}' has an invalid message attribute type, or a value that does not match it."
            )));
        }
    }
    let text = |k: &str| input[k].as_str().map(String::from);
    let (group_id, mut dedup_id) = (text("MessageGroupId"), text("MessageDeduplicationId"));
    let mut sequence_number = None;
    if fifo {
        if group_id.is_none() {
            return Err(SnsError::InvalidParameter(
                "The MessageGroupId parameter is required for FIFO topics".into(),
            ));
        }
        if dedup_id.is_none() {
            if !content_dedup {
                return Err(SnsError::InvalidParameter(
                    "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly".into(),
                ));
            }
            let d = Sha256::digest(
                serde_json::to_string(&message)
                    .unwrap_or_default()
                    .as_bytes(),
            );
            dedup_id = Some(d.iter().map(|b| format!("{b:02x}")).collect());
        }
        sequence_number = Some(format!(
            "{:020}",
            ts.sequence.fetch_add(1, Ordering::Relaxed)
        ));
    } else if dedup_id.is_some() {
        return Err(SnsError::InvalidParameter(
            "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type".into(),
        ));
    }
    Ok(Notification {
        id: uuid::Uuid::new_v4().to_string(),
        topic_arn: topic_arn.to_string(),
        subject: text("Subject"),
        message,
        attributes,
        group_id,
        dedup_id,
        sequence_number,
        timestamp: chrono::DateTime::from_timestamp_millis(now_ms())
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default(),
    })
}

/// The topic's confirmed subscriptions, and whether it is FIFO with content-based dedup.
fn audience(ts: &Topics, topic_arn: &str) -> Result<(Vec<Subscription>, bool, bool), SnsError> {
    let state = ts.lock();
    let t = state
        .topics
        .get(topic_arn)
        .ok_or_else(SnsError::topic_not_found)?;
    let subs = state
        .subscriptions
        .values()
        .filter(|s| s.topic_arn == topic_arn && s.confirmed)
        .cloned()
        .collect();
    let content = t
        .attributes
        .get("ContentBasedDeduplication")
        .is_some_and(|v| v == "true");
    Ok((subs, t.fifo, content))
}

/// Delivers `n` to every subscription whose filter passes: queues before this returns;
/// HTTP endpoints and functions get a delivery row, committed before this returns and
/// made after it.
async fn fan_out(
    ts: &Arc<Topics>,
    subs: &[Subscription],
    n: &Notification,
) -> Result<(), SnsError> {
    let base = ts.base_url();
    let mut later = Vec::new();
    for s in subs {
        if let Some(f) = &s.filter {
            if !f.matches(&n.text(s.protocol), &n.attributes) {
                continue;
            }
        }
        match s.protocol {
            Protocol::Sqs => {
                let name = s.endpoint.rsplit(':').next().unwrap_or_default();
                let (body, attrs) = if s.raw() {
                    (n.text(s.protocol), n.attributes.clone())
                } else {
                    (
                        n.envelope(s.protocol, &base, &s.arn).to_string(),
                        Map::new(),
                    )
                };
                let sent = ts
                    .queues
                    .deliver(
                        name,
                        &body,
                        attrs,
                        n.group_id.as_deref(),
                        n.dedup_id.as_deref(),
                    )
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(
                        "SNS delivery from {} to queue {name} failed: {e}",
                        n.topic_arn
                    );
                }
            }
            Protocol::Http | Protocol::Https | Protocol::Lambda => {
                later.push(super::deliver::notification(ts, s, n));
            }
        }
    }
    if later.is_empty() {
        return Ok(());
    }
    let writes = later
        .iter()
        .cloned()
        .map(MessagingWrite::PutTopicDelivery)
        .collect();
    ts.submit(writes).await?;
    for row in later {
        super::deliver::start(ts, row);
    }
    Ok(())
}

fn topic_of(input: &Value) -> Result<&str, SnsError> {
    match (input["TopicArn"].as_str(), input["TargetArn"].as_str()) {
        (Some(t), _) | (None, Some(t)) => Ok(t),
        _ if input["PhoneNumber"].is_string() => Err(SnsError::InvalidParameter(
            "Passo's topics do not send SMS".into(),
        )),
        _ => Err(SnsError::InvalidParameter(
            "TopicArn or TargetArn Reason: no value for required parameter".into(),
        )),
    }
}

pub async fn publish(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let topic_arn = topic_of(input)?;
    let (subs, fifo, content) = audience(ts, topic_arn)?;
    let n = read(ts, topic_arn, fifo, content, input)?;
    fan_out(ts, &subs, &n).await?;
    let mut out = json!({"MessageId": n.id});
    if let Some(s) = &n.sequence_number {
        out["SequenceNumber"] = s.clone().into();
    }
    Ok(out)
}

pub async fn publish_batch(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let topic_arn = required(input, "TopicArn")?;
    let entries = input["PublishBatchRequestEntries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if entries.is_empty() {
        return Err(SnsError::EmptyBatchRequest);
    }
    if entries.len() > 10 {
        return Err(SnsError::TooManyEntriesInBatchRequest);
    }
    let mut ids = HashSet::new();
    for e in &entries {
        let id = e["Id"].as_str().unwrap_or_default();
        let valid = !id.is_empty()
            && id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(SnsError::InvalidBatchEntryId);
        }
        if !ids.insert(id.to_string()) {
            return Err(SnsError::BatchEntryIdsNotDistinct);
        }
    }
    let (subs, fifo, content) = audience(ts, topic_arn)?;
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for e in &entries {
        let id = e["Id"].as_str().unwrap_or_default();
        match read(ts, topic_arn, fifo, content, e) {
            Ok(n) => {
                fan_out(ts, &subs, &n).await?;
                let mut r = json!({"Id": id, "MessageId": n.id});
                if let Some(s) = &n.sequence_number {
                    r["SequenceNumber"] = s.clone().into();
                }
                ok.push(r);
            }
            Err(err) => failed.push(json!({"Id": id, "Code": err.code(), "Message": err.to_string(), "SenderFault": true})),
        }
    }
    Ok(json!({"Successful": ok, "Failed": failed}))
}
