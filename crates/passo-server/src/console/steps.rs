//! One state entry's input and output processing, step by step (InputPath, Parameters or
//! Arguments, the result, ResultSelector, ResultPath, OutputPath, Assign): the history
//! records only the state's input, what it sent, its result and its output, so the steps
//! between are worked out again by TestState's own processing (`passo_engine::test_state`)
//! from the recorded input, with the recorded result or error standing in for the Task's
//! call. Nothing is invoked: an entry without a recorded outcome has no steps yet.
//!
//! What it cannot know exactly: the context object (`$$`, made up as TestState makes it
//! up) and variables (those assigned by the states entered before, in order).

use super::execution::load;
use super::progress::entries;
use super::{fail, ok, param, query, Ctx};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use passo_engine::test_state::{prepare, Environment, Request, Step};
use serde_json::{json, Map, Value};

pub async fn steps(c: Ctx, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = c.caller(&headers) {
        return r;
    }
    let q = query(&uri);
    let (arn, entered) = match (param(&q, "arn"), param(&q, "entered")) {
        (Ok(a), Ok(e)) => (a, e.parse::<u64>().unwrap_or(0)),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let (_, definition, events) = match load(&c, arn) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let es = entries(&events);
    let Some(e) = es.iter().find(|e| e.entered_id == entered) else {
        return fail(
            StatusCode::NOT_FOUND,
            "StateEntryDoesNotExist",
            "No state was entered at this event",
        );
    };
    let mut variables = Map::new();
    for earlier in es.iter().filter(|x| x.entered_id < entered) {
        if let Some(Value::Object(m)) = &earlier.assigned {
            variables.extend(m.clone());
        }
    }
    let none = |why: &str| ok(json!({"steps": Value::Null, "why": why}));
    let fanout = matches!(e.kind.as_str(), "Map" | "Parallel");
    let mut req = json!({
        "definition": definition, "stateName": e.name, "input": e.input.as_deref().unwrap_or("{}"),
        "inspectionLevel": "DEBUG", "variables": Value::Object(variables).to_string(),
        "roleArn": format!("arn:aws:iam::{}:role/passo-console", c.rt.cfg.realm.account),
    });
    if e.kind == "Task" || fanout {
        req["mock"] = match (&e.result, &e.error) {
            (Some(r), _) if !fanout => json!({"result": r, "fieldValidationMode": "NONE"}),
            (_, Some(err)) => json!({"errorOutput": {"error": err, "cause": e.cause}}),
            _ if fanout => return none("A Map or Parallel state's result is its children's outputs, which its history does not hold in one place."),
            _ => return none("The state has no result yet."),
        };
    }
    let env = Environment {
        now_ms: e.start_ms,
        seed: c.rt.seed(),
        region: c.rt.cfg.realm.region.clone(),
        account: c.rt.cfg.realm.account.clone(),
    };
    let prepared = match Request::from_api(&req).and_then(|r| prepare(&r, &env)) {
        Ok(p) => p,
        Err(err) => return none(&format!("The steps cannot be worked out: {err}")),
    };
    match prepared.run(None) {
        Step::Done(r) => ok(json!({"steps": r.to_api()})),
        Step::Invoke(_) => none("The state has no result yet."),
    }
}
