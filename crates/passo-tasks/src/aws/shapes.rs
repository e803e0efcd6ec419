//! JSON values read and written by the model's shapes. Step Functions takes and gives an
//! action's members in PascalCase even where the API spells them in camelCase (sfn's
//! `stateMachineArn` is `StateMachineArn` in a Task, its answer's `startDate` is `StartDate`),
//! so members are matched by their PascalCase name (or as the API spells them) on the way in
//! and renamed on the way out. Map keys and document values are data: never renamed.

use super::time;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// A member name as Step Functions spells it: the first letter capitalised.
pub fn pascal(name: &str) -> Cow<'_, str> {
    match name.chars().next() {
        Some(c) if c.is_ascii_lowercase() => {
            Cow::Owned(c.to_ascii_uppercase().to_string() + &name[1..])
        }
        _ => Cow::Borrowed(name),
    }
}

/// The Task's value for member `name` of a structure (PascalCase, or as the API spells it).
pub fn member<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    obj.get(pascal(name).as_ref())
        .or_else(|| obj.get(name))
        .filter(|v| !v.is_null())
}

/// How a JSON body names members and writes timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// awsJson: member names, timestamps as epoch seconds.
    Json,
    /// restJson1: `locationName` if the model gives one; members bound elsewhere (URI,
    /// query, headers) left out.
    RestJson,
}

fn wire_name<'a>(wire: Wire, name: &'a str, member: &'a Value) -> &'a str {
    match wire {
        Wire::Json => name,
        Wire::RestJson => member["locationName"].as_str().unwrap_or(name),
    }
}

/// The Task's `value` of shape `shape` as the service takes it in a JSON body.
pub fn to_wire(model: &Value, wire: Wire, shape: &str, value: &Value) -> Value {
    let s = &model["shapes"][shape];
    match (s["type"].as_str().unwrap_or("string"), value) {
        ("structure", Value::Object(obj)) if s["document"] != true => {
            let mut out = Map::new();
            for (name, m) in s["members"].as_object().into_iter().flatten() {
                if wire == Wire::RestJson && m["location"].is_string() {
                    continue;
                }
                if let Some(v) = member(obj, name) {
                    let child = m["shape"].as_str().unwrap_or_default();
                    out.insert(
                        wire_name(wire, name, m).to_string(),
                        to_wire(model, wire, child, v),
                    );
                }
            }
            Value::Object(out)
        }
        ("list", Value::Array(items)) => {
            let child = s["member"]["shape"].as_str().unwrap_or_default();
            Value::Array(
                items
                    .iter()
                    .map(|i| to_wire(model, wire, child, i))
                    .collect(),
            )
        }
        ("map", Value::Object(obj)) => {
            let child = s["value"]["shape"].as_str().unwrap_or_default();
            Value::Object(
                obj.iter()
                    .map(|(k, v)| (k.clone(), to_wire(model, wire, child, v)))
                    .collect(),
            )
        }
        ("timestamp", v) => match time::Format::of(s) {
            Some(f @ (time::Format::Iso8601 | time::Format::HttpDate)) => {
                time::format(v, f).map_or_else(|| v.clone(), Value::String)
            }
            _ => time::epoch_value(v).unwrap_or_else(|| v.clone()),
        },
        _ => value.clone(),
    }
}

/// A service's JSON `value` of shape `shape` as Step Functions gives it: members renamed to
/// PascalCase, everything else as the service wrote it.
pub fn from_wire(model: &Value, wire: Wire, shape: &str, value: &Value) -> Value {
    let s = &model["shapes"][shape];
    match (s["type"].as_str().unwrap_or("string"), value) {
        ("structure", Value::Object(obj)) if s["document"] != true => {
            let mut out = Map::new();
            for (name, m) in s["members"].as_object().into_iter().flatten() {
                if let Some(v) = obj.get(wire_name(wire, name, m)) {
                    let child = m["shape"].as_str().unwrap_or_default();
                    out.insert(pascal(name).into_owned(), from_wire(model, wire, child, v));
                }
            }
            Value::Object(out)
        }
        ("list", Value::Array(items)) => {
            let child = s["member"]["shape"].as_str().unwrap_or_default();
            Value::Array(
                items
                    .iter()
                    .map(|i| from_wire(model, wire, child, i))
                    .collect(),
            )
        }
        ("map", Value::Object(obj)) => {
            let child = s["value"]["shape"].as_str().unwrap_or_default();
            Value::Object(
                obj.iter()
                    .map(|(k, v)| (k.clone(), from_wire(model, wire, child, v)))
                    .collect(),
            )
        }
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn camel_case_apis_take_and_give_pascal_case_members() {
        let m = crate::aws::models::model("stepfunctions").unwrap();
        let wire = to_wire(
            &m,
            Wire::Json,
            "StartExecutionInput",
            &json!({"StateMachineArn": "arn:m", "Name": "n", "Unknown": 1}),
        );
        assert_eq!(wire, json!({"stateMachineArn": "arn:m", "name": "n"}));
        let back = from_wire(
            &m,
            Wire::Json,
            "StartExecutionOutput",
            &json!({"executionArn": "arn:e", "startDate": 1.5}),
        );
        assert_eq!(back, json!({"ExecutionArn": "arn:e", "StartDate": 1.5}));
    }

    #[test]
    fn map_keys_are_data_and_timestamps_go_as_epoch_seconds() {
        let m = crate::aws::models::model("dynamodb").unwrap();
        let item = json!({"TableName": "t", "Item": {"id": {"S": "1"}, "n": {"N": "2"}}});
        assert_eq!(to_wire(&m, Wire::Json, "PutItemInput", &item), item);
        let m = crate::aws::models::model("stepfunctions").unwrap();
        let wire = to_wire(
            &m,
            Wire::Json,
            "ListMapRunsInput",
            &json!({"ExecutionArn": "a"}),
        );
        assert_eq!(wire, json!({"executionArn": "a"}));
        assert_eq!(pascal("startDate"), "StartDate");
        assert_eq!(pascal("ARN"), "ARN");
    }
}
