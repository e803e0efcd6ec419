//! Snapshots of long executions: the interpreter's state ([`passo_engine::snapshot`]) and
//! the runtime's bookkeeping of what is out in the world (tasks, timers, children, jobs),
//! stored next to the steps, so that rebuilding an execution replays only the steps after
//! its snapshot instead of all of them.
//!
//! A snapshot is written with a step's commit (in its transaction) once an execution has
//! made [`EVERY_STEPS`] steps or written [`EVERY_EVENTS`] history events since the last one:
//! short executions never pay for one. Not while a Distributed Map's run is out (its spec
//! holds the parsed processor, which is rebuilt only by replay) nor for executions of a mock
//! test case (their mocks count every answered invocation). A snapshot taken under another
//! revision of the machine or another format, or one that does not decode, is passed over:
//! the execution is replayed in full, as before snapshots.

use super::active::Active;
use passo_engine::{Command, Execution, ExecutionInfo};
use passo_store::{SnapshotRow, Write};
use passo_tasks::nested::Pattern;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Steps between two snapshots of one execution.
pub(crate) const EVERY_STEPS: i64 = 200;
/// History events between two snapshots (a step of a large Map writes thousands).
pub(crate) const EVERY_EVENTS: u64 = 4_000;

/// The stored format: the interpreter's, and this module's own (the `+ 1`): bump the latter
/// with a change to [`Host`].
pub(crate) const FORMAT: i64 = passo_engine::snapshot::FORMAT as i64 * 1000 + 2;

/// A task invocation out ([`Command::InvokeTask`]).
#[derive(Serialize, Deserialize)]
struct Invocation {
    task: u64,
    state_name: String,
    resource: String,
    input: Value,
    attempt: u64,
    timeout_seconds: Option<u64>,
    heartbeat_seconds: Option<u64>,
    token: Option<String>,
}

impl Invocation {
    fn of(c: &Command) -> Option<Invocation> {
        match c {
            Command::InvokeTask {
                task,
                state_name,
                resource,
                input,
                attempt,
                timeout_seconds,
                heartbeat_seconds,
                token,
            } => Some(Invocation {
                task: *task,
                state_name: state_name.clone(),
                resource: resource.clone(),
                input: input.clone(),
                attempt: *attempt,
                timeout_seconds: *timeout_seconds,
                heartbeat_seconds: *heartbeat_seconds,
                token: token.clone(),
            }),
            _ => None,
        }
    }

    fn command(self) -> Command {
        Command::InvokeTask {
            task: self.task,
            state_name: self.state_name,
            resource: self.resource,
            input: self.input,
            attempt: self.attempt,
            timeout_seconds: self.timeout_seconds,
            heartbeat_seconds: self.heartbeat_seconds,
            token: self.token,
        }
    }
}

/// The runtime's bookkeeping of an [`Active`] (see its fields).
#[derive(Serialize, Deserialize)]
struct Host {
    tasks: Vec<Invocation>,
    timers: HashMap<u64, i64>,
    /// Task, child ARN, pattern.
    children: Vec<(u64, String, String)>,
    /// The invocation and the submission's answer.
    jobs: Vec<(Invocation, Value)>,
}

/// Whether `a`, just stepped, is due a snapshot.
pub(crate) fn due(a: &Active) -> bool {
    a.ex.outcome().is_none()
        && a.mocks.is_none()
        && (a.seq - a.snapshot_seq >= EVERY_STEPS
            || a.ex.last_event_id() - a.snapshot_event >= EVERY_EVENTS)
        && a.tasks
            .values()
            .all(|c| matches!(c, Command::InvokeTask { .. }))
}

/// The snapshot of `a` after its step `a.seq`, under `revision_id`; notes it in `a`.
/// None when something out cannot be written down (a Map Run).
pub(crate) fn write(arn: &str, revision_id: &str, a: &mut Active) -> Option<Write> {
    let tasks: Option<Vec<Invocation>> = a.tasks.values().map(Invocation::of).collect();
    let jobs: Option<Vec<(Invocation, Value)>> = a
        .jobs
        .values()
        .map(|(c, v)| Some((Invocation::of(c)?, v.clone())))
        .collect();
    let host = Host {
        tasks: tasks?,
        timers: a.timers.clone(),
        children: a
            .children
            .iter()
            .map(|(t, (c, p))| (*t, c.clone(), p.as_str().to_string()))
            .collect(),
        jobs: jobs?,
    };
    // The host's part on the first line, the interpreter's after it: compact JSON has no
    // raw newline, and the interpreter's part is not copied into a string of its own.
    let mut state = serde_json::to_string(&host).ok()?;
    state.push('\n');
    state.push_str(&a.ex.snapshot());
    a.snapshot_seq = a.seq;
    a.snapshot_event = a.ex.last_event_id();
    Some(Write::PutSnapshot(SnapshotRow {
        execution_arn: arn.to_string(),
        seq: a.seq,
        revision_id: revision_id.to_string(),
        format: FORMAT,
        state,
    }))
}

/// Why a snapshot was passed over.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unusable {
    #[error("it was taken under revision {0}")]
    Revision(String),
    #[error("it is format {0}, this server reads {FORMAT}")]
    Format(i64),
    #[error("its runtime part does not decode: {0}")]
    Host(String),
    #[error(transparent)]
    Engine(#[from] passo_engine::snapshot::SnapshotError),
}

/// The execution `row` holds, on `machine` with `info`, as of step `row.seq`.
pub(crate) fn restore(
    row: &SnapshotRow,
    revision_id: &str,
    machine: Arc<passo_asl::StateMachine>,
    info: ExecutionInfo,
    parent: Option<crate::nested::ParentLink>,
) -> Result<Active, Unusable> {
    if row.revision_id != revision_id {
        return Err(Unusable::Revision(row.revision_id.clone()));
    }
    if row.format != FORMAT {
        return Err(Unusable::Format(row.format));
    }
    let (host, engine) = row
        .state
        .split_once('\n')
        .ok_or_else(|| Unusable::Host("no interpreter part".into()))?;
    let host: Host = serde_json::from_str(host).map_err(|e| Unusable::Host(e.to_string()))?;
    let ex = Execution::restore(machine, info, engine)?;
    let mut children = HashMap::new();
    for (t, c, p) in host.children {
        let p = Pattern::parse(&p).ok_or_else(|| Unusable::Host(format!("pattern {p}")))?;
        children.insert(t, (c, p));
    }
    let mut a = Active::new(ex, parent);
    a.seq = row.seq;
    a.snapshot_seq = row.seq;
    a.snapshot_event = a.ex.last_event_id();
    a.tasks = host
        .tasks
        .into_iter()
        .map(|i| (i.task, i.command()))
        .collect();
    a.timers = host.timers;
    a.children = children;
    a.jobs = host
        .jobs
        .into_iter()
        .map(|(i, v)| (i.task, (i.command(), v)))
        .collect();
    Ok(a)
}

/// How executions were rebuilt since the server started (`Passo.DescribeServer`).
#[derive(Default)]
pub struct Rebuilds {
    pub from_snapshot: std::sync::atomic::AtomicU64,
    pub in_full: std::sync::atomic::AtomicU64,
    /// Snapshots that did not fit (another revision or format, or not decoding).
    pub passed_over: std::sync::atomic::AtomicU64,
    /// Steps replayed, either way.
    pub steps_replayed: std::sync::atomic::AtomicU64,
}
