//! Topics and subscriptions: CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes,
//! tags, Subscribe, Unsubscribe, ConfirmSubscription, ListSubscriptions(ByTopic),
//! Get/SetSubscriptionAttributes.

use super::error::SnsError;
use super::filter::Filter;
use super::{required, topic_row, Protocol, Subscription, Topic, Topics};
use crate::runtime::now_ms;
use passo_store::MessagingWrite;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

const TOPIC_ATTRIBUTES: &[&str] = &[
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "FifoTopic",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
    "ArchivePolicy",
    "DataProtectionPolicy",
    "FifoThroughputScope",
];

const SUBSCRIPTION_ATTRIBUTES: &[&str] = &[
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
];

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), String::from);
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn check_topic_attribute(name: &str) -> Result<(), SnsError> {
    if TOPIC_ATTRIBUTES.contains(&name) {
        Ok(())
    } else {
        Err(SnsError::InvalidParameter(format!(
            "Attributes Reason: Unknown attribute {name}"
        )))
    }
}

pub async fn create_topic(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let name = required(input, "Name")?;
    let attributes = string_map(input.get("Attributes"));
    let fifo = attributes.get("FifoTopic").is_some_and(|v| v == "true");
    let base = name.strip_suffix(".fifo").filter(|_| fifo).unwrap_or(name);
    let valid = !base.is_empty()
        && name.len() <= 256
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid || fifo != name.ends_with(".fifo") {
        return Err(SnsError::InvalidParameter(if fifo {
            "Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.".into()
        } else {
            "Topic Name".into()
        }));
    }
    for k in attributes.keys() {
        check_topic_attribute(k)?;
    }
    let arn = ts.arn(name);
    let commit = {
        let mut state = ts.lock();
        if state.topics.contains_key(&arn) {
            return Ok(json!({"TopicArn": arn}));
        }
        let mut tags = BTreeMap::new();
        for t in input["Tags"].as_array().into_iter().flatten() {
            if let (Some(k), Some(v)) = (t["Key"].as_str(), t["Value"].as_str()) {
                tags.insert(k.to_string(), v.to_string());
            }
        }
        let t = Topic {
            arn: arn.clone(),
            name: name.to_string(),
            fifo,
            attributes,
            tags,
            created_ms: now_ms(),
        };
        let commit = ts.submit(vec![MessagingWrite::PutTopic(topic_row(&t))]);
        state.topics.insert(arn.clone(), t);
        commit
    };
    commit.await?;
    Ok(json!({"TopicArn": arn}))
}

pub async fn delete_topic(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let arn = required(input, "TopicArn")?;
    let commit = {
        let mut state = ts.lock();
        // Deleting a topic that does not exist succeeds, as in SNS.
        state.topics.remove(arn);
        state.subscriptions.retain(|_, s| s.topic_arn != arn);
        ts.submit(vec![MessagingWrite::DeleteTopic(arn.to_string())])
    };
    commit.await?;
    Ok(json!({}))
}

/// A page of 100 after the NextToken (the last key of the page before).
fn page<T>(items: Vec<(String, T)>, input: &Value) -> (Vec<T>, Option<String>) {
    let after = input.get("NextToken").and_then(Value::as_str);
    let mut rest: Vec<(String, T)> = items
        .into_iter()
        .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
        .collect();
    let next = (rest.len() > 100).then(|| rest[99].0.clone());
    rest.truncate(100);
    (rest.into_iter().map(|(_, v)| v).collect(), next)
}

fn with_next(mut v: Value, next: Option<String>) -> Value {
    if let Some(n) = next {
        v["NextToken"] = n.into();
    }
    v
}

pub fn list_topics(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let items: Vec<(String, Value)> = ts
        .lock()
        .topics
        .keys()
        .map(|a| (a.clone(), json!({"TopicArn": a})))
        .collect();
    let (topics, next) = page(items, input);
    Ok(with_next(json!({"Topics": topics}), next))
}

pub fn get_topic_attributes(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let arn = required(input, "TopicArn")?;
    let state = ts.lock();
    let t = state
        .topics
        .get(arn)
        .ok_or_else(SnsError::topic_not_found)?;
    let subs: Vec<&Subscription> = state
        .subscriptions
        .values()
        .filter(|s| s.topic_arn == arn)
        .collect();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    out.insert("TopicArn".into(), arn.to_string());
    out.insert("Owner".into(), ts.realm.account.clone());
    out.insert("DisplayName".into(), String::new());
    out.insert(
        "SubscriptionsConfirmed".into(),
        subs.iter().filter(|s| s.confirmed).count().to_string(),
    );
    out.insert(
        "SubscriptionsPending".into(),
        subs.iter().filter(|s| !s.confirmed).count().to_string(),
    );
    out.insert("SubscriptionsDeleted".into(), "0".into());
    out.insert(
        "EffectiveDeliveryPolicy".into(),
        json!({"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3, "numMaxDelayRetries": 0, "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear"}, "disableSubscriptionOverrides": false}}).to_string(),
    );
    if t.fifo {
        out.insert("FifoTopic".into(), "true".into());
        out.insert("ContentBasedDeduplication".into(), "false".into());
    }
    out.extend(t.attributes.clone());
    Ok(json!({ "Attributes": out }))
}

pub async fn set_topic_attributes(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let arn = required(input, "TopicArn")?;
    let name = required(input, "AttributeName")?;
    check_topic_attribute(name)?;
    if name == "FifoTopic" {
        return Err(SnsError::InvalidParameter(
            "Attributes Reason: FifoTopic cannot be changed".into(),
        ));
    }
    let value = input["AttributeValue"].as_str().unwrap_or_default();
    update_topic(ts, arn, SnsError::topic_not_found, |t| {
        t.attributes.insert(name.to_string(), value.to_string());
    })
    .await
}

/// Changes one topic under the lock and commits its row: `{}` once the row is stored.
async fn update_topic(
    ts: &Arc<Topics>,
    arn: &str,
    not_found: impl FnOnce() -> SnsError,
    change: impl FnOnce(&mut Topic),
) -> Result<Value, SnsError> {
    let commit = {
        let mut state = ts.lock();
        let t = state.topics.get_mut(arn).ok_or_else(not_found)?;
        change(t);
        ts.submit(vec![MessagingWrite::PutTopic(topic_row(t))])
    };
    commit.await?;
    Ok(json!({}))
}

fn no_resource() -> SnsError {
    SnsError::NotFound("Resource does not exist".into())
}

pub async fn tag(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let arn = required(input, "ResourceArn")?;
    update_topic(ts, arn, no_resource, |t| {
        for tag in input["Tags"].as_array().into_iter().flatten() {
            if let (Some(k), Some(v)) = (tag["Key"].as_str(), tag["Value"].as_str()) {
                t.tags.insert(k.to_string(), v.to_string());
            }
        }
    })
    .await
}

pub async fn untag(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let arn = required(input, "ResourceArn")?;
    update_topic(ts, arn, no_resource, |t| {
        for k in input["TagKeys"].as_array().into_iter().flatten() {
            if let Some(k) = k.as_str() {
                t.tags.remove(k);
            }
        }
    })
    .await
}

pub fn list_tags(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let arn = required(input, "ResourceArn")?;
    let state = ts.lock();
    let t = state.topics.get(arn).ok_or_else(no_resource)?;
    let tags: Vec<Value> = t
        .tags
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    Ok(json!({ "Tags": tags }))
}

/// Checks a subscription attribute and, for a filter policy, parses it.
fn check_subscription_attribute(
    name: &str,
    value: &str,
    attributes: &BTreeMap<String, String>,
) -> Result<(), SnsError> {
    if !SUBSCRIPTION_ATTRIBUTES.contains(&name) {
        return Err(SnsError::InvalidParameter(format!(
            "AttributeName Reason: Unknown attribute {name}"
        )));
    }
    match name {
        "RawMessageDelivery" if value != "true" && value != "false" => {
            Err(SnsError::InvalidParameter(
                "Attributes Reason: RawMessageDelivery: Invalid value".into(),
            ))
        }
        "FilterPolicy" if !value.is_empty() => Filter::parse(
            value,
            attributes.get("FilterPolicyScope").map(String::as_str),
        )
        .map(|_| ()),
        "FilterPolicyScope" => Filter::parse("{}", Some(value)).map(|_| ()),
        "DeliveryPolicy" | "RedrivePolicy" if serde_json::from_str::<Value>(value).is_err() => Err(
            SnsError::InvalidParameter(format!("Attributes Reason: {name}: not valid JSON")),
        ),
        _ => Ok(()),
    }
}

fn filter_of(attributes: &BTreeMap<String, String>) -> Result<Option<Filter>, SnsError> {
    match attributes.get("FilterPolicy").filter(|p| !p.is_empty()) {
        Some(p) => {
            Filter::parse(p, attributes.get("FilterPolicyScope").map(String::as_str)).map(Some)
        }
        None => Ok(None),
    }
}

pub async fn subscribe(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let topic_arn = required(input, "TopicArn")?;
    let protocol = Protocol::parse(required(input, "Protocol")?)?;
    let endpoint = input["Endpoint"].as_str().unwrap_or_default().to_string();
    let attributes = string_map(input.get("Attributes"));
    for (k, v) in &attributes {
        check_subscription_attribute(k, v, &attributes)?;
    }
    let filter = filter_of(&attributes)?;
    match protocol {
        Protocol::Sqs if !endpoint.starts_with("arn:aws:sqs:") => {
            return Err(SnsError::InvalidParameter(
                "Invalid SQS endpoint ARN".into(),
            ))
        }
        Protocol::Lambda if passo_tasks::lambda::bare_function(&endpoint).is_none() => {
            return Err(SnsError::InvalidParameter(
                "Invalid parameter: Lambda endpoint ARN".into(),
            ))
        }
        Protocol::Http if !endpoint.starts_with("http://") => {
            return Err(SnsError::InvalidParameter(
                "Invalid parameter: Endpoint must match the specified protocol".into(),
            ))
        }
        Protocol::Https if !endpoint.starts_with("https://") => {
            return Err(SnsError::InvalidParameter(
                "Invalid parameter: Endpoint must match the specified protocol".into(),
            ))
        }
        _ => {}
    }
    let return_arn = input["ReturnSubscriptionArn"] == true;
    let http = matches!(protocol, Protocol::Http | Protocol::Https);
    let (sub, commit, confirmation) = {
        let mut state = ts.lock();
        let topic = state
            .topics
            .get(topic_arn)
            .ok_or_else(SnsError::topic_not_found)?;
        if protocol == Protocol::Sqs && topic.fifo && !endpoint.ends_with(".fifo") {
            return Err(SnsError::InvalidParameter(
                "Invalid parameter: Endpoint Reason: FIFO SNS Topics currently only support FIFO SQS Queues as endpoints.".into(),
            ));
        }
        if let Some(s) = state
            .subscriptions
            .values()
            .find(|s| s.topic_arn == topic_arn && s.protocol == protocol && s.endpoint == endpoint)
        {
            let arn = if s.confirmed || return_arn {
                s.arn.clone()
            } else {
                "pending confirmation".into()
            };
            return Ok(json!({"SubscriptionArn": arn}));
        }
        let sub = Subscription {
            arn: format!("{topic_arn}:{}", uuid::Uuid::new_v4()),
            topic_arn: topic_arn.to_string(),
            protocol,
            endpoint,
            attributes,
            // Queues and functions of this account need no confirmation; HTTP endpoints do.
            token: http.then(|| {
                format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                )
            }),
            confirmed: !http,
            created_ms: now_ms(),
            filter,
        };
        // The confirmation is committed with the subscription, so a crash does not lose it.
        let confirmation = super::deliver::confirmation(ts, &sub);
        let mut writes = vec![MessagingWrite::PutSubscription(sub.row())];
        writes.extend(confirmation.clone().map(MessagingWrite::PutTopicDelivery));
        let commit = ts.submit(writes);
        state.subscriptions.insert(sub.arn.clone(), sub.clone());
        (sub, commit, confirmation)
    };
    commit.await?;
    if let Some(row) = confirmation {
        super::deliver::start(ts, row);
    }
    if http {
        let arn = if return_arn {
            sub.arn
        } else {
            "pending confirmation".into()
        };
        return Ok(json!({"SubscriptionArn": arn}));
    }
    Ok(json!({"SubscriptionArn": sub.arn}))
}

pub async fn unsubscribe(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let arn = required(input, "SubscriptionArn")?;
    let commit = {
        let mut state = ts.lock();
        if state.subscriptions.remove(arn).is_none() {
            return Err(SnsError::NotFound("Subscription does not exist".into()));
        }
        ts.submit(vec![MessagingWrite::DeleteSubscription(arn.to_string())])
    };
    commit.await?;
    Ok(json!({}))
}

pub async fn confirm(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let topic_arn = required(input, "TopicArn")?;
    let token = required(input, "Token")?;
    let (arn, commit) = {
        let mut state = ts.lock();
        if !state.topics.contains_key(topic_arn) {
            return Err(SnsError::topic_not_found());
        }
        let s = state
            .subscriptions
            .values_mut()
            .find(|s| s.topic_arn == topic_arn && s.token.as_deref() == Some(token))
            .ok_or_else(|| SnsError::InvalidParameter("Token".into()))?;
        s.confirmed = true;
        s.attributes
            .insert("ConfirmationWasAuthenticated".into(), "false".into());
        (
            s.arn.clone(),
            ts.submit(vec![MessagingWrite::PutSubscription(s.row())]),
        )
    };
    commit.await?;
    Ok(json!({"SubscriptionArn": arn}))
}

fn listed(s: &Subscription, owner: &str) -> Value {
    let arn = if s.confirmed {
        s.arn.clone()
    } else {
        "PendingConfirmation".into()
    };
    json!({"SubscriptionArn": arn, "Owner": owner, "Protocol": s.protocol.name(),
           "Endpoint": s.endpoint, "TopicArn": s.topic_arn})
}

pub fn list_subscriptions(
    ts: &Arc<Topics>,
    input: &Value,
    topic: Option<&str>,
) -> Result<Value, SnsError> {
    let state = ts.lock();
    if let Some(t) = topic {
        if !state.topics.contains_key(t) {
            return Err(SnsError::topic_not_found());
        }
    }
    let items: Vec<(String, Value)> = state
        .subscriptions
        .values()
        .filter(|s| topic.is_none_or(|t| s.topic_arn == t))
        .map(|s| (s.arn.clone(), listed(s, &ts.realm.account)))
        .collect();
    let (subs, next) = page(items, input);
    Ok(with_next(json!({"Subscriptions": subs}), next))
}

pub fn get_subscription_attributes(ts: &Arc<Topics>, input: &Value) -> Result<Value, SnsError> {
    let arn = required(input, "SubscriptionArn")?;
    let state = ts.lock();
    let s = state
        .subscriptions
        .get(arn)
        .ok_or_else(|| SnsError::NotFound("Subscription does not exist".into()))?;
    let mut out = s.attributes.clone();
    for (k, v) in [
        ("SubscriptionArn", s.arn.clone()),
        ("TopicArn", s.topic_arn.clone()),
        ("Protocol", s.protocol.name().to_string()),
        ("Endpoint", s.endpoint.clone()),
        ("Owner", ts.realm.account.clone()),
        ("PendingConfirmation", (!s.confirmed).to_string()),
        ("ConfirmationWasAuthenticated", "true".to_string()),
        ("RawMessageDelivery", s.raw().to_string()),
    ] {
        out.entry(k.to_string()).or_insert(v);
    }
    Ok(json!({ "Attributes": out }))
}

pub async fn set_subscription_attributes(
    ts: &Arc<Topics>,
    input: &Value,
) -> Result<Value, SnsError> {
    let arn = required(input, "SubscriptionArn")?;
    let name = required(input, "AttributeName")?;
    let value = input["AttributeValue"].as_str().unwrap_or_default();
    let commit = {
        let mut state = ts.lock();
        let s = state
            .subscriptions
            .get_mut(arn)
            .ok_or_else(|| SnsError::NotFound("Subscription does not exist".into()))?;
        check_subscription_attribute(name, value, &s.attributes)?;
        let mut attributes = s.attributes.clone();
        if value.is_empty() && name == "FilterPolicy" {
            attributes.remove(name);
        } else {
            attributes.insert(name.to_string(), value.to_string());
        }
        s.filter = filter_of(&attributes)?;
        s.attributes = attributes;
        ts.submit(vec![MessagingWrite::PutSubscription(s.row())])
    };
    commit.await?;
    Ok(json!({}))
}
