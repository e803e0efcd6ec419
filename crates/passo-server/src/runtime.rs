//! Drives Standard executions durably: every step's history and state are committed before
//! its effects (task invocations, timers) go out; an execution that only waits on a distant
//! timer is dropped from memory and rebuilt from its steps when the timer fires.
//!
//! Rebuilding is replay: the interpreter is deterministic, so feeding it the recorded events
//! at their recorded times gives back the same execution, including the tasks that were out.
//! After a crash those tasks are invoked again (in-flight work is at-least-once); nothing
//! that was recorded runs again.

use crate::activities::{ActivityQueues, ActivityTask};
use crate::catalog::{Catalog, Target};
use crate::codec;
use crate::error::ApiError;
use crate::nested::ParentLink;
use crate::tasks::{answer, TaskRequest, TaskRunner};
use crate::timers::Timers;
use crate::Config;
use passo_asl::StateMachine;
use passo_engine::driver::{Invocation, TaskResult as DriverResult};
use passo_engine::mock::Mocks;
use passo_engine::{Command, Event, Execution, ExecutionInfo, Outcome, Status, TaskId, TaskPhase};
use passo_store::{Db, ExecutionRow, ExecutionUpdate, StepRow, StoreError, TimerRow, Write};
use passo_tasks::nested::Pattern;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Timers due within this window keep their execution in memory and sit in the timer heap;
/// later ones live only in the database until the scan brings them in.
pub const LOOKAHEAD_MS: i64 = 15_000;

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// An execution being driven.
struct Active {
    ex: Execution,
    seq: i64,
    /// Task invocations in flight (not yet submitted or taken by a worker), by id: invoked
    /// again after a restart.
    tasks: HashMap<u64, Command>,
    /// Timers out: id -> fire time.
    timers: HashMap<u64, i64>,
    /// The execution whose task started this one, if any.
    parent: Option<ParentLink>,
    /// `.sync` tasks waiting for a child execution to end: task id -> child ARN, pattern.
    children: HashMap<u64, (String, Pattern)>,
    /// The mocked Task results of the test case the execution was started with.
    mocks: Option<Mocks>,
}

impl Active {
    fn new(ex: Execution, parent: Option<ParentLink>) -> Active {
        Active {
            ex,
            seq: 0,
            tasks: HashMap::new(),
            timers: HashMap::new(),
            parent,
            children: HashMap::new(),
            mocks: None,
        }
    }

    /// What keeps the execution waiting on something outside it: tasks out, children.
    fn pending(&self) -> usize {
        self.tasks.len() + self.children.len()
    }
}

#[derive(Default)]
struct SlotState {
    active: Option<Active>,
    /// Set when the slot left the map: whoever holds it must look again.
    evicted: bool,
}

type Slot = Arc<tokio::sync::Mutex<SlotState>>;

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
    active: Mutex<HashMap<String, Slot>>,
    pub timers: Timers,
    pub tasks: Arc<dyn TaskRunner>,
    pub activities: ActivityQueues,
    seeds: AtomicU64,
    /// The function registry the API manages (set by `serve`; tests may run without).
    functions: std::sync::OnceLock<passo_tasks::functions::Functions>,
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
    /// No such execution, or it has ended.
    Ended,
}

impl Runtime {
    pub fn new(cfg: Config, db: Db, tasks: Arc<dyn TaskRunner>) -> Result<Arc<Runtime>, ApiError> {
        let catalog = Catalog::load(&db)?;
        Ok(Arc::new(Runtime {
            cfg,
            db,
            catalog,
            active: Mutex::new(HashMap::new()),
            timers: Timers::default(),
            tasks,
            activities: ActivityQueues::default(),
            seeds: AtomicU64::new(now_ms() as u64 ^ 0x9e37_79b9_7f4a_7c15),
            functions: std::sync::OnceLock::new(),
        }))
    }

    /// Gives the API the registry the task runner calls functions from.
    pub fn set_functions(&self, f: passo_tasks::functions::Functions) {
        let _ = self.functions.set(f);
    }

    pub fn functions(&self) -> Option<&passo_tasks::functions::Functions> {
        self.functions.get()
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
            token_secret: self.cfg.token_secret.clone(),
        }
    }

    /// An Express execution's ARN (with a fresh id), start time and interpreter parameters.
    pub fn express_info(&self, target: &Target, name: &str) -> (String, i64, ExecutionInfo) {
        let id = uuid::Uuid::new_v4().to_string();
        let arn = self.cfg.realm.express_arn(&target.machine_name, name, &id);
        let start = now_ms();
        let info = self.info(
            &arn,
            name,
            &target.machine_name,
            &target.machine_arn,
            &target.role_arn,
            start,
            self.seed(),
        );
        (arn, start, info)
    }

    /// Starts a Standard execution; answers its ARN and start time. Idempotent for the same
    /// name and input while the first one runs, as AWS.
    pub async fn start(self: &Arc<Self>, req: StartRequest) -> Result<(String, i64), ApiError> {
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
        let mut a = Active::new(ex, req.parent.clone());
        if let Some(case) = &req.test_case {
            a.mocks = Some(self.mocks(&t.machine_name, case)?);
        }
        let outcome = finished(&cmds);
        track(&mut a, &cmds);
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
        let mut writes = vec![
            Write::InsertExecution(row),
            Write::AppendStep(StepRow {
                execution_arn: arn.clone(),
                seq: 0,
                now_ms: start_ms,
                event: codec::START.to_string(),
                history: codec::history_text(&events),
            }),
        ];
        timer_writes(&arn, &cmds, &mut writes);
        match self.db.write(writes).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return self.existing_start(&arn, &req.input_text),
            Err(e) => return Err(e.into()),
        }
        if let (Some(_), Some(p)) = (outcome, &req.parent) {
            self.ended(&arn, p);
        }
        self.after_commit(&arn, a, cmds, None);
        Ok((arn, start_ms))
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

    /// Keeps a running execution in memory when it will need it soon, and sends out its
    /// effects. `slot` is the execution's locked slot when it already has one.
    fn after_commit(
        self: &Arc<Self>,
        arn: &str,
        mut a: Active,
        cmds: Vec<Command>,
        slot: Option<&mut SlotState>,
    ) {
        let now = now_ms();
        for c in &cmds {
            match c {
                Command::InvokeTask { .. } => match mocked(a.mocks.as_mut(), c) {
                    Some(event) => self.answer_later(arn, event),
                    None => self.invoke(arn, c.clone()),
                },
                Command::StartTimer { timer, fire_at_ms } if *fire_at_ms <= now + LOOKAHEAD_MS => {
                    self.timers.push(TimerRow {
                        fire_at_ms: *fire_at_ms,
                        execution_arn: arn.to_string(),
                        timer_id: *timer as i64,
                    })
                }
                _ => {}
            }
        }
        let keep = a.ex.outcome().is_none()
            && (!a.tasks.is_empty() || a.timers.values().any(|t| *t <= now + LOOKAHEAD_MS));
        match slot {
            Some(s) => {
                if keep {
                    s.active = Some(a);
                } else {
                    s.active = None;
                    s.evicted = true;
                    self.active.lock().unwrap().remove(arn);
                }
            }
            None if keep => {
                let slot = Arc::new(tokio::sync::Mutex::new(SlotState {
                    active: Some(a),
                    evicted: false,
                }));
                self.active.lock().unwrap().insert(arn.to_string(), slot);
            }
            None => {}
        }
    }

    /// The mocks of a test case of the configured MockConfigFile.
    pub fn mocks(&self, machine_name: &str, test_case: &str) -> Result<Mocks, ApiError> {
        let Some(cfg) = &self.cfg.mock_config else {
            return Err(ApiError::ValidationException(format!(
                "Test case '{test_case}' asked for, but no mock file is configured (passo server --mock FILE, or SFN_MOCK_CONFIG)"
            )));
        };
        Mocks::from_config(cfg, Some(machine_name), test_case)
            .map_err(|e| ApiError::ValidationException(e.to_string()))
    }

    /// Delivers an answer to an invoked task (a mocked result, a refusal) as if its
    /// integration had answered.
    fn answer_later(self: &Arc<Self>, arn: &str, event: Event) {
        let rt = self.clone();
        let arn = arn.to_string();
        let task = match &event {
            Event::TaskSucceeded { task, .. }
            | Event::TaskFailed { task, .. }
            | Event::TaskRefused { task, .. } => *task,
            _ => return,
        };
        tokio::spawn(async move {
            let expect = Expect::Task(task, &[TaskPhase::Invoked]);
            if let Err(e) = rt.deliver_if(&arn, event, expect).await {
                tracing::warn!("answering a task of {arn}: {e}");
            }
        });
    }

    /// Sends a task out: activity tasks to their queue, everything else to the task runner.
    fn invoke(self: &Arc<Self>, arn: &str, cmd: Command) {
        let Some((task, req)) = TaskRequest::from_command(arn, cmd) else {
            return;
        };
        if let Some(pattern) = Pattern::of(&req.resource) {
            self.start_child(arn, task, pattern, req);
            return;
        }
        if let (Some(activity), Some(token)) = (activity_of(&req.resource), &req.token) {
            if matches!(self.db.activity(activity), Ok(None)) {
                // AWS fails the state at once rather than queue work nobody can take.
                let message = format!("The activity {activity} does not exist.");
                return self.answer_later(arn, Event::TaskRefused { task, message });
            }
            self.activities.push(
                activity,
                ActivityTask {
                    execution_arn: arn.to_string(),
                    task,
                    token: token.clone(),
                    input: req.input,
                },
            );
            return;
        }
        let rt = self.clone();
        let arn = arn.to_string();
        tokio::spawn(async move {
            let resource = req.resource.clone();
            let event = answer(&resource, task, rt.tasks.invoke(req).await);
            let expect = Expect::Task(task, &[TaskPhase::Invoked]);
            if let Err(e) = rt.deliver_if(&arn, event, expect).await {
                tracing::warn!("delivering a task result to {arn}: {e}");
            }
        });
    }

    /// The execution's slot, created (empty, to be loaded) when it has none.
    fn slot(&self, arn: &str) -> Slot {
        let mut map = self.active.lock().unwrap();
        map.entry(arn.to_string()).or_default().clone()
    }

    /// Feeds one event to an execution: step, commit, then effects. Events for an execution
    /// that has ended are dropped (a late timer or task result).
    pub async fn deliver(self: &Arc<Self>, arn: &str, event: Event) -> Result<(), ApiError> {
        self.deliver_if(arn, event, Expect::Anything)
            .await
            .map(|_| ())
    }

    /// Feeds one event to an execution if it still expects it.
    pub async fn deliver_if(
        self: &Arc<Self>,
        arn: &str,
        event: Event,
        expect: Expect,
    ) -> Result<Delivery, ApiError> {
        let redrive = matches!(event, Event::Redrive);
        loop {
            let slot = self.slot(arn);
            let mut g = slot.lock().await;
            if g.evicted {
                continue;
            }
            let a = match g.active.take() {
                Some(a) => a,
                None => match self.load(arn, redrive)? {
                    Some(a) => a,
                    None => {
                        g.evicted = true;
                        let mut map = self.active.lock().unwrap();
                        if map.get(arn).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                            map.remove(arn);
                        }
                        return Ok(Delivery::Ended);
                    }
                },
            };
            let expected = match expect {
                _ if a.ex.outcome().is_some() && !redrive => Delivery::Ended,
                Expect::Anything => Delivery::Applied,
                Expect::Timer(t) if a.timers.contains_key(&t) => Delivery::Applied,
                Expect::Task(t, phases) => match a.ex.task_phase(t) {
                    Some(p) if phases.is_empty() || phases.contains(&p) => Delivery::Applied,
                    _ => Delivery::Refused,
                },
                Expect::Timer(_) => Delivery::Refused,
            };
            if expected != Delivery::Applied {
                g.active = Some(a);
                return Ok(expected);
            }
            self.step_locked(arn, a, event, &mut g).await?;
            return Ok(Delivery::Applied);
        }
    }

    async fn step_locked(
        self: &Arc<Self>,
        arn: &str,
        mut a: Active,
        event: Event,
        g: &mut SlotState,
    ) -> Result<(), ApiError> {
        let redrive = matches!(event, Event::Redrive);
        if a.ex.outcome().is_some() && !redrive {
            g.active = Some(a);
            return Ok(());
        }
        let now = now_ms();
        let event_text = codec::event_text(&event);
        forget(&mut a, &event);
        let fired = match &event {
            Event::TimerFired { timer } => Some(*timer),
            _ => None,
        };
        let answered = answered_task(&event);
        let waiting = a.children.clone();
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
        let mut writes = vec![Write::AppendStep(StepRow {
            execution_arn: arn.to_string(),
            seq: a.seq,
            now_ms: now,
            event: event_text,
            history: codec::history_text(&events),
        })];
        if let Some(t) = fired {
            writes.push(Write::DeleteTimer(arn.to_string(), t as i64));
        }
        timer_writes(arn, &cmds, &mut writes);
        let outcome = a.ex.outcome().cloned();
        let mut u = update(arn, outcome.as_ref(), now, a.pending());
        u.redrive_count = a.ex.redrive_count() as i64;
        u.redrive_ms = redrive.then_some(now);
        writes.push(Write::UpdateExecution(u));
        if outcome.is_some() {
            writes.push(Write::DeleteTimers(arn.to_string()));
        }
        if let Err(e) = self.db.write(writes).await {
            // Not committed: forget the in-memory step; the next event reloads from the store.
            g.active = None;
            return Err(e.into());
        }
        for child in &abandoned {
            self.stop_child(child, arn);
        }
        if let (Some(_), Some(p)) = (&outcome, &a.parent) {
            self.ended(arn, p);
        }
        self.after_commit(arn, a, cmds, Some(g));
        Ok(())
    }

    /// Rebuilds a running execution from its recorded steps (None when it does not exist or
    /// has ended).
    fn load(&self, arn: &str, finished_too: bool) -> Result<Option<Active>, ApiError> {
        let Some(row) = self.db.execution(arn)? else {
            return Ok(None);
        };
        if row.status != "RUNNING" && !finished_too {
            return Ok(None);
        }
        let machine = self
            .catalog
            .definition(&self.db, &row.machine_arn, &row.revision_id)?;
        let (seed, payload_limit) = codec::parse_params(&row.params);
        let machine_name = row
            .machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut info = self.info(
            &row.arn,
            &row.name,
            &machine_name,
            &row.machine_arn,
            &machine.1,
            row.start_ms,
            seed,
        );
        info.payload_limit = payload_limit;
        let input: Value = serde_json::from_str(&row.input).unwrap_or(Value::Null);
        let steps = self.db.steps(arn)?;
        let (ex, cmds, _) = Execution::start(machine.0, info, input);
        let mut a = Active::new(ex, codec::parse_parent(&row.params));
        let mut invoked: Vec<Command> = Vec::new();
        let mut note = |cmds: &[Command]| {
            invoked.extend(
                cmds.iter()
                    .filter(|c| matches!(c, Command::InvokeTask { .. }))
                    .cloned(),
            )
        };
        note(&cmds);
        track(&mut a, &cmds);
        for s in steps.iter().skip(1) {
            let Some(ev) = codec::parse_event(&s.event) else {
                continue;
            };
            forget(&mut a, &ev);
            let (cmds, _) = a.ex.step(ev, s.now_ms);
            note(&cmds);
            a.seq = s.seq;
            track(&mut a, &cmds);
            settle(&mut a);
        }
        if let Some(case) = codec::parse_test_case(&row.params) {
            // The mocks count invocations per state: count again the ones already answered
            // (those still out are answered, and counted, when they are sent again).
            let mut mocks = self.mocks(&machine_name, &case)?;
            for (task, inv) in invoked.iter().filter_map(invocation) {
                if !a.tasks.contains_key(&task) {
                    let _ = mocks.answer(&inv);
                }
            }
            a.mocks = Some(mocks);
        }
        Ok(Some(a))
    }

    /// After a restart: invoke again the tasks that were out when the process stopped.
    pub async fn recover(self: &Arc<Self>) -> Result<usize, ApiError> {
        let mut n = 0;
        for (arn, pending) in self.db.running()? {
            if pending == 0 {
                continue;
            }
            let slot = self.slot(&arn);
            let mut g = slot.lock().await;
            if let Some(a) = self.load(&arn, false)? {
                let cmds: Vec<Command> = a.tasks.values().cloned().collect();
                n += cmds.len();
                let children: Vec<(u64, String, Pattern)> = a
                    .children
                    .iter()
                    .map(|(t, (c, p))| (*t, c.clone(), *p))
                    .collect();
                self.after_commit(&arn, a, cmds, Some(&mut g));
                drop(g);
                // A child that ended while the server was down has not told its parent.
                for (task, child, pattern) in children {
                    self.check_child(&arn, task, &child, pattern).await;
                }
            }
        }
        Ok(n)
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

    /// Executions in memory right now (for tests and the bench's memory figures).
    pub fn active_count(&self) -> usize {
        self.active.lock().unwrap().len()
    }
}

fn finished(cmds: &[Command]) -> Option<&Outcome> {
    cmds.iter().find_map(|c| match c {
        Command::Finished(o) => Some(o),
        _ => None,
    })
}

fn track(a: &mut Active, cmds: &[Command]) {
    for c in cmds {
        match c {
            Command::InvokeTask { task, .. } => {
                a.tasks.insert(*task, c.clone());
            }
            Command::StartTimer { timer, fire_at_ms } => {
                a.timers.insert(*timer, *fire_at_ms);
            }
            Command::CancelTimer { timer } => {
                a.timers.remove(timer);
            }
            Command::Finished(_) => {
                a.tasks.clear();
                a.timers.clear();
            }
        }
    }
}

/// What an event answers: the task or timer it settles is no longer out.
fn forget(a: &mut Active, ev: &Event) {
    match ev {
        Event::TaskSubmitted { task, output } => {
            let pattern = a.tasks.remove(task).and_then(|c| match c {
                Command::InvokeTask { resource, .. } => Pattern::of(&resource),
                _ => None,
            });
            let child = output.get("ExecutionArn").and_then(Value::as_str);
            if let (Some(p), Some(child)) = (pattern.filter(|p| p.waits()), child) {
                a.children.insert(*task, (child.to_string(), p));
            }
        }
        Event::TaskSucceeded { task, .. }
        | Event::TaskFailed { task, .. }
        | Event::TaskRefused { task, .. }
        | Event::TaskStarted { task, .. } => {
            a.tasks.remove(task);
        }
        Event::TaskHeartbeat { .. } => {}
        Event::TimerFired { timer } => {
            a.timers.remove(timer);
        }
        Event::Stop { .. } => {}
        Event::Redrive => {
            a.tasks.clear();
            a.timers.clear();
            a.children.clear();
        }
    }
}

/// Drops from the in-flight set the tasks the interpreter closed on its own (timed out, or
/// abandoned when a sibling branch failed or the execution ended).
fn settle(a: &mut Active) {
    let ex = &a.ex;
    a.tasks
        .retain(|id, _| ex.task_phase(*id) == Some(TaskPhase::Invoked));
    a.children.retain(|id, _| ex.task_phase(*id).is_some());
}

/// The task an event answers, if it answers one with its result.
fn answered_task(ev: &Event) -> Option<u64> {
    match ev {
        Event::TaskSucceeded { task, .. } | Event::TaskFailed { task, .. } => Some(*task),
        _ => None,
    }
}

/// The driver's view of an InvokeTask command (what mocks answer), with its task id.
pub(crate) fn invocation(c: &Command) -> Option<(TaskId, Invocation)> {
    let Command::InvokeTask {
        task,
        state_name,
        resource,
        input,
        attempt,
        timeout_seconds,
        token,
        ..
    } = c
    else {
        return None;
    };
    let inv = Invocation {
        state_name: state_name.clone(),
        resource: resource.clone(),
        input: input.clone(),
        attempt: *attempt,
        token: token.clone(),
        timeout_seconds: *timeout_seconds,
        now_ms: now_ms(),
    };
    Some((*task, inv))
}

/// The mocked result of an InvokeTask, as the event that delivers it.
pub(crate) fn mocked(mocks: Option<&mut Mocks>, c: &Command) -> Option<Event> {
    let (task, inv) = invocation(c)?;
    match mocks?.answer(&inv)? {
        DriverResult::Success(output) => Some(Event::TaskSucceeded { task, output }),
        DriverResult::Failure { error, cause } => Some(Event::TaskFailed { task, error, cause }),
        // Mock files have no scripts; a mocked callback answers with its Return.
        DriverResult::Script(_) => None,
    }
}

/// The activity a Task resource names, if it is one.
fn activity_of(resource: &str) -> Option<&str> {
    let parts: Vec<&str> = resource.splitn(7, ':').collect();
    matches!(parts.as_slice(), ["arn", _, "states", _, _, "activity", _]).then_some(resource)
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

/// The machine an execution runs and its role.
pub type Definition = (Arc<StateMachine>, String);
