//! History events, named and shaped as AWS's GetExecutionHistory returns them.

use serde_json::{json, Map, Value};

/// One history event. `details` holds the `<type>EventDetails` object (if the type has one).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp_ms: i64,
    pub kind: &'static str,
    pub details: Option<(&'static str, Value)>,
}

/// A payload as AWS writes it in an event: the JSON text and the `truncated` flag.
pub fn payload(v: &Value) -> Value {
    Value::String(serde_json::to_string(v).unwrap_or_default())
}

pub fn payload_details() -> Value {
    json!({"truncated": false})
}

impl HistoryEvent {
    /// The event as GetExecutionHistory returns it (timestamps as epoch seconds, like the
    /// AWS JSON protocol).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("timestamp".into(), json!(self.timestamp_ms as f64 / 1000.0));
        m.insert("type".into(), Value::String(self.kind.to_string()));
        m.insert("id".into(), json!(self.id));
        m.insert("previousEventId".into(), json!(self.previous_event_id));
        if let Some((key, v)) = &self.details {
            m.insert((*key).to_string(), v.clone());
        }
        Value::Object(m)
    }
}
