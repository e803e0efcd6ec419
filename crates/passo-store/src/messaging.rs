//! Queues and topics (Passo's own SQS and SNS): their rows and the writes that change them
//! (each backend stores them; `sqlite/messaging.rs`, `postgres/`).
//!
//! The server keeps the live state in memory and writes every change here before it
//! answers, so a message whose SendMessage was answered survives a crash, and a received
//! message comes back after its visibility timeout across a restart too (its `visible_ms`
//! and receive count are stored with it).

/// A queue: its name (unique in the server's account and region) and settings.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    pub name: String,
    /// The settable attributes (`VisibilityTimeout`, `RedrivePolicy`, ...) as a JSON object
    /// of strings, as SQS's API carries them.
    pub attributes: String,
    /// Tags as a JSON object.
    pub tags: String,
    pub created_ms: i64,
    pub modified_ms: i64,
}

/// A message in a queue. `seq` orders a queue's messages (the order they were accepted).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueMessageRow {
    pub queue: String,
    pub seq: i64,
    pub id: String,
    pub body: String,
    /// MessageAttributes as SendMessage took them (JSON).
    pub attributes: String,
    /// System attributes and FIFO fields (group, deduplication id, trace header) (JSON).
    pub system: String,
    pub sent_ms: i64,
    /// Not visible to ReceiveMessage before this time (delay, or a visibility timeout).
    pub visible_ms: i64,
    pub receive_count: i64,
    pub first_receive_ms: Option<i64>,
}

/// A topic: its ARN, name and settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRow {
    pub arn: String,
    pub name: String,
    /// Settable attributes as a JSON object of strings.
    pub attributes: String,
    pub tags: String,
    pub created_ms: i64,
}

/// A subscription of an endpoint to a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionRow {
    pub arn: String,
    pub topic_arn: String,
    /// `sqs`, `http`, `https`, `lambda`.
    pub protocol: String,
    pub endpoint: String,
    /// FilterPolicy, FilterPolicyScope, RawMessageDelivery, ... (a JSON object of strings).
    pub attributes: String,
    /// The confirmation token an HTTP endpoint must give back (None once confirmed).
    pub token: Option<String>,
    pub confirmed: bool,
    pub created_ms: i64,
}

/// A notification (or subscription confirmation) still to hand to an HTTP endpoint or a
/// function: kept until it is handed over or its retries run out, so a crash does not lose it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicDeliveryRow {
    pub id: String,
    pub subscription_arn: String,
    /// `Notification` or `SubscriptionConfirmation`.
    pub kind: String,
    pub message_id: String,
    /// What is sent: the text POSTed, or the function's event.
    pub body: String,
    pub attempts: i64,
    pub next_ms: i64,
}

/// A change to queues or topics.
#[derive(Debug, Clone)]
pub enum MessagingWrite {
    PutQueue(QueueRow),
    /// Removes the queue and its messages.
    DeleteQueue(String),
    PutMessage(QueueMessageRow),
    /// A message was received (or its visibility changed).
    MessageVisibility {
        queue: String,
        seq: i64,
        visible_ms: i64,
        receive_count: i64,
        first_receive_ms: Option<i64>,
    },
    DeleteMessage {
        queue: String,
        seq: i64,
    },
    PurgeQueue(String),
    PutTopic(TopicRow),
    /// Removes the topic and its subscriptions.
    DeleteTopic(String),
    PutSubscription(SubscriptionRow),
    DeleteSubscription(String),
    PutTopicDelivery(TopicDeliveryRow),
    /// A delivery handed over, or given up: forgotten.
    DeleteTopicDelivery(String),
    /// A failed attempt: (id, attempts so far, when the next is due).
    RetryTopicDelivery(String, i64, i64),
}
