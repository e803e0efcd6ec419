//! One owner per execution. Every running execution the server holds in memory sits in one
//! slot of one map; whatever touches it (a start, a task's answer, a timer, a stop, a
//! worker taking an activity task, the sweeper) first locks that slot, and the lock hands
//! the copy over in arrival order (tokio's mutex is fair). A slot that leaves the map is
//! marked evicted under its lock, so a waiter that gets it afterwards looks again and loads
//! the execution from the store: there is never a second copy to step.
//!
//! A step is applied, committed, and only then are its effects sent out, all under the lock.
//! The work runs in a task of its own, so a caller that goes away (an HTTP client hanging
//! up) cannot cut a step between its commit and its effects. A commit that fails is retried
//! with back-off: for the server's own events until it commits (they have nobody to hand an
//! error to), for an API caller until its patience runs out, when it gets an error and the
//! in-memory copy is dropped (the store still has every committed step).

use super::active::{answered_task, forget, settle, track, Active};
use super::{codec, timer_writes, update, Runtime};
use crate::error::ApiError;
use passo_engine::{Event, TaskId, TaskPhase};
use passo_store::{StepRow, StoreError, Write};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
pub(crate) struct SlotState {
    pub active: Option<Active>,
    /// Set when the slot left the map: whoever holds it must look again.
    pub evicted: bool,
    /// The fence of the lease this node holds on the execution, when nodes share the
    /// database (see `leases`): every step commits under it.
    pub fence: Option<i64>,
    /// Until when (this node's clock) that lease is surely this node's: what the claim or
    /// the latest commit under it extended it to, counted from when the call was made.
    pub lease_until: i64,
}

pub(crate) type Slot = Arc<tokio::sync::Mutex<SlotState>>;
pub(crate) type Guard = tokio::sync::OwnedMutexGuard<SlotState>;

/// The slots of the executions in memory.
#[derive(Default)]
pub(crate) struct Owners {
    map: Mutex<HashMap<String, Slot>>,
    /// Leases of executions that left memory, to give up (see `leases::run`).
    pub released: Mutex<Vec<(String, i64)>>,
}

impl Owners {
    /// Locks the execution's slot (made empty, to be loaded, when it has none).
    pub async fn lock(&self, arn: &str) -> (Slot, Guard) {
        loop {
            let slot = self
                .map
                .lock()
                .unwrap()
                .entry(arn.to_string())
                .or_default()
                .clone();
            let g = slot.clone().lock_owned().await;
            if !g.evicted {
                return (slot, g);
            }
        }
    }

    /// The execution's slot if it is locked by nobody now (None when busy or absent).
    pub fn try_lock(&self, arn: &str) -> Option<(Slot, Guard)> {
        let slot = self.map.lock().unwrap().get(arn)?.clone();
        let g = slot.clone().try_lock_owned().ok()?;
        (!g.evicted).then_some((slot, g))
    }

    /// Whether the execution has a slot (held in memory, or being loaded or stepped).
    pub fn contains(&self, arn: &str) -> bool {
        self.map.lock().unwrap().contains_key(arn)
    }

    /// Takes the execution out of memory; whoever waits on the slot loads it again.
    // The caller's place is logged (at debug level): which path dropped a copy is what a
    // failed fault test needs to know.
    #[track_caller]
    pub fn evict(&self, arn: &str, slot: &Slot, g: &mut SlotState) {
        tracing::debug!(
            target: "passo::lease",
            "{arn}: evicted (fence {:?}) at {}",
            g.fence,
            std::panic::Location::caller()
        );
        g.active = None;
        g.evicted = true;
        if let Some(fence) = g.fence.take() {
            self.released.lock().unwrap().push((arn.to_string(), fence));
        }
        let mut map = self.map.lock().unwrap();
        if map.get(arn).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            map.remove(arn);
        }
    }

    pub fn len(&self) -> usize {
        self.map.lock().unwrap().len()
    }
}

/// What an event may be applied to (checked under the execution's lock).
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    Anything,
    /// A timer that is still set (a cancelled or fired one is dropped without a step).
    Timer(u64),
    /// A task that is still open, in one of these phases (any when empty).
    Task(TaskId, &'static [TaskPhase]),
}

/// Whether an event was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Applied,
    /// The execution runs, but not what the event answers (a closed task, a stale timer).
    Refused,
    /// The task is open but has not reached the phase the event needs yet (a `.sync`
    /// child's end before the parent recorded the child's start): try again soon.
    NotYet,
    /// No such execution, or it has ended.
    Ended,
    /// Another node holds the execution: the event went to it through the inbox (a
    /// timer is not sent: its owner fires it).
    Forwarded,
}

/// How long a delivery keeps retrying a store that fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// The server's own events (task results, timers, children's ends): until committed.
    Forever,
    /// An API caller's: a while, then an error the caller can retry on.
    Caller,
}

/// How long an API caller waits on a failing store before it is answered with an error.
const CALLER_PATIENCE: Duration = Duration::from_secs(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Back-off between attempts at a failing store, and when to give up.
pub(crate) struct Retry {
    next: Duration,
    until: Option<tokio::time::Instant>,
    pub failures: u32,
}

impl Retry {
    pub fn new(p: Patience) -> Retry {
        Retry {
            next: FIRST_BACKOFF,
            until: (p == Patience::Caller).then(|| tokio::time::Instant::now() + CALLER_PATIENCE),
            failures: 0,
        }
    }

    /// Waits before the next attempt; false when patience has run out.
    pub async fn wait(&mut self, what: &str, e: &StoreError) -> bool {
        self.failures += 1;
        if matches!(e, StoreError::Closed) {
            return false;
        }
        if self
            .until
            .is_some_and(|u| tokio::time::Instant::now() + self.next > u)
        {
            return false;
        }
        if self.failures == 1 || self.failures.is_power_of_two() {
            tracing::warn!("{what}: {e}; retrying (attempt {})", self.failures + 1);
        }
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(MAX_BACKOFF);
        true
    }
}

/// Why a step did not commit.
enum StepError {
    /// A step with this number is already in the store: this copy is stale.
    Stale,
    /// Another node took the execution's lease over: this node must not step it.
    LeaseLost,
    Store(StoreError),
}

/// Whether the (loaded) execution expects the event.
pub(crate) fn expectation(a: &Active, expect: Expect, redrive: bool) -> Delivery {
    match expect {
        _ if a.ex.outcome().is_some() && !redrive => Delivery::Ended,
        Expect::Anything => Delivery::Applied,
        Expect::Timer(t) if a.timers.contains_key(&t) => Delivery::Applied,
        Expect::Task(t, phases) => match a.ex.task_phase(t) {
            Some(p) if phases.is_empty() || phases.contains(&p) => Delivery::Applied,
            Some(TaskPhase::Invoked) if phases.contains(&TaskPhase::Submitted) => Delivery::NotYet,
            _ => Delivery::Refused,
        },
        Expect::Timer(_) => Delivery::Refused,
    }
}

impl Runtime {
    /// Feeds one event to an execution: step, commit, then effects. Events for an execution
    /// that has ended are dropped (a late timer or task result).
    pub async fn deliver(self: &Arc<Self>, arn: &str, event: Event) -> Result<(), ApiError> {
        self.deliver_if(arn, event, Expect::Anything)
            .await
            .map(|_| ())
    }

    /// Feeds one of the server's own events to an execution if it still expects it.
    pub async fn deliver_if(
        self: &Arc<Self>,
        arn: &str,
        event: Event,
        expect: Expect,
    ) -> Result<Delivery, ApiError> {
        self.deliver_with(arn, event, expect, Patience::Forever)
            .await
    }

    /// Feeds an API caller's event (a token's answer, a stop, a worker taking a task).
    pub async fn deliver_for_caller(
        self: &Arc<Self>,
        arn: &str,
        event: Event,
        expect: Expect,
    ) -> Result<Delivery, ApiError> {
        self.deliver_with(arn, event, expect, Patience::Caller)
            .await
    }

    async fn deliver_with(
        self: &Arc<Self>,
        arn: &str,
        event: Event,
        expect: Expect,
        patience: Patience,
    ) -> Result<Delivery, ApiError> {
        let rt = self.clone();
        let arn = arn.to_string();
        let work = tokio::spawn(async move { rt.apply(&arn, event, expect, patience, None).await });
        work.await
            .unwrap_or_else(|e| Err(ApiError::Internal(format!("applying an event: {e}"))))
    }

    /// Applies an event forwarded by another node; its inbox row is deleted with the step
    /// (or when the event will never apply).
    pub(crate) async fn apply_from_inbox(
        self: &Arc<Self>,
        arn: &str,
        event: Event,
        expect: Expect,
        inbox: String,
    ) -> Result<Delivery, ApiError> {
        self.apply(arn, event, expect, Patience::Forever, Some(inbox))
            .await
    }

    async fn apply(
        self: &Arc<Self>,
        arn: &str,
        event: Event,
        expect: Expect,
        patience: Patience,
        inbox: Option<String>,
    ) -> Result<Delivery, ApiError> {
        let redrive = matches!(event, Event::Redrive);
        let mut retry = Retry::new(patience);
        let mut stale = 0;
        loop {
            let (slot, mut g) = self.owners.lock(arn).await;
            let loaded = g.active.is_none();
            let mut took_over = false;
            let a = match g.active.take() {
                Some(a) => a,
                None => match self.load_confirmed(arn, redrive, &mut g).await {
                    Ok(super::leases::Owned::Here(mut a, from)) => {
                        if let Some(from) = from {
                            self.take_over(arn, &mut a, &from, &g);
                            took_over = true;
                        }
                        a
                    }
                    Ok(super::leases::Owned::Missing) => {
                        self.owners.evict(arn, &slot, &mut g);
                        return Ok(Delivery::Ended);
                    }
                    Ok(super::leases::Owned::Elsewhere) => {
                        self.owners.evict(arn, &slot, &mut g);
                        drop(g);
                        if inbox.is_some() {
                            // Left in the inbox for the node that holds it now.
                            return Ok(Delivery::Forwarded);
                        }
                        return self.forward(arn, event, expect, patience).await;
                    }
                    Err(e) => {
                        self.owners.evict(arn, &slot, &mut g);
                        drop(g);
                        let e = StoreError::Commit(e.to_string());
                        if retry.wait(&format!("loading {arn}"), &e).await {
                            continue;
                        }
                        return Err(unavailable(&e));
                    }
                },
            };
            let expected = expectation(&a, expect, redrive);
            if expected != Delivery::Applied {
                // A copy loaded only to refuse a stale event (a parked execution's old
                // timer, a token of a closed task) need not stay in memory. One taken over
                // has just had its tasks sent again: it stays as a committed step's would,
                // holding its lease. Released, it would leave those tasks in flight under no
                // lease, and a node taking it over from a later holder would send them again.
                if took_over {
                    self.after_commit(arn, a, Vec::new(), &slot, &mut g);
                } else if loaded {
                    self.owners.evict(arn, &slot, &mut g);
                } else {
                    g.active = Some(a);
                }
                return Ok(expected);
            }
            // A worker's answer that overtook its TaskStarted (forwarded by the node it
            // polled): the TaskStarted goes first, then this event, next time round.
            let first = match inbox {
                None => self.started_elsewhere(arn, &a, &event),
                Some(_) => None,
            };
            let before = first.is_some();
            let (ev, from_inbox) = match first {
                Some((id, started)) => (started, Some(id)),
                None => (event.clone(), inbox.clone()),
            };
            match self
                .step_locked(arn, a, ev, from_inbox, &slot, &mut g, &mut retry)
                .await
            {
                Ok(()) if before => continue,
                Ok(()) => return Ok(Delivery::Applied),
                // Next time round the event goes to the node that holds it now.
                Err(StepError::LeaseLost) if stale < 3 => stale += 1,
                Err(StepError::LeaseLost) => {
                    return Err(ApiError::ServiceUnavailable(format!(
                        "{arn}: its lease keeps moving between nodes; try again"
                    )))
                }
                Err(StepError::Stale) if stale < 3 => stale += 1,
                Err(StepError::Stale) => {
                    return Err(ApiError::Internal(format!(
                        "{arn}: its steps keep conflicting with the store"
                    )))
                }
                Err(StepError::Store(e)) => return Err(unavailable(&e)),
            }
        }
    }

    /// Applies `event` to the locked execution, commits the step (retrying as `retry`
    /// allows), and sends out its effects.
    #[allow(clippy::too_many_arguments)]
    async fn step_locked(
        self: &Arc<Self>,
        arn: &str,
        mut a: Active,
        event: Event,
        inbox: Option<String>,
        slot: &super::owner::Slot,
        g: &mut SlotState,
        retry: &mut Retry,
    ) -> Result<(), StepError> {
        let redrive = matches!(event, Event::Redrive);
        let now = super::now_ms();
        let event_text = codec::event_text(&event);
        forget(&mut a, &event);
        let fired = match &event {
            Event::TimerFired { timer } => Some(*timer),
            _ => None,
        };
        let answered = answered_task(&event);
        let out_before = a.out();
        let queued = self.queued_activity_tasks(&a);
        let waiting = a.children.clone();
        let runs = a.map_runs();
        let (cmds, events) = a.ex.step(event, now);
        a.seq += 1;
        track(&mut a, &cmds);
        settle(&mut a);
        // Children whose task closed without their answer (the parent stopped, failed, timed
        // out, or a sibling branch failed) are stopped once this step is committed.
        let abandoned: Vec<String> = waiting
            .into_iter()
            .filter(|(t, _)| !a.children.contains_key(t) && answered != Some(*t))
            .map(|(_, (c, _))| c)
            .collect();
        // Map Runs whose Map state stopped waiting are aborted the same way.
        let abandoned_runs: Vec<String> = runs
            .into_iter()
            .filter(|(t, _)| !a.tasks.contains_key(t) && answered != Some(*t))
            .map(|(_, r)| r)
            .collect();
        // The lease check first: its row lock makes a claim by another node wait for
        // this commit.
        let mut writes: Vec<Write> = self.hold(arn, g).into_iter().collect();
        writes.push(Write::AppendStep(StepRow {
            execution_arn: arn.to_string(),
            seq: a.seq,
            now_ms: now,
            event: event_text,
            history: codec::history_text(&events),
            first_event: Some(a.ex.last_event_id() as i64 + 1 - events.len() as i64),
            last_event: Some(a.ex.last_event_id() as i64),
        }));
        if super::snapshot::due(&a) && !a.revision.is_empty() {
            let revision = a.revision.clone();
            writes.extend(super::snapshot::write(arn, &revision, &mut a));
        }
        if let Some(id) = inbox {
            writes.push(Write::DeleteInbox(id));
        }
        if let Some(t) = fired {
            writes.push(Write::DeleteTimer(arn.to_string(), t as i64));
        }
        writes.extend(super::activity_tasks::closed_while_queued(arn, queued, &a));
        timer_writes(arn, &cmds, &mut writes);
        let outcome = a.ex.outcome().cloned();
        let mut u = update(arn, outcome.as_ref(), now, a.pending());
        u.redrive_count = a.ex.redrive_count() as i64;
        u.redrive_ms = redrive.then_some(now);
        let announced = if outcome.is_some() || redrive {
            self.step_status_deliveries(&u, now)
        } else {
            Vec::new()
        };
        writes.extend(announced.iter().cloned().map(Write::InsertDelivery));
        writes.push(Write::UpdateExecution(u));
        // An ended execution leaves memory: its lease is given up with the last step.
        let release = if outcome.is_some() { g.fence } else { None };
        if outcome.is_some() {
            writes.push(Write::DeleteTimers(arn.to_string()));
        }
        if let Some(fence) = release {
            writes.push(self.release_write(arn, fence));
        }
        loop {
            // A commit retried for a while (the database was unreachable) extends the lease
            // from now, not from when the step was made: otherwise it would commit an
            // already run-out lease that another node then claims straight after.
            if let Some(Write::HoldLease(l)) = writes.first_mut() {
                l.expires_ms = self.lease_now() + self.cfg.lease_ms;
                // What the commit that goes through extends it to (its row lock keeps
                // every claim out meanwhile).
                g.lease_until = l.expires_ms;
            }
            match self.db.write(writes.clone()).await {
                Ok(()) => break,
                Err(e @ StoreError::LeaseLost(_)) => {
                    self.lease_lost(arn, &e);
                    // Not this node's to release any more.
                    g.fence = None;
                    self.owners.evict(arn, slot, g);
                    return Err(StepError::LeaseLost);
                }
                Err(StoreError::Conflict) => {
                    // Cannot happen while this is the only copy; if it does, the store is
                    // right: drop the copy and apply the event to what the store holds.
                    tracing::error!("{arn}: step {} is already in the store; reloading", a.seq);
                    self.owners.evict(arn, slot, g);
                    return Err(StepError::Stale);
                }
                Err(e) => {
                    if !retry.wait(&format!("committing a step of {arn}"), &e).await {
                        self.owners.evict(arn, slot, g);
                        return Err(StepError::Store(e));
                    }
                }
            }
        }
        if release.is_some() {
            g.fence = None;
        }
        if !self.confirm_lease(arn, g, retry).await {
            // Committed, but answered so late that another node has taken the execution
            // over meanwhile: its takeover sends what this step started (sending it here
            // too would only invoke the tasks twice).
            self.owners.evict(arn, slot, g);
            return Ok(());
        }
        if retry.failures > 0 {
            tracing::info!(
                "{arn}: step {} committed after {} failures",
                a.seq,
                retry.failures
            );
        }
        self.sweeper.stepped(arn);
        self.metrics.stepped(states_entered(&events));
        if let Some(o) = &outcome {
            self.metrics.finished("STANDARD", o.status.as_str());
        }
        // Tasks this step closed without their answer (a stop, a timeout, a failed sibling)
        // hear it through their stop signal: a job being followed is stopped.
        for t in out_before {
            if answered != Some(t) && a.ex.task_phase(t).is_none() {
                self.inflight.cancel(arn, t);
            }
        }
        self.dispatch(announced);
        for child in &abandoned {
            self.stop_child(child, arn);
        }
        for run in &abandoned_runs {
            self.map_runs.abort(run);
        }
        if let (Some(_), Some(p)) = (&outcome, &a.parent) {
            self.ended(arn, p);
        }
        if outcome.is_some() && is_map_child(&a) {
            self.map_child_ended(arn);
        }
        self.after_commit(arn, a, cmds, slot, g);
        Ok(())
    }
}

/// How many states a step's history events entered.
pub(crate) fn states_entered(events: &[passo_engine::HistoryEvent]) -> u64 {
    events
        .iter()
        .filter(|e| e.kind.ends_with("StateEntered"))
        .count() as u64
}

/// Whether an execution is a Map Run's child (its machine is `PARENT/LABEL`).
pub(crate) fn is_map_child(a: &Active) -> bool {
    a.ex.info().state_machine_name.contains('/')
}

fn unavailable(e: &StoreError) -> ApiError {
    ApiError::ServiceUnavailable(format!("The store could not commit the change: {e}"))
}
