//! A snapshot of an execution's state between two steps, so that a host can rebuild a long
//! execution from the snapshot and the steps after it instead of replaying every step.
//!
//! Everything the interpreter knows is in [`Execution`]; the machine and the execution's
//! names come from the host (they are not the interpreter's to keep), which must give the
//! same ones it started the execution with: a snapshot is only valid for the definition
//! (revision) it was taken under, and the host checks that before restoring. The encoding is
//! JSON (serde) under [`FORMAT`]: a change to the interpreter's state bumps it, and a
//! snapshot of another format is refused, so that the host replays instead.

use crate::execution::{Execution, ExecutionInfo, OpenTask, Outcome, Phase, TaskTimer, Thread};
use crate::execution::{TaskId, ThreadId, TimerId};
use passo_asl::model::{StateId, StateKind, StateMachine};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

/// The snapshot encoding's version: bump it with any change to the state below (or to the
/// types it holds), so that older snapshots are replayed past instead of misread.
pub const FORMAT: u32 = 1;

/// Why a snapshot could not be restored (the host then replays every step).
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the snapshot is format {found}, this interpreter reads format {FORMAT}")]
    Format { found: u32 },
    #[error("the snapshot does not decode: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("the snapshot does not fit the state machine: {0}")]
    Mismatch(&'static str),
}

/// The state, borrowed, as it is written.
#[derive(Serialize)]
struct StateRef<'a> {
    format: u32,
    execution_arn: &'a str,
    input: &'a Value,
    threads: &'a [Thread],
    ready: &'a [ThreadId],
    next_event_id: u64,
    next_handle: u64,
    rng: u64,
    tasks: &'a HashMap<TaskId, OpenTask>,
    timers: &'a HashMap<TimerId, ThreadId>,
    task_timers: &'a HashMap<TimerId, TaskTimer>,
    execution_timer: Option<TimerId>,
    outcome: &'a Option<Outcome>,
    now_ms: i64,
    redrive_count: u64,
    last_map_run: &'a Option<(StateId, String)>,
    redrive_map_run: &'a Option<(StateId, String)>,
    transitions: u64,
}

/// The state as it is read back.
#[derive(Deserialize)]
struct State {
    format: u32,
    execution_arn: String,
    input: Value,
    threads: Vec<Thread>,
    ready: Vec<ThreadId>,
    next_event_id: u64,
    next_handle: u64,
    rng: u64,
    tasks: HashMap<TaskId, OpenTask>,
    timers: HashMap<TimerId, ThreadId>,
    task_timers: HashMap<TimerId, TaskTimer>,
    execution_timer: Option<TimerId>,
    outcome: Option<Outcome>,
    now_ms: i64,
    redrive_count: u64,
    last_map_run: Option<(StateId, String)>,
    redrive_map_run: Option<(StateId, String)>,
    transitions: u64,
}

/// Only the format, read first: a snapshot of another format may not decode as [`State`].
#[derive(Deserialize)]
struct Header {
    format: u32,
}

impl Execution {
    /// The execution's state as JSON text, to be given back to [`Execution::restore`] with
    /// the same machine and names. Taken between steps (nothing is pending then).
    pub fn snapshot(&self) -> String {
        let s = StateRef {
            format: FORMAT,
            execution_arn: &self.info.execution_arn,
            input: &self.input,
            threads: &self.threads,
            ready: &self.ready,
            next_event_id: self.next_event_id,
            next_handle: self.next_handle,
            rng: self.rng.get(),
            tasks: &self.tasks,
            timers: &self.timers,
            task_timers: &self.task_timers,
            execution_timer: self.execution_timer,
            outcome: &self.outcome,
            now_ms: self.now_ms,
            redrive_count: self.redrive_count,
            last_map_run: &self.last_map_run,
            redrive_map_run: &self.redrive_map_run,
            transitions: self.transitions,
        };
        // Values, strings and numbers only: serialising cannot fail.
        serde_json::to_string(&s).unwrap_or_default()
    }

    /// The execution a [`Execution::snapshot`] was taken of, on `machine` with `info` (the
    /// ones it was started with). Refuses a snapshot of another format or execution, or
    /// one whose threads stand in states `machine` does not have.
    pub fn restore(
        machine: Arc<StateMachine>,
        info: ExecutionInfo,
        snapshot: &str,
    ) -> Result<Execution, SnapshotError> {
        let h: Header = serde_json::from_str(snapshot)?;
        if h.format != FORMAT {
            return Err(SnapshotError::Format { found: h.format });
        }
        let s: State = serde_json::from_str(snapshot)?;
        if s.format != FORMAT {
            return Err(SnapshotError::Format { found: s.format });
        }
        if s.execution_arn != info.execution_arn {
            return Err(SnapshotError::Mismatch("it is another execution's"));
        }
        check(&machine, &s)?;
        Ok(Execution {
            machine,
            info,
            input: s.input,
            threads: s.threads,
            ready: s.ready,
            next_event_id: s.next_event_id,
            next_handle: s.next_handle,
            rng: Cell::new(s.rng),
            tasks: s.tasks,
            timers: s.timers,
            task_timers: s.task_timers,
            execution_timer: s.execution_timer,
            outcome: s.outcome,
            now_ms: s.now_ms,
            redrive_count: s.redrive_count,
            last_map_run: s.last_map_run,
            redrive_map_run: s.redrive_map_run,
            events: Vec::new(),
            commands: Vec::new(),
            transitions: s.transitions,
        })
    }

    /// The id of the last history event written (0 before the first).
    pub fn last_event_id(&self) -> u64 {
        self.next_event_id - 1
    }
}

/// That every thread's path and state exist in `machine` and every reference to a thread
/// names one: the interpreter indexes by them without checking.
fn check(machine: &StateMachine, s: &State) -> Result<(), SnapshotError> {
    let n = s.threads.len();
    for t in &s.threads {
        let mut p = &machine.program;
        for &(state, branch) in &t.path {
            p = match p.states.get(state).map(|st| &st.kind) {
                Some(StateKind::Parallel(par)) => par
                    .branches
                    .get(branch)
                    .ok_or(SnapshotError::Mismatch("a branch the machine lacks"))?,
                Some(StateKind::Map(m)) => &m.processor,
                _ => {
                    return Err(SnapshotError::Mismatch(
                        "a thread under a state that forks none",
                    ))
                }
            };
        }
        if t.state >= p.states.len() {
            return Err(SnapshotError::Mismatch("a state the machine lacks"));
        }
        if t.parent.is_some_and(|(p, _)| p >= n) {
            return Err(SnapshotError::Mismatch("a parent thread that is not there"));
        }
        if let Phase::Children(f) = &t.phase {
            if f.children.iter().flatten().any(|c| *c >= n) {
                return Err(SnapshotError::Mismatch("a child thread that is not there"));
            }
        }
    }
    let thread_ok = |t: &ThreadId| *t < n;
    if !s.ready.iter().all(thread_ok)
        || !s.tasks.values().all(|t| thread_ok(&t.thread))
        || !s.timers.values().all(thread_ok)
        || n == 0
    {
        return Err(SnapshotError::Mismatch("a thread that is not there"));
    }
    Ok(())
}
