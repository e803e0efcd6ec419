//! Run-time failures of expression evaluation. They are ASL errors (data), not Rust errors of
//! the engine: the interpreter turns them into `States.*` failures that Retry/Catch can see.

/// An ASL error raised while evaluating: its name and the part of the Cause that describes
/// it. The interpreter prefixes the state's context ("An error occurred while executing the
/// state 'X' (entered at the event id #N). ") where AWS does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub error: &'static str,
    pub message: String,
    /// The field a JSONata evaluation failed in (`Output`, `Assign/result`, ...): AWS writes it
    /// in the EvaluationFailed event.
    pub location: Option<String>,
}

impl ExprError {
    /// A JSONata evaluation error in `field`.
    pub fn query(field: &str, message: impl Into<String>) -> Self {
        ExprError {
            error: "States.QueryEvaluationError",
            message: message.into(),
            location: Some(field.to_string()),
        }
    }

    pub fn runtime(message: impl Into<String>) -> Self {
        ExprError {
            location: None,
            error: "States.Runtime",
            message: message.into(),
        }
    }

    pub fn intrinsic(message: impl Into<String>) -> Self {
        ExprError {
            location: None,
            error: "States.IntrinsicFailure",
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ExprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}
