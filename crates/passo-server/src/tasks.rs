//! What a Task state's resource reaches: the integrations of `passo-tasks`, and the event a
//! call's result gives the interpreter.

use passo_engine::{Event, TaskId};
pub use passo_tasks::{NoIntegrations, TaskRequest, TaskResult, TaskRunner};

/// The event a task's integration call answers: for a callback (`.waitForTaskToken`) the
/// call's result only means the request went out (TaskSubmitted); the task's own result comes
/// with its token. For a `.sync` job it is the job's submission (TaskSubmitted too): the
/// task's result comes when the job, followed from there, ends.
pub fn answer(resource: &str, task: TaskId, result: TaskResult) -> Event {
    match result {
        Ok(output)
            if resource.ends_with(".waitForTaskToken") || passo_tasks::follows_job(resource) =>
        {
            Event::TaskSubmitted { task, output }
        }
        Ok(output) => Event::TaskSucceeded { task, output },
        Err((error, cause)) => Event::TaskFailed { task, error, cause },
    }
}
