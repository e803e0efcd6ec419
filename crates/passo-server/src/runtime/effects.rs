//! What a committed step sends out: task invocations (to integrations, mocks, activity
//! queues, child executions) and timers; and whether the execution stays in memory.

use super::active::Active;
use super::inflight::Held;
use super::owner::{Delivery, Expect, Slot, SlotState};
use super::{now_ms, Runtime, LOOKAHEAD_MS};
use crate::activities::ActivityTask;
use crate::tasks::{answer, TaskRequest};
use passo_engine::driver::{Invocation, TaskResult as DriverResult};
use passo_engine::mock::Mocks;
use passo_engine::{Command, Event, TaskId, TaskPhase};
use passo_store::TimerRow;
use passo_tasks::nested::Pattern;
use std::sync::Arc;

impl Runtime {
    /// Sends out a committed step's effects and keeps the execution in memory when it will
    /// need it soon (tasks out, a timer due shortly); else takes it out of memory.
    pub(crate) fn after_commit(
        self: &Arc<Self>,
        arn: &str,
        mut a: Active,
        cmds: Vec<Command>,
        slot: &Slot,
        g: &mut SlotState,
    ) {
        let now = now_ms();
        for c in &cmds {
            match c {
                Command::InvokeTask { .. } | Command::StartMapRun { .. } => {
                    self.send_task(arn, &mut a, c.clone())
                }
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
        if keep {
            g.active = Some(a);
        } else {
            self.owners.evict(arn, slot, g);
        }
    }

    /// Sends one invocation out: to its mock, or for real.
    pub(crate) fn send_task(self: &Arc<Self>, arn: &str, a: &mut Active, c: Command) {
        let Some(task) = task_of(&c) else { return };
        let held = self.inflight.hold(arn, task);
        if let Command::StartMapRun { task, spec } = c {
            // The test case's mocks answer the children's Tasks too.
            return self.start_map_run(arn, task, spec, a.mocks.clone(), held);
        }
        match mocked(a.mocks.as_mut(), &c) {
            Some(event) => self.answer_later(arn, event, held),
            None => self.invoke(arn, c, held),
        }
    }

    /// Delivers an answer to an invoked task (a mocked result, a refusal) as if its
    /// integration had answered.
    pub(crate) fn answer_later(self: &Arc<Self>, arn: &str, event: Event, held: Held) {
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
            drop(held);
        });
    }

    /// Sends a task out: activity tasks to their queue, everything else to the task runner.
    fn invoke(self: &Arc<Self>, arn: &str, cmd: Command, held: Held) {
        let Some((task, req)) = TaskRequest::from_command(arn, cmd) else {
            return;
        };
        if let Some(pattern) = Pattern::of(&req.resource) {
            self.start_child(arn, task, pattern, req, held);
            return;
        }
        if let (Some(activity), Some(token)) = (activity_of(&req.resource), &req.token) {
            if matches!(self.db.activity(activity), Ok(None)) {
                // AWS fails the state at once rather than queue work nobody can take.
                let message = format!("The activity {activity} does not exist.");
                return self.answer_later(arn, Event::TaskRefused { task, message }, held);
            }
            // The queue holds it from here (the sweeper asks the queue).
            let queued = ActivityTask {
                execution_arn: arn.to_string(),
                task,
                token: token.clone(),
                input: req.input,
            };
            return self.queue_activity(activity, queued, held);
        }
        let rt = self.clone();
        let arn = arn.to_string();
        let spawned = now_ms();
        tokio::spawn(async move {
            if now_ms() - spawned > 300 {
                tracing::info!(
                    "DEBUG {arn}: task {task} sent {} ms after its step",
                    now_ms() - spawned
                );
            }
            let resource = req.resource.clone();
            let begun = std::time::Instant::now();
            let result = rt.tasks.invoke(req.clone()).await;
            rt.metrics.task_answered(begun.elapsed().as_secs_f64());
            let event = answer(&resource, task, result);
            let job = match &event {
                Event::TaskSubmitted { output, .. } if passo_tasks::follows_job(&resource) => {
                    Some(output.clone())
                }
                _ => None,
            };
            let expect = Expect::Task(task, &[TaskPhase::Invoked]);
            let delivered = match rt.deliver_if(&arn, event, expect).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!("delivering a task result to {arn}: {e}");
                    return;
                }
            };
            if let Some(submitted) = job {
                // A job submitted for a task that closed meanwhile is stopped at once.
                if !matches!(delivered, Delivery::Applied | Delivery::Forwarded) {
                    held.stop().cancel();
                }
                rt.follow_job(&arn, task, req, submitted, held).await;
            }
        });
    }

    /// Follows a `.sync` task's submitted job (its TaskSubmitted is committed) until it
    /// ends, and delivers the task's result; if the task closes first, its stop signal
    /// stops the job. Also how a job is followed again after a restart: from the recorded
    /// submission, never submitted a second time.
    pub(crate) async fn follow_job(
        self: &Arc<Self>,
        arn: &str,
        task: TaskId,
        req: TaskRequest,
        submitted: serde_json::Value,
        held: Held,
    ) {
        let stop = held.stop();
        let result = self.tasks.follow(req, submitted, stop.clone()).await;
        if !stop.is_cancelled() {
            let event = match result {
                Ok(output) => Event::TaskSucceeded { task, output },
                Err((error, cause)) => Event::TaskFailed { task, error, cause },
            };
            let expect = Expect::Task(task, &[TaskPhase::Submitted]);
            if let Err(e) = self.deliver_if(arn, event, expect).await {
                tracing::warn!("delivering a job's end to {arn}: {e}");
            }
        }
        drop(held);
    }

    /// Follows again the jobs an execution loaded from the store was waiting for.
    pub(crate) fn resume_jobs(
        self: &Arc<Self>,
        arn: &str,
        jobs: Vec<(TaskId, Command, serde_json::Value)>,
    ) {
        for (task, cmd, submitted) in jobs {
            let Some((_, req)) = TaskRequest::from_command(arn, cmd) else {
                continue;
            };
            let held = self.inflight.hold(arn, task);
            let rt = self.clone();
            let arn = arn.to_string();
            tokio::spawn(async move { rt.follow_job(&arn, task, req, submitted, held).await });
        }
    }
}

fn task_of(c: &Command) -> Option<TaskId> {
    match c {
        Command::InvokeTask { task, .. } | Command::StartMapRun { task, .. } => Some(*task),
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
pub(crate) fn activity_of(resource: &str) -> Option<&str> {
    let parts: Vec<&str> = resource.splitn(7, ':').collect();
    matches!(parts.as_slice(), ["arn", _, "states", _, _, "activity", _]).then_some(resource)
}
