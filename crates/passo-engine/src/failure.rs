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

    /// Whether the task reported no error name (SendTaskFailure without `error`; an empty
    /// name counts as none).
    pub fn unnamed(&self) -> bool {
        self.from_task && self.error.is_empty()
    }

    /// The error output a Catch passes on: `{"Error": ..., "Cause": ...}`.
    pub fn output(&self) -> Value {
        let mut m = Map::new();
        if self.unnamed() {
            // As AWS: a failure sent without error or cause is caught as nulls.
            m.insert("Error".into(), Value::Null);
            m.insert(
                "Cause".into(),
                self.cause.clone().map_or(Value::Null, Value::String),
            );
            return Value::Object(m);
        }
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
    /// `States.TaskFailed` matches every error but `States.Timeout`. The interpreter's own
    /// States.Runtime is not caught even by name (AWS recorded a `Catch` on it passing an
    /// OutputPath failure by).
    pub fn matches(&self, error_equals: &[String]) -> bool {
        let terminal = !self.from_task
            && matches!(
                self.error.as_str(),
                "States.Runtime" | "States.DataLimitExceeded"
            );
        let uncatchable = !self.from_task && self.error == "States.Runtime";
        error_equals.iter().any(|e| {
            (e == &self.error && !uncatchable)
                || (e == "States.ALL" && !terminal)
                || (e == "States.TaskFailed" && !terminal && self.error != "States.Timeout")
        })
    }
}
