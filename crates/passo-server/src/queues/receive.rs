//! ReceiveMessage (with long polling up to 20 s), DeleteMessage, ChangeMessageVisibility and
//! their batches, and the redrive of messages received too often to the dead-letter queue.

use super::error::SqsError;
use super::message::{md5_hex, md5_of_attributes, selected, Message};
use super::receipt::Receipt;
use super::send::{check_batch, failed};
use super::{integer, now_ms, queue_name, required, string_list, Queues};
use passo_store::MessagingWrite;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// What one ReceiveMessage asks for.
struct Ask {
    max: usize,
    visibility: Option<i64>,
    wait_s: Option<i64>,
    system: Vec<String>,
    attributes: Vec<String>,
}

fn ask(input: &Value) -> Result<Ask, SqsError> {
    let max = integer(input, "MaxNumberOfMessages")?.unwrap_or(1);
    if !(1..=10).contains(&max) {
        return Err(SqsError::InvalidParameterValue(format!(
            "Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
        )));
    }
    let visibility = integer(input, "VisibilityTimeout")?;
    if let Some(v) = visibility {
        check_visibility(v)?;
    }
    let wait_s = integer(input, "WaitTimeSeconds")?;
    if let Some(w) = wait_s {
        if !(0..=20).contains(&w) {
            return Err(SqsError::InvalidParameterValue(format!(
                "Value {w} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
            )));
        }
    }
    let mut system = string_list(input, "AttributeNames");
    system.extend(string_list(input, "MessageSystemAttributeNames"));
    Ok(Ask {
        max: max as usize,
        visibility,
        wait_s,
        system,
        attributes: string_list(input, "MessageAttributeNames"),
    })
}

fn check_visibility(v: i64) -> Result<(), SqsError> {
    if (0..=43_200).contains(&v) {
        Ok(())
    } else {
        Err(SqsError::InvalidParameterValue(format!(
            "Value {v} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided."
        )))
    }
}

/// A received message as ReceiveMessage answers it.
fn render(qs: &Queues, queue: &str, m: &Message, ask: &Ask) -> Value {
    let mut out = Map::new();
    out.insert("MessageId".into(), m.id.clone().into());
    let receipt = Receipt {
        queue: queue.to_string(),
        seq: m.seq,
        receive: m.receive_count,
    };
    out.insert("ReceiptHandle".into(), receipt.encode().into());
    out.insert("MD5OfBody".into(), md5_hex(m.body.as_bytes()).into());
    out.insert("Body".into(), m.body.clone().into());
    let system: Map<String, Value> = m
        .system_attributes(&qs.realm.account)
        .into_iter()
        .filter(|(k, _)| ask.system.iter().any(|w| w == "All" || w == k))
        .collect();
    if !system.is_empty() {
        out.insert("Attributes".into(), Value::Object(system));
    }
    let attrs: Map<String, Value> = m
        .attributes
        .iter()
        .filter(|(k, _)| selected(k, &ask.attributes))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !attrs.is_empty() {
        out.insert(
            "MD5OfMessageAttributes".into(),
            md5_of_attributes(&attrs).into(),
        );
        out.insert("MessageAttributes".into(), Value::Object(attrs));
    }
    Value::Object(out)
}

type Commit = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), SqsError>> + Send>>;

/// The messages a receive took, the commit of what it changed, and when the queue next
/// changes by itself.
type Taken = (Vec<Value>, Option<Commit>, Option<i64>);

/// One attempt: the messages taken now (made invisible, counted), messages moved to the
/// dead-letter queue or expired, and when the queue next changes by itself.
fn take(qs: &Queues, name: &str, ask: &Ask, now: i64) -> Result<Taken, SqsError> {
    let mut state = qs.lock();
    let q = state.get_mut(name).ok_or(SqsError::QueueDoesNotExist)?;
    let mut writes = Vec::new();
    for seq in q.expired(now) {
        q.messages.remove(&seq);
        writes.push(MessagingWrite::DeleteMessage {
            queue: name.to_string(),
            seq,
        });
    }
    let redrive = q.attributes.redrive();
    let visibility = ask
        .visibility
        .unwrap_or_else(|| q.attributes.number("VisibilityTimeout"));
    let mut taken = Vec::new();
    let mut dead = Vec::new();
    for seq in q.receivable(now, usize::MAX) {
        if taken.len() == ask.max {
            break;
        }
        let Some(m) = q.messages.get_mut(&seq) else {
            continue;
        };
        if redrive
            .as_ref()
            .is_some_and(|r| m.receive_count >= r.max_receive_count)
        {
            dead.push(seq);
            continue;
        }
        m.receive_count += 1;
        m.first_receive_ms.get_or_insert(now);
        m.visible_ms = now + visibility * 1000;
        writes.push(MessagingWrite::MessageVisibility {
            queue: name.to_string(),
            seq,
            visible_ms: m.visible_ms,
            receive_count: m.receive_count,
            first_receive_ms: m.first_receive_ms,
        });
        taken.push(render(qs, name, m, ask));
    }
    // Messages received maxReceiveCount times go to the dead-letter queue, keeping their
    // id, body and attributes (SQS keeps the original enqueue time too).
    if let (Some(r), false) = (&redrive, dead.is_empty()) {
        let target = r.target_arn.rsplit(':').next().unwrap_or("").to_string();
        let source_arn = qs.arn(name);
        let moved: Vec<Message> = dead.iter().filter_map(|s| q.messages.remove(s)).collect();
        for m in &moved {
            writes.push(MessagingWrite::DeleteMessage {
                queue: name.to_string(),
                seq: m.seq,
            });
        }
        match state.get_mut(&target) {
            Some(dlq) => {
                for mut m in moved {
                    m.seq = qs.seq();
                    m.receive_count = 0;
                    m.first_receive_ms = None;
                    m.visible_ms = now;
                    m.system.dead_letter_source = Some(source_arn.clone());
                    writes.push(MessagingWrite::PutMessage(m.to_row(&target)));
                    dlq.messages.insert(m.seq, m);
                }
                dlq.notify.notify_waiters();
            }
            None => {
                // No dead-letter queue to take them: they stay, as SQS leaves them.
                writes.retain(|w| !matches!(w, MessagingWrite::DeleteMessage { queue, seq } if queue == name && moved.iter().any(|m| m.seq == *seq)));
                let q = state.get_mut(name).ok_or(SqsError::QueueDoesNotExist)?;
                for m in moved {
                    q.messages.insert(m.seq, m);
                }
            }
        }
    }
    let q = state.get(name).ok_or(SqsError::QueueDoesNotExist)?;
    let next = q
        .messages
        .values()
        .map(|m| m.visible_ms)
        .filter(|t| *t > now)
        .min();
    // Queued while the lock is held, so the store sees this receive before any later
    // change to the same messages.
    let commit = (!writes.is_empty()).then(|| Box::pin(qs.submit(writes)) as Commit);
    Ok((taken, commit, next))
}

pub async fn receive(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let ask = ask(input)?;
    let wait_s = match ask.wait_s {
        Some(w) => w,
        None => {
            let state = qs.lock();
            let q = state.get(&name).ok_or(SqsError::QueueDoesNotExist)?;
            q.attributes.number("ReceiveMessageWaitTimeSeconds")
        }
    };
    let deadline = now_ms() + wait_s * 1000;
    loop {
        // Registered before looking, so a message sent in between still wakes this poll.
        let notify = {
            let state = qs.lock();
            let q = state.get(&name).ok_or(SqsError::QueueDoesNotExist)?;
            q.notify.clone()
        };
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = now_ms();
        let (taken, commit, next) = take(qs, &name, &ask, now)?;
        if let Some(c) = commit {
            c.await?;
        }
        if !taken.is_empty() || now >= deadline {
            return Ok(if taken.is_empty() {
                json!({})
            } else {
                json!({ "Messages": taken })
            });
        }
        let until = next.map_or(deadline, |n| n.min(deadline));
        let pause = Duration::from_millis((until - now).max(1) as u64);
        let _ = tokio::time::timeout(pause, notified).await;
    }
}

/// The message a receipt handle names in `name`, if it is the latest receive of it.
fn held<'a>(
    q: &'a mut super::queue::Queue,
    name: &str,
    handle: &str,
) -> Result<Option<&'a mut Message>, SqsError> {
    let r = Receipt::decode(handle)
        .filter(|r| r.queue == name)
        .ok_or_else(|| SqsError::ReceiptHandleIsInvalid(handle.to_string()))?;
    Ok(q.messages
        .get_mut(&r.seq)
        .filter(|m| m.receive_count == r.receive))
}

fn delete_one(qs: &Queues, name: &str, handle: &str) -> Result<Option<MessagingWrite>, SqsError> {
    let mut state = qs.lock();
    let q = state.get_mut(name).ok_or(SqsError::QueueDoesNotExist)?;
    // A handle of an older receive, or of a message already deleted, succeeds and deletes
    // nothing, as in SQS.
    let Some(seq) = held(q, name, handle)?.map(|m| m.seq) else {
        return Ok(None);
    };
    q.messages.remove(&seq);
    Ok(Some(MessagingWrite::DeleteMessage {
        queue: name.to_string(),
        seq,
    }))
}

pub async fn delete(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let handle = required(input, "ReceiptHandle")?;
    let write = delete_one(qs, &name, handle)?;
    qs.submit(write.into_iter().collect()).await?;
    Ok(json!({}))
}

fn change_one(
    qs: &Queues,
    name: &str,
    handle: &str,
    timeout: i64,
) -> Result<MessagingWrite, SqsError> {
    check_visibility(timeout)?;
    let now = now_ms();
    let mut state = qs.lock();
    let q = state.get_mut(name).ok_or(SqsError::QueueDoesNotExist)?;
    let notify = q.notify.clone();
    let m = held(q, name, handle)?
        .filter(|m| m.in_flight(now))
        .ok_or(SqsError::MessageNotInflight)?;
    m.visible_ms = now + timeout * 1000;
    let write = MessagingWrite::MessageVisibility {
        queue: name.to_string(),
        seq: m.seq,
        visible_ms: m.visible_ms,
        receive_count: m.receive_count,
        first_receive_ms: m.first_receive_ms,
    };
    notify.notify_waiters();
    Ok(write)
}

pub async fn change_visibility(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    let handle = required(input, "ReceiptHandle")?;
    let timeout = integer(input, "VisibilityTimeout")?.ok_or_else(|| {
        SqsError::MissingParameter(
            "The request must contain the parameter VisibilityTimeout.".into(),
        )
    })?;
    let write = change_one(qs, &name, handle, timeout)?;
    qs.submit(vec![write]).await?;
    Ok(json!({}))
}

/// Runs `one` for each entry of a batch: its writes, the ids that succeeded and failed.
async fn batch(
    qs: &Queues,
    input: &Value,
    one: impl Fn(&str, &Value) -> Result<Option<MessagingWrite>, SqsError>,
) -> Result<Value, SqsError> {
    let name = queue_name(input)?;
    if !qs.exists(&name) {
        return Err(SqsError::QueueDoesNotExist);
    }
    let entries = input["Entries"].as_array().cloned().unwrap_or_default();
    check_batch(&entries)?;
    let (mut ok, mut bad, mut writes) = (Vec::new(), Vec::new(), Vec::new());
    for e in &entries {
        let id = e["Id"].as_str().unwrap_or_default();
        match one(&name, e) {
            Ok(w) => {
                writes.extend(w);
                ok.push(json!({"Id": id}));
            }
            Err(err) => bad.push(failed(id, &err)),
        }
    }
    qs.submit(writes).await?;
    Ok(json!({"Successful": ok, "Failed": bad}))
}

pub async fn delete_batch(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    batch(qs, input, |name, e| {
        delete_one(qs, name, required(e, "ReceiptHandle")?)
    })
    .await
}

pub async fn change_visibility_batch(qs: &Queues, input: &Value) -> Result<Value, SqsError> {
    batch(qs, input, |name, e| {
        let timeout = integer(e, "VisibilityTimeout")?.unwrap_or(0);
        change_one(qs, name, required(e, "ReceiptHandle")?, timeout).map(Some)
    })
    .await
}
