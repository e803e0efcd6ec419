//! History events, named and shaped as AWS's GetExecutionHistory returns them.
//!
//! The frequent events keep their details typed (payloads already serialised, since a
//! Standard execution stores them as text anyway); the JSON shape is built only when asked.

use serde_json::{json, Map, Value};
use std::sync::Arc;

/// A payload's JSON text, shared: the same text is often both one state's output and the
/// next state's input, and is written once.
pub type Text = Arc<str>;

/// The details of an event (`<type>EventDetails` in AWS's JSON).
#[derive(Debug, Clone, PartialEq)]
pub enum Details {
    None,
    ExecutionStarted {
        input: Text,
        role_arn: String,
    },
    ExecutionSucceeded {
        output: Text,
    },
    StateEntered {
        name: Text,
        input: Text,
    },
    StateExited {
        name: Text,
        output: Text,
        assigned: Option<Vec<(String, String)>>,
    },
    MapStateStarted {
        length: usize,
    },
    MapIteration {
        key: &'static str,
        index: usize,
        name: Text,
    },
    /// Any other details: the JSON key (e.g. `taskScheduledEventDetails`) and the object.
    Json(&'static str, Value),
}

impl From<Option<(&'static str, Value)>> for Details {
    fn from(d: Option<(&'static str, Value)>) -> Self {
        match d {
            None => Details::None,
            Some((k, v)) => Details::Json(k, v),
        }
    }
}

/// One history event.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp_ms: i64,
    pub kind: &'static str,
    pub details: Details,
}

/// A payload as AWS writes it in an event: its JSON text.
pub fn payload(v: &Value) -> Value {
    Value::String(text(v))
}

/// The JSON text of a value.
pub fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The JSON text of a value, to share between events.
pub fn shared_text(v: &Value) -> Text {
    Arc::from(text(v))
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
        let details = match &self.details {
            Details::None => None,
            Details::ExecutionStarted { input, role_arn } => Some((
                "executionStartedEventDetails",
                json!({"input": &**input, "inputDetails": payload_details(), "roleArn": role_arn}),
            )),
            Details::ExecutionSucceeded { output } => Some((
                "executionSucceededEventDetails",
                json!({"output": &**output, "outputDetails": payload_details()}),
            )),
            Details::StateEntered { name, input } => Some((
                "stateEnteredEventDetails",
                json!({"name": &**name, "input": &**input, "inputDetails": payload_details()}),
            )),
            Details::StateExited {
                name,
                output,
                assigned,
            } => {
                let mut d = Map::new();
                d.insert("name".into(), Value::String(name.to_string()));
                d.insert("output".into(), Value::String(output.to_string()));
                d.insert("outputDetails".into(), payload_details());
                if let Some(a) = assigned {
                    let vars: Map<String, Value> = a
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect();
                    d.insert("assignedVariables".into(), Value::Object(vars));
                    d.insert("assignedVariablesDetails".into(), payload_details());
                }
                Some(("stateExitedEventDetails", Value::Object(d)))
            }
            Details::MapStateStarted { length } => {
                Some(("mapStateStartedEventDetails", json!({ "length": length })))
            }
            Details::MapIteration { key, index, name } => {
                Some((*key, json!({"index": index, "name": &**name})))
            }
            Details::Json(k, v) => Some((*k, v.clone())),
        };
        if let Some((key, v)) = details {
            m.insert(key.to_string(), v);
        }
        Value::Object(m)
    }
}
