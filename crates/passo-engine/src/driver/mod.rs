//! A synchronous driver for one execution on virtual time: timers fire in order of their due
//! time without sleeping, and Task invocations are answered by a callback. `passo run`, the
//! conformance tests and the benchmark use it; the server drives executions its own way.

pub mod map_run;

pub use map_run::{ItemStream, MapRunHost, NoBuckets, ResultSink};

use crate::execution::{Command, Event, Execution, ExecutionInfo, Outcome, TaskId, TimerId};
use crate::history::HistoryEvent;
use passo_asl::StateMachine;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

/// A Task invocation as the callback sees it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub state_name: String,
    pub resource: String,
    pub input: Value,
    pub attempt: u64,
    /// The task token of callback and activity tasks.
    pub token: Option<String>,
    pub timeout_seconds: Option<u64>,
    /// The (virtual) time of the invocation.
    pub now_ms: i64,
}

/// How a Task invocation ended.
#[derive(Debug, Clone)]
pub enum TaskResult {
    Success(Value),
    Failure {
        error: String,
        cause: Option<String>,
    },
    /// What happens to the task over (virtual) time, each step so many milliseconds after the
    /// invocation: a callback submitted then answered, an activity taken by a worker that sends
    /// heartbeats, a function that answers after its timeout. Steps after the task closed are
    /// ignored; no final answer leaves the task to its TimeoutSeconds.
    Script(Vec<(i64, TaskAction)>),
}

/// One step of a [`TaskResult::Script`].
#[derive(Debug, Clone)]
pub enum TaskAction {
    Submitted(Value),
    Started(Option<String>),
    Heartbeat,
    Succeeded(Value),
    Failed {
        error: String,
        cause: Option<String>,
    },
}

impl TaskAction {
    fn into_event(self, task: TaskId) -> Event {
        match self {
            TaskAction::Submitted(output) => Event::TaskSubmitted { task, output },
            TaskAction::Started(worker_name) => Event::TaskStarted { task, worker_name },
            TaskAction::Heartbeat => Event::TaskHeartbeat { task },
            TaskAction::Succeeded(output) => Event::TaskSucceeded { task, output },
            TaskAction::Failed { error, cause } => Event::TaskFailed { task, error, cause },
        }
    }
}

/// The end of a run: the outcome, the history, and the number of states entered.
#[derive(Debug)]
pub struct Run {
    pub outcome: Outcome,
    pub history: Vec<HistoryEvent>,
    pub transitions: u64,
    /// Virtual time when the execution ended.
    pub end_time_ms: i64,
}

/// Options of a virtual-time run.
pub struct RunOptions {
    /// Stop (leaving the execution RUNNING) when the next timer is later than this.
    pub horizon_ms: Option<i64>,
    /// Record history events (the benchmark measures with them on).
    pub record_history: bool,
    /// Real time: given a timer's due time, waits for it and returns the time it is now.
    /// `None` is virtual time: the clock jumps to the due time at once.
    pub wait_until: Option<Box<dyn Fn(i64) -> i64>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            horizon_ms: None,
            record_history: true,
            wait_until: None,
        }
    }
}

/// Something due at a time: a timer, or a scripted step of a task.
enum Due {
    Timer(TimerId),
    Task(TaskId, TaskAction),
}

/// Runs an execution to its end on virtual time (a Distributed Map's ItemReader and
/// ResultWriter fail: there are no buckets).
pub fn run(
    machine: Arc<StateMachine>,
    info: ExecutionInfo,
    input: Value,
    opts: &RunOptions,
    tasks: &mut dyn FnMut(&Invocation) -> TaskResult,
) -> Run {
    run_hosted(machine, info, input, opts, tasks, &mut NoBuckets)
}

/// Runs an execution to its end on virtual time, with `host` for Map Runs' buckets.
pub fn run_hosted(
    machine: Arc<StateMachine>,
    info: ExecutionInfo,
    input: Value,
    opts: &RunOptions,
    tasks: &mut dyn FnMut(&Invocation) -> TaskResult,
    host: &mut dyn MapRunHost,
) -> Run {
    let mut now = info.start_time_ms;
    let (mut ex, commands, events) = Execution::start(machine, info, input);
    // The start's events become the history itself (no copy of what may be thousands).
    let mut history = if opts.record_history {
        events
    } else {
        Vec::new()
    };
    // Due items by (time, sequence): equal times keep the order they were scheduled in.
    let mut queue: BinaryHeap<Reverse<(i64, u64)>> = BinaryHeap::new();
    let mut due: HashMap<u64, Due> = HashMap::new();
    let mut seq = 0u64;
    let mut cancelled: HashSet<TimerId> = HashSet::new();
    let mut pending: Vec<Command> = commands;
    loop {
        // Answer tasks at once; queue timers and scripted steps.
        let mut answers = Vec::new();
        for c in pending.drain(..) {
            match c {
                Command::InvokeTask {
                    task,
                    state_name,
                    resource,
                    input,
                    attempt,
                    token,
                    timeout_seconds,
                    ..
                } => {
                    let inv = Invocation {
                        state_name,
                        resource,
                        input,
                        attempt,
                        token,
                        timeout_seconds,
                        now_ms: now,
                    };
                    match tasks(&inv) {
                        TaskResult::Script(steps) => {
                            for (delay, action) in steps {
                                let at = now + delay.max(0);
                                schedule(
                                    &mut queue,
                                    &mut due,
                                    &mut seq,
                                    at,
                                    Due::Task(task, action),
                                );
                            }
                        }
                        r => answers.push((task, r)),
                    }
                }
                Command::StartMapRun { task, spec } => {
                    let (end, result) = map_run::run(&spec, now, tasks, host);
                    let action = match result {
                        Ok(output) => TaskAction::Succeeded(output),
                        Err(f) => TaskAction::Failed {
                            error: f.error,
                            cause: f.cause,
                        },
                    };
                    schedule(&mut queue, &mut due, &mut seq, end, Due::Task(task, action));
                }
                Command::StartTimer { timer, fire_at_ms } => {
                    schedule(
                        &mut queue,
                        &mut due,
                        &mut seq,
                        fire_at_ms,
                        Due::Timer(timer),
                    );
                }
                Command::CancelTimer { timer } => {
                    cancelled.insert(timer);
                }
                Command::Finished => {
                    let transitions = ex.transitions;
                    return Run {
                        outcome: ex
                            .into_outcome()
                            .expect("an execution that sent Finished has its outcome"),
                        history,
                        transitions,
                        end_time_ms: now,
                    };
                }
            }
        }
        let event = if let Some((task, result)) = answers.pop() {
            // Other answers wait their turn: push them back as already-answered.
            for (t, r) in answers.into_iter().rev() {
                let (c, e) = ex.step(to_event(t, r), now);
                if opts.record_history {
                    history.extend(e);
                }
                pending.extend(c);
            }
            to_event(task, result)
        } else if let Some(Reverse((at, key))) = queue.pop() {
            let item = due.remove(&key).expect("every queued key has its item");
            if let Due::Timer(timer) = item {
                if cancelled.remove(&timer) {
                    continue;
                }
            }
            if opts.horizon_ms.is_some_and(|h| at > h) {
                let outcome = Outcome {
                    status: crate::Status::Running,
                    output: None,
                    error: None,
                    cause: None,
                };
                return Run {
                    outcome,
                    history,
                    transitions: ex.transitions,
                    end_time_ms: now,
                };
            }
            now = match &opts.wait_until {
                Some(wait) => wait(at),
                None => now.max(at),
            };
            match item {
                Due::Timer(timer) => Event::TimerFired { timer },
                Due::Task(task, action) => {
                    if ex.task_phase(task).is_none() {
                        continue;
                    }
                    action.into_event(task)
                }
            }
        } else {
            // Nothing outstanding but no end: cannot happen for a well-formed execution.
            let outcome = Outcome {
                status: crate::Status::Failed,
                output: None,
                error: Some("States.Runtime".into()),
                cause: Some("The execution stalled with nothing to wait for".into()),
            };
            return Run {
                outcome,
                history,
                transitions: ex.transitions,
                end_time_ms: now,
            };
        };
        let (c, e) = ex.step(event, now);
        if opts.record_history {
            history.extend(e);
        }
        pending.extend(c);
    }
}

/// Queues `item` for time `at`; equal times keep the order they were queued in.
fn schedule(
    queue: &mut BinaryHeap<Reverse<(i64, u64)>>,
    due: &mut HashMap<u64, Due>,
    seq: &mut u64,
    at: i64,
    item: Due,
) {
    *seq += 1;
    queue.push(Reverse((at, *seq)));
    due.insert(*seq, item);
}

fn to_event(task: u64, r: TaskResult) -> Event {
    match r {
        TaskResult::Success(output) => Event::TaskSucceeded { task, output },
        TaskResult::Failure { error, cause } => Event::TaskFailed { task, error, cause },
        TaskResult::Script(_) => unreachable!("scripts are queued, not answered at once"),
    }
}
