//! Passo's own topics: Amazon SNS's API (the query protocol the AWS SDKs and CLI speak) over
//! topics and subscriptions kept in the store, fanning out to Passo's queues, HTTP/HTTPS
//! endpoints and Passo's functions (in Lambda's place).
//!
//! - [`manage`]: topics and subscriptions (create, delete, list, attributes, tags,
//!   confirmation);
//! - [`publish`]: Publish and PublishBatch, the envelope, fan-out;
//! - [`deliver`]: deliveries to HTTP endpoints (with retries and subscription
//!   confirmation) and to functions;
//! - [`filter`]: filter policies; [`error`]: SNS's errors.
//!
//! Deliveries to queues are made before Publish answers, so a message a topic accepted is
//! in its queues' store; deliveries to HTTP endpoints and functions are rows committed
//! before Publish answers and made after it, resumed at start after a crash.

pub mod deliver;
pub mod error;
pub mod filter;
pub mod manage;
pub mod publish;

use crate::arn::Realm;
use crate::local::Tenure;
use crate::queues::Queues;
use error::SnsError;
use passo_store::{Db, MessagingWrite, SubscriptionRow, TopicRow, Write};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

pub struct Topic {
    pub arn: String,
    pub name: String,
    pub fifo: bool,
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Protocol {
    Sqs,
    Http,
    Https,
    Lambda,
}

impl Protocol {
    pub fn parse(s: &str) -> Result<Protocol, SnsError> {
        match s {
            "sqs" => Ok(Protocol::Sqs),
            "http" => Ok(Protocol::Http),
            "https" => Ok(Protocol::Https),
            "lambda" => Ok(Protocol::Lambda),
            "email" | "email-json" | "sms" | "application" | "firehose" => {
                Err(SnsError::InvalidParameter(format!(
                    "Passo's topics do not deliver over {s}: subscribe a queue, an HTTP endpoint or a function"
                )))
            }
            other => Err(SnsError::InvalidParameter(format!(
                "Amazon SNS does not support this protocol string: {other}"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Sqs => "sqs",
            Protocol::Http => "http",
            Protocol::Https => "https",
            Protocol::Lambda => "lambda",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub arn: String,
    pub topic_arn: String,
    pub protocol: Protocol,
    pub endpoint: String,
    pub attributes: BTreeMap<String, String>,
    /// The token an HTTP endpoint confirms with, while it has not.
    pub token: Option<String>,
    pub confirmed: bool,
    pub created_ms: i64,
    pub filter: Option<filter::Filter>,
}

impl Subscription {
    pub fn row(&self) -> SubscriptionRow {
        SubscriptionRow {
            arn: self.arn.clone(),
            topic_arn: self.topic_arn.clone(),
            protocol: self.protocol.name().into(),
            endpoint: self.endpoint.clone(),
            attributes: serde_json::json!(self.attributes).to_string(),
            token: self.token.clone(),
            confirmed: self.confirmed,
            created_ms: self.created_ms,
        }
    }

    pub fn raw(&self) -> bool {
        self.attributes
            .get("RawMessageDelivery")
            .is_some_and(|v| v == "true")
    }
}

#[derive(Default)]
pub struct State {
    pub topics: BTreeMap<String, Topic>,
    pub subscriptions: BTreeMap<String, Subscription>,
}

/// Every topic of one server (or one `passo run`).
pub struct Topics {
    db: Db,
    pub realm: Realm,
    pub queues: Arc<Queues>,
    /// Passo's functions, which `lambda` subscriptions name (set by the host).
    functions: OnceLock<passo_tasks::functions::Functions>,
    pub(crate) http: reqwest::Client,
    base_url: RwLock<String>,
    state: Mutex<State>,
    pub(crate) sequence: AtomicI64,
    /// The lease these topics are served under (nodes on a shared database): deliveries
    /// stop once it ends.
    pub(crate) tenure: Arc<Tenure>,
}

impl Topics {
    pub fn load(
        db: Db,
        realm: Realm,
        queues: Arc<Queues>,
        tenure: Arc<Tenure>,
    ) -> Result<Topics, SnsError> {
        let mut state = State::default();
        for t in db.topics()? {
            state.topics.insert(
                t.arn.clone(),
                Topic {
                    fifo: t.name.ends_with(".fifo"),
                    arn: t.arn,
                    name: t.name,
                    attributes: serde_json::from_str(&t.attributes).unwrap_or_default(),
                    tags: serde_json::from_str(&t.tags).unwrap_or_default(),
                    created_ms: t.created_ms,
                },
            );
        }
        for s in db.subscriptions()? {
            let attributes: BTreeMap<String, String> =
                serde_json::from_str(&s.attributes).unwrap_or_default();
            let filter = attributes.get("FilterPolicy").and_then(|p| {
                filter::Filter::parse(p, attributes.get("FilterPolicyScope").map(String::as_str))
                    .ok()
            });
            let Ok(protocol) = Protocol::parse(&s.protocol) else {
                continue;
            };
            state.subscriptions.insert(
                s.arn.clone(),
                Subscription {
                    arn: s.arn,
                    topic_arn: s.topic_arn,
                    protocol,
                    endpoint: s.endpoint,
                    attributes,
                    token: s.token,
                    confirmed: s.confirmed,
                    created_ms: s.created_ms,
                    filter,
                },
            );
        }
        Ok(Topics {
            db,
            realm,
            queues,
            functions: OnceLock::new(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
            base_url: RwLock::new("http://127.0.0.1:8080".into()),
            state: Mutex::new(state),
            sequence: AtomicI64::new(crate::runtime::now_ms() * 1000),
            tenure,
        })
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    pub fn set_functions(&self, f: passo_tasks::functions::Functions) {
        let _ = self.functions.set(f);
    }

    pub fn functions(&self) -> Option<&passo_tasks::functions::Functions> {
        self.functions.get()
    }

    pub fn set_base_url(&self, url: &str) {
        *self.base_url.write().unwrap_or_else(|e| e.into_inner()) =
            url.trim_end_matches('/').to_string();
    }

    pub fn base_url(&self) -> String {
        self.base_url
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sns:{}:{}:{name}",
            self.realm.region, self.realm.account
        )
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `writes` now (under the lock) and resolves once they are committed.
    pub(crate) fn submit(
        &self,
        writes: Vec<MessagingWrite>,
    ) -> impl std::future::Future<Output = Result<(), SnsError>> + Send + 'static {
        let fut = self
            .db
            .submit(self.tenure.writes(writes.into_iter().map(Write::Messaging)));
        let tenure = self.tenure.clone();
        async move {
            let r = fut.await;
            tenure.committed(&r);
            r.map_err(SnsError::from)
        }
    }

    /// Runs one SNS operation (as the API model names it) on the JSON form of its input.
    pub async fn call(self: &Arc<Self>, operation: &str, input: &Value) -> Result<Value, SnsError> {
        match operation {
            "CreateTopic" => manage::create_topic(self, input).await,
            "DeleteTopic" => manage::delete_topic(self, input).await,
            "ListTopics" => manage::list_topics(self, input),
            "GetTopicAttributes" => manage::get_topic_attributes(self, input),
            "SetTopicAttributes" => manage::set_topic_attributes(self, input).await,
            "TagResource" => manage::tag(self, input).await,
            "UntagResource" => manage::untag(self, input).await,
            "ListTagsForResource" => manage::list_tags(self, input),
            "Subscribe" => manage::subscribe(self, input).await,
            "Unsubscribe" => manage::unsubscribe(self, input).await,
            "ConfirmSubscription" => manage::confirm(self, input).await,
            "ListSubscriptions" => manage::list_subscriptions(self, input, None),
            "ListSubscriptionsByTopic" => {
                let topic = required(input, "TopicArn")?.to_string();
                manage::list_subscriptions(self, input, Some(&topic))
            }
            "GetSubscriptionAttributes" => manage::get_subscription_attributes(self, input),
            "SetSubscriptionAttributes" => manage::set_subscription_attributes(self, input).await,
            "Publish" => publish::publish(self, input).await,
            "PublishBatch" => publish::publish_batch(self, input).await,
            other => Err(SnsError::InvalidParameter(format!(
                "Passo's topics do not support the action {other}"
            ))),
        }
    }
}

pub(crate) fn topic_row(t: &Topic) -> TopicRow {
    TopicRow {
        arn: t.arn.clone(),
        name: t.name.clone(),
        attributes: serde_json::json!(t.attributes).to_string(),
        tags: serde_json::json!(t.tags).to_string(),
        created_ms: t.created_ms,
    }
}

pub(crate) fn required<'a>(input: &'a Value, name: &str) -> Result<&'a str, SnsError> {
    match input.get(name) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(SnsError::InvalidParameter(format!(
            "{name} Reason: no value for required parameter"
        ))),
    }
}
