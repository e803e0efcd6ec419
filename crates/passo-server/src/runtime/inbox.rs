//! The inbox: events for an execution another node holds (a token's answer, a stop, a
//! child's end, a task's late answer) are written to the database for that node, which
//! applies each in the same transaction as the step it makes, and deletes it there: an
//! event is applied once, and survives the death of either node (a dead owner's inbox is
//! claimable by everyone once its lease runs out).

use super::owner::{Delivery, Expect, Patience, Retry};
use super::{codec, now_ms, Runtime};
use crate::error::ApiError;
use passo_engine::{Event, TaskPhase};
use passo_store::{InboxRow, StoreError, Write};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Executions whose inbox rows this node is applying now (a poll must not start them
/// twice, nor a later row of the same execution before an earlier one).
#[derive(Default)]
pub(crate) struct Applying(Mutex<HashSet<String>>);

/// How an [`Expect`] is written in an inbox row.
pub(crate) fn expect_text(e: Expect) -> String {
    match e {
        Expect::Anything => "any".into(),
        Expect::Timer(t) => format!("timer:{t}"),
        Expect::Task(t, phases) => {
            let p = match phases {
                [TaskPhase::Invoked] => "invoked",
                [TaskPhase::Submitted] => "submitted",
                _ => "open",
            };
            format!("task:{t}:{p}")
        }
    }
}

pub(crate) fn parse_expect(s: &str) -> Option<Expect> {
    let mut parts = s.split(':');
    Some(match (parts.next()?, parts.next(), parts.next()) {
        ("any", None, None) => Expect::Anything,
        ("timer", Some(t), None) => Expect::Timer(t.parse().ok()?),
        ("task", Some(t), Some(p)) => Expect::Task(
            t.parse().ok()?,
            match p {
                "invoked" => &[TaskPhase::Invoked],
                "submitted" => &[TaskPhase::Submitted],
                _ => &[],
            },
        ),
        _ => return None,
    })
}

impl Runtime {
    /// Sends an event to the node that holds its execution. An API caller is answered now
    /// with what the owner would say (checked on a copy rebuilt from the store; the owner
    /// checks again when it applies the event).
    pub(crate) async fn forward(
        self: &Arc<Self>,
        arn: &str,
        event: Event,
        expect: Expect,
        patience: Patience,
    ) -> Result<Delivery, ApiError> {
        // A timer is its owner's: that node fires it itself.
        if matches!(expect, Expect::Timer(_)) {
            return Ok(Delivery::Forwarded);
        }
        let redrive = matches!(event, Event::Redrive);
        if patience == Patience::Caller {
            match self.load(arn, redrive)? {
                None => return Ok(Delivery::Ended),
                Some(a) => {
                    let d = super::owner::expectation(&a, expect, redrive);
                    if d != Delivery::Applied {
                        return Ok(d);
                    }
                }
            }
        }
        let row = InboxRow {
            id: uuid::Uuid::new_v4().to_string(),
            execution_arn: arn.to_string(),
            event: codec::event_text(&event),
            expect: expect_text(expect),
            created_ms: now_ms(),
        };
        let mut retry = Retry::new(patience);
        loop {
            match self.db.write(vec![Write::PutInbox(row.clone())]).await {
                Ok(()) => break,
                Err(e) => {
                    if !retry
                        .wait(&format!("forwarding an event of {arn}"), &e)
                        .await
                    {
                        return Err(ApiError::ServiceUnavailable(format!(
                            "The store could not take the event: {e}"
                        )));
                    }
                }
            }
        }
        self.metrics.cluster.forwarded.inc();
        Ok(Delivery::Forwarded)
    }

    /// Applies the forwarded events this node may apply now: each once (a poll does not
    /// start one that is still being applied), and those of one execution one after
    /// another in the order they were sent (a worker's TaskStarted, then its answer).
    pub(crate) async fn apply_inbox(self: &Arc<Self>) {
        let Some(shared) = self.db.shared() else {
            return;
        };
        let rows = match shared.inbox(&self.cfg.node_id, self.lease_now(), 1_000) {
            Ok(r) => r,
            Err(e) => return tracing::warn!("reading the inbox: {e}"),
        };
        self.metrics.cluster.inbox_depth.set(rows.len() as i64);
        let mut groups: Vec<(String, Vec<InboxRow>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for row in rows {
            let i = *index.entry(row.execution_arn.clone()).or_insert_with(|| {
                groups.push((row.execution_arn.clone(), Vec::new()));
                groups.len() - 1
            });
            groups[i].1.push(row);
        }
        for (arn, rows) in groups {
            if !self.applying.0.lock().unwrap().insert(arn.clone()) {
                continue;
            }
            let rt = self.clone();
            tokio::spawn(async move {
                for row in &rows {
                    rt.apply_inbox_row(row).await;
                }
                rt.applying.0.lock().unwrap().remove(&arn);
            });
        }
    }

    async fn apply_inbox_row(self: &Arc<Self>, row: &InboxRow) {
        let (Some(event), Some(expect)) =
            (codec::parse_event(&row.event), parse_expect(&row.expect))
        else {
            tracing::error!(
                "{}: an inbox event this Passo cannot read; dropped",
                row.execution_arn
            );
            return self.drop_inbox(&row.id).await;
        };
        let started = match &event {
            Event::TaskStarted { task, .. } => Some(*task),
            _ => None,
        };
        match self
            .apply_from_inbox(&row.execution_arn, event, expect, row.id.clone())
            .await
        {
            Ok(Delivery::Applied) => {
                self.metrics.cluster.inbox_applied.inc();
                if let Some(task) = started {
                    // A worker polling another node has it: this node's queue entry is stale.
                    self.activities.forget(&row.execution_arn, task);
                }
            }
            // Another node claimed it meanwhile; or not yet: left for later.
            Ok(Delivery::Forwarded | Delivery::NotYet) => {}
            Ok(Delivery::Refused | Delivery::Ended) => self.drop_inbox(&row.id).await,
            Err(e) => tracing::warn!("applying a forwarded event of {}: {e}", row.execution_arn),
        }
    }

    /// An inbox event that will never apply (its task closed, its execution ended).
    pub(crate) async fn drop_inbox(&self, id: &str) {
        match self
            .db
            .write(vec![Write::DeleteInbox(id.to_string())])
            .await
        {
            Ok(()) | Err(StoreError::Closed) => {}
            Err(e) => tracing::warn!("dropping an inbox event: {e}"),
        }
    }
}
