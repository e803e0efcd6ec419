//! Problems found in a definition, worded as AWS's ValidateStateMachineDefinition words them.

use std::fmt;

/// The codes AWS uses in `diagnostics[].code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The text is not JSON (or YAML) at all.
    InvalidJsonDescription,
    /// A field is missing, misplaced, of the wrong type or out of range.
    SchemaValidationFailed,
    /// `Next`, `Default`, a Catch's `Next` or `StartAt` names no state in its scope.
    MissingTransitionTarget,
    /// No state ends the (sub-)machine.
    NoTerminalState,
    /// A state cannot be reached from `StartAt`.
    UnreachableState,
    /// Two states share a name.
    DuplicateStateName,
    /// A path, template or intrinsic call is malformed.
    InvalidJsonPath,
    /// Retry/Catch rules break the `States.ALL` rules.
    InvalidErrorEquals,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidJsonDescription => "INVALID_JSON_DESCRIPTION",
            Code::SchemaValidationFailed => "SCHEMA_VALIDATION_FAILED",
            Code::MissingTransitionTarget => "MISSING_TRANSITION_TARGET",
            Code::NoTerminalState => "NO_TERMINAL_STATE",
            Code::UnreachableState => "UNREACHABLE_STATE",
            Code::DuplicateStateName => "DUPLICATE_STATE_NAME",
            Code::InvalidJsonPath => "SCHEMA_VALIDATION_FAILED",
            Code::InvalidErrorEquals => "SCHEMA_VALIDATION_FAILED",
        }
    }
}

/// One problem: its code, where it is (a JSON pointer such as `/States/A/Next`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub location: String,
    pub message: String,
}

impl Diagnostic {
    pub fn new(code: Code, location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            location: location.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    /// The form AWS puts in an `InvalidDefinition` message: `CODE: message at /path`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            write!(f, "{}: {}", self.code.as_str(), self.message)
        } else {
            write!(
                f,
                "{}: {} at {}",
                self.code.as_str(),
                self.message,
                self.location
            )
        }
    }
}

/// Formats a list of problems as AWS's InvalidDefinition message does.
pub fn invalid_definition_message(diagnostics: &[Diagnostic]) -> String {
    let parts: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    format!("Invalid State Machine Definition: '{}'", parts.join(", "))
}
