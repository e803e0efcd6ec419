//! Why a pattern was rejected. Every variant is what EventBridge reports as an
//! `InvalidEventPatternException`; the message says what is wrong and the path
//! (dotted field names, `$or[1]` for an alternative) says where.

/// A pattern EventBridge would reject, as `InvalidEventPatternException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The text is not JSON at all.
    #[error("Event pattern is not valid. Reason: {message}")]
    NotJson { message: String },

    /// The pattern itself, or a field's value, is neither an object nor an array
    /// (`{"source": "aws.ec2"}` instead of `{"source": ["aws.ec2"]}`).
    #[error("Event pattern is not valid. Reason: \"{path}\" must be an object or an array")]
    NotObjectOrArray { path: String },

    /// `{}`: a pattern, or a nested object of it, names no field.
    #[error("Event pattern is not valid. Reason: Empty objects are not allowed at \"{path}\"")]
    EmptyObject { path: String },

    /// `"field": []`: a field with no value to match would match nothing.
    #[error("Event pattern is not valid. Reason: Empty arrays are not allowed at \"{path}\"")]
    EmptyArray { path: String },

    /// An array or other non-scalar where a value to match was expected.
    #[error(
        "Event pattern is not valid. Reason: Match value must be String, number, true, false, or null at \"{path}\""
    )]
    InvalidMatchValue { path: String },

    /// An object in a field's list whose key is no comparison operator.
    #[error("Event pattern is not valid. Reason: Unrecognized match type {name} at \"{path}\"")]
    UnrecognizedMatchType { path: String, name: String },

    /// A match expression with zero or several keys (`{"prefix": "a", "suffix": "b"}`).
    #[error("Event pattern is not valid. Reason: Only one key allowed in match expression at \"{path}\"")]
    MatchExpressionKeys { path: String },

    /// An operator given a value it cannot use: `{"prefix": 5}`, a bad numeric
    /// range, a CIDR block that does not parse, a wildcard with `**`, ...
    #[error("Event pattern is not valid. Reason: {reason} at \"{path}\"")]
    InvalidOperand {
        path: String,
        operator: &'static str,
        reason: String,
    },

    /// Deeper nesting than any real event needs; refused so that matching and
    /// parsing stay bounded on hostile input.
    #[error("Event pattern is not valid. Reason: Pattern is nested more than {max} levels deep at \"{path}\"")]
    TooDeep { path: String, max: usize },
}

impl PatternError {
    /// The AWS error code, for the API layer (`__type` in the JSON error body).
    pub fn code(&self) -> &'static str {
        "InvalidEventPatternException"
    }

    /// Where in the pattern the problem is (dotted path); empty for the whole pattern.
    pub fn path(&self) -> &str {
        match self {
            PatternError::NotJson { .. } => "",
            PatternError::NotObjectOrArray { path }
            | PatternError::EmptyObject { path }
            | PatternError::EmptyArray { path }
            | PatternError::InvalidMatchValue { path }
            | PatternError::UnrecognizedMatchType { path, .. }
            | PatternError::MatchExpressionKeys { path }
            | PatternError::InvalidOperand { path, .. }
            | PatternError::TooDeep { path, .. } => path,
        }
    }
}
