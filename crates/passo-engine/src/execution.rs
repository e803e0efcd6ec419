//! An execution: its threads (the top level, each Parallel branch and each Map iteration),
//! the loop that runs them until they need the outside world, and the events and commands
//! that loop exchanges with its driver.

use crate::failure::Failure;
use crate::history::{shared_text, Details, HistoryEvent, Text};
use passo_asl::model::{Program, StateId, StateKind, StateMachine};
use serde_json::{json, Map, Value};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

/// Identifies one Task invocation (one attempt) within an execution.
pub type TaskId = u64;
/// Identifies one timer within an execution.
pub type TimerId = u64;
pub(crate) type ThreadId = usize;

/// The names and times an execution is known by (they appear in `$$` and in events).
#[derive(Debug, Clone)]
pub struct ExecutionInfo {
    pub execution_arn: String,
    pub execution_name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
    pub start_time_ms: i64,
    /// Seeds every random draw of the execution (jitter, States.UUID, States.MathRandom).
    pub seed: u64,
    /// Largest payload (bytes) a state may produce; AWS's limit is 256 KiB.
    pub payload_limit: usize,
    /// Most history events an execution may write (AWS: 25,000); a loop of states that never
    /// ends fails here instead of running forever.
    pub max_history_events: u64,
    /// The longest the execution may run whatever its TimeoutSeconds says (an Express
    /// execution's five minutes); past it, it times out as with TimeoutSeconds.
    pub max_duration_seconds: Option<u64>,
    /// The key task tokens are signed with (see [`crate::token`]); the host keeps it secret
    /// and the same across restarts, so replay mints the same tokens.
    pub token_secret: Arc<[u8]>,
}

impl ExecutionInfo {
    /// Names for an execution run outside any server.
    pub fn local(name: &str, start_time_ms: i64, seed: u64) -> Self {
        // Concatenated rather than formatted: `passo bench` makes one per execution.
        let machine_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:";
        let execution_arn = "arn:aws:states:us-east-1:123456789012:execution:";
        ExecutionInfo {
            execution_arn: [execution_arn, name, ":", name, "-exec"].concat(),
            execution_name: [name, "-exec"].concat(),
            state_machine_arn: [machine_arn, name].concat(),
            state_machine_name: name.to_string(),
            role_arn: "arn:aws:iam::123456789012:role/passo".to_string(),
            start_time_ms,
            seed,
            payload_limit: 262_144,
            max_history_events: 25_000,
            max_duration_seconds: None,
            token_secret: Arc::from(&b"passo-local"[..]),
        }
    }
}

/// What the driver tells the interpreter.
#[derive(Debug, Clone)]
pub enum Event {
    TaskSucceeded {
        task: TaskId,
        output: Value,
    },
    TaskFailed {
        task: TaskId,
        error: String,
        cause: Option<String>,
    },
    /// A callback (`.waitForTaskToken`) or job (`.sync`) task's integration accepted the
    /// request (TaskSubmitted); its result comes later, as TaskSucceeded or TaskFailed.
    TaskSubmitted {
        task: TaskId,
        output: Value,
    },
    /// An activity worker took the task (ActivityStarted); its heartbeat clock starts.
    TaskStarted {
        task: TaskId,
        worker_name: Option<String>,
    },
    /// The task could not be given to its integration at all (an activity that does not
    /// exist): the state fails with States.Runtime and `message`, which no Catch takes.
    TaskRefused {
        task: TaskId,
        message: String,
    },
    /// SendTaskHeartbeat: the task's heartbeat clock starts over.
    TaskHeartbeat {
        task: TaskId,
    },
    TimerFired {
        timer: TimerId,
    },
    /// StopExecution: the execution ends ABORTED.
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
    /// RedriveExecution: a FAILED, ABORTED or TIMED_OUT execution runs again from the state
    /// it did not finish, with that state's input and the variables it had.
    Redrive,
}

/// What the interpreter asks of the driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Invoke a Task's resource with this input; answer with TaskSucceeded or TaskFailed.
    InvokeTask {
        task: TaskId,
        state_name: String,
        resource: String,
        input: Value,
        /// Zero-based attempt number (retries count up).
        attempt: u64,
        timeout_seconds: Option<u64>,
        heartbeat_seconds: Option<u64>,
        /// The task token, for callback (`.waitForTaskToken`) and activity tasks.
        token: Option<String>,
    },
    /// Answer with TimerFired at (or after) this time.
    StartTimer { timer: TimerId, fire_at_ms: i64 },
    /// Run a Distributed Map's Map Run (child executions over its items); answer with
    /// TaskSucceeded (the Map's result) or TaskFailed. A Map Run whose task is no longer open
    /// ([`Execution::task_phase`] is `None`: the execution ended, or a sibling failed) is to
    /// be stopped.
    StartMapRun {
        task: TaskId,
        spec: Arc<crate::map_run::MapRunSpec>,
    },
    /// A timer that is no longer needed (its task ended): the host may drop it.
    CancelTimer { timer: TimerId },
    /// The execution is over; no more events are accepted. Its outcome is
    /// [`Execution::outcome`] (not copied into the command: a final output may be large,
    /// and copying it was a tenth of a 1,000-item Map's run).
    Finished,
}

/// Where an open Task invocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TaskPhase {
    /// Sent to its integration (or queued for an activity worker); no answer yet.
    Invoked,
    /// The integration accepted it; the result comes with the task token (or the job's end).
    Submitted,
    /// An activity worker has it.
    Started,
}

/// An open Task invocation as a host may show it (see [`Execution::open_task_states`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTaskView {
    pub task: TaskId,
    pub phase: TaskPhase,
    pub state_name: String,
    /// The Task state's `Resource` as written (empty for a Map Run's task).
    pub resource: String,
    pub entered_ms: i64,
}

/// An open Task invocation.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct OpenTask {
    pub thread: ThreadId,
    pub phase: TaskPhase,
    pub heartbeat_seconds: Option<u64>,
    /// The heartbeat timer now running (an older one firing is stale).
    pub heartbeat_timer: Option<TimerId>,
}

/// What a task timer ends when it fires.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) enum TaskTimer {
    Timeout(TaskId),
    Heartbeat(TaskId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// Why a thread is not running right now.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) enum Phase {
    /// About to enter `Thread::state`.
    Enter,
    /// A Task attempt is out.
    Task,
    /// Waiting for a Retry back-off before the next attempt.
    Backoff,
    /// A Wait state's timer.
    Wait { effective_input: Value },
    /// A Parallel or Map waiting for its branches or iterations.
    Children(Box<Fanout>),
    /// A Distributed Map waiting for its Map Run.
    MapRun,
    /// Finished, aborted or failed: nothing more to do.
    Done,
}

/// Bookkeeping of a Parallel's branches or a Map's iterations.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Fanout {
    pub is_map: bool,
    pub effective_input: Value,
    /// Items still to start (Map) or branch count (Parallel).
    pub items: Vec<Value>,
    pub children: Vec<Option<ThreadId>>,
    pub results: Vec<Option<Value>>,
    pub next: usize,
    pub running: usize,
    pub done: usize,
    pub failures: usize,
    pub max_concurrency: usize,
    pub tolerated_count: Option<f64>,
    pub tolerated_percentage: Option<f64>,
    /// The last event of the most recently finished child: what the next child's
    /// MapIterationStarted follows.
    pub last_trigger: u64,
}

impl Fanout {
    /// Bookkeeping for `n` children (Map items or Parallel branches), none started yet.
    pub(crate) fn new(is_map: bool, effective_input: Value, items: Vec<Value>, n: usize) -> Fanout {
        Fanout {
            is_map,
            effective_input,
            items,
            children: vec![None; n],
            results: vec![None; n],
            next: 0,
            running: 0,
            done: 0,
            failures: 0,
            max_concurrency: 0,
            tolerated_count: None,
            tolerated_percentage: None,
            last_trigger: 0,
        }
    }
}

/// One line of execution: the top level, a Parallel branch or a Map iteration.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Thread {
    /// Where this thread's program sits: (state index, branch index) pairs from the top.
    pub path: Vec<(StateId, usize)>,
    pub parent: Option<(ThreadId, usize)>,
    pub state: StateId,
    pub raw_input: Value,
    pub phase: Phase,
    pub vars: Map<String, Value>,
    /// Whether outer variables are visible (not for Distributed Map children).
    pub sees_outer: bool,
    pub entered_event: u64,
    /// The event the Entered event followed (AWS links EvaluationFailed to it).
    pub entered_prev: u64,
    pub entered_time_ms: i64,
    pub last_event: u64,
    pub retry_counts: Vec<u64>,
    /// The index of the item a Map iteration's thread runs for.
    pub map_item: Option<usize>,
    /// The Task invocation being prepared (its id and token are known before its
    /// Parameters are evaluated, for `$$.Task.Token`).
    pub pending_task: Option<(TaskId, Option<String>)>,
    /// Set while the failure of this thread's Task state is being handled: AWS keeps a Task
    /// that failed "entered", so a Parallel or Map that fails because of it records
    /// TaskStateAborted for it.
    pub failing_in_task: bool,
    /// The JSON text of the value this thread last handed on (a state's output, become the
    /// next state's raw input or the thread's result), already written in an Exited event:
    /// the next event that writes the value shares it instead of serialising it again. Set
    /// only beside that value; taken by the event that writes it.
    pub handed_text: Option<Text>,
    /// The JSON text of the current state's raw input (its Entered event's), while its
    /// Entered event's step runs (not kept while the state waits).
    pub entered_text: Option<Text>,
    /// Set by a state whose output is its raw input unchanged: the Exited event's text.
    pub output_text: Option<Text>,
}

/// A running (or finished) execution. All of its state is here; nothing is hidden in the
/// driver, so an execution can be rebuilt by replaying its events.
pub struct Execution {
    pub(crate) machine: Arc<StateMachine>,
    pub(crate) info: ExecutionInfo,
    pub(crate) input: Value,
    pub(crate) threads: Vec<Thread>,
    pub(crate) ready: Vec<ThreadId>,
    pub(crate) next_event_id: u64,
    pub(crate) next_handle: u64,
    pub(crate) rng: Cell<u64>,
    pub(crate) tasks: HashMap<TaskId, OpenTask>,
    pub(crate) timers: HashMap<TimerId, ThreadId>,
    pub(crate) task_timers: HashMap<TimerId, TaskTimer>,
    pub(crate) execution_timer: Option<TimerId>,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) now_ms: i64,
    /// Times the execution was redriven (`$$.Execution.RedriveCount`).
    pub(crate) redrive_count: u64,
    /// The top-level thread's last Map Run: (its Map state, its ARN). A redrive that
    /// re-enters that state redrives the run instead of starting a new one.
    pub(crate) last_map_run: Option<(StateId, String)>,
    /// Set by a redrive for the top-level thread's first Map state entry.
    pub(crate) redrive_map_run: Option<(StateId, String)>,
    pub(crate) events: Vec<HistoryEvent>,
    pub(crate) commands: Vec<Command>,
    /// Counts states entered (the benchmark's "transitions").
    pub transitions: u64,
}

impl Execution {
    /// Starts an execution: records ExecutionStarted and runs until the first wait.
    pub fn start(
        machine: Arc<StateMachine>,
        info: ExecutionInfo,
        input: Value,
    ) -> (Execution, Vec<Command>, Vec<HistoryEvent>) {
        let now = info.start_time_ms;
        let mut ex = Execution {
            rng: Cell::new(info.seed),
            machine,
            info,
            input: input.clone(),
            threads: Vec::new(),
            ready: Vec::new(),
            next_event_id: 1,
            next_handle: 1,
            tasks: HashMap::new(),
            timers: HashMap::new(),
            task_timers: HashMap::new(),
            execution_timer: None,
            outcome: None,
            now_ms: now,
            redrive_count: 0,
            last_map_run: None,
            redrive_map_run: None,
            events: Vec::new(),
            commands: Vec::new(),
            transitions: 0,
        };
        // The start's step often runs straight through the top-level states (two events
        // each, and the execution's first and last): room for that, within reason, instead
        // of growing from one.
        ex.events
            .reserve((2 * ex.machine.program.states.len() + 2).min(64));
        let started = ex.emit(
            0,
            "ExecutionStarted",
            Details::ExecutionStarted {
                input: shared_text(&input),
                role_arn: ex.info.role_arn.clone(),
            },
        );
        let limit = match (ex.machine.timeout_seconds, ex.info.max_duration_seconds) {
            (Some(t), Some(m)) => Some(t.min(m)),
            (t, m) => t.or(m),
        };
        if let Some(t) = limit {
            let timer = ex.handle();
            ex.execution_timer = Some(timer);
            ex.commands.push(Command::StartTimer {
                timer,
                fire_at_ms: now + t as i64 * 1000,
            });
        }
        let start_at = ex.machine.program.start_at;
        let _ = started;
        ex.spawn(Vec::new(), None, start_at, input, Map::new(), true, None, 0);
        ex.run();
        let (c, e) = ex.take();
        (ex, c, e)
    }

    /// Applies one event at time `now_ms` and runs until the next wait.
    pub fn step(&mut self, event: Event, now_ms: i64) -> (Vec<Command>, Vec<HistoryEvent>) {
        if matches!(event, Event::Redrive) {
            self.now_ms = now_ms.max(self.now_ms);
            self.redrive();
            self.run();
            return self.take();
        }
        if self.outcome.is_some() {
            return (Vec::new(), Vec::new());
        }
        self.now_ms = now_ms.max(self.now_ms);
        match event {
            Event::TaskSucceeded { task, output } => {
                if let Some(t) = self.close_task(task) {
                    self.task_succeeded(t.thread, output);
                    self.wake(t.thread);
                }
            }
            Event::TaskFailed { task, error, cause } => {
                if let Some(t) = self.close_task(task) {
                    let failure = Failure {
                        error,
                        cause,
                        from_task: true,
                    };
                    self.task_failed(t.thread, failure, false);
                    self.wake(t.thread);
                }
            }
            Event::TaskRefused { task, message } => {
                if let Some(t) = self.close_task(task) {
                    self.task_refused(t.thread, message);
                    self.wake(t.thread);
                }
            }
            Event::TaskSubmitted { task, output } => self.task_submitted(task, output),
            Event::TaskStarted { task, worker_name } => self.task_started(task, worker_name),
            Event::TaskHeartbeat { task } => self.task_heartbeat(task),
            Event::TimerFired { timer } => {
                if Some(timer) == self.execution_timer {
                    self.time_out();
                } else if let Some(tt) = self.task_timers.remove(&timer) {
                    self.task_timer_fired(timer, tt);
                } else if let Some(tid) = self.timers.remove(&timer) {
                    self.timer_fired(tid);
                    self.wake(tid);
                }
            }
            Event::Stop { error, cause } => self.abort(error, cause),
            Event::Redrive => {}
        }
        self.run();
        self.take()
    }

    /// Whether RedriveExecution may restart this execution (it ended FAILED, ABORTED or
    /// TIMED_OUT, and not on the history limit).
    pub fn redrivable(&self) -> bool {
        matches!(
            self.outcome.as_ref().map(|o| o.status),
            Some(Status::Failed | Status::Aborted | Status::TimedOut)
        ) && self.next_event_id <= self.info.max_history_events
    }

    pub fn redrive_count(&self) -> u64 {
        self.redrive_count
    }

    /// The Task invocations still open, and where each stands (none once the execution ended).
    pub fn open_tasks(&self) -> impl Iterator<Item = (TaskId, TaskPhase)> + '_ {
        self.tasks
            .iter()
            .filter(|_| self.outcome.is_none())
            .map(|(id, t)| (*id, t.phase))
    }

    /// The open Task invocations with their state's name and resource and when that state
    /// was entered: what a host lists for people (a console's approvals inbox).
    pub fn open_task_states(&self) -> Vec<OpenTaskView> {
        if self.outcome.is_some() {
            return Vec::new();
        }
        let mut out: Vec<OpenTaskView> = self
            .tasks
            .iter()
            .filter_map(|(id, t)| {
                let th = self.threads.get(t.thread)?;
                let state = Execution::program(&self.machine, &th.path)
                    .states
                    .get(th.state)?;
                let resource = match &state.kind {
                    passo_asl::StateKind::Task(task) => task.resource.clone(),
                    _ => String::new(),
                };
                Some(OpenTaskView {
                    task: *id,
                    phase: t.phase,
                    state_name: state.name.to_string(),
                    resource,
                    entered_ms: th.entered_time_ms,
                })
            })
            .collect();
        out.sort_by_key(|v| v.task);
        out
    }

    /// Where task `task` stands, if it is still open.
    pub fn task_phase(&self, task: TaskId) -> Option<TaskPhase> {
        if self.outcome.is_some() {
            return None;
        }
        self.tasks.get(&task).map(|t| t.phase)
    }

    /// Restarts the top-level thread at the state it was in (a Parallel or Map state runs
    /// again as a whole), with that state's input and the variables it had.
    fn redrive(&mut self) {
        if !self.redrivable() || self.threads.is_empty() {
            return;
        }
        self.redrive_count += 1;
        self.outcome = None;
        // Answers to work from before the end are stale now.
        self.tasks.clear();
        self.timers.clear();
        self.task_timers.clear();
        let prev = self.next_event_id - 1;
        let id = self.emit(
            prev,
            "ExecutionRedriven",
            Some((
                "executionRedrivenEventDetails",
                json!({"redriveCount": self.redrive_count}),
            )),
        );
        if let Some(t) = self.machine.timeout_seconds {
            let timer = self.handle();
            self.execution_timer = Some(timer);
            self.commands.push(Command::StartTimer {
                timer,
                fire_at_ms: self.now_ms + t as i64 * 1000,
            });
        }
        // A Map Run that failed is redriven, not started anew (AWS re-runs its unsuccessful
        // children only).
        self.redrive_map_run = self
            .last_map_run
            .clone()
            .filter(|(sid, _)| *sid == self.threads[0].state);
        let th = &mut self.threads[0];
        th.phase = Phase::Enter;
        th.retry_counts.clear();
        th.last_event = id;
        self.ready.push(0);
    }

    /// The outcome, once the execution has ended.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The outcome, taken from an execution that has ended (None while it runs).
    pub fn into_outcome(self) -> Option<Outcome> {
        self.outcome
    }

    pub fn info(&self) -> &ExecutionInfo {
        &self.info
    }

    /// Puts a thread back on the ready list if it has a state to enter.
    pub(crate) fn wake(&mut self, tid: ThreadId) {
        if matches!(self.threads[tid].phase, Phase::Enter) {
            self.ready.push(tid);
        }
    }

    fn take(&mut self) -> (Vec<Command>, Vec<HistoryEvent>) {
        (
            std::mem::take(&mut self.commands),
            std::mem::take(&mut self.events),
        )
    }

    pub(crate) fn handle(&mut self) -> u64 {
        let h = self.next_handle;
        self.next_handle += 1;
        h
    }

    /// Appends a history event and returns its id.
    pub(crate) fn emit(
        &mut self,
        previous: u64,
        kind: &'static str,
        details: impl Into<Details>,
    ) -> u64 {
        let details = details.into();
        let id = self.next_event_id;
        self.next_event_id += 1;
        self.events.push(HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp_ms: self.now_ms,
            kind,
            details,
        });
        id
    }

    /// Emits an event on a thread's chain and advances the chain.
    pub(crate) fn emit_on(
        &mut self,
        tid: ThreadId,
        kind: &'static str,
        details: impl Into<Details>,
    ) -> u64 {
        let prev = self.threads[tid].last_event;
        let id = self.emit(prev, kind, details);
        self.threads[tid].last_event = id;
        id
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn spawn(
        &mut self,
        path: Vec<(StateId, usize)>,
        parent: Option<(ThreadId, usize)>,
        state: StateId,
        input: Value,
        vars: Map<String, Value>,
        sees_outer: bool,
        map_item: Option<usize>,
        last_event: u64,
    ) -> ThreadId {
        let id = self.threads.len();
        self.threads.push(Thread {
            path,
            parent,
            state,
            raw_input: input,
            phase: Phase::Enter,
            vars,
            sees_outer,
            entered_event: 0,
            entered_prev: 0,
            entered_time_ms: self.now_ms,
            last_event,
            retry_counts: Vec::new(),
            map_item,
            pending_task: None,
            failing_in_task: false,
            handed_text: None,
            entered_text: None,
            output_text: None,
        });
        self.ready.push(id);
        id
    }

    /// The program a thread runs.
    pub(crate) fn program<'m>(machine: &'m StateMachine, path: &[(StateId, usize)]) -> &'m Program {
        let mut p = &machine.program;
        for &(state, branch) in path {
            p = match &p.states[state].kind {
                StateKind::Parallel(par) => &par.branches[branch],
                StateKind::Map(m) => &m.processor,
                _ => unreachable!("thread paths only pass through Parallel and Map states"),
            };
        }
        p
    }

    /// Runs ready threads until every thread waits or the execution ends.
    fn run(&mut self) {
        while let Some(tid) = self.ready.pop() {
            if self.outcome.is_some() {
                self.ready.clear();
                break;
            }
            if matches!(self.threads[tid].phase, Phase::Done) {
                continue;
            }
            if self.next_event_id > self.info.max_history_events {
                self.history_limit();
                break;
            }
            self.run_thread(tid);
        }
        // Events that come from answers (a task's result, a state's exit) count too: an
        // execution whose tasks in flight carry it past the limit fails here.
        if self.outcome.is_none() && self.next_event_id > self.info.max_history_events {
            self.history_limit();
        }
    }

    /// A thread has produced its final output.
    pub(crate) fn thread_succeeded(&mut self, tid: ThreadId, output: Value) {
        self.threads[tid].phase = Phase::Done;
        let handed_text = self.threads[tid].handed_text.take();
        match self.threads[tid].parent {
            None => {
                let prev = self.threads[tid].last_event;
                self.emit(
                    prev,
                    "ExecutionSucceeded",
                    Details::ExecutionSucceeded {
                        output: handed_text.unwrap_or_else(|| shared_text(&output)),
                    },
                );
                self.finish(Outcome {
                    status: Status::Succeeded,
                    output: Some(output),
                    error: None,
                    cause: None,
                });
            }
            Some((parent, index)) => self.child_done(parent, index, tid, Ok(output)),
        }
    }

    /// A thread failed and nothing inside it caught the error.
    pub(crate) fn thread_failed(&mut self, tid: ThreadId, failure: Failure) {
        self.threads[tid].phase = Phase::Done;
        match self.threads[tid].parent {
            None => {
                let prev = self.threads[tid].last_event;
                // A Fail state without Error fails the execution with no error name.
                let error = Some(failure.error).filter(|e| !e.is_empty());
                let mut d = Map::new();
                if let Some(e) = &error {
                    d.insert("error".into(), Value::String(e.clone()));
                }
                if let Some(c) = &failure.cause {
                    d.insert("cause".into(), Value::String(c.clone()));
                }
                self.emit(
                    prev,
                    "ExecutionFailed",
                    Some(("executionFailedEventDetails", Value::Object(d))),
                );
                self.finish(Outcome {
                    status: Status::Failed,
                    output: None,
                    error,
                    cause: failure.cause,
                });
            }
            Some((parent, index)) => self.child_done(parent, index, tid, Err(failure)),
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        self.commands.push(Command::Finished);
        self.outcome = Some(outcome);
        for t in &mut self.threads {
            // A Wait that moved its input into the phase gives it back: a redrive re-enters
            // the state with it.
            if let Phase::Wait { effective_input } = &mut t.phase {
                if t.raw_input.is_null() {
                    t.raw_input = std::mem::take(effective_input);
                }
            }
            t.phase = Phase::Done;
        }
        self.ready.clear();
    }

    pub(crate) fn history_limit(&mut self) {
        let prev = self.next_event_id - 1;
        let limit = self.info.max_history_events;
        let f = Failure::new(
            "States.Runtime",
            format!("The execution reached the maximum number of history events ({limit})."),
        );
        let d = serde_json::json!({"error": f.error, "cause": f.cause});
        self.emit(
            prev,
            "ExecutionFailed",
            Some(("executionFailedEventDetails", d)),
        );
        self.finish(Outcome {
            status: Status::Failed,
            output: None,
            error: Some(f.error),
            cause: f.cause,
        });
    }

    fn time_out(&mut self) {
        let prev = self.next_event_id - 1;
        self.emit(
            prev,
            "ExecutionTimedOut",
            Some(("executionTimedOutEventDetails", json!({}))),
        );
        self.finish(Outcome {
            status: Status::TimedOut,
            output: None,
            error: Some("States.Timeout".into()),
            cause: None,
        });
    }

    fn abort(&mut self, error: Option<String>, cause: Option<String>) {
        let prev = self.next_event_id - 1;
        let mut d = Map::new();
        if let Some(e) = &error {
            d.insert("error".into(), Value::String(e.clone()));
        }
        if let Some(c) = &cause {
            d.insert("cause".into(), Value::String(c.clone()));
        }
        self.emit(
            prev,
            "ExecutionAborted",
            Some(("executionAbortedEventDetails", Value::Object(d))),
        );
        self.finish(Outcome {
            status: Status::Aborted,
            output: None,
            error,
            cause,
        });
    }

    /// Marks a thread and everything below it as finished (a sibling failed).
    pub(crate) fn cancel_subtree(&mut self, tid: ThreadId) {
        let mut stack = vec![tid];
        while let Some(t) = stack.pop() {
            if let Phase::Children(f) = &self.threads[t].phase {
                stack.extend(f.children.iter().flatten().copied());
            }
            self.threads[t].phase = Phase::Done;
        }
        self.tasks
            .retain(|_, t| !matches!(self.threads[t.thread].phase, Phase::Done));
        let mut cancelled = Vec::new();
        let tasks = &self.tasks;
        self.task_timers.retain(|timer, tt| {
            let keep = match tt {
                TaskTimer::Timeout(t) | TaskTimer::Heartbeat(t) => tasks.contains_key(t),
            };
            if !keep {
                cancelled.push(*timer);
            }
            keep
        });
        let threads = &self.threads;
        self.timers.retain(|timer, t| {
            let keep = !matches!(threads[*t].phase, Phase::Done);
            if !keep {
                cancelled.push(*timer);
            }
            keep
        });
        cancelled.sort_unstable();
        self.commands.extend(
            cancelled
                .into_iter()
                .map(|timer| Command::CancelTimer { timer }),
        );
    }
}
