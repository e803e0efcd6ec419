//! JSON values read and written by the model's shapes. Step Functions takes and gives an
//! action's members in PascalCase even where the API spells them in camelCase (sfn's
//! `stateMachineArn` is `StateMachineArn` in a Task, its answer's `startDate` is `StartDate`),
//! so members are matched by their PascalCase name (or as the API spells them) on the way in
//! and renamed on the way out. Map keys and document values are data: never renamed.

use super::time;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The words of a name as the AWS SDK for Java 2 splits them: before a capital that follows
/// a lower-case letter or digit, and before the last capital of a run that a lower-case
/// letter follows (`DBInstanceIdentifier` -> `DB`, `Instance`, `Identifier`).
pub fn words(name: &str) -> Vec<&str> {
    let b = name.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..b.len() {
        let (prev, cur) = (b[i - 1], b[i]);
        let next_lower = b.get(i + 1).is_some_and(u8::is_ascii_lowercase);
        let boundary = cur.is_ascii_uppercase()
            && (prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower));
        if boundary || !cur.is_ascii_alphanumeric() {
            if start < i {
                out.push(&name[start..i]);
            }
            start = if cur.is_ascii_alphanumeric() {
                i
            } else {
                i + 1
            };
        }
    }
    if start < name.len() {
        out.push(&name[start..]);
    }
    out
}

/// A name as the AWS SDK for Java 2 spells it in PascalCase, which is how Step Functions
/// names members (`DBInstanceIdentifier` is `DbInstanceIdentifier`, `SSEDescription`
/// `SseDescription`, sfn's `stateMachineArn` `StateMachineArn`): each word capitalised, the
/// rest of it lower-cased.
pub fn pascal(name: &str) -> Cow<'_, str> {
    // Most names already are (`TableName`): no lower-case start, no run of capitals, nothing
    // but letters and digits. Checked without allocating: this runs for every member of
    // every call.
    let b = name.as_bytes();
    let already = b.first().is_none_or(|c| !c.is_ascii_lowercase())
        && b.iter().all(u8::is_ascii_alphanumeric)
        && !b
            .windows(2)
            .any(|w| w[0].is_ascii_uppercase() && w[1].is_ascii_uppercase());
    if already {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    for w in words(name) {
        let mut cs = w.chars();
        if let Some(f) = cs.next() {
            out.push(f.to_ascii_uppercase());
            out.extend(cs.map(|c| c.to_ascii_lowercase()));
        }
    }
    if out == name {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(out)
    }
}

/// A structure member's name in a Task: [`pascal`], but DynamoDB's `NULL`, a Java keyword,
/// is the Java SDK's `nul`, so `Nul` (users of `aws-sdk:dynamodb` see `Bool` and `Nul`).
pub fn member_name(name: &str) -> Cow<'_, str> {
    if name == "NULL" {
        return Cow::Borrowed("Nul");
    }
    pascal(name)
}

/// A member's name as the API spells it, first letter capitalised (`startDate` ->
/// `StartDate`): what the protocol layers give back, and the Java 1 SDK's spelling the
/// optimized integrations use (`MD5OfMessageBody`).
pub fn api_name(name: &str) -> Cow<'_, str> {
    match name.as_bytes().first() {
        Some(c) if c.is_ascii_lowercase() => {
            Cow::Owned((c.to_ascii_uppercase() as char).to_string() + &name[1..])
        }
        _ => Cow::Borrowed(name),
    }
}

/// Renames `value` (of shape `shape`, members as [`api_name`] spells them) in place to
/// [`member_name`]'s spelling: what `aws-sdk:*` Tasks give back.
pub fn rename(model: &Value, shape: &str, value: &mut Value) {
    let s = &model["shapes"][shape];
    match (s["type"].as_str().unwrap_or("string"), value) {
        ("structure", Value::Object(obj)) if s["document"] != true => {
            for (name, m) in s["members"].as_object().into_iter().flatten() {
                let child = m["shape"].as_str().unwrap_or_default();
                let (api, java) = (api_name(name), member_name(name));
                if api != java {
                    if let Some(mut v) = obj.remove(api.as_ref()) {
                        rename(model, child, &mut v);
                        obj.insert(java.into_owned(), v);
                    }
                } else if let Some(v) = obj.get_mut(api.as_ref()) {
                    rename(model, child, v);
                }
            }
        }
        ("list", Value::Array(items)) => {
            let child = s["member"]["shape"].as_str().unwrap_or_default();
            for i in items {
                rename(model, child, i);
            }
        }
        ("map", Value::Object(obj)) => {
            let child = s["value"]["shape"].as_str().unwrap_or_default();
            for v in obj.values_mut() {
                rename(model, child, v);
            }
        }
        // The Java 2 SDK's Instant, as Step Functions writes it: ISO 8601 text whatever the
        // wire carried (sfn's StartDate comes as epoch seconds; AWS's result shows text).
        ("timestamp", v) => {
            if let Some(t) = time::format(v, time::Format::Iso8601) {
                *v = Value::String(t);
            }
        }
        _ => {}
    }
}

/// The Task's value for member `name` of a structure (as Step Functions spells it, or as the
/// API does).
pub fn member<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    obj.get(member_name(name).as_ref())
        .or_else(|| obj.get(api_name(name).as_ref()))
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
        // A string member given JSON takes its text, as Step Functions passes it (sfn's
        // `Input` given an object).
        ("string", v @ (Value::Object(_) | Value::Array(_))) => Value::String(v.to_string()),
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
                // A member sent as null is not set, as the AWS SDKs read it.
                if let Some(v) = obj.get(wire_name(wire, name, m)).filter(|v| !v.is_null()) {
                    let child = m["shape"].as_str().unwrap_or_default();
                    out.insert(
                        api_name(name).into_owned(),
                        from_wire(model, wire, child, v),
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
        let wire = to_wire(
            &m,
            Wire::Json,
            "StartExecutionInput",
            &json!({"StateMachineArn": "arn:m", "Input": {"a": [1]}}),
        );
        assert_eq!(wire["input"], "{\"a\":[1]}");
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
        // Attribute values as Step Functions gives them: BOOL is Bool, NULL Nul, SS Ss.
        let wire = json!({"Item": {"a": {"BOOL": true}, "b": {"NULL": true}, "c": {"SS": ["x"]}}});
        let mut task = from_wire(&m, Wire::Json, "GetItemOutput", &wire);
        // The protocol layer keeps the API's names (what the optimized integrations give) ...
        assert_eq!(task, wire);
        // ... and aws-sdk Tasks see the Java 2 SDK's.
        rename(&m, "GetItemOutput", &mut task);
        assert_eq!(
            task,
            json!({"Item": {"a": {"Bool": true}, "b": {"Nul": true}, "c": {"Ss": ["x"]}}})
        );
        let m2 = crate::aws::models::model("rds").unwrap();
        let mut v = json!({"DBInstances": [{"DBInstanceIdentifier": "d", "DBInstanceClass": "c"}]});
        rename(&m2, "DBInstanceMessage", &mut v);
        assert_eq!(
            v,
            json!({"DbInstances": [{"DbInstanceIdentifier": "d", "DbInstanceClass": "c"}]})
        );
        // Both spellings go back to the wire's.
        let back = to_wire(
            &m,
            Wire::Json,
            "PutItemInput",
            &json!({"Item": {"a": {"Bool": true}, "b": {"NULL": true}}}),
        );
        assert_eq!(
            back,
            json!({"Item": {"a": {"BOOL": true}, "b": {"NULL": true}}})
        );
        let m = crate::aws::models::model("stepfunctions").unwrap();
        let wire = to_wire(
            &m,
            Wire::Json,
            "ListMapRunsInput",
            &json!({"ExecutionArn": "a"}),
        );
        assert_eq!(wire, json!({"executionArn": "a"}));
        assert_eq!(pascal("startDate"), "StartDate");
        assert_eq!(pascal("DBInstanceIdentifier"), "DbInstanceIdentifier");
        assert_eq!(pascal("SSEDescription"), "SseDescription");
        assert_eq!(pascal("TableName"), "TableName");
        assert_eq!(pascal("ETag"), "ETag");
        assert_eq!(pascal("S3Key"), "S3Key");
        assert_eq!(pascal("Ipv6CidrBlock"), "Ipv6CidrBlock");
        assert_eq!(pascal("ARN"), "Arn");
        assert_eq!(pascal("KMSMasterKeyID"), "KmsMasterKeyId");
    }
}
