//! Task states: the invocation command, and the events AWS writes around it.

use crate::execution::{Command, Execution, Phase, ThreadId};
use crate::failure::Failure;
use crate::history::{payload, payload_details};
use passo_asl::model::*;
use passo_expr::ExprError;
use serde_json::{json, Map, Value};

/// How a Task resource appears in history events.
struct ResourceInfo {
    lambda: bool,
    resource_type: String,
    resource: String,
}

fn resource_info(arn: &str) -> ResourceInfo {
    if arn.starts_with("arn:aws:lambda:") {
        return ResourceInfo {
            lambda: true,
            resource_type: "lambda".into(),
            resource: arn.into(),
        };
    }
    // arn:aws:states:::lambda:invoke(.waitForTaskToken) -> type "lambda", resource "invoke..."
    let rest = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    let (ty, res) = rest.split_once(':').unwrap_or((rest, ""));
    ResourceInfo {
        lambda: false,
        resource_type: ty.into(),
        resource: res.into(),
    }
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
                _ => Err(ExprError::runtime(format!(
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

    pub(super) fn invoke(&mut self, tid: ThreadId, state: &State, t: &Task, params: Value) {
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
        let info = resource_info(&t.resource);
        let task = self.handle();
        let mut d = Map::new();
        if info.lambda {
            d.insert("resource".into(), Value::String(info.resource.clone()));
            d.insert("input".into(), payload(&params));
            d.insert("inputDetails".into(), payload_details());
            if let Some(s) = eff_timeout {
                d.insert("timeoutInSeconds".into(), json!(s));
            }
            self.emit_on(
                tid,
                "LambdaFunctionScheduled",
                Some(("lambdaFunctionScheduledEventDetails", Value::Object(d))),
            );
            self.emit_on(tid, "LambdaFunctionStarted", None);
        } else {
            d.insert(
                "resourceType".into(),
                Value::String(info.resource_type.clone()),
            );
            d.insert("resource".into(), Value::String(info.resource.clone()));
            d.insert(
                "region".into(),
                Value::String(region_of(&self.info.state_machine_arn)),
            );
            d.insert("parameters".into(), payload(&params));
            if let Some(s) = eff_timeout {
                d.insert("timeoutInSeconds".into(), json!(s));
            }
            if let Some(s) = heartbeat {
                d.insert("heartbeatInSeconds".into(), json!(s));
            }
            self.emit_on(
                tid,
                "TaskScheduled",
                Some(("taskScheduledEventDetails", Value::Object(d))),
            );
            self.emit_on(
                tid,
                "TaskStarted",
                Some((
                    "taskStartedEventDetails",
                    json!({"resourceType": info.resource_type, "resource": info.resource}),
                )),
            );
        }
        let attempt = self.threads[tid].retry_counts.iter().sum();
        self.tasks.insert(task, tid);
        self.commands.push(Command::InvokeTask {
            task,
            state_name: state.name.clone(),
            resource: t.resource.clone(),
            input: params,
            attempt,
            timeout_seconds: eff_timeout,
            heartbeat_seconds: heartbeat,
        });
        self.threads[tid].phase = Phase::Task;
    }

    pub(crate) fn task_succeeded(&mut self, tid: ThreadId, output: Value) {
        let (machine, sid) = self.state_of(tid);
        let state = &Execution::program(&machine, &self.threads[tid].path).states[sid];
        let StateKind::Task(t) = &state.kind else {
            return;
        };
        let info = resource_info(&t.resource);
        if info.lambda {
            self.emit_on(
                tid,
                "LambdaFunctionSucceeded",
                Some((
                    "lambdaFunctionSucceededEventDetails",
                    json!({"output": payload(&output), "outputDetails": payload_details()}),
                )),
            );
        } else {
            self.emit_on(
                tid,
                "TaskSucceeded",
                Some((
                    "taskSucceededEventDetails",
                    json!({"resourceType": info.resource_type, "resource": info.resource, "output": payload(&output), "outputDetails": payload_details()}),
                )),
            );
        }
        self.threads[tid].phase = Phase::Done;
        self.complete(tid, state, output, true);
    }

    pub(crate) fn task_failed(&mut self, tid: ThreadId, failure: Failure) {
        let (machine, sid) = self.state_of(tid);
        let state = &Execution::program(&machine, &self.threads[tid].path).states[sid];
        let StateKind::Task(t) = &state.kind else {
            return;
        };
        let info = resource_info(&t.resource);
        let mut d = Map::new();
        if !info.lambda {
            d.insert("resourceType".into(), Value::String(info.resource_type));
            d.insert("resource".into(), Value::String(info.resource));
        }
        d.insert("error".into(), Value::String(failure.error.clone()));
        if let Some(c) = &failure.cause {
            d.insert("cause".into(), Value::String(c.clone()));
        }
        if info.lambda {
            self.emit_on(
                tid,
                "LambdaFunctionFailed",
                Some(("lambdaFunctionFailedEventDetails", Value::Object(d))),
            );
        } else {
            self.emit_on(
                tid,
                "TaskFailed",
                Some(("taskFailedEventDetails", Value::Object(d))),
            );
        }
        self.threads[tid].phase = Phase::Done;
        self.state_failed(tid, state, failure);
    }
}
