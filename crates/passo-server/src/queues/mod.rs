//! Passo's own queues: Amazon SQS's API (the JSON protocol the AWS SDKs and CLI speak) over
//! queues kept in memory and in the store.
//!
//! - [`queue`]: one queue and SQS's rules on it (visibility, FIFO groups, retention);
//! - [`message`]: messages, their attributes and SQS's MD5 digests;
//! - [`attributes`]: queue attributes; [`receipt`]: receipt handles;
//! - [`manage`]: queues (create, delete, list, attributes, tags, purge);
//! - [`send`]: SendMessage(Batch); [`receive`]: ReceiveMessage with long polling,
//!   DeleteMessage and ChangeMessageVisibility (and their batches), redrive to a
//!   dead-letter queue;
//! - [`error`]: SQS's errors.
//!
//! Durability: every change is written to the store before the call is answered, in the
//! order the changes were made in memory (`Db::submit` queues them under the lock), so an
//! accepted message survives a crash and a received one reappears once its visibility
//! timeout is over, restart or not.

pub mod attributes;
pub mod error;
pub mod manage;
pub mod message;
pub mod queue;
pub mod receipt;
pub mod receive;
pub mod send;

use crate::arn::Realm;
use crate::local::Tenure;
use error::SqsError;
use message::Message;
use passo_store::{Db, MessagingWrite, Write};
use queue::Queue;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// Every queue of one server (or of one `passo run`).
pub struct Queues {
    db: Db,
    pub realm: Realm,
    /// `http://host:port`, the start of every queue URL (known once the port is bound).
    base_url: RwLock<String>,
    state: Mutex<HashMap<String, Queue>>,
    next_seq: AtomicI64,
    /// The lease these queues are served under (nodes on a shared database).
    tenure: Arc<Tenure>,
}

pub(crate) fn now_ms() -> i64 {
    crate::runtime::now_ms()
}

impl Queues {
    /// Loads the queues and their messages from the store.
    pub fn load(db: Db, realm: Realm, tenure: Arc<Tenure>) -> Result<Queues, SqsError> {
        let mut state = HashMap::new();
        let mut max_seq = 0;
        for row in db.queues()? {
            let given: BTreeMap<String, String> =
                serde_json::from_str(&row.attributes).unwrap_or_default();
            let mut q = Queue::new(&row.name, attributes::Attributes(given), row.created_ms);
            q.modified_ms = row.modified_ms;
            q.tags = serde_json::from_str(&row.tags).unwrap_or_default();
            for m in db.queue_messages(&row.name)? {
                max_seq = max_seq.max(m.seq);
                let m = Message::from_row(m);
                if let Some(id) = &m.system.dedup_id {
                    let key = dedup_key(&q, m.system.group_id.as_deref(), id);
                    q.dedup
                        .insert(key, (m.sent_ms + queue::DEDUP_WINDOW_MS, m.id.clone()));
                }
                q.messages.insert(m.seq, m);
            }
            state.insert(row.name.clone(), q);
        }
        Ok(Queues {
            db,
            realm,
            base_url: RwLock::new("http://127.0.0.1:8080".into()),
            state: Mutex::new(state),
            next_seq: AtomicI64::new(max_seq + 1),
            tenure,
        })
    }

    /// Sets where the server is reached, for the queue URLs it hands out.
    pub fn set_base_url(&self, url: &str) {
        *self.base_url.write().unwrap_or_else(|e| e.into_inner()) =
            url.trim_end_matches('/').to_string();
    }

    pub fn url(&self, name: &str) -> String {
        let base = self.base_url.read().unwrap_or_else(|e| e.into_inner());
        format!("{base}/{}/{name}", self.realm.account)
    }

    pub fn arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sqs:{}:{}:{name}",
            self.realm.region, self.realm.account
        )
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<String, Queue>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn seq(&self) -> i64 {
        self.next_seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues `writes` for commit now (call it while holding the lock, so the store sees the
    /// changes in the order memory did); await the answer after releasing the lock.
    pub(crate) fn submit(
        &self,
        writes: Vec<MessagingWrite>,
    ) -> impl std::future::Future<Output = Result<(), SqsError>> + Send + 'static {
        let fut = self
            .db
            .submit(self.tenure.writes(writes.into_iter().map(Write::Messaging)));
        let tenure = self.tenure.clone();
        async move {
            let r = fut.await;
            tenure.committed(&r);
            r.map_err(SqsError::from)
        }
    }

    /// Runs one SQS operation (as the API model names it) with the JSON protocol's input.
    pub async fn call(&self, operation: &str, input: &Value) -> Result<Value, SqsError> {
        match operation {
            "CreateQueue" => manage::create(self, input).await,
            "DeleteQueue" => manage::delete(self, input).await,
            "GetQueueUrl" => manage::get_url(self, input),
            "ListQueues" => manage::list(self, input),
            "GetQueueAttributes" => manage::get_attributes(self, input),
            "SetQueueAttributes" => manage::set_attributes(self, input).await,
            "TagQueue" => manage::tag(self, input).await,
            "UntagQueue" => manage::untag(self, input).await,
            "ListQueueTags" => manage::list_tags(self, input),
            "PurgeQueue" => manage::purge(self, input).await,
            "ListDeadLetterSourceQueues" => manage::dead_letter_sources(self, input),
            "SendMessage" => send::send(self, input).await,
            "SendMessageBatch" => send::send_batch(self, input).await,
            "ReceiveMessage" => receive::receive(self, input).await,
            "DeleteMessage" => receive::delete(self, input).await,
            "DeleteMessageBatch" => receive::delete_batch(self, input).await,
            "ChangeMessageVisibility" => receive::change_visibility(self, input).await,
            "ChangeMessageVisibilityBatch" => receive::change_visibility_batch(self, input).await,
            other => Err(SqsError::UnsupportedOperation(format!(
                "Passo's queues do not support {other}"
            ))),
        }
    }

    /// Sends `body` to the queue named `name` (SNS's deliveries): the message id.
    pub async fn deliver(
        &self,
        name: &str,
        body: &str,
        attributes: Map<String, Value>,
        group_id: Option<&str>,
        dedup_id: Option<&str>,
    ) -> Result<String, SqsError> {
        let mut input = serde_json::json!({
            "QueueUrl": self.url(name),
            "MessageBody": body,
        });
        if !attributes.is_empty() {
            input["MessageAttributes"] = Value::Object(attributes);
        }
        if let Some(g) = group_id {
            input["MessageGroupId"] = g.into();
        }
        if let Some(d) = dedup_id {
            input["MessageDeduplicationId"] = d.into();
        }
        let out = send::send(self, &input).await?;
        Ok(out["MessageId"].as_str().unwrap_or_default().to_string())
    }

    /// Whether a queue of this name exists.
    pub fn exists(&self, name: &str) -> bool {
        self.lock().contains_key(name)
    }
}

/// The deduplication key of a FIFO message (per group when DeduplicationScope is
/// messageGroup).
pub(crate) fn dedup_key(q: &Queue, group: Option<&str>, id: &str) -> String {
    match q.attributes.0.get("DeduplicationScope").map(String::as_str) {
        Some("messageGroup") => format!("{}\u{0}{id}", group.unwrap_or("")),
        _ => id.to_string(),
    }
}

/// The queue a QueueUrl names: its last path segment (any host, so a URL from AWS or
/// from another Passo names the local queue of that name).
pub(crate) fn queue_name(input: &Value) -> Result<String, SqsError> {
    let url = required(input, "QueueUrl")?;
    let name = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    if name.is_empty() {
        return Err(SqsError::QueueDoesNotExist);
    }
    Ok(name.to_string())
}

/// A required string parameter.
pub(crate) fn required<'a>(input: &'a Value, name: &str) -> Result<&'a str, SqsError> {
    match input.get(name) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(SqsError::MissingParameter(format!(
            "The request must contain the parameter {name}."
        ))),
        Some(_) => Err(SqsError::InvalidParameterValue(format!(
            "Value for parameter {name} must be a string."
        ))),
    }
}

/// An optional integer parameter (the SDKs send numbers; a workflow may give strings).
pub(crate) fn integer(input: &Value, name: &str) -> Result<Option<i64>, SqsError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| invalid_integer(name)),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| invalid_integer(name)),
        Some(_) => Err(invalid_integer(name)),
    }
}

fn invalid_integer(name: &str) -> SqsError {
    SqsError::InvalidParameterValue(format!("Value for parameter {name} must be an integer."))
}

/// An optional map of strings (`Attributes`, `Tags`).
pub(crate) fn string_map(input: &Value, name: &str) -> Result<BTreeMap<String, String>, SqsError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), b.to_string())),
                _ => Err(SqsError::InvalidParameterValue(format!(
                    "Value for {name}.{k} must be a string."
                ))),
            })
            .collect(),
        Some(_) => Err(SqsError::InvalidParameterValue(format!(
            "Value for parameter {name} must be a map."
        ))),
    }
}

/// An optional list of strings.
pub(crate) fn string_list(input: &Value, name: &str) -> Vec<String> {
    input
        .get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
