//! Helpers shared by the test files.

use passo_events::Pattern;
use serde_json::Value;

/// Parses both sides (panicking on a bad pattern) and matches.
pub fn matches(pattern: Value, event: Value) -> bool {
    Pattern::from_value(&pattern)
        .unwrap_or_else(|e| panic!("pattern should be valid: {e}\n{pattern}"))
        .matches(&event)
}
