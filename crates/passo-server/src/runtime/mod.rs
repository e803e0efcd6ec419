//! Drives Standard executions durably: every step's history and state are committed before
//! its effects (task invocations, timers) go out; an execution that only waits on a distant
//! timer is dropped from memory and rebuilt from its steps when the timer fires.
//!
//! - [`owner`]: the one in-memory owner of each execution, and how events are applied.
//! - [`effects`]: what a committed step sends out.
//! - [`replay`]: rebuilding an execution from the store; recovery after a restart.
//! - [`sweeper`]: finds executions that nothing can move on, and recovers them.
//! - [`leases`] and [`inbox`]: several nodes on one database (who owns which execution,
//!   and events sent to the owner); [`activity_tasks`]: their shared activity queue;
//!   [`messaging_lease`]: which node serves Passo's own queues and topics.

mod active;
mod activity_tasks;
mod effects;
mod inbox;
mod inflight;
pub mod leases;
pub mod messaging_lease;
mod owner;
mod replay;
mod snapshot;
pub mod sweeper;
mod waiting;

pub(crate) use effects::mocked;
pub(crate) use inflight::Held;
pub use owner::{Delivery, Expect, Patience};
pub use waiting::WaitingTask;

use crate::activities::ActivityQueues;
use crate::catalog::{Catalog, Target};
use crate::codec;
use crate::error::ApiError;
use crate::nested::ParentLink;
use crate::tasks::TaskRunner;
use crate::timers::Timers;
use crate::Config;
use active::{track, Active};
use owner::{Owners, Retry};
use passo_asl::StateMachine;
use passo_engine::mock::Mocks;
use passo_engine::{Command, Execution, ExecutionInfo, Outcome, Status};
use passo_store::{Db, ExecutionRow, ExecutionUpdate, StepRow, StoreError, TimerRow, Write};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Timers due within this window keep their execution in memory and sit in the timer heap;
/// later ones live only in the database until the scan brings them in.
pub const LOOKAHEAD_MS: i64 = 15_000;

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Now on the leases' clock: the database's when `db` is shared (nodes' clocks may
/// disagree; see `Shared::clock_offset_ms`), else this node's.
pub fn lease_now(db: &Db) -> i64 {
    now_ms() + lease_offset(db)
}

/// How far the leases' clock is ahead of this node's (0 unless `db` is shared).
pub fn lease_offset(db: &Db) -> i64 {
    db.shared().map_or(0, |s| s.clock_offset_ms())
}

/// The start of a Standard execution as the API asked for it.
pub struct StartRequest {
    pub target: Target,
    pub name: String,
    pub input: Value,
    pub input_text: String,
    pub trace_header: Option<String>,
    /// Set when a parent execution's Task state starts this one.
    pub parent: Option<ParentLink>,
    /// The mock test case (`stateMachineArn#TestCase`), checked by [`Runtime::mocks`].
    pub test_case: Option<String>,
}

pub struct Runtime {
    pub cfg: Config,
    pub db: Db,
    pub catalog: Catalog,
    owners: Owners,
    pub(crate) inflight: inflight::InFlight,
    pub(crate) sweeper: sweeper::Sweeper,
    pub(crate) rebuilds: snapshot::Rebuilds,
    /// Asynchronous Express executions running now.
    express_running: Arc<std::sync::atomic::AtomicUsize>,
    pub timers: Timers,
    pub tasks: Arc<dyn TaskRunner>,
    pub activities: ActivityQueues,
    seeds: AtomicU64,
    /// The function registry the API manages (set by `serve`; tests may run without).
    functions: std::sync::OnceLock<passo_tasks::functions::Functions>,
    /// The buckets Distributed Maps read items from (set by `serve`).
    buckets: std::sync::OnceLock<passo_tasks::s3::Buckets>,
    pub map_runs: crate::map_runs::MapRuns,
    /// Passo's own queues and topics, and who serves them (set by `serve`).
    messaging: std::sync::OnceLock<Arc<messaging_lease::Messaging>>,
    /// The event bus: buses, rules, targets (deliveries live in the store).
    pub bus: crate::bus::Bus,
    /// EventBridge Scheduler's schedules and the marks of every schedule's firings.
    pub scheduler: crate::schedules::Scheduler,
    /// The webhooks `POST /webhooks/NAME` answers.
    pub webhooks: crate::webhooks::Webhooks,
    /// The latest Express executions, for the console (the store keeps none).
    pub recent_express: crate::express_recent::Recent,
    /// What `/metrics` reports.
    pub metrics: crate::ops::metrics::Metrics,
    /// Forwarded events being applied now.
    applying: inbox::Applying,
}

impl Runtime {
    /// Gives the runtime the queues and topics the API serves (only the first call counts).
    pub fn set_messaging(&self, m: Arc<messaging_lease::Messaging>) {
        let _ = self.messaging.set(m);
    }

    pub fn messaging(&self) -> Option<&Arc<messaging_lease::Messaging>> {
        self.messaging.get()
    }

    pub fn new(cfg: Config, db: Db, tasks: Arc<dyn TaskRunner>) -> Result<Arc<Runtime>, ApiError> {
        let catalog = Catalog::load(&db)?;
        let bus = crate::bus::Bus::load(&db, &cfg.realm, now_ms())?;
        let scheduler = crate::schedules::Scheduler::load(&db, &cfg.realm, cfg.schedule_clock)?;
        let webhooks = crate::webhooks::Webhooks::load(&db, &cfg.realm)?;
        Ok(Arc::new(Runtime {
            cfg,
            db,
            catalog,
            owners: Owners::default(),
            inflight: Default::default(),
            sweeper: Default::default(),
            rebuilds: Default::default(),
            express_running: Default::default(),
            timers: Timers::default(),
            tasks,
            activities: ActivityQueues::default(),
            seeds: AtomicU64::new(now_ms() as u64 ^ 0x9e37_79b9_7f4a_7c15),
            functions: std::sync::OnceLock::new(),
            buckets: std::sync::OnceLock::new(),
            map_runs: Default::default(),
            messaging: std::sync::OnceLock::new(),
            bus,
            scheduler,
            webhooks,
            recent_express: Default::default(),
            metrics: Default::default(),
            applying: Default::default(),
        }))
    }

    /// Gives the API the registry the task runner calls functions from.
    pub fn set_functions(&self, f: passo_tasks::functions::Functions) {
        let _ = self.functions.set(f);
    }

    pub fn functions(&self) -> Option<&passo_tasks::functions::Functions> {
        self.functions.get()
    }

    /// Gives Map Runs the buckets their ItemReaders read.
    pub fn set_buckets(&self, b: passo_tasks::s3::Buckets) {
        let _ = self.buckets.set(b);
    }

    pub fn buckets(&self) -> Option<&passo_tasks::s3::Buckets> {
        self.buckets.get()
    }

    /// A fresh seed for an execution's random draws.
    pub fn seed(&self) -> u64 {
        let n = self
            .seeds
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
        let mut z = n;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The interpreter's parameters for an execution of this server.
    #[allow(clippy::too_many_arguments)]
    pub fn info(
        &self,
        arn: &str,
        name: &str,
        machine_name: &str,
        machine_arn: &str,
        role: &str,
        start_ms: i64,
        seed: u64,
    ) -> ExecutionInfo {
        ExecutionInfo {
            execution_arn: arn.to_string(),
            execution_name: name.to_string(),
            state_machine_arn: machine_arn.to_string(),
            state_machine_name: machine_name.to_string(),
            role_arn: role.to_string(),
            start_time_ms: start_ms,
            seed,
            payload_limit: self.cfg.payload_limit,
            max_history_events: 25_000,
            max_duration_seconds: None,
            token_secret: self.cfg.token_keys.newest(),
        }
    }

    /// An Express execution's ARN (with a fresh id), start time and interpreter parameters.
    pub fn express_info(&self, target: &Target, name: &str) -> (String, i64, ExecutionInfo) {
        let id = uuid::Uuid::new_v4().to_string();
        let arn = self.cfg.realm.express_arn(&target.machine_name, name, &id);
        let start = now_ms();
        let mut info = self.info(
            &arn,
            name,
            &target.machine_name,
            &target.machine_arn,
            &target.role_arn,
            start,
            self.seed(),
        );
        // AWS's five minutes: past them the execution times out (TIMED_OUT).
        info.max_duration_seconds = Some((crate::express::MAX_DURATION_MS / 1000) as u64);
        (arn, start, info)
    }

    /// Starts a Standard execution; answers its ARN and start time. Idempotent for the same
    /// name and input while the first one runs, as AWS.
    pub async fn start(self: &Arc<Self>, req: StartRequest) -> Result<(String, i64), ApiError> {
        self.start_with(req, Patience::Caller).await
    }

    /// Starts an execution, retrying a failing store as `patience` allows. Runs in a task of
    /// its own: a caller that goes away cannot cut the start between its commit and the
    /// first tasks going out.
    pub(crate) async fn start_with(
        self: &Arc<Self>,
        req: StartRequest,
        patience: Patience,
    ) -> Result<(String, i64), ApiError> {
        let rt = self.clone();
        tokio::spawn(async move { rt.start_owned(req, patience).await })
            .await
            .unwrap_or_else(|e| Err(ApiError::Internal(format!("starting an execution: {e}"))))
    }

    async fn start_owned(
        self: &Arc<Self>,
        req: StartRequest,
        patience: Patience,
    ) -> Result<(String, i64), ApiError> {
        let t = &req.target;
        let arn = self.cfg.realm.execution_arn(&t.machine_name, &req.name);
        let start_ms = now_ms();
        let seed = self.seed();
        let info = self.info(
            &arn,
            &req.name,
            &t.machine_name,
            &t.machine_arn,
            &t.role_arn,
            start_ms,
            seed,
        );
        let (ex, cmds, events) = Execution::start(t.machine.clone(), info, req.input);
        let entered = owner::states_entered(&events);
        let mut a = Active::new(ex, req.parent.clone());
        a.revision = t.revision_id.clone();
        if let Some(case) = &req.test_case {
            a.mocks = Some(self.mocks(&t.machine_name, case)?);
        }
        track(&mut a, &cmds);
        let outcome = a.ex.outcome();
        let row = ExecutionRow {
            arn: arn.clone(),
            machine_arn: t.machine_arn.clone(),
            revision_id: t.revision_id.clone(),
            version_arn: t.version_arn.clone(),
            alias_arn: t.alias_arn.clone(),
            name: req.name.clone(),
            status: outcome.map_or("RUNNING", |o| o.status.as_str()).to_string(),
            input: req.input_text.clone(),
            output: outcome.and_then(|o| o.output.as_ref().map(passo_engine::history::text)),
            error: outcome.and_then(|o| o.error.clone()),
            cause: outcome.and_then(|o| o.cause.clone()),
            start_ms,
            stop_ms: outcome.map(|_| start_ms),
            params: codec::params(
                seed,
                self.cfg.payload_limit,
                req.parent.as_ref(),
                req.test_case.as_deref(),
            ),
            pending_tasks: a.pending() as i64,
            trace_header: req.trace_header.clone(),
            redrive_count: 0,
            redrive_ms: None,
        };
        let ended = outcome.map(|o| o.status);
        let mut writes = vec![
            Write::InsertExecution(row),
            Write::AppendStep(StepRow {
                execution_arn: arn.clone(),
                seq: 0,
                now_ms: start_ms,
                event: codec::START.to_string(),
                history: codec::history_text(&events),
                first_event: Some(1),
                last_event: Some(a.ex.last_event_id() as i64),
            }),
        ];
        timer_writes(&arn, &cmds, &mut writes);
        // An execution that ended in its first step needs no owner.
        let lease = if ended.is_none() {
            self.new_lease(&arn)
        } else {
            None
        };
        let leased = lease.is_some();
        writes.extend(lease);
        let announced = self.start_status_deliveries(&writes);
        writes.extend(announced.iter().cloned().map(Write::InsertDelivery));
        // The slot is taken before the commit, so that an answer to a first task (a mock
        // answers at once) waits for this start to finish instead of loading a second copy.
        let (slot, mut g) = self.owners.lock(&arn).await;
        let mut retry = Retry::new(patience);
        loop {
            // As a step's commit: a retried start's lease counts from this attempt.
            for w in writes.iter_mut() {
                if let Write::NewLease(l) = w {
                    l.expires_ms = self.lease_now() + self.cfg.lease_ms;
                    g.lease_until = l.expires_ms;
                }
            }
            match self.db.write(writes.clone()).await {
                Ok(()) => break,
                Err(StoreError::Conflict) => {
                    if g.active.is_none() {
                        self.owners.evict(&arn, &slot, &mut g);
                    }
                    drop(g);
                    return self.existing_start(&arn, &req.input_text);
                }
                Err(e) => {
                    if !retry.wait(&format!("starting {arn}"), &e).await {
                        if g.active.is_none() {
                            self.owners.evict(&arn, &slot, &mut g);
                        }
                        return Err(ApiError::ServiceUnavailable(format!(
                            "The store could not commit the start: {e}"
                        )));
                    }
                }
            }
        }
        if leased {
            g.fence = Some(1);
        }
        // Answered so late that another node took the new execution over: it sends the
        // first tasks (the start itself stands: it is committed).
        let ours = self.confirm_lease(&arn, &mut g, &mut retry).await;
        self.metrics.started("STANDARD");
        self.metrics.stepped(entered);
        if let Some(status) = ended {
            self.metrics.finished("STANDARD", status.as_str());
        }
        self.dispatch(announced);
        if let (Some(_), Some(p)) = (ended, &req.parent) {
            self.ended(&arn, p);
        }
        if ended.is_some() && owner::is_map_child(&a) {
            self.map_child_ended(&arn);
        }
        if ours {
            self.after_commit(&arn, a, cmds, &slot, &mut g);
        } else {
            self.owners.evict(&arn, &slot, &mut g);
        }
        Ok((arn, start_ms))
    }

    /// The `aws.states` deliveries of a start (RUNNING, and its end too when the start step
    /// ended it), made from the execution row among `writes`.
    fn start_status_deliveries(&self, writes: &[Write]) -> Vec<passo_store::DeliveryRow> {
        if !self.wants_status_events() {
            return Vec::new();
        }
        let Some(Write::InsertExecution(row)) = writes.first() else {
            return Vec::new();
        };
        let mut running = row.clone();
        running.status = Status::Running.as_str().to_string();
        (
            running.output,
            running.error,
            running.cause,
            running.stop_ms,
        ) = (None, None, None, None);
        let mut out = self.status_deliveries(&running, row.start_ms);
        if row.stop_ms.is_some() {
            out.extend(self.status_deliveries(row, row.start_ms));
        }
        out
    }

    /// The `aws.states` deliveries of a step that changes an execution's status (it ends,
    /// or a redrive runs it again): the stored row with the step's update applied.
    pub(crate) fn step_status_deliveries(
        &self,
        u: &ExecutionUpdate,
        now: i64,
    ) -> Vec<passo_store::DeliveryRow> {
        if !self.wants_status_events() {
            return Vec::new();
        }
        let Ok(Some(mut row)) = self.db.execution(&u.arn) else {
            return Vec::new();
        };
        row.status = u.status.clone();
        row.output = u.output.clone();
        row.error = u.error.clone();
        row.cause = u.cause.clone();
        row.stop_ms = u.stop_ms;
        row.redrive_count = u.redrive_count;
        if u.redrive_ms.is_some() {
            row.redrive_ms = u.redrive_ms;
        }
        self.status_deliveries(&row, now)
    }

    /// StartExecution with a name already taken: the same input on a running execution
    /// answers that execution; anything else is ExecutionAlreadyExists.
    fn existing_start(&self, arn: &str, input: &str) -> Result<(String, i64), ApiError> {
        match self.db.execution(arn)? {
            Some(row) if row.status == "RUNNING" && row.input == input => {
                Ok((row.arn, row.start_ms))
            }
            _ => Err(ApiError::ExecutionAlreadyExists(format!(
                "Execution Already Exists: '{arn}'"
            ))),
        }
    }

    /// The mocks of a test case of the configured MockConfigFile.
    pub fn mocks(&self, machine_name: &str, test_case: &str) -> Result<Mocks, ApiError> {
        let Some(cfg) = &self.cfg.mock_config else {
            return Err(ApiError::ValidationException(format!(
                "Test case '{test_case}' asked for, but no mock file is configured (passo server --mock FILE, or SFN_MOCK_CONFIG)"
            )));
        };
        // A Map Run's children (machine `PARENT/LABEL`) answer from their parent's case.
        let machine_name = machine_name.split('/').next().unwrap_or(machine_name);
        Mocks::from_config(cfg, Some(machine_name), test_case)
            .map_err(|e| ApiError::ValidationException(e.to_string()))
    }

    /// The history events of an execution, in order.
    pub fn history(&self, arn: &str) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        for s in self.db.steps(arn)? {
            if let Ok(Value::Array(evs)) = serde_json::from_str(&s.history) {
                out.extend(evs);
            }
        }
        Ok(out)
    }

    /// The history events of an execution with ids from `first` to `last` (and, for an
    /// execution recorded before steps kept their events' ids, the others too), in order.
    pub fn history_between(
        &self,
        arn: &str,
        first: i64,
        last: i64,
    ) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        for s in self.db.history_steps(arn, first, last)? {
            if let Ok(Value::Array(evs)) = serde_json::from_str(&s.history) {
                out.extend(evs);
            }
        }
        Ok(out)
    }

    /// Executions in memory right now (for tests and the bench's memory figures).
    pub fn active_count(&self) -> usize {
        self.owners.len()
    }

    /// A place for one more asynchronous Express execution, or AWS's throttling error when
    /// `max_express_in_flight` are running (each holds its whole state in memory).
    pub fn express_permit(&self) -> Result<ExpressPermit, ApiError> {
        let n = self.express_running.fetch_add(1, Ordering::AcqRel);
        let permit = ExpressPermit(self.express_running.clone());
        if n >= self.cfg.max_express_in_flight {
            return Err(ApiError::Throttling(format!(
                "Rate exceeded: {n} asynchronous Express executions are running (the limit is passo server --max-express)"
            )));
        }
        Ok(permit)
    }

    pub fn express_in_flight(&self) -> usize {
        self.express_running.load(Ordering::Relaxed)
    }

    /// Task invocations sent out and not yet answered.
    pub fn inflight_count(&self) -> usize {
        self.inflight.len()
    }
}

fn timer_writes(arn: &str, cmds: &[Command], writes: &mut Vec<Write>) {
    for c in cmds {
        match c {
            Command::StartTimer { timer, fire_at_ms } => writes.push(Write::PutTimer(TimerRow {
                fire_at_ms: *fire_at_ms,
                execution_arn: arn.to_string(),
                timer_id: *timer as i64,
            })),
            Command::CancelTimer { timer } => {
                writes.push(Write::DeleteTimer(arn.to_string(), *timer as i64))
            }
            _ => {}
        }
    }
}

fn update(arn: &str, outcome: Option<&Outcome>, now: i64, pending: usize) -> ExecutionUpdate {
    ExecutionUpdate {
        arn: arn.to_string(),
        status: outcome
            .map_or(Status::Running, |o| o.status)
            .as_str()
            .to_string(),
        output: outcome.and_then(|o| o.output.as_ref().map(passo_engine::history::text)),
        error: outcome.and_then(|o| o.error.clone()),
        cause: outcome.and_then(|o| o.cause.clone()),
        stop_ms: outcome.map(|_| now),
        pending_tasks: pending as i64,
        redrive_count: 0,
        redrive_ms: None,
    }
}

/// One running asynchronous Express execution; its place is given back when dropped.
pub struct ExpressPermit(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for ExpressPermit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The machine an execution runs and its role.
pub type Definition = (Arc<StateMachine>, String);
