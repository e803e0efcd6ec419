//! EventBridge event patterns: the JSON language a rule uses to pick the events it
//! sends to its targets.
//!
//! A [`Pattern`] is parsed and validated once (as `PutRule` and `TestEventPattern`
//! do), then matched against many events. Parsing rejects what EventBridge rejects
//! with an `InvalidEventPatternException` ([`PatternError`]); matching never fails,
//! an event either matches or it does not.
//!
//! Semantics, as AWS documents them:
//! - every field named in the pattern must match (AND); the values listed for one
//!   field are alternatives (OR); `$or` lists alternative sets of fields;
//! - a field is matched against its *leaf values*: a scalar (string, number, boolean,
//!   null) at that path, or each scalar inside an array there (arrays of objects are
//!   looked into too). An array matches when any element matches, an empty array has
//!   no leaf value, and an object is not a leaf;
//! - so a field missing in the event matches nothing except `{"exists": false}`;
//! - numbers are compared as numbers (`300` equals `3.0e2`), but only JSON numbers
//!   are numbers: the string `"300"` never equals the number `300`.
//!
//! Arrays are flattened per path, as the documentation describes them ("the
//! intersection of the event pattern array and the event array is non-empty"):
//! two fields of one pattern may be satisfied by two different elements of an array
//! of objects.
//!
//! ```
//! use passo_events::Pattern;
//! use serde_json::json;
//!
//! let pattern = Pattern::parse(r#"{
//!     "source": ["aws.ec2"],
//!     "detail": {"state": [{"anything-but": "pending"}], "cpu": [{"numeric": [">", 2]}]}
//! }"#)?;
//! assert!(pattern.matches(&json!({"source": "aws.ec2", "detail": {"state": "running", "cpu": 4}})));
//! assert!(!pattern.matches(&json!({"source": "aws.ec2", "detail": {"state": "pending", "cpu": 4}})));
//!
//! let refused = Pattern::parse(r#"{"source": "aws.ec2"}"#).unwrap_err();
//! assert_eq!(refused.code(), "InvalidEventPatternException");
//! # Ok::<(), passo_events::PatternError>(())
//! ```

mod cidr;
mod error;
mod matcher;
mod parse;
mod wildcard;

use serde_json::Value;

pub use error::PatternError;

/// A validated event pattern, ready to match events.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    root: parse::Node,
}

impl Pattern {
    /// Parses and validates a pattern given as JSON text (a rule's `EventPattern`).
    ///
    /// When a key appears twice in one object the last one counts, as in EventBridge.
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let value: Value = serde_json::from_str(text).map_err(|e| PatternError::NotJson {
            message: e.to_string(),
        })?;
        Pattern::from_value(&value)
    }

    /// Validates a pattern that is already a JSON value.
    pub fn from_value(value: &Value) -> Result<Pattern, PatternError> {
        Ok(Pattern {
            root: parse::parse_root(value)?,
        })
    }

    /// Whether `event` (a whole event: `source`, `detail-type`, `detail`, ...) matches.
    pub fn matches(&self, event: &Value) -> bool {
        matcher::matches(&self.root, event)
    }

    /// Parses `event` as JSON text and matches it; text that is not JSON matches
    /// nothing (`TestEventPattern` would reject it before matching).
    pub fn matches_str(&self, event: &str) -> bool {
        serde_json::from_str::<Value>(event).is_ok_and(|event| self.matches(&event))
    }
}

impl std::str::FromStr for Pattern {
    type Err = PatternError;

    fn from_str(text: &str) -> Result<Pattern, PatternError> {
        Pattern::parse(text)
    }
}
