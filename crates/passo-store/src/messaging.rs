//! Queues and topics (Passo's own SQS and SNS): their schema, the writes that change them
//! and the reads that load them back at startup.
//!
//! The server keeps the live state in memory and writes every change here before it
//! answers, so a message whose SendMessage was answered survives a crash, and a received
//! message comes back after its visibility timeout across a restart too (its `visible_ms`
//! and receive count are stored with it).

use crate::Result;
use rusqlite::{params, Connection};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queues (
  name TEXT PRIMARY KEY, attributes TEXT NOT NULL, tags TEXT NOT NULL,
  created_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS queue_messages (
  queue TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
  attributes TEXT NOT NULL, system TEXT NOT NULL, sent_ms INTEGER NOT NULL,
  visible_ms INTEGER NOT NULL, receive_count INTEGER NOT NULL, first_receive_ms INTEGER,
  PRIMARY KEY (queue, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topics (
  arn TEXT PRIMARY KEY, name TEXT NOT NULL, attributes TEXT NOT NULL, tags TEXT NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
  arn TEXT PRIMARY KEY, topic_arn TEXT NOT NULL, protocol TEXT NOT NULL,
  endpoint TEXT NOT NULL, attributes TEXT NOT NULL, token TEXT, confirmed INTEGER NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS topic_deliveries (
  id TEXT PRIMARY KEY, subscription_arn TEXT NOT NULL, kind TEXT NOT NULL,
  message_id TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL,
  next_ms INTEGER NOT NULL);
";

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

pub(crate) fn apply(c: &Connection, w: &MessagingWrite) -> Result<()> {
    use MessagingWrite as W;
    match w {
        W::PutQueue(q) => {
            c.prepare_cached("INSERT OR REPLACE INTO queues VALUES (?1,?2,?3,?4,?5)")?
                .execute(params![
                    q.name,
                    q.attributes,
                    q.tags,
                    q.created_ms,
                    q.modified_ms
                ])?;
        }
        W::DeleteQueue(name) => {
            c.prepare_cached("DELETE FROM queues WHERE name = ?1")?
                .execute([name])?;
            c.prepare_cached("DELETE FROM queue_messages WHERE queue = ?1")?
                .execute([name])?;
        }
        W::PutMessage(m) => {
            c.prepare_cached(
                "INSERT OR REPLACE INTO queue_messages VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
            )?
            .execute(params![
                m.queue,
                m.seq,
                m.id,
                m.body,
                m.attributes,
                m.system,
                m.sent_ms,
                m.visible_ms,
                m.receive_count,
                m.first_receive_ms
            ])?;
        }
        W::MessageVisibility {
            queue,
            seq,
            visible_ms,
            receive_count,
            first_receive_ms,
        } => {
            c.prepare_cached(
                "UPDATE queue_messages SET visible_ms = ?3, receive_count = ?4,
                 first_receive_ms = ?5 WHERE queue = ?1 AND seq = ?2",
            )?
            .execute(params![
                queue,
                seq,
                visible_ms,
                receive_count,
                first_receive_ms
            ])?;
        }
        W::DeleteMessage { queue, seq } => {
            c.prepare_cached("DELETE FROM queue_messages WHERE queue = ?1 AND seq = ?2")?
                .execute(params![queue, seq])?;
        }
        W::PurgeQueue(name) => {
            c.prepare_cached("DELETE FROM queue_messages WHERE queue = ?1")?
                .execute([name])?;
        }
        W::PutTopic(t) => {
            c.prepare_cached("INSERT OR REPLACE INTO topics VALUES (?1,?2,?3,?4,?5)")?
                .execute(params![t.arn, t.name, t.attributes, t.tags, t.created_ms])?;
        }
        W::DeleteTopic(arn) => {
            c.prepare_cached("DELETE FROM topics WHERE arn = ?1")?
                .execute([arn])?;
            c.prepare_cached("DELETE FROM subscriptions WHERE topic_arn = ?1")?
                .execute([arn])?;
        }
        W::PutSubscription(s) => {
            c.prepare_cached(
                "INSERT OR REPLACE INTO subscriptions VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            )?
            .execute(params![
                s.arn,
                s.topic_arn,
                s.protocol,
                s.endpoint,
                s.attributes,
                s.token,
                s.confirmed,
                s.created_ms
            ])?;
        }
        W::PutTopicDelivery(d) => {
            c.prepare_cached(
                "INSERT OR REPLACE INTO topic_deliveries VALUES (?1,?2,?3,?4,?5,?6,?7)",
            )?
            .execute(params![
                d.id,
                d.subscription_arn,
                d.kind,
                d.message_id,
                d.body,
                d.attempts,
                d.next_ms
            ])?;
        }
        W::DeleteTopicDelivery(id) => {
            c.prepare_cached("DELETE FROM topic_deliveries WHERE id = ?1")?
                .execute([id])?;
        }
        W::RetryTopicDelivery(id, attempts, next_ms) => {
            c.prepare_cached(
                "UPDATE topic_deliveries SET attempts = ?2, next_ms = ?3 WHERE id = ?1",
            )?
            .execute(params![id, attempts, next_ms])?;
        }
        W::DeleteSubscription(arn) => {
            c.prepare_cached("DELETE FROM subscriptions WHERE arn = ?1")?
                .execute([arn])?;
        }
    }
    Ok(())
}

pub(crate) fn queues(c: &Connection) -> rusqlite::Result<Vec<QueueRow>> {
    let mut st = c.prepare_cached("SELECT * FROM queues ORDER BY created_ms, name")?;
    let rows = st.query_map([], |r| {
        Ok(QueueRow {
            name: r.get(0)?,
            attributes: r.get(1)?,
            tags: r.get(2)?,
            created_ms: r.get(3)?,
            modified_ms: r.get(4)?,
        })
    })?;
    rows.collect()
}

pub(crate) fn messages(c: &Connection, queue: &str) -> rusqlite::Result<Vec<QueueMessageRow>> {
    let mut st = c.prepare_cached("SELECT * FROM queue_messages WHERE queue = ?1 ORDER BY seq")?;
    let rows = st.query_map([queue], |r| {
        Ok(QueueMessageRow {
            queue: r.get(0)?,
            seq: r.get(1)?,
            id: r.get(2)?,
            body: r.get(3)?,
            attributes: r.get(4)?,
            system: r.get(5)?,
            sent_ms: r.get(6)?,
            visible_ms: r.get(7)?,
            receive_count: r.get(8)?,
            first_receive_ms: r.get(9)?,
        })
    })?;
    rows.collect()
}

pub(crate) fn topics(c: &Connection) -> rusqlite::Result<Vec<TopicRow>> {
    let mut st = c.prepare_cached("SELECT * FROM topics ORDER BY created_ms, arn")?;
    let rows = st.query_map([], |r| {
        Ok(TopicRow {
            arn: r.get(0)?,
            name: r.get(1)?,
            attributes: r.get(2)?,
            tags: r.get(3)?,
            created_ms: r.get(4)?,
        })
    })?;
    rows.collect()
}

pub(crate) fn subscriptions(c: &Connection) -> rusqlite::Result<Vec<SubscriptionRow>> {
    let mut st = c.prepare_cached("SELECT * FROM subscriptions ORDER BY created_ms, arn")?;
    let rows = st.query_map([], |r| {
        Ok(SubscriptionRow {
            arn: r.get(0)?,
            topic_arn: r.get(1)?,
            protocol: r.get(2)?,
            endpoint: r.get(3)?,
            attributes: r.get(4)?,
            token: r.get(5)?,
            confirmed: r.get(6)?,
            created_ms: r.get(7)?,
        })
    })?;
    rows.collect()
}

pub(crate) fn topic_deliveries(c: &Connection) -> rusqlite::Result<Vec<TopicDeliveryRow>> {
    let mut st = c.prepare_cached("SELECT * FROM topic_deliveries ORDER BY next_ms, id")?;
    let rows = st.query_map([], |r| {
        Ok(TopicDeliveryRow {
            id: r.get(0)?,
            subscription_arn: r.get(1)?,
            kind: r.get(2)?,
            message_id: r.get(3)?,
            body: r.get(4)?,
            attempts: r.get(5)?,
            next_ms: r.get(6)?,
        })
    })?;
    rows.collect()
}
