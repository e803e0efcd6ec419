//! `arn:aws:states:::events:putEvents[.waitForTaskToken]`: EventBridge's PutEvents as Step
//! Functions sends it: each entry's `Detail` that is not a string is sent as its JSON text,
//! and the execution's and its state machine's ARNs are appended to each entry's
//! `Resources`. The result is EventBridge's answer (`Entries`, `FailedEntryCount`); an answer
//! with failed entries fails the task with `EventBridge.FailedEntry` and the answer as cause.

use super::sdk::{self, Service};
use super::Context;
use serde_json::{json, Value};

pub const EVENTS: Service = Service {
    sdk_name: "eventbridge",
    model: "events",
    prefix: "EventBridge",
    service_name: "AmazonEventBridge",
    base_exception: "AmazonEventBridgeException",
    content_type: "application/x-amz-json-1.1",
    extra_headers: &[],
    request_id_header: "x-amzn-RequestId",
    connection_header: "connection",
};

/// An entry's members as Step Functions takes them.
const ENTRY: [&str; 6] = [
    "Detail",
    "DetailType",
    "EventBusName",
    "Resources",
    "Source",
    "Time",
];

pub async fn run(cx: &Context<'_>, action: &str, input: &Value) -> crate::TaskResult {
    match action {
        "putEvents" => put_events(cx, input).await,
        other => Err(sdk::runtime_error(
            cx,
            &format!("The action 'events:{other}' is not supported by Step Functions; use arn:aws:states:::aws-sdk:eventbridge:{other}"),
        )),
    }
}

async fn put_events(cx: &Context<'_>, input: &Value) -> crate::TaskResult {
    sdk::check_parameters(cx, input, &["Entries"])?;
    let Some(entries) = input["Entries"].as_array() else {
        return Err(sdk::runtime_error(
            cx,
            "The field \"Entries\" must be an array of events",
        ));
    };
    let mut sent = Vec::with_capacity(entries.len());
    for e in entries {
        sdk::check_parameters(cx, e, &ENTRY)?;
        let mut e = sdk::without_nulls(e);
        if let Some(d) = e.get_mut("Detail") {
            *d = sdk::as_text(d);
        }
        if !cx.execution_arn.is_empty() {
            let mut resources = e["Resources"].as_array().cloned().unwrap_or_default();
            resources.push(json!(cx.execution_arn));
            resources.push(json!(state_machine_arn(cx.execution_arn)));
            e["Resources"] = Value::Array(resources);
        }
        sent.push(e);
    }
    let answer = sdk::call(cx, &EVENTS, "putEvents", &json!({ "Entries": sent })).await?;
    // The answer as the SDK reads it: its entries and the count, nothing the service added.
    let entries: Vec<Value> = answer["Entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(sdk::without_nulls)
        .collect();
    let failed = answer["FailedEntryCount"].as_u64().unwrap_or(0);
    let out = json!({ "Entries": entries, "FailedEntryCount": failed });
    if failed > 0 {
        return Err(("EventBridge.FailedEntry".to_string(), Some(out.to_string())));
    }
    Ok(out)
}

/// `arn:aws:states:R:A:execution:SM:NAME` -> `arn:aws:states:R:A:stateMachine:SM`.
fn state_machine_arn(execution_arn: &str) -> String {
    let parts: Vec<&str> = execution_arn.split(':').collect();
    match parts.as_slice() {
        [a, p, s, r, acct, "execution" | "express", sm, ..] => {
            format!("{a}:{p}:{s}:{r}:{acct}:stateMachine:{sm}")
        }
        _ => execution_arn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_execution_names_its_state_machine() {
        assert_eq!(
            super::state_machine_arn("arn:aws:states:us-east-1:1:execution:sm:ex"),
            "arn:aws:states:us-east-1:1:stateMachine:sm"
        );
    }
}
