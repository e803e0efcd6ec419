//! Several nodes on one database: which node owns which Standard execution.
//!
//! Any node answers any API call, but only the node holding an execution's lease holds it
//! in memory and steps it (Express executions share nothing and need none). The rules:
//!
//! - A node claims the lease before it loads an execution (`load_owned`) and every step it
//!   commits carries `Write::HoldLease` with the lease's fence: a node whose lease was
//!   taken over can never commit another step (the store refuses it with `LeaseLost`, and
//!   the node drops its copy).
//! - An execution leaves memory with its lease given up (released), so a parked execution
//!   is owned by nobody: whichever node its timer or its answer reaches claims it.
//! - An event for an execution another node holds goes to that node through the inbox
//!   (`inbox.rs`); a timer is not forwarded: its owner fires it.
//! - A node renews its leases every third of their time to live. A node that stops
//!   renewing (killed, or cut off from the database) loses them when they run out; the
//!   others find them (`expired_leases`), claim them and send again the tasks the dead
//!   node had out (in-flight work is at-least-once; committed steps never run again).
//!
//! With SQLite (one process) none of this runs: `Db::shared` is None.

use super::active::Active;
use super::owner::SlotState;
use super::{now_ms, Runtime};
use crate::error::ApiError;
use passo_store::{Claim, LeaseRow, StoreError, Write};
use std::sync::Arc;
use std::time::Duration;

/// An execution as a node may hold it.
// Returned and taken apart at once: boxing the copy would only add an allocation per load.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Owned {
    /// Loaded, and this node holds its lease; `from` names the node whose run-out lease
    /// this node took over (its tasks in flight must be sent again: [`Runtime::take_over`]).
    Here(Active, Option<String>),
    /// No such execution, or it has ended.
    Missing,
    /// Another node holds it.
    Elsewhere,
}

impl Runtime {
    /// Whether this node shares its database with others (leases are on).
    pub fn clustered(&self) -> bool {
        self.db.shared().is_some()
    }

    /// Now on the leases' clock ([`super::lease_now`]).
    pub(crate) fn lease_now(&self) -> i64 {
        super::lease_now(&self.db)
    }

    /// Claims the execution's lease (when clustered) and loads it.
    pub(crate) fn load_owned(
        &self,
        arn: &str,
        finished_too: bool,
        g: &mut SlotState,
    ) -> Result<Owned, ApiError> {
        let mut from = None;
        if let Some(shared) = self.db.shared() {
            let now = self.lease_now();
            match shared.claim(arn, &self.cfg.node_id, now, self.cfg.lease_ms)? {
                Claim::Held { fence, from: f } => {
                    tracing::debug!(target: "passo::lease", "{arn}: claimed (fence {fence}, from {f:?}, asked at {now}, answered after {} ms)", self.lease_now() - now);
                    g.fence = Some(fence);
                    g.lease_until = now + self.cfg.lease_ms;
                    from = f;
                }
                Claim::Busy { node, expires_ms } => {
                    tracing::debug!(target: "passo::lease", "{arn}: held by {node} until {expires_ms}");
                    return Ok(Owned::Elsewhere);
                }
            }
        }
        Ok(match self.load(arn, finished_too)? {
            Some(a) => Owned::Here(a, from),
            None => Owned::Missing,
        })
    }

    /// [`Runtime::load_owned`], and when the claim was answered late (it waited on the row
    /// lock of a cut-off node's commit), the lease confirmed before anything is sent under
    /// it: a lease lost meanwhile makes the execution another node's.
    pub(crate) async fn load_confirmed(
        &self,
        arn: &str,
        finished_too: bool,
        g: &mut SlotState,
    ) -> Result<Owned, ApiError> {
        let owned = self.load_owned(arn, finished_too, g)?;
        if matches!(owned, Owned::Here(..)) {
            let mut retry = super::owner::Retry::new(super::owner::Patience::Caller);
            if !self.confirm_lease(arn, g, &mut retry).await {
                return Ok(Owned::Elsewhere);
            }
        }
        Ok(owned)
    }

    /// The lease check a step of the (locked) execution commits with, if clustered.
    pub(crate) fn hold(&self, arn: &str, g: &SlotState) -> Option<Write> {
        g.fence.map(|fence| {
            Write::HoldLease(LeaseRow {
                key: arn.to_string(),
                node: Some(self.cfg.node_id.clone()),
                fence,
                expires_ms: self.lease_now() + self.cfg.lease_ms,
            })
        })
    }

    /// The lease a new execution starts under (fence 1), if clustered.
    pub(crate) fn new_lease(&self, arn: &str) -> Option<Write> {
        self.clustered().then(|| {
            Write::NewLease(LeaseRow {
                key: arn.to_string(),
                node: Some(self.cfg.node_id.clone()),
                fence: 1,
                expires_ms: self.lease_now() + self.cfg.lease_ms,
            })
        })
    }

    /// Gives up this node's lease on `arn` taken under `fence` (nothing happens when
    /// another node, or a newer claim of this one, holds it now).
    pub(crate) fn release_write(&self, arn: &str, fence: i64) -> Write {
        Write::ReleaseLease(LeaseRow {
            key: arn.to_string(),
            node: Some(self.cfg.node_id.clone()),
            fence,
            expires_ms: 0,
        })
    }

    /// Whether this node may send effects under the lease of the (locked) execution: a
    /// committed step's, or a takeover's. Yes while a good part of the lease's time is
    /// surely left (`g.lease_until`). Once less is (the commit or the claim was answered
    /// late: a node cut off mid-commit hears of it only when it is back; a node back from
    /// a cut commits the backlog its writer queued meanwhile; a claim waited on a row lock;
    /// the node is too busy), sending could race the takeover of another node that sends
    /// them too. So the lease is first extended under its fence, straight to the database
    /// (not behind the writer's queue), and counted only if that answer came quickly: if
    /// another node holds the lease now, this node gives its copy up and leaves the effects
    /// to it. A database too slow to be sure of after a few tries, or unreachable past
    /// `retry`'s patience, gets the effects sent anyway: at least once, never stranded.
    pub(crate) async fn confirm_lease(
        &self,
        arn: &str,
        g: &mut SlotState,
        retry: &mut super::owner::Retry,
    ) -> bool {
        let margin = self.send_margin_ms();
        let (Some(fence), Some(shared)) = (g.fence, self.db.shared()) else {
            return true;
        };
        if g.lease_until > self.lease_now() + margin {
            return true;
        }
        let mut slow = 0;
        loop {
            let asked = self.lease_now();
            match shared.extend(arn, &self.cfg.node_id, fence, asked + self.cfg.lease_ms) {
                Ok(true) if self.lease_now() - asked < margin => {
                    g.lease_until = asked + self.cfg.lease_ms;
                    return true;
                }
                // Held, but answered too late to count on: ask again.
                Ok(true) => {
                    slow += 1;
                    if slow == 3 {
                        tracing::warn!("{arn}: the database answers too slowly to be sure of its lease; sending its effects anyway");
                        return true;
                    }
                }
                Ok(false) => {
                    tracing::debug!(target: "passo::lease", "{arn}: not extended (fence {fence})");
                    self.metrics.cluster.lost.inc();
                    tracing::warn!("{arn}: its step committed late, and another node holds it now; leaving its effects to that node");
                    g.fence = None;
                    return false;
                }
                Err(e) => {
                    if !retry
                        .wait(&format!("confirming the lease of {arn}"), &e)
                        .await
                    {
                        return true;
                    }
                }
            }
        }
    }

    /// How much of its lease an execution must have left for this node to send effects
    /// under it: a third of the lease's time, what one late renewal can cost.
    fn send_margin_ms(&self) -> i64 {
        self.cfg.lease_ms / 3
    }

    /// An execution this node took over from `from`, whose lease ran out: sends again
    /// what it had out (tasks, followed jobs) and asks its children how they are.
    pub(crate) fn take_over(
        self: &Arc<Self>,
        arn: &str,
        a: &mut Active,
        from: &str,
        g: &SlotState,
    ) {
        self.metrics.cluster.taken_over.inc();
        let tasks: Vec<_> = a.tasks.values().cloned().collect();
        tracing::info!(
            "{arn}: taken over from node {from} (its lease ran out; fence {}); sending {} tasks again",
            g.fence.unwrap_or_default(),
            tasks.len()
        );
        for c in tasks {
            self.send_task(arn, a, c);
        }
        // Its timers due soon sat in the dead node's memory: into this one's.
        let soon = now_ms() + super::LOOKAHEAD_MS;
        for (timer, at) in a.timers.iter().filter(|(_, at)| **at <= soon) {
            self.timers.push(passo_store::TimerRow {
                fire_at_ms: *at,
                execution_arn: arn.to_string(),
                timer_id: *timer as i64,
            });
        }
        self.resume_jobs(arn, a.jobs_out());
        let children: Vec<_> = a
            .children
            .iter()
            .map(|(t, (c, p))| (*t, c.clone(), *p))
            .collect();
        if !children.is_empty() {
            let (rt, arn) = (self.clone(), arn.to_string());
            tokio::spawn(async move {
                for (task, child, pattern) in children {
                    rt.check_child(&arn, task, &child, pattern).await;
                }
            });
        }
    }

    /// Executions whose owner's lease ran out: claim and resume each.
    async fn take_over_expired(self: &Arc<Self>) {
        let Some(shared) = self.db.shared() else {
            return;
        };
        let expired = match shared.expired_leases(&self.cfg.node_id, self.lease_now(), 500) {
            Ok(e) => e,
            Err(e) => return tracing::warn!("looking for expired leases: {e}"),
        };
        // Within a budget, so the inbox and releases wait no longer than a renewal's time;
        // the next scan takes the rest.
        let budget = tokio::time::Instant::now()
            + Duration::from_millis(self.send_margin_ms().max(100) as u64);
        for lease in expired {
            if tokio::time::Instant::now() > budget {
                break;
            }
            // Not an execution's (the queues and topics: `messaging_lease` takes it over).
            if !lease.key.starts_with("arn:") {
                continue;
            }
            let arn = lease.key;
            let (slot, mut g) = self.owners.lock(&arn).await;
            if g.active.is_some() {
                continue;
            }
            match self.load_confirmed(&arn, false, &mut g).await {
                Ok(Owned::Here(mut a, from)) => {
                    if let Some(from) = from {
                        self.take_over(&arn, &mut a, &from, &g);
                    }
                    self.after_commit(&arn, a, Vec::new(), &slot, &mut g);
                }
                Ok(Owned::Missing | Owned::Elsewhere) => self.owners.evict(&arn, &slot, &mut g),
                Err(e) => {
                    self.owners.evict(&arn, &slot, &mut g);
                    tracing::warn!("taking over {arn}: {e}");
                }
            }
        }
    }

    /// Gives up the leases of executions that left memory.
    async fn release_evicted(&self) {
        let released: Vec<(String, i64)> =
            std::mem::take(&mut *self.owners.released.lock().unwrap());
        if released.is_empty() {
            return;
        }
        tracing::debug!(target: "passo::lease", "releasing {released:?}");
        let writes = released
            .iter()
            .map(|(key, fence)| self.release_write(key, *fence))
            .collect();
        // A release that does not commit only costs time: the lease runs out instead.
        if let Err(e) = self.db.write(writes).await {
            tracing::warn!("releasing leases: {e}");
        }
    }

    /// A commit refused because another node holds the lease now.
    pub(crate) fn lease_lost(&self, arn: &str, e: &StoreError) {
        self.metrics.cluster.lost.inc();
        tracing::warn!("{arn}: {e}; dropping this node's copy");
    }
}

/// The lease keeper of a node on a shared database (run it as a task): renews leases,
/// releases the ones of executions that left memory, applies forwarded events, and takes
/// over executions whose owner stopped renewing. Polls: nothing here needs NOTIFY.
pub async fn run(rt: Arc<Runtime>) {
    if !rt.clustered() {
        return;
    }
    let renew_every = Duration::from_millis((rt.cfg.lease_ms / 3).max(50) as u64);
    let scan_every = Duration::from_millis((rt.cfg.lease_ms / 2).clamp(100, 2_000) as u64);
    let tick = Duration::from_millis(100);
    // Renewals keep a thread of their own (see `renew`).
    let keeper = Arc::downgrade(&rt);
    let spawned = std::thread::Builder::new()
        .name("passo-lease-renewal".into())
        .spawn(move || renew(keeper, renew_every));
    if let Err(e) = spawned {
        tracing::error!("starting the lease renewal: {e}");
    }
    let start = tokio::time::Instant::now();
    let (mut last_scan, mut last_catalog) = (start, start);
    loop {
        tokio::time::sleep(tick).await;
        rt.release_evicted().await;
        rt.apply_inbox().await;
        let now = tokio::time::Instant::now();
        if now - last_scan >= scan_every {
            last_scan = now;
            rt.take_over_expired().await;
            rt.take_over_deliveries();
        }
        if now - last_catalog >= Duration::from_secs(1) {
            last_catalog = now;
            if let Err(e) = rt.catalog.refresh() {
                tracing::warn!("reading other nodes' machines: {e}");
            }
            if let Err(e) = rt.bus.reload(&rt.db, now_ms()) {
                tracing::warn!("reading other nodes' rules: {e}");
            }
            if let Err(e) = rt.scheduler.reload(&rt.db, &rt.cfg.realm) {
                tracing::warn!("reading other nodes' schedules: {e}");
            }
            if let Err(e) = rt.webhooks.reload(&rt.db, &rt.cfg.realm) {
                tracing::warn!("reading other nodes' webhooks: {e}");
            }
            if let Some(fns) = rt.functions() {
                if let Err(e) = crate::api::functions::refresh(&rt.db, fns) {
                    tracing::warn!("reading other nodes' functions: {e}");
                }
            }
        }
    }
}

/// Extends every lease this node holds, every `every`, on a thread of its own: the store's
/// reads block the async workers that make them, and a burst of them (hundreds of
/// executions loaded in a takeover, with API calls) can hold every worker for longer than
/// a lease, which must not let this node's leases run out. Ends with the runtime.
fn renew(rt: std::sync::Weak<Runtime>, every: Duration) {
    loop {
        std::thread::sleep(every);
        let Some(rt) = rt.upgrade() else { return };
        let shared = rt.db.shared().expect("clustered");
        let began = rt.lease_now();
        let renewed = shared.renew(&rt.cfg.node_id, began + rt.cfg.lease_ms);
        let took = rt.lease_now() - began;
        if took > rt.cfg.lease_ms / 3 {
            // The leases run out a third of their time sooner than renewals expect.
            tracing::warn!("renewing leases took {took} ms (the database is slow to answer)");
        }
        match renewed {
            Ok(n) => {
                rt.metrics.cluster.leases_renewed.set(n as i64);
            }
            Err(passo_store::StoreError::Closed) => return,
            Err(e) => tracing::warn!("renewing leases: {e}"),
        };
    }
}
