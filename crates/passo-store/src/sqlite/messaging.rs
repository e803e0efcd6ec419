//! Queues and topics on SQLite: their writes and the reads that load them back at startup.

use crate::messaging::*;
use crate::Result;
use rusqlite::{params, Connection};

pub(super) fn apply(c: &Connection, w: &MessagingWrite) -> Result<()> {
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

pub(super) fn queues(c: &Connection) -> rusqlite::Result<Vec<QueueRow>> {
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

pub(super) fn messages(c: &Connection, queue: &str) -> rusqlite::Result<Vec<QueueMessageRow>> {
    let mut st = c.prepare_cached("SELECT * FROM queue_messages WHERE queue = ?1 ORDER BY seq")?;
    let rows = st.query_map([queue], message_row)?;
    rows.collect()
}

pub(super) fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<QueueMessageRow> {
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
}

pub(super) fn topics(c: &Connection) -> rusqlite::Result<Vec<TopicRow>> {
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

pub(super) fn subscriptions(c: &Connection) -> rusqlite::Result<Vec<SubscriptionRow>> {
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

pub(super) fn topic_deliveries(c: &Connection) -> rusqlite::Result<Vec<TopicDeliveryRow>> {
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
