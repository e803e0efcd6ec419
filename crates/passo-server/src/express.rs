//! Express executions: the same interpreter, driven in memory, nothing stored. Timers are
//! tokio sleeps and Task results come back over a channel; the execution ends within
//! AWS's five-minute Express limit or is stopped with States.Timeout.

use crate::express_recent::Recorder;
use crate::runtime::{mocked, now_ms, Runtime};
use crate::tasks::{answer, TaskRequest};
use passo_asl::StateMachine;
use passo_engine::mock::Mocks;
use passo_engine::{Command, Event, Execution, ExecutionInfo, Outcome, Status};
use passo_tasks::nested::Pattern;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

/// AWS's longest Express execution.
pub const MAX_DURATION_MS: i64 = 5 * 60 * 1000;

/// Runs an Express execution to its end and answers how it ended. Express executions
/// (not a Map Run's in-memory children) are recorded in the runtime's recent list.
pub async fn run(
    machine: Arc<StateMachine>,
    info: ExecutionInfo,
    input: Value,
    rt: Arc<Runtime>,
    mocks: Option<Mocks>,
) -> Outcome {
    let rec =
        (info.execution_arn.contains(":express:")).then(|| rt.recent_express.begin(&info, &input));
    if rec.is_some() {
        rt.metrics.started("EXPRESS");
    }
    let metrics_rt = rec.is_some().then(|| rt.clone());
    let o = run_recorded(machine, info, input, rt, mocks, rec.as_ref()).await;
    if let Some(rt) = metrics_rt {
        rt.metrics.finished("EXPRESS", o.status.as_str());
    }
    if let Some(r) = &rec {
        r.finish(&o, now_ms());
    }
    o
}

async fn run_recorded(
    machine: Arc<StateMachine>,
    info: ExecutionInfo,
    input: Value,
    rt: Arc<Runtime>,
    mut mocks: Option<Mocks>,
    rec: Option<&Recorder>,
) -> Outcome {
    let start = info.start_time_ms;
    let info_deadline = info
        .max_duration_seconds
        .map_or(i64::MAX, |s| start + s as i64 * 1000);
    let arn = info.execution_arn.clone();
    let (mut ex, mut cmds, events) = Execution::start(machine, info, input);
    if let Some(r) = rec {
        r.events(&events);
    }
    // Only the first step's commands are inspected before any channel is needed: most
    // Express machines finish right here.
    if finished(&cmds) {
        return outcome_of(ex);
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let mut timers: BinaryHeap<Reverse<(i64, u64)>> = BinaryHeap::new();
    // Express executions have AWS's five minutes; a Map Run's Standard children (run in
    // memory here) have no limit but their own.
    let deadline = info_deadline;
    loop {
        for c in cmds.drain(..) {
            match c {
                Command::Finished => return outcome_of(ex),
                Command::StartTimer { timer, fire_at_ms } => {
                    timers.push(Reverse((fire_at_ms, timer)))
                }
                // A cancelled timer that fires is ignored by the interpreter.
                Command::CancelTimer { .. } => {}
                Command::StartMapRun { task, spec } => {
                    let mocks = mocks.clone();
                    let tx = tx.clone();
                    let rt = rt.clone();
                    let arn = arn.clone();
                    tokio::spawn(async move {
                        if let Some(r) = rt.clone().run_map(spec, arn, mocks).await {
                            let _ = tx.send(crate::map_runs::coordinator::answer(task, r));
                        }
                    });
                }
                c @ Command::InvokeTask { .. } => {
                    if let Some(ev) = mocked(mocks.as_mut(), &c) {
                        let _ = tx.send(ev);
                        continue;
                    }
                    let Some((task, req)) = TaskRequest::from_command(&arn, c) else {
                        continue;
                    };
                    let tx = tx.clone();
                    let rt = rt.clone();
                    let arn = arn.clone();
                    tokio::spawn(async move {
                        let resource = req.resource.clone();
                        // Express machines cannot wait for a child (`.sync` is refused when
                        // they are created), so a child's start answers the task.
                        let ev = match Pattern::of(&resource) {
                            Some(p) => rt.child_event(&arn, task, p, &req).await,
                            None => answer(&resource, task, rt.tasks.invoke(req).await),
                        };
                        let _ = tx.send(ev);
                    });
                }
            }
        }
        let next = timers
            .peek()
            .map(|Reverse((at, _))| *at)
            .unwrap_or(i64::MAX)
            .min(deadline);
        let wait = (next - now_ms()).max(0) as u64;
        let ev = tokio::select! {
            ev = rx.recv() => match ev { Some(ev) => ev, None => continue },
            _ = tokio::time::sleep(std::time::Duration::from_millis(wait)) => {
                match timers.peek() {
                    Some(Reverse((at, id))) if *at <= now_ms() => {
                        let id = *id;
                        timers.pop();
                        Event::TimerFired { timer: id }
                    }
                    _ if now_ms() >= deadline => Event::Stop {
                        error: Some("States.Timeout".into()),
                        cause: Some("The Express execution ran longer than five minutes.".into()),
                    },
                    _ => continue,
                }
            }
        };
        let (c, events) = ex.step(ev, now_ms());
        if let Some(r) = rec {
            r.events(&events);
        }
        cmds = c;
        if ex.outcome().is_some() && cmds.is_empty() {
            return outcome_of(ex);
        }
    }
}

fn finished(cmds: &[Command]) -> bool {
    cmds.iter().any(|c| matches!(c, Command::Finished))
}

/// The outcome of an execution that said it finished (moved out: a final output may be
/// large).
fn outcome_of(ex: Execution) -> Outcome {
    ex.into_outcome().unwrap_or_else(|| Outcome {
        status: Status::Failed,
        output: None,
        error: Some("States.Runtime".into()),
        cause: Some("The execution finished without an outcome.".into()),
    })
}

/// An Express outcome's status as StartSyncExecution reports it (an aborted one is FAILED
/// from the caller's view only when AWS says so: it reports TIMED_OUT and FAILED as is).
pub fn status_text(s: Status) -> &'static str {
    s.as_str()
}
