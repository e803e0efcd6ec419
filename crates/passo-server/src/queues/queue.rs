//! One queue in memory: its settings and messages, and the pure rules of SQS on them
//! (what a receive may take, FIFO groups and deduplication, retention). Every function
//! takes the time it acts at; persisting the changes is the caller's.

use super::attributes::Attributes;
use super::message::Message;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::Notify;

/// How long SQS remembers a FIFO deduplication id.
pub const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

pub struct Queue {
    pub name: String,
    pub fifo: bool,
    pub attributes: Attributes,
    pub tags: BTreeMap<String, String>,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub messages: BTreeMap<i64, Message>,
    /// FIFO deduplication ids seen in the last five minutes: (scope key) -> (expiry, message id).
    pub dedup: HashMap<String, (i64, String)>,
    /// Woken when a message may have become available (long polls wait on it).
    pub notify: Arc<Notify>,
    pub last_purge_ms: Option<i64>,
}

impl Queue {
    pub fn new(name: &str, attributes: Attributes, now: i64) -> Queue {
        Queue {
            name: name.to_string(),
            fifo: name.ends_with(".fifo"),
            attributes,
            tags: BTreeMap::new(),
            created_ms: now,
            modified_ms: now,
            messages: BTreeMap::new(),
            dedup: HashMap::new(),
            notify: Arc::new(Notify::new()),
            last_purge_ms: None,
        }
    }

    /// The messages whose retention period is over.
    pub fn expired(&self, now: i64) -> Vec<i64> {
        let keep_ms = self.attributes.number("MessageRetentionPeriod") * 1000;
        self.messages
            .values()
            .filter(|m| m.sent_ms + keep_ms <= now)
            .map(|m| m.seq)
            .collect()
    }

    /// The messages a receive of at most `max` may take now, in order. In a FIFO queue a
    /// group with a message in flight gives nothing, and a group gives its messages in order.
    pub fn receivable(&self, now: i64, max: usize) -> Vec<i64> {
        let mut out = Vec::new();
        if !self.fifo {
            for m in self.messages.values() {
                if out.len() == max {
                    break;
                }
                if m.visible_ms <= now {
                    out.push(m.seq);
                }
            }
            return out;
        }
        let mut blocked: HashSet<&str> = self
            .messages
            .values()
            .filter(|m| m.in_flight(now))
            .filter_map(|m| m.system.group_id.as_deref())
            .collect();
        for m in self.messages.values() {
            if out.len() == max {
                break;
            }
            let group = m.system.group_id.as_deref().unwrap_or("");
            if blocked.contains(group) {
                continue;
            }
            if m.visible_ms <= now {
                out.push(m.seq);
            } else {
                // A delayed message holds back the ones after it in its group.
                blocked.insert(group);
            }
        }
        out
    }

    /// A FIFO deduplication key already seen within the window: the original message id.
    pub fn duplicate(&mut self, key: &str, now: i64) -> Option<String> {
        self.dedup.retain(|_, (expires, _)| *expires > now);
        self.dedup.get(key).map(|(_, id)| id.clone())
    }

    /// (visible, in flight, delayed), as the Approximate* attributes count them.
    pub fn counts(&self, now: i64) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for m in self.messages.values() {
            if m.visible_ms <= now {
                c.0 += 1;
            } else if m.receive_count > 0 {
                c.1 += 1;
            } else {
                c.2 += 1;
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queues::message::System;

    fn msg(seq: i64, group: Option<&str>, visible_ms: i64, receive_count: i64) -> Message {
        Message {
            seq,
            id: format!("m{seq}"),
            body: String::new(),
            attributes: Default::default(),
            system: System {
                group_id: group.map(String::from),
                ..Default::default()
            },
            sent_ms: 0,
            visible_ms,
            receive_count,
            first_receive_ms: None,
        }
    }

    #[test]
    fn a_standard_queue_gives_visible_messages_in_order() {
        let mut q = Queue::new("q", Attributes::default(), 0);
        for m in [msg(1, None, 0, 0), msg(2, None, 50, 1), msg(3, None, 0, 0)] {
            q.messages.insert(m.seq, m);
        }
        assert_eq!(q.receivable(10, 10), vec![1, 3]);
        assert_eq!(q.receivable(10, 1), vec![1]);
        assert_eq!(q.receivable(60, 10), vec![1, 2, 3]);
        assert_eq!(q.counts(10), (2, 1, 0));
    }

    #[test]
    fn a_fifo_group_with_a_message_in_flight_gives_nothing() {
        let mut q = Queue::new("q.fifo", Attributes::default(), 0);
        for m in [
            msg(1, Some("a"), 50, 1),
            msg(2, Some("a"), 0, 0),
            msg(3, Some("b"), 0, 0),
            msg(4, Some("b"), 0, 0),
        ] {
            q.messages.insert(m.seq, m);
        }
        assert_eq!(q.receivable(10, 10), vec![3, 4]);
        assert_eq!(q.receivable(60, 10), vec![1, 2, 3, 4]);
    }

    #[test]
    fn messages_past_retention_expire() {
        let mut q = Queue::new("q", Attributes::default(), 0);
        q.messages.insert(1, msg(1, None, 0, 0));
        assert!(q.expired(345_599_999).is_empty());
        assert_eq!(q.expired(345_600_000), vec![1]);
    }
}
