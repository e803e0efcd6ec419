//! Activity tasks when nodes share a database: a worker polling any node gets them.
//!
//! The node that owns an execution queues its activity task in the `activity_tasks` table
//! (keyed by execution and task, so a re-send after a takeover or a restart queues it once)
//! and then in its own memory ([`crate::activities`]), which wakes its pollers at once. A
//! GetActivityTask looks at its node's own queue first, and claims each task there from the
//! table before handing it (the claim is a `DELETE ... RETURNING`: a task a worker polling
//! another node took is dropped, and the next one tried); with none, it claims the oldest
//! of the activity from the table (`FOR UPDATE SKIP LOCKED`), and while it waits it asks the
//! table again every [`TABLE_POLL`], waking sooner for a local push. The worker's
//! TaskStarted goes to the execution's owner as any event does: applied here when this node
//! holds the execution, else through the inbox.
//!
//! With SQLite (one process) none of this runs: the queue is the memory alone.

use super::active::Active;
use super::inflight::Held;
use super::owner::{Delivery, Expect, Patience, Retry};
use super::{now_ms, Runtime};
use crate::activities::{ActivityTask, Taken};
use crate::error::ApiError;
use passo_engine::{Command, Event, TaskId, TaskPhase};
use passo_store::{ActivityTaskRow, Shared, Write};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often a waiting poller asks the table for a task another node queued.
const TABLE_POLL: Duration = Duration::from_millis(200);

/// How long an open activity task may be found neither queued nor on its way to its owner
/// before the sweeper counts it lost. A worker's node claims the task and then forwards its
/// TaskStarted: for those moments the task is in neither place. Missing for longer, it was
/// claimed by a node that died before it could forward it.
pub(crate) const HANDING_GRACE_MS: i64 = 5_000;

/// Where a poller found a task to claim.
enum Source {
    /// Off this node's queue (a task of an execution this node owns).
    Local(Taken),
    /// The oldest in the table, whichever node queued it.
    Table,
}

/// What one claim came to.
enum Got {
    /// Claimed and started: the worker's.
    Task(ActivityTask),
    /// Taken by another node's worker, or closed while queued: look again at once.
    Skipped,
    /// Nothing queued.
    Empty,
}

impl Runtime {
    /// Queues an activity task for its workers. Clustered, the table first (until it has
    /// it, the task counts as in flight for the sweeper), then this node's queue.
    pub(crate) fn queue_activity(self: &Arc<Self>, activity: &str, task: ActivityTask, held: Held) {
        if !self.clustered() {
            drop(held);
            return self.activities.push(activity, task);
        }
        let row = ActivityTaskRow {
            execution_arn: task.execution_arn.clone(),
            task: task.task as i64,
            activity: activity.to_string(),
            token: task.token.clone(),
            input: task.input.to_string(),
            created_ms: now_ms(),
        };
        let (rt, activity) = (self.clone(), activity.to_string());
        tokio::spawn(async move {
            let mut retry = Retry::new(Patience::Forever);
            loop {
                match rt
                    .db
                    .write(vec![Write::QueueActivityTask(row.clone())])
                    .await
                {
                    Ok(()) => break,
                    Err(e) => {
                        let what = format!("queueing an activity task of {}", row.execution_arn);
                        if !retry.wait(&what, &e).await {
                            return tracing::warn!("{what}: {e}");
                        }
                    }
                }
            }
            rt.activities.push(&activity, task);
            drop(held);
        });
    }

    /// GetActivityTask when nodes share the database: the next task of `activity` from
    /// any node, started for `worker`, waiting until `deadline` for one.
    pub async fn take_shared_activity_task(
        self: &Arc<Self>,
        activity: &str,
        worker: Option<String>,
        deadline: Instant,
    ) -> Result<Option<ActivityTask>, ApiError> {
        let mut wait_until = Instant::now();
        loop {
            let source = match self.activities.pop(activity, wait_until).await {
                Some(taken) => Source::Local(taken),
                None => Source::Table,
            };
            // In a task of its own: a poller whose client hangs up cannot cut it between
            // the claim and the TaskStarted (a task claimed but never started would wait
            // for the sweeper to send it again).
            let (rt, activity_arn, worker) = (self.clone(), activity.to_string(), worker.clone());
            let got =
                tokio::spawn(
                    async move { rt.claim_and_start(&activity_arn, source, worker).await },
                )
                .await
                .unwrap_or_else(|e| {
                    Err(ApiError::Internal(format!(
                        "claiming an activity task: {e}"
                    )))
                })?;
            match got {
                Got::Task(t) => return Ok(Some(t)),
                Got::Skipped => {
                    wait_until = Instant::now();
                    continue;
                }
                Got::Empty => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            wait_until = (now + TABLE_POLL).min(deadline);
        }
    }

    async fn claim_and_start(
        self: &Arc<Self>,
        activity: &str,
        source: Source,
        worker: Option<String>,
    ) -> Result<Got, ApiError> {
        let (row, local) = match source {
            Source::Local(taken) => {
                let (arn, task) = (taken.task().execution_arn.clone(), taken.task().task);
                match self
                    .on_store(move |s| s.claim_activity_task(&arn, task as i64))
                    .await?
                {
                    Some(row) => (row, Some(taken)),
                    None => {
                        // Another node's worker has it.
                        taken.handed();
                        return Ok(Got::Skipped);
                    }
                }
            }
            Source::Table => {
                let activity = activity.to_string();
                match self
                    .on_store(move |s| s.claim_next_activity_task(&activity))
                    .await?
                {
                    Some(row) => (row, None),
                    None => return Ok(Got::Empty),
                }
            }
        };
        let task = ActivityTask {
            execution_arn: row.execution_arn.clone(),
            task: row.task as TaskId,
            token: row.token.clone(),
            input: serde_json::from_str(&row.input).unwrap_or(Value::Null),
        };
        let event = Event::TaskStarted {
            task: task.task,
            worker_name: worker,
        };
        let expect = Expect::Task(task.task, &[TaskPhase::Invoked]);
        let started = self
            .deliver_for_caller(&task.execution_arn, event, expect)
            .await;
        match started {
            Ok(d) => {
                if let Some(t) = local {
                    t.handed();
                }
                // A task that timed out (or whose execution ended) while queued is skipped.
                Ok(match d {
                    Delivery::Applied | Delivery::Forwarded => Got::Task(task),
                    _ => Got::Skipped,
                })
            }
            Err(e) => {
                // Not started: back in the table for the next poller (and the local entry
                // back on its queue as `local` drops).
                if let Err(q) = self.db.write(vec![Write::QueueActivityTask(row)]).await {
                    tracing::warn!(
                        "queueing an activity task of {} again: {q}",
                        task.execution_arn
                    );
                }
                Err(e)
            }
        }
    }

    /// Runs a call of the shared store on a blocking thread: its answer comes over the
    /// network, and pollers must not hold the runtime's threads while they wait for it.
    async fn on_store<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&dyn Shared) -> passo_store::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let rt = self.clone();
        tokio::task::spawn_blocking(move || match rt.db.shared() {
            Some(s) => f(s).map_err(ApiError::from),
            None => Err(ApiError::Internal("no shared database".into())),
        })
        .await
        .unwrap_or_else(|e| Err(ApiError::Internal(format!("a store call: {e}"))))
    }

    /// For the sweeper: whether the invoked task (`cmd`) is out with a worker's queue,
    /// queued or being handed. Clustered, an activity task counts while it is in the table
    /// or on its way to its owner, or for [`HANDING_GRACE_MS`] after it was first found in
    /// neither place.
    pub(crate) fn activity_task_out(&self, arn: &str, task: TaskId, cmd: Option<&Command>) -> bool {
        let Some(shared) = self.db.shared() else {
            return self.activities.holds(arn, task);
        };
        if !is_activity(cmd) {
            return false;
        }
        if self.activities.handing(arn, task) {
            return true;
        }
        // Unknown (the store did not answer): not lost, as far as anyone can tell.
        if shared
            .activity_task_pending(arn, task as i64)
            .unwrap_or(true)
        {
            self.sweeper.found(arn, task);
            return true;
        }
        self.sweeper.missing_since(arn, task, now_ms()) + HANDING_GRACE_MS > now_ms()
    }

    /// Clustered: the forwarded TaskStarted (inbox id, event) of the activity task that
    /// `event` answers, when the task is still only invoked in `a`: a worker got it from
    /// another node, which sent its TaskStarted here through the inbox, and the worker's
    /// answer came straight to this node before the inbox was read. Applied first, so the
    /// history has ActivityStarted before the answer, as AWS's does.
    pub(crate) fn started_elsewhere(
        &self,
        arn: &str,
        a: &Active,
        event: &Event,
    ) -> Option<(String, Event)> {
        let shared = self.db.shared()?;
        let task = match event {
            Event::TaskSucceeded { task, .. }
            | Event::TaskFailed { task, .. }
            | Event::TaskHeartbeat { task } => *task,
            _ => return None,
        };
        if a.ex.task_phase(task) != Some(TaskPhase::Invoked) || !is_activity(a.tasks.get(&task)) {
            return None;
        }
        let rows = shared
            .inbox_of(arn)
            .map_err(|e| tracing::warn!("{arn}: reading its inbox: {e}"))
            .ok()?;
        rows.into_iter()
            .find_map(|r| match crate::codec::parse_event(&r.event) {
                Some(e @ Event::TaskStarted { task: t, .. }) if t == task => {
                    self.activities.forget(arn, task);
                    Some((r.id, e))
                }
                _ => None,
            })
    }

    /// Clustered: the activity tasks of `a` queued in the table (invoked, not yet started),
    /// whose rows a step that closes them must delete.
    pub(crate) fn queued_activity_tasks(&self, a: &Active) -> Vec<TaskId> {
        if !self.clustered() {
            return Vec::new();
        }
        a.tasks
            .iter()
            .filter(|(_, c)| is_activity(Some(c)))
            .map(|(t, _)| *t)
            .collect()
    }
}

/// The deletes of the queued tasks (from [`Runtime::queued_activity_tasks`] before the
/// step) that the step closed: they timed out, or the execution ended or was stopped, and
/// no worker may take them any more.
pub(crate) fn closed_while_queued(arn: &str, queued: Vec<TaskId>, a: &Active) -> Vec<Write> {
    queued
        .into_iter()
        .filter(|t| a.ex.task_phase(*t).is_none())
        .map(|t| Write::DeleteActivityTask(arn.to_string(), t as i64))
        .collect()
}

/// Whether an invocation is an activity task's.
fn is_activity(cmd: Option<&Command>) -> bool {
    matches!(cmd, Some(Command::InvokeTask { resource, .. })
        if super::effects::activity_of(resource).is_some())
}
