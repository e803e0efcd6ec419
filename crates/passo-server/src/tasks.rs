//! What a Task state's resource reaches. The integrations themselves (functions, HTTP,
//! activities, callbacks) come with the tasks work; the server is handed a runner.

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
}

/// The result: the output, or an error name and cause.
pub type TaskResult = Result<Value, (String, Option<String>)>;

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
