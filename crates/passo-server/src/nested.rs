//! Nested executions: a Task on `arn:aws:states:::states:startExecution[.sync|.sync:2|
//! .waitForTaskToken]` starts a child execution on this server.
//!
//! The child's row records its parent (execution, task, pattern), so the link survives a
//! restart: when a `.sync` child ends, its end is delivered to the parent's task; when the
//! parent ends or abandons the task first, the child is stopped. A child started without a
//! Name gets one derived from the parent's task, so a task invoked again after a crash finds
//! the child it already started instead of starting a second one.

use crate::catalog::Target;
use crate::error::ApiError;
use crate::express;
use crate::runtime::{now_ms, Delivery, Expect, Runtime, StartRequest};
use passo_engine::{Event, TaskId, TaskPhase};
use passo_store::ExecutionRow;
use passo_tasks::nested::{self, ChildEnd, Pattern};
use passo_tasks::TaskRequest;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The parent of an execution started by a Task state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentLink {
    pub arn: String,
    pub task: TaskId,
    pub pattern: Pattern,
}

type CallError = (String, Option<String>);

/// A service error of the StartExecution call, named as the integration names it.
fn service(e: ApiError, request_id: &str) -> CallError {
    nested::service_error(e.code(), &e.message(), request_id)
}

/// The child's name when the task gives none: UUID-shaped, fixed by the parent's task.
fn derived_name(parent_arn: &str, task: TaskId) -> String {
    let d = Sha256::digest(format!("{parent_arn}#{task}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

fn http_date() -> String {
    chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// How an ended child looks to its parent.
pub fn child_end(row: &ExecutionRow) -> ChildEnd {
    ChildEnd {
        execution_arn: row.arn.clone(),
        state_machine_arn: row.machine_arn.clone(),
        name: row.name.clone(),
        input_text: row.input.clone(),
        status: row.status.clone(),
        output_text: row.output.clone(),
        error: row.error.clone(),
        cause: row.cause.clone(),
        start_ms: row.start_ms,
        stop_ms: row.stop_ms.unwrap_or(row.start_ms),
    }
}

fn completion_event(task: TaskId, end: &ChildEnd, pattern: Pattern) -> Event {
    match nested::completion(end, pattern) {
        Ok(output) => Event::TaskSucceeded { task, output },
        Err((error, cause)) => Event::TaskFailed { task, error, cause },
    }
}

impl Runtime {
    /// Sends out a startExecution task: starts the child, then answers the parent's task.
    pub(crate) fn start_child(
        self: &Arc<Self>,
        parent_arn: &str,
        task: TaskId,
        pattern: Pattern,
        req: TaskRequest,
        held: crate::runtime::Held,
    ) {
        let rt = self.clone();
        let parent_arn = parent_arn.to_string();
        tokio::spawn(async move {
            let _held = held;
            let event = rt.child_event(&parent_arn, task, pattern, &req).await;
            let child = match &event {
                Event::TaskSubmitted { output, .. } if pattern.waits() => output
                    .get("ExecutionArn")
                    .and_then(Value::as_str)
                    .map(String::from),
                _ => None,
            };
            let expect = Expect::Task(task, &[TaskPhase::Invoked]);
            match rt.deliver_if(&parent_arn, event, expect).await {
                Ok(Delivery::Applied | Delivery::Forwarded) => {}
                Ok(_) => {
                    // The parent moved on (stopped, timed out) while the child started.
                    if let Some(c) = &child {
                        rt.stop_child(c, &parent_arn);
                    }
                    return;
                }
                Err(e) => {
                    tracing::warn!("answering {parent_arn}'s startExecution task: {e}");
                    return;
                }
            }
            // A child that ended before the parent heard it started is delivered now (its
            // own delivery was refused while the parent's task was not yet submitted).
            if let Some(c) = child {
                rt.check_child(&parent_arn, task, &c, pattern).await;
            }
        });
    }

    /// Starts the child; answers the event the parent's task gets from the call: its start
    /// (succeeded, or submitted when the task waits longer) or the call's failure.
    pub(crate) async fn child_event(
        self: &Arc<Self>,
        parent_arn: &str,
        task: TaskId,
        pattern: Pattern,
        req: &TaskRequest,
    ) -> Event {
        let request_id = uuid::Uuid::new_v4().to_string();
        let link = ParentLink {
            arn: parent_arn.to_string(),
            task,
            pattern,
        };
        let started = self.child_start(Some(&link), req, &request_id).await;
        match started {
            Ok((arn, start_ms)) => {
                let output = nested::start_response(&arn, start_ms, &request_id, &http_date());
                match pattern {
                    Pattern::Start => Event::TaskSucceeded { task, output },
                    _ => Event::TaskSubmitted { task, output },
                }
            }
            Err((error, cause)) => Event::TaskFailed { task, error, cause },
        }
    }

    /// A request-response `states:startExecution` call made by TestState, which has no
    /// execution to link the new one to: the StartExecution response.
    pub(crate) async fn start_unlinked(
        self: &Arc<Self>,
        req: &TaskRequest,
    ) -> Result<Value, CallError> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (arn, start_ms) = self.child_start(None, req, &request_id).await?;
        Ok(nested::start_response(
            &arn,
            start_ms,
            &request_id,
            &http_date(),
        ))
    }

    /// Starts the child execution (of `parent`, when a Task state starts it); answers its
    /// ARN and start time.
    async fn child_start(
        self: &Arc<Self>,
        parent: Option<&ParentLink>,
        req: &TaskRequest,
        request_id: &str,
    ) -> Result<(String, i64), CallError> {
        let call = nested::start_call(&req.input, request_id)?;
        let pick = (uuid::Uuid::new_v4().as_u128() % 100) as u64;
        let target: Target = match self.catalog.target(&self.db, &call.state_machine_arn, pick) {
            Ok(t) => t,
            Err(ApiError::StateMachineDoesNotExist(_)) => {
                return Err(nested::no_such_machine(&call.state_machine_arn, request_id))
            }
            Err(e) => return Err(service(e, request_id)),
        };
        let name = call.name.clone().unwrap_or_else(|| match parent {
            Some(p) => derived_name(&p.arn, p.task),
            None => uuid::Uuid::new_v4().to_string(),
        });
        crate::arn::check_name(&name).map_err(|e| service(e, request_id))?;
        let input: Value = serde_json::from_str(&call.input_text).unwrap_or(Value::Null);
        if self.cfg.payload_limit > 0 && call.input_text.len() > self.cfg.payload_limit {
            return Err(nested::service_error(
                "InvalidExecutionInput",
                "Invalid State Machine Execution Input: 'The input exceeds the limit'",
                request_id,
            ));
        }
        if target.kind == "EXPRESS" {
            let permit = self.express_permit().map_err(|e| service(e, request_id))?;
            return Ok(self.start_express_child(target, &name, input, parent.cloned(), permit));
        }
        let child_arn = self.cfg.realm.execution_arn(&target.machine_name, &name);
        let started = self
            .start_with(
                StartRequest {
                    target,
                    name,
                    input,
                    input_text: call.input_text.clone(),
                    trace_header: None,
                    parent: parent.cloned(),
                    test_case: None,
                },
                crate::runtime::Patience::Forever,
            )
            .await;
        match started {
            Ok(s) => Ok(s),
            Err(e @ ApiError::ExecutionAlreadyExists(_)) if parent.is_some() => {
                // Invoked again after a restart: the child this task started already ended.
                match self.db.execution(&child_arn) {
                    Ok(Some(row)) if crate::codec::parse_parent(&row.params).as_ref() == parent => {
                        Ok((row.arn, row.start_ms))
                    }
                    _ => Err(service(e, request_id)),
                }
            }
            Err(e) => Err(service(e, request_id)),
        }
    }

    /// An Express child runs in memory; a `.sync` parent hears of its end when it ends.
    fn start_express_child(
        self: &Arc<Self>,
        target: Target,
        name: &str,
        input: Value,
        parent: Option<ParentLink>,
        permit: crate::runtime::ExpressPermit,
    ) -> (String, i64) {
        let (arn, start, info) = self.express_info(&target, name);
        let input_text = input.to_string();
        let rt = self.clone();
        let (child_arn, child_name) = (arn.clone(), name.to_string());
        tokio::spawn(async move {
            let o = express::run(target.machine.clone(), info, input, rt.clone(), None).await;
            drop(permit);
            let Some(ParentLink {
                arn: parent_arn,
                task,
                pattern,
            }) = parent.filter(|p| p.pattern.waits())
            else {
                return;
            };
            let end = ChildEnd {
                execution_arn: child_arn,
                state_machine_arn: target.machine_arn.clone(),
                name: child_name,
                input_text,
                status: o.status.as_str().to_string(),
                output_text: o.output.as_ref().map(passo_engine::history::text),
                error: o.error.clone(),
                cause: o.cause.clone(),
                start_ms: start,
                stop_ms: now_ms(),
            };
            // The parent may not have recorded the start yet (its commit may be waiting on
            // a full disk): wait for its task to be submitted, however long, unless the task
            // closes first.
            let mut pause = std::time::Duration::from_millis(5);
            loop {
                let ev = completion_event(task, &end, pattern);
                let expect = Expect::Task(task, &[TaskPhase::Submitted]);
                match rt.deliver_if(&parent_arn, ev, expect).await {
                    Ok(Delivery::NotYet) => {
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(std::time::Duration::from_millis(500));
                    }
                    Ok(_) => return,
                    Err(e) => {
                        let child = &end.execution_arn;
                        tracing::warn!("delivering {child}'s end to {parent_arn}: {e}");
                        return;
                    }
                }
            }
        });
        (arn, start)
    }

    /// Delivers a `.sync` child's end to its parent, if the child has ended.
    pub(crate) async fn check_child(
        self: &Arc<Self>,
        parent_arn: &str,
        task: TaskId,
        child_arn: &str,
        pattern: Pattern,
    ) {
        let row = match self.db.execution(child_arn) {
            Ok(Some(row)) if row.status != "RUNNING" => row,
            _ => return,
        };
        let ev = completion_event(task, &child_end(&row), pattern);
        let expect = Expect::Task(task, &[TaskPhase::Submitted]);
        if let Err(e) = self.deliver_if(parent_arn, ev, expect).await {
            tracing::warn!("delivering {child_arn}'s end to {parent_arn}: {e}");
        }
    }

    /// After an execution ended: a `.sync` parent hears of it.
    pub(crate) fn ended(self: &Arc<Self>, arn: &str, parent: &ParentLink) {
        if !parent.pattern.waits() {
            return;
        }
        let rt = self.clone();
        let (arn, parent) = (arn.to_string(), parent.clone());
        // Counted as out until delivered, so the sweeper does not take it for lost.
        let held = self.inflight.hold(&parent.arn, parent.task);
        tokio::spawn(async move {
            rt.check_child(&parent.arn, parent.task, &arn, parent.pattern)
                .await;
            drop(held);
        });
    }

    /// Stops a child whose parent no longer waits for it.
    pub(crate) fn stop_child(self: &Arc<Self>, child_arn: &str, parent_arn: &str) {
        let rt = self.clone();
        let child = child_arn.to_string();
        let cause = format!("The parent execution '{parent_arn}' no longer waits for it");
        tokio::spawn(async move {
            let ev = Event::Stop {
                error: None,
                cause: Some(cause),
            };
            if let Err(e) = rt.deliver(&child, ev).await {
                tracing::warn!("stopping child execution {child}: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names_are_fixed_by_the_task_and_valid() {
        let a = derived_name("arn:p", 3);
        assert_eq!(a, derived_name("arn:p", 3));
        assert_ne!(a, derived_name("arn:p", 4));
        assert!(crate::arn::valid_name(&a));
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 4);
    }
}
