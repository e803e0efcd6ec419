//! An execution held in memory, and the bookkeeping of what it has out in the world (tasks
//! in flight, timers, child executions) that follows the interpreter's commands and events.

use crate::nested::ParentLink;
use passo_engine::mock::Mocks;
use passo_engine::{Command, Event, Execution, TaskPhase};
use passo_tasks::nested::Pattern;
use serde_json::Value;
use std::collections::HashMap;

/// An execution being driven.
pub(crate) struct Active {
    pub ex: Execution,
    pub seq: i64,
    /// Task invocations in flight (not yet submitted or taken by a worker), by id: invoked
    /// again after a restart.
    pub tasks: HashMap<u64, Command>,
    /// Timers out: id -> fire time.
    pub timers: HashMap<u64, i64>,
    /// The execution whose task started this one, if any.
    pub parent: Option<ParentLink>,
    /// `.sync` tasks waiting for a child execution to end: task id -> child ARN, pattern.
    pub children: HashMap<u64, (String, Pattern)>,
    /// `.sync` tasks whose job was submitted (TaskSubmitted recorded) and is being followed:
    /// task id -> its invocation, and the submission's answer (the job's id is in it).
    pub jobs: HashMap<u64, (Command, Value)>,
    /// The mocked Task results of the test case the execution was started with.
    pub mocks: Option<Mocks>,
    /// The machine's revision the execution runs (what its snapshots are taken under).
    pub revision: String,
    /// The step and the last history event of the latest snapshot (or where the execution
    /// was rebuilt from): the next is due some way past them.
    pub snapshot_seq: i64,
    pub snapshot_event: u64,
}

impl Active {
    pub fn new(ex: Execution, parent: Option<ParentLink>) -> Active {
        Active {
            ex,
            seq: 0,
            tasks: HashMap::new(),
            timers: HashMap::new(),
            parent,
            children: HashMap::new(),
            jobs: HashMap::new(),
            mocks: None,
            revision: String::new(),
            snapshot_seq: 0,
            snapshot_event: 0,
        }
    }

    /// The Map Runs out: task id -> Map Run ARN.
    pub fn map_runs(&self) -> Vec<(u64, String)> {
        self.tasks
            .iter()
            .filter_map(|(t, c)| match c {
                Command::StartMapRun { spec, .. } => Some((*t, spec.map_run_arn.clone())),
                _ => None,
            })
            .collect()
    }

    /// What keeps the execution waiting on something outside it: tasks out, children.
    pub fn pending(&self) -> usize {
        self.tasks.len() + self.children.len() + self.jobs.len()
    }

    /// The jobs being followed: task, invocation, submission.
    pub fn jobs_out(&self) -> Vec<(u64, Command, Value)> {
        self.jobs
            .iter()
            .map(|(t, (c, v))| (*t, c.clone(), v.clone()))
            .collect()
    }

    /// The tasks out in the world (invoked, or a job being followed).
    pub fn out(&self) -> Vec<u64> {
        self.tasks.keys().chain(self.jobs.keys()).copied().collect()
    }
}

pub(crate) fn track(a: &mut Active, cmds: &[Command]) {
    for c in cmds {
        match c {
            Command::InvokeTask { task, .. } | Command::StartMapRun { task, .. } => {
                a.tasks.insert(*task, c.clone());
            }
            Command::StartTimer { timer, fire_at_ms } => {
                a.timers.insert(*timer, *fire_at_ms);
            }
            Command::CancelTimer { timer } => {
                a.timers.remove(timer);
            }
            Command::Finished => {
                a.tasks.clear();
                a.timers.clear();
            }
        }
    }
}

/// What an event answers: the task or timer it settles is no longer out.
pub(crate) fn forget(a: &mut Active, ev: &Event) {
    match ev {
        Event::TaskSubmitted { task, output } => {
            let cmd = a.tasks.remove(task);
            let resource = match &cmd {
                Some(Command::InvokeTask { resource, .. }) => Some(resource.as_str()),
                _ => None,
            };
            if let (Some(c), true) = (&cmd, resource.is_some_and(passo_tasks::follows_job)) {
                a.jobs.insert(*task, (c.clone(), output.clone()));
                return;
            }
            let pattern = resource.and_then(Pattern::of);
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
            a.jobs.clear();
        }
    }
}

/// Drops from the in-flight set the tasks the interpreter closed on its own (timed out, or
/// abandoned when a sibling branch failed or the execution ended).
pub(crate) fn settle(a: &mut Active) {
    let ex = &a.ex;
    a.tasks
        .retain(|id, _| ex.task_phase(*id) == Some(TaskPhase::Invoked));
    a.children.retain(|id, _| ex.task_phase(*id).is_some());
    a.jobs
        .retain(|id, _| ex.task_phase(*id) == Some(TaskPhase::Submitted));
}

/// The task an event answers, if it answers one with its result.
pub(crate) fn answered_task(ev: &Event) -> Option<u64> {
    match ev {
        Event::TaskSucceeded { task, .. } | Event::TaskFailed { task, .. } => Some(*task),
        _ => None,
    }
}
