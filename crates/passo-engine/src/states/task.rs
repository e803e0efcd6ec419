//! Task states: the invocation command, and the events AWS writes around it.

use crate::execution::{
    Command, Execution, OpenTask, Phase, TaskId, TaskPhase, TaskTimer, ThreadId, TimerId,
};
use crate::failure::Failure;
use crate::history::{payload, payload_details};
use crate::io::StatesExtra;
use passo_asl::model::*;
use passo_expr::ExprError;
use serde_json::{json, Map, Value};

/// The three families of Task resources, which write different history events.
enum ResourceKind {
    /// `arn:aws:lambda:...:function:NAME`: LambdaFunction* events.
    Lambda,
    /// `arn:aws:states:...:activity:NAME`: Activity* events; a worker polls for the task.
    Activity,
    /// `arn:aws:states:::SERVICE:ACTION[.sync|.waitForTaskToken]`: Task* events naming the
    /// service (`resourceType`) and the action (`resource`).
    Service {
        resource_type: String,
        resource: String,
    },
}

fn resource_kind(arn: &str) -> ResourceKind {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", ..] => return ResourceKind::Lambda,
        ["arn", _, "states", _, _, "activity", ..] => return ResourceKind::Activity,
        _ => {}
    }
    // arn:aws:states:::lambda:invoke(.waitForTaskToken) -> type "lambda", resource "invoke..."
    let rest = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    let (ty, res) = rest.split_once(':').unwrap_or((rest, ""));
    // arn:aws:states:::aws-sdk:s3:getObject -> type "aws-sdk:s3", resource "getObject".
    let (ty, res) = match (ty, res.split_once(':')) {
        ("aws-sdk", Some((service, action))) => (format!("aws-sdk:{service}"), action),
        _ => (ty.to_string(), res),
    };
    ResourceKind::Service {
        resource_type: ty,
        resource: res.into(),
    }
}

/// Whether a Task on this resource gets a task token: activities (the worker answers with
/// it), the callback pattern, and the job pattern (`.sync`, `.sync:2`), whose task AWS also
/// lets a token end (a recorded `.sync` nested execution was ended by SendTaskSuccess).
pub(crate) fn takes_token(arn: &str) -> bool {
    arn.ends_with(".waitForTaskToken")
        || arn.ends_with(".sync")
        || arn.contains(".sync:")
        || matches!(resource_kind(arn), ResourceKind::Activity)
}

fn region_of(arn: &str) -> String {
    arn.split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .unwrap_or("us-east-1")
        .to_string()
}

impl Execution {
    /// TimeoutSeconds or HeartbeatSeconds, static or read from the state's input.
    fn task_seconds(
        &self,
        tid: ThreadId,
        d: &Option<Dynamic<u64>>,
        field: &str,
    ) -> Result<Option<u64>, ExprError> {
        match d {
            Some(Dynamic::Static(s)) => Ok(Some(*s)),
            Some(Dynamic::Path(p)) => match self.read_path(tid, p, &self.threads[tid].raw_input)? {
                Some(v) if v.as_u64().is_some_and(|n| n > 0) => Ok(v.as_u64()),
                None => Err(crate::io::no_results(p, &self.threads[tid].raw_input)),
                Some(_) => Err(ExprError::runtime(format!(
                    "The {field} parameter does not reference a positive integer: {}",
                    p.text
                ))),
            },
            Some(Dynamic::Jsonata(j)) => {
                let name = field.trim_end_matches("Path");
                let input = &self.threads[tid].raw_input;
                match self.jexpr(tid, j, input, crate::io::StatesExtra::None, name)? {
                    Some(v) if v.as_u64().is_some_and(|n| n > 0) => Ok(v.as_u64()),
                    other => Err(ExprError::query(
                        name,
                        format!(
                            "The JSONata expression '{}' specified for the field '{name}' must evaluate to a positive integer, but it returned {}",
                            j.text(),
                            other.map(|v| v.to_string()).unwrap_or_else(|| "nothing (undefined)".into())
                        ),
                    )),
                }
            }
            Some(Dynamic::Intrinsic(_)) | None => Ok(None),
        }
    }

    /// Picks the next Task invocation's id and token before the state's Parameters are
    /// evaluated, so that `$$.Task.Token` can be read there.
    pub(super) fn prepare_task(&mut self, tid: ThreadId, t: &Task) {
        let task = self.handle();
        let token = takes_token(&t.resource).then(|| {
            crate::token::mint(
                &self.info.token_secret,
                &self.info.execution_arn,
                self.info.seed,
                task,
            )
        });
        self.threads[tid].pending_task = Some((task, token));
    }

    /// The role a Task's Credentials name, evaluated against its effective input.
    pub(super) fn task_role(
        &self,
        tid: ThreadId,
        t: &Task,
        input: &Value,
    ) -> Result<Option<String>, ExprError> {
        let v = match &t.credentials {
            None => return Ok(None),
            Some(Credentials::JsonPath(tpl)) => self.template(tid, tpl, input)?,
            Some(Credentials::Jsonata(tpl)) => {
                self.jtemplate(tid, tpl, input, StatesExtra::None, "Credentials")?
            }
        };
        Ok(v.get("RoleArn").map(|r| match r {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
    }

    pub(super) fn invoke(
        &mut self,
        tid: ThreadId,
        state: &State,
        t: &Task,
        params: Value,
        role: Option<String>,
    ) {
        let seconds = self
            .task_seconds(tid, &t.timeout_seconds, "TimeoutSecondsPath")
            .and_then(|timeout| {
                Ok((
                    timeout,
                    self.task_seconds(tid, &t.heartbeat_seconds, "HeartbeatSecondsPath")?,
                ))
            });
        let (eff_timeout, heartbeat) = match seconds {
            Ok(s) => s,
            Err(e) => return self.expr_failed(tid, state, e),
        };
        let (task, token) = match self.threads[tid].pending_task.take() {
            Some(p) => p,
            None => (self.handle(), None),
        };
        let kind = resource_kind(&t.resource);
        let mut d = Map::new();
        match &kind {
            ResourceKind::Lambda | ResourceKind::Activity => {
                d.insert("resource".into(), Value::String(t.resource.clone()));
                d.insert("input".into(), payload(&params));
                d.insert("inputDetails".into(), payload_details());
                if let Some(s) = eff_timeout {
                    d.insert("timeoutInSeconds".into(), json!(s));
                }
            }
            ResourceKind::Service {
                resource_type,
                resource,
            } => {
                d.insert("resourceType".into(), Value::String(resource_type.clone()));
                d.insert("resource".into(), Value::String(resource.clone()));
                d.insert(
                    "region".into(),
                    Value::String(region_of(&self.info.state_machine_arn)),
                );
                d.insert("parameters".into(), payload(&params));
                if let Some(s) = eff_timeout {
                    d.insert("timeoutInSeconds".into(), json!(s));
                }
            }
        }
        if let (Some(s), false) = (heartbeat, matches!(kind, ResourceKind::Lambda)) {
            d.insert("heartbeatInSeconds".into(), json!(s));
        }
        if let Some(role) = role {
            d.insert("taskCredentials".into(), json!({ "roleArn": role }));
        }
        match &kind {
            ResourceKind::Lambda => {
                self.emit_on(
                    tid,
                    "LambdaFunctionScheduled",
                    Some(("lambdaFunctionScheduledEventDetails", Value::Object(d))),
                );
                self.emit_on(tid, "LambdaFunctionStarted", None);
            }
            ResourceKind::Activity => {
                self.emit_on(
                    tid,
                    "ActivityScheduled",
                    Some(("activityScheduledEventDetails", Value::Object(d))),
                );
            }
            ResourceKind::Service {
                resource_type,
                resource,
            } => {
                let started = json!({"resourceType": resource_type, "resource": resource});
                self.emit_on(
                    tid,
                    "TaskScheduled",
                    Some(("taskScheduledEventDetails", Value::Object(d))),
                );
                self.emit_on(
                    tid,
                    "TaskStarted",
                    Some(("taskStartedEventDetails", started)),
                );
            }
        }
        let attempt = self.threads[tid].retry_counts.iter().sum();
        if let Some(s) = eff_timeout {
            self.task_timer(s, TaskTimer::Timeout(task));
        }
        // An activity's heartbeat clock starts when a worker takes it.
        let heartbeat_timer = match (heartbeat, &kind) {
            (Some(s), ResourceKind::Lambda | ResourceKind::Service { .. }) => {
                Some(self.task_timer(s, TaskTimer::Heartbeat(task)))
            }
            _ => None,
        };
        self.tasks.insert(
            task,
            OpenTask {
                thread: tid,
                phase: TaskPhase::Invoked,
                heartbeat_seconds: heartbeat,
                heartbeat_timer,
            },
        );
        self.commands.push(Command::InvokeTask {
            task,
            state_name: state.name.to_string(),
            resource: t.resource.clone(),
            input: params,
            attempt,
            timeout_seconds: eff_timeout,
            heartbeat_seconds: heartbeat,
            token,
        });
        self.threads[tid].phase = Phase::Task;
    }

    fn task_timer(&mut self, seconds: u64, what: TaskTimer) -> TimerId {
        let timer = self.handle();
        self.task_timers.insert(timer, what);
        self.commands.push(Command::StartTimer {
            timer,
            fire_at_ms: self.now_ms + seconds as i64 * 1000,
        });
        timer
    }

    /// Removes an open task and cancels its timers.
    pub(crate) fn close_task(&mut self, task: TaskId) -> Option<OpenTask> {
        let t = self.tasks.remove(&task)?;
        let mut cancelled: Vec<TimerId> = self
            .task_timers
            .iter()
            .filter(|(_, tt)| matches!(tt, TaskTimer::Timeout(x) | TaskTimer::Heartbeat(x) if *x == task))
            .map(|(timer, _)| *timer)
            .collect();
        cancelled.sort_unstable();
        for timer in cancelled {
            self.task_timers.remove(&timer);
            self.commands.push(Command::CancelTimer { timer });
        }
        Some(t)
    }

    /// The resource of the Task state thread `tid` is in.
    fn task_resource(&self, tid: ThreadId) -> Option<String> {
        let (machine, sid) = self.state_of(tid);
        match &Execution::program(&machine, &self.threads[tid].path).states[sid].kind {
            StateKind::Task(t) => Some(t.resource.clone()),
            _ => None,
        }
    }

    pub(crate) fn task_submitted(&mut self, task: TaskId, output: Value) {
        let Some(t) = self.tasks.get_mut(&task) else {
            return;
        };
        if t.phase != TaskPhase::Invoked {
            return;
        }
        t.phase = TaskPhase::Submitted;
        let tid = t.thread;
        if let Some(ResourceKind::Service {
            resource_type,
            resource,
        }) = self.task_resource(tid).map(|r| resource_kind(&r))
        {
            self.emit_on(
                tid,
                "TaskSubmitted",
                Some((
                    "taskSubmittedEventDetails",
                    json!({"resourceType": resource_type, "resource": resource, "output": payload(&output), "outputDetails": payload_details()}),
                )),
            );
        }
    }

    pub(crate) fn task_started(&mut self, task: TaskId, worker_name: Option<String>) {
        let Some(t) = self.tasks.get_mut(&task) else {
            return;
        };
        if t.phase != TaskPhase::Invoked {
            return;
        }
        t.phase = TaskPhase::Started;
        let tid = t.thread;
        let mut d = Map::new();
        if let Some(w) = worker_name {
            d.insert("workerName".into(), Value::String(w));
        }
        self.emit_on(
            tid,
            "ActivityStarted",
            Some(("activityStartedEventDetails", Value::Object(d))),
        );
        self.task_heartbeat(task);
    }

    /// Starts the task's heartbeat clock over (a late beat of an older clock is stale).
    pub(crate) fn task_heartbeat(&mut self, task: TaskId) {
        let Some(seconds) = self.tasks.get(&task).and_then(|t| t.heartbeat_seconds) else {
            return;
        };
        let old = self.tasks.get(&task).and_then(|t| t.heartbeat_timer);
        if let Some(timer) = old {
            self.task_timers.remove(&timer);
            self.commands.push(Command::CancelTimer { timer });
        }
        let timer = self.task_timer(seconds, TaskTimer::Heartbeat(task));
        if let Some(t) = self.tasks.get_mut(&task) {
            t.heartbeat_timer = Some(timer);
        }
    }

    /// TimeoutSeconds or HeartbeatSeconds ran out: the task fails with States.Timeout (and
    /// Retry and Catch apply as for any error).
    pub(crate) fn task_timer_fired(&mut self, timer: TimerId, what: TaskTimer) {
        let (task, error) = match what {
            TaskTimer::Timeout(t) => (t, "States.Timeout"),
            TaskTimer::Heartbeat(t) => {
                if self.tasks.get(&t).and_then(|o| o.heartbeat_timer) != Some(timer) {
                    return;
                }
                // AWS reports a missed heartbeat as States.Timeout too (recorded:
                // timeouts.test_heartbeats); HeartbeatInSeconds in the scheduled event tells.
                (t, "States.Timeout")
            }
        };
        if let Some(t) = self.close_task(task) {
            let failure = Failure {
                error: error.into(),
                cause: None,
                from_task: false,
            };
            self.task_failed(t.thread, failure, true);
            self.wake(t.thread);
        }
    }

    pub(crate) fn task_succeeded(&mut self, tid: ThreadId, output: Value) {
        let (machine, sid) = self.state_of(tid);
        let state = &Execution::program(&machine, &self.threads[tid].path).states[sid];
        let StateKind::Task(t) = &state.kind else {
            if matches!(self.threads[tid].phase, Phase::MapRun) {
                self.map_run_succeeded(tid, state, output);
            }
            return;
        };
        let details = json!({"output": payload(&output), "outputDetails": payload_details()});
        match resource_kind(&t.resource) {
            ResourceKind::Lambda => self.emit_on(
                tid,
                "LambdaFunctionSucceeded",
                Some(("lambdaFunctionSucceededEventDetails", details)),
            ),
            ResourceKind::Activity => self.emit_on(
                tid,
                "ActivitySucceeded",
                Some(("activitySucceededEventDetails", details)),
            ),
            ResourceKind::Service {
                resource_type,
                resource,
            } => self.emit_on(
                tid,
                "TaskSucceeded",
                Some((
                    "taskSucceededEventDetails",
                    json!({"resourceType": resource_type, "resource": resource, "output": payload(&output), "outputDetails": payload_details()}),
                )),
            ),
        };
        self.threads[tid].phase = Phase::Done;
        self.complete(tid, state, output, true);
    }

    /// The integration refused the task before it ran: a runtime error of the state.
    pub(crate) fn task_refused(&mut self, tid: ThreadId, message: String) {
        let (machine, sid) = self.state_of(tid);
        let state = &Execution::program(&machine, &self.threads[tid].path).states[sid];
        let entered = self.threads[tid].entered_event;
        let failure = crate::io::state_failure(&state.name, entered, ExprError::runtime(message));
        self.threads[tid].phase = Phase::Done;
        self.state_failed(tid, state, failure);
    }

    /// The task failed (`timed_out`: its TimeoutSeconds or HeartbeatSeconds ran out).
    pub(crate) fn task_failed(&mut self, tid: ThreadId, failure: Failure, timed_out: bool) {
        let (machine, sid) = self.state_of(tid);
        let state = &Execution::program(&machine, &self.threads[tid].path).states[sid];
        let StateKind::Task(t) = &state.kind else {
            if matches!(self.threads[tid].phase, Phase::MapRun) {
                self.map_run_failed(tid, state, failure);
            }
            return;
        };
        let kind = resource_kind(&t.resource);
        let mut d = Map::new();
        if let ResourceKind::Service {
            resource_type,
            resource,
        } = &kind
        {
            d.insert("resourceType".into(), Value::String(resource_type.clone()));
            d.insert("resource".into(), Value::String(resource.clone()));
        }
        if !failure.unnamed() {
            d.insert("error".into(), Value::String(failure.error.clone()));
        }
        if let Some(c) = &failure.cause {
            d.insert("cause".into(), Value::String(c.clone()));
        }
        let (kind_name, key) = match (&kind, timed_out) {
            (ResourceKind::Lambda, false) => {
                ("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails")
            }
            (ResourceKind::Lambda, true) => (
                "LambdaFunctionTimedOut",
                "lambdaFunctionTimedOutEventDetails",
            ),
            (ResourceKind::Activity, false) => ("ActivityFailed", "activityFailedEventDetails"),
            (ResourceKind::Activity, true) => ("ActivityTimedOut", "activityTimedOutEventDetails"),
            (ResourceKind::Service { .. }, false) => ("TaskFailed", "taskFailedEventDetails"),
            (ResourceKind::Service { .. }, true) => ("TaskTimedOut", "taskTimedOutEventDetails"),
        };
        self.emit_on(tid, kind_name, Some((key, Value::Object(d))));
        self.threads[tid].phase = Phase::Done;
        self.threads[tid].failing_in_task = true;
        self.state_failed(tid, state, failure);
        self.threads[tid].failing_in_task = false;
    }
}
