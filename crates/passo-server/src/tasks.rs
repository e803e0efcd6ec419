//! What a Task state's resource reaches. The integrations themselves (functions, HTTP,
//! activities, callbacks) come with the tasks work; the server is handed a runner.

use passo_engine::{Command, Event, TaskId};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// One Task invocation.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    pub execution_arn: String,
    pub state_name: String,
    pub resource: String,
    pub input: Value,
    pub attempt: u64,
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
    /// The task token of a callback (`.waitForTaskToken`) or activity task.
    pub token: Option<String>,
}

/// The result: the output, or an error name and cause.
pub type TaskResult = Result<Value, (String, Option<String>)>;

impl TaskRequest {
    /// The request an InvokeTask command makes, with the task's id (None for other commands).
    pub fn from_command(execution_arn: &str, cmd: Command) -> Option<(TaskId, TaskRequest)> {
        let Command::InvokeTask {
            task,
            state_name,
            resource,
            input,
            attempt,
            timeout_seconds,
            heartbeat_seconds,
            token,
        } = cmd
        else {
            return None;
        };
        Some((
            task,
            TaskRequest {
                execution_arn: execution_arn.to_string(),
                state_name,
                resource,
                input,
                attempt,
                timeout_seconds,
                heartbeat_seconds,
                token,
            },
        ))
    }
}

/// The event a task's integration call answers: for a callback (`.waitForTaskToken`) the
/// call's result only means the request went out (TaskSubmitted); the task's own result comes
/// with its token.
pub fn answer(resource: &str, task: TaskId, result: TaskResult) -> Event {
    match result {
        Ok(output) if resource.ends_with(".waitForTaskToken") => {
            Event::TaskSubmitted { task, output }
        }
        Ok(output) => Event::TaskSucceeded { task, output },
        Err((error, cause)) => Event::TaskFailed { task, error, cause },
    }
}

pub trait TaskRunner: Send + Sync + 'static {
    fn invoke(&self, req: TaskRequest) -> Pin<Box<dyn Future<Output = TaskResult> + Send>>;
}

/// Answers every Task with an error naming the resource: no integration is configured.
pub struct NoIntegrations;

impl TaskRunner for NoIntegrations {
    fn invoke(&self, req: TaskRequest) -> Pin<Box<dyn Future<Output = TaskResult> + Send>> {
        Box::pin(async move {
            Err((
                "States.TaskFailed".to_string(),
                Some(format!(
                    "No integration is configured for resource '{}'",
                    req.resource
                )),
            ))
        })
    }
}
