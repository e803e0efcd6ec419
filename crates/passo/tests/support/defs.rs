//! Small state machine builders for the integration tests.

use serde_json::{json, Value};

/// A Task state on `resource` with Parameters, then `next` (or the end).
pub fn task(resource: &str, params: Value, next: Option<&str>) -> Value {
    let mut t = json!({"Type": "Task", "Resource": resource, "Parameters": params});
    end_or(&mut t, next);
    t
}

/// `"Next": next`, or `"End": true` when None.
pub fn end_or(state: &mut Value, next: Option<&str>) {
    match next {
        Some(n) => state["Next"] = json!(n),
        None => state["End"] = json!(true),
    }
}

/// A `lambda:invoke` of function `name` with the state input as payload.
pub fn lambda(name: &str, next: Option<&str>) -> Value {
    task(
        "arn:aws:states:::lambda:invoke",
        json!({"FunctionName": name, "Payload.$": "$"}),
        next,
    )
}

/// A Parallel of two branches of the given Task states, then a last Task.
pub fn parallel_of(a: Value, b: Value, last: Value) -> Value {
    json!({"StartAt": "Par", "States": {
        "Par": {"Type": "Parallel", "Next": "C", "Branches": [
            {"StartAt": "A", "States": {"A": a}},
            {"StartAt": "B", "States": {"B": b}},
        ]},
        "C": last,
    }})
}

/// `def` with `first` (a Pass, a Wait 0) put before its StartAt.
pub fn after(first: Value, mut def: Value) -> Value {
    let start = def["StartAt"].as_str().unwrap().to_string();
    let mut f = first;
    f["Next"] = json!(start);
    def["States"]["First"] = f;
    def["StartAt"] = json!("First");
    def
}

/// A Map over `$.items` (INLINE or DISTRIBUTED) whose iterations run `item`.
pub fn map_of(item: Value, mode: &str) -> Value {
    json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
        "ItemProcessor": {"ProcessorConfig": {"Mode": mode, "ExecutionType": "STANDARD"},
                          "StartAt": "T", "States": {"T": item}},
        "End": true}}})
}
