//! An ASL error travelling through Retry and Catch: a name and an optional cause.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub cause: Option<String>,
    /// Reported by a task's integration (a function's result too large, say): then even
    /// States.DataLimitExceeded is an ordinary task error that States.ALL catches, as AWS does.
    pub from_task: bool,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: error.into(),
            cause: Some(cause.into()),
            from_task: false,
        }
    }

    /// The error output a Catch passes on: `{"Error": ..., "Cause": ...}`.
    pub fn output(&self) -> Value {
        let mut m = Map::new();
        m.insert("Error".into(), Value::String(self.error.clone()));
        match &self.cause {
            Some(c) => {
                m.insert("Cause".into(), Value::String(c.clone()));
            }
            // A task that timed out has no cause in its events, but its error output says "".
            None if self.error == "States.Timeout" => {
                m.insert("Cause".into(), Value::String(String::new()));
            }
            None => {}
        }
        Value::Object(m)
    }

    /// Whether a Retry or Catch rule's `ErrorEquals` matches this error. `States.ALL` matches
    /// everything but the terminal `States.Runtime` and `States.DataLimitExceeded`;
    /// `States.TaskFailed` matches every error but `States.Timeout`.
    pub fn matches(&self, error_equals: &[String]) -> bool {
        let terminal = !self.from_task
            && matches!(
                self.error.as_str(),
                "States.Runtime" | "States.DataLimitExceeded"
            );
        error_equals.iter().any(|e| {
            e == &self.error
                || (e == "States.ALL" && !terminal)
                || (e == "States.TaskFailed" && !terminal && self.error != "States.Timeout")
        })
    }
}
