//! The operations on queues themselves: CreateQueue, DeleteQueue, GetQueueUrl, ListQueues,
//! Get/SetQueueAttributes, Tag/Untag/ListQueueTags, PurgeQueue, ListDeadLetterSourceQueues.

use super::attributes::{known, Attributes};
use super::error::SqsError;
use super::queue::Queue;
use super::{integer, now_ms, queue_name, required, string_list, string_map, Queues};
use passo_store::{MessagingWrite, QueueRow};
use serde_json::{json, Map, Value};

fn row(q: &Queue) -> QueueRow {
    QueueRow {
        name: q.name.clone(),
        attributes: json!(q.attributes.0).to_string(),
        tags: json!(q.tags).to_string(),
        created_ms: q.created_ms,
        modified_ms: q.modified_ms,
    }
}

fn check_name(name: &str, fifo: bool) -> Result<(), SqsError> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let ok = !base.is_empty()
        && name.len() <= 80
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok || (name.ends_with(".fifo") && !fifo) {
        return Err(SqsError::InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
                .into(),
        ));
    }
    if fifo && !name.ends_with(".fifo") {
        return Err(SqsError::InvalidParameterValue(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.".into(),
        ));
    }
    Ok(())
}

pub async fn create(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = required(input, "QueueName")?;
    let given = string_map(input, "Attributes")?;
    let tags = string_map(input, "tags")?;
    let fifo = given.get("FifoQueue").is_some_and(|v| v == "true");
    check_name(name, fifo)?;
    let attributes = Attributes::default().merged(&given, fifo)?;
    let commit = {
        let mut state = qs.lock();
        if let Some(q) = state.get(name) {
            // The same name with the same attributes answers the queue; any difference is
            // refused, naming the attribute.
            let have = q.attributes.all(q.fifo);
            let want = attributes.all(fifo);
            if let Some(k) = want.keys().find(|k| have.get(*k) != want.get(*k)) {
                return Err(SqsError::QueueNameExists(format!(
                    "A queue already exists with the same name and a different value for attribute {k}"
                )));
            }
            return Ok(json!({"QueueUrl": qs.url(name)}));
        }
        let mut q = Queue::new(name, attributes, now_ms());
        q.tags = tags;
        let commit = qs.submit(vec![MessagingWrite::PutQueue(row(&q))]);
        state.insert(name.to_string(), q);
        commit
    };
    commit.await?;
    Ok(json!({"QueueUrl": qs.url(name)}))
}

pub async fn delete(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let commit = {
        let mut state = qs.lock();
        let q = state.remove(&name).ok_or(SqsError::QueueDoesNotExist)?;
        q.notify.notify_waiters();
        qs.submit(vec![MessagingWrite::DeleteQueue(name)])
    };
    commit.await?;
    Ok(json!({}))
}

pub fn get_url(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = required(input, "QueueName")?;
    if !qs.lock().contains_key(name) {
        return Err(SqsError::QueueDoesNotExist);
    }
    Ok(json!({"QueueUrl": qs.url(name)}))
}

/// One page of names in order: the page and the token of the next one.
fn page(mut names: Vec<String>, input: &Value) -> Result<(Vec<String>, Option<String>), SqsError> {
    names.sort();
    let max = integer(input, "MaxResults")?;
    if let Some(m) = max {
        if !(1..=1000).contains(&m) {
            return Err(SqsError::InvalidParameterValue(
                "Value for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.".into(),
            ));
        }
    }
    let after = input.get("NextToken").and_then(Value::as_str);
    if let Some(a) = after {
        names.retain(|n| n.as_str() > a);
    }
    match max {
        Some(m) if names.len() > m as usize => {
            names.truncate(m as usize);
            let next = names.last().cloned();
            Ok((names, next))
        }
        _ => Ok((names, None)),
    }
}

fn urls(qs: &Queues, names: Vec<String>, key: &str, next: Option<String>) -> Value {
    let mut out = Map::new();
    if !names.is_empty() {
        let urls: Vec<Value> = names.iter().map(|n| qs.url(n).into()).collect();
        out.insert(key.into(), Value::Array(urls));
    }
    if let Some(n) = next {
        out.insert("NextToken".into(), n.into());
    }
    Value::Object(out)
}

pub fn list(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let prefix = input
        .get("QueueNamePrefix")
        .and_then(Value::as_str)
        .unwrap_or("");
    let names: Vec<String> = qs
        .lock()
        .keys()
        .filter(|n| n.starts_with(prefix))
        .cloned()
        .collect();
    let (names, next) = page(names, input)?;
    Ok(urls(qs, names, "QueueUrls", next))
}

pub fn dead_letter_sources(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let arn = qs.arn(&name);
    let names: Vec<String> = {
        let state = qs.lock();
        if !state.contains_key(&name) {
            return Err(SqsError::QueueDoesNotExist);
        }
        state
            .values()
            .filter(|q| q.attributes.redrive().is_some_and(|r| r.target_arn == arn))
            .map(|q| q.name.clone())
            .collect()
    };
    let (names, next) = page(names, input)?;
    Ok(urls(qs, names, "queueUrls", next))
}

pub fn get_attributes(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let wanted = string_list(input, "AttributeNames");
    let state = qs.lock();
    let q = state.get(&name).ok_or(SqsError::QueueDoesNotExist)?;
    let now = now_ms();
    let (visible, in_flight, delayed) = q.counts(now);
    let mut all = q.attributes.all(q.fifo);
    for (k, v) in [
        ("ApproximateNumberOfMessages", visible.to_string()),
        (
            "ApproximateNumberOfMessagesNotVisible",
            in_flight.to_string(),
        ),
        ("ApproximateNumberOfMessagesDelayed", delayed.to_string()),
        ("CreatedTimestamp", (q.created_ms / 1000).to_string()),
        ("LastModifiedTimestamp", (q.modified_ms / 1000).to_string()),
        ("QueueArn", qs.arn(&name)),
    ] {
        all.insert(k.to_string(), v);
    }
    let mut out = Map::new();
    for w in &wanted {
        if w == "All" {
            out.extend(
                all.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone()))),
            );
        } else if let Some(v) = all.get(w) {
            out.insert(w.clone(), v.clone().into());
        } else if !known(w) {
            return Err(SqsError::InvalidAttributeName(format!(
                "Unknown Attribute {w}."
            )));
        }
    }
    Ok(if out.is_empty() {
        json!({})
    } else {
        json!({ "Attributes": out })
    })
}

pub async fn set_attributes(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let given = string_map(input, "Attributes")?;
    let commit = {
        let mut state = qs.lock();
        let q = state.get_mut(&name).ok_or(SqsError::QueueDoesNotExist)?;
        if given
            .get("FifoQueue")
            .is_some_and(|v| *v != q.fifo.to_string())
        {
            return Err(SqsError::InvalidAttributeValue(
                "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.".into(),
            ));
        }
        q.attributes = q.attributes.merged(&given, q.fifo)?;
        q.modified_ms = now_ms();
        // A shorter visibility or delay may make messages available to long polls.
        q.notify.notify_waiters();
        qs.submit(vec![MessagingWrite::PutQueue(row(q))])
    };
    commit.await?;
    Ok(json!({}))
}

pub async fn tag(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let tags = string_map(input, "Tags")?;
    let commit = {
        let mut state = qs.lock();
        let q = state.get_mut(&name).ok_or(SqsError::QueueDoesNotExist)?;
        q.tags.extend(tags);
        if q.tags.len() > 50 {
            return Err(SqsError::InvalidParameterValue(
                "Too many tags added for queue (the most is 50).".into(),
            ));
        }
        qs.submit(vec![MessagingWrite::PutQueue(row(q))])
    };
    commit.await?;
    Ok(json!({}))
}

pub async fn untag(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let keys = string_list(input, "TagKeys");
    let commit = {
        let mut state = qs.lock();
        let q = state.get_mut(&name).ok_or(SqsError::QueueDoesNotExist)?;
        for k in keys {
            q.tags.remove(&k);
        }
        qs.submit(vec![MessagingWrite::PutQueue(row(q))])
    };
    commit.await?;
    Ok(json!({}))
}

pub fn list_tags(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let state = qs.lock();
    let q = state.get(&name).ok_or(SqsError::QueueDoesNotExist)?;
    Ok(if q.tags.is_empty() {
        json!({})
    } else {
        json!({ "Tags": q.tags })
    })
}

pub async fn purge(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let commit = {
        let mut state = qs.lock();
        let q = state.get_mut(&name).ok_or(SqsError::QueueDoesNotExist)?;
        let now = now_ms();
        if q.last_purge_ms.is_some_and(|t| now - t < 60_000) {
            return Err(SqsError::PurgeQueueInProgress(qs.arn(&name)));
        }
        q.last_purge_ms = Some(now);
        q.messages.clear();
        qs.submit(vec![MessagingWrite::PurgeQueue(name)])
    };
    commit.await?;
    Ok(json!({}))
}
