//! A synchronous driver for one execution on virtual time: timers fire in order of their due
//! time without sleeping, and Task invocations are answered by a callback. `passo run`, the
//! conformance tests and the benchmark use it; the server drives executions its own way.

use crate::execution::{Command, Event, Execution, ExecutionInfo, Outcome};
use crate::history::HistoryEvent;
use passo_asl::StateMachine;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

/// A Task invocation as the callback sees it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub state_name: String,
    pub resource: String,
    pub input: Value,
    pub attempt: u64,
}

/// How a Task invocation ended.
#[derive(Debug, Clone)]
pub enum TaskResult {
    Success(Value),
    Failure {
        error: String,
        cause: Option<String>,
    },
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

/// Runs an execution to its end on virtual time.
pub fn run(
    machine: Arc<StateMachine>,
    info: ExecutionInfo,
    input: Value,
    opts: &RunOptions,
    tasks: &mut dyn FnMut(&Invocation) -> TaskResult,
) -> Run {
    let mut now = info.start_time_ms;
    let (mut ex, commands, events) = Execution::start(machine, info, input);
    let mut history = Vec::new();
    if opts.record_history {
        history.extend(events);
    }
    let mut timers: BinaryHeap<Reverse<(i64, u64)>> = BinaryHeap::new();
    let mut pending: Vec<Command> = commands;
    loop {
        // Answer tasks at once; queue timers.
        let mut answers = Vec::new();
        for c in pending.drain(..) {
            match c {
                Command::InvokeTask {
                    task,
                    state_name,
                    resource,
                    input,
                    attempt,
                    ..
                } => {
                    let inv = Invocation {
                        state_name,
                        resource,
                        input,
                        attempt,
                    };
                    answers.push((task, tasks(&inv)));
                }
                Command::StartTimer { timer, fire_at_ms } => {
                    timers.push(Reverse((fire_at_ms, timer)))
                }
                Command::Finished(outcome) => {
                    return Run {
                        outcome,
                        history,
                        transitions: ex.transitions,
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
        } else if let Some(Reverse((at, timer))) = timers.pop() {
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
            Event::TimerFired { timer }
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

fn to_event(task: u64, r: TaskResult) -> Event {
    match r {
        TaskResult::Success(output) => Event::TaskSucceeded { task, output },
        TaskResult::Failure { error, cause } => Event::TaskFailed { task, error, cause },
    }
}
