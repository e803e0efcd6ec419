//! Runs the executions recorded against AWS (../shared/conformance/asl) that need Lambda
//! functions, activities, callbacks or nested executions, with what the recording test
//! provided: its functions (each case's `lambda_functions` behaviour, answered through
//! Passo's own Lambda result and error shapes), its activity workers and its callback workers
//! (what each LocalStack test's worker did, replayed on virtual time through the
//! interpreter's task-token events).
//!
//! `PASSO_CASE=substring cargo test -p passo-tasks --test task_conformance -- --nocapture`
//! runs matching cases and prints each difference.

#[path = "../../passo-engine/tests/support/conformance.rs"]
mod conformance;

use conformance::{compare, corpus, info_for, input_of};
use md5::{Digest, Md5};
use passo_engine::driver::{self, Invocation, RunOptions, TaskAction, TaskResult};
use passo_tasks::functions::{CallError, FunctionError, Reply};
use passo_tasks::lambda::{self, Site};
use passo_tasks::nested::{self, Pattern};
use passo_tasks::pyjson;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

const NEEDS: [&str; 4] = ["lambda", "activity", "callback", "nested-sfn"];
/// Floor of the pass rate (outcome and history together); it only moves up.
const FLOOR: f64 = 98.0;

/// Python's `str()` of a JSON value (the `format` test function prints one).
fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{s}'"),
        Value::Array(a) => format!("[{}]", a.iter().map(py_str).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!("'{k}': {}", py_str(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A test function's reply to `event`, and how long it takes (ms).
fn function_reply(case: &Value, function: &Value, event: &Value) -> (Reply, i64) {
    let behaviour = &function["behaviour"];
    let b = |k: &str| behaviour.get(k);
    match behaviour["kind"].as_str().unwrap_or_default() {
        "identity" => (Reply::Ok(pyjson::dumps(event).into_bytes()), 0),
        "sleep_then_identity" => (
            Reply::Ok(pyjson::dumps(event).into_bytes()),
            b("sleep_seconds").and_then(Value::as_i64).unwrap_or(0) * 1000,
        ),
        "constant" => (
            Reply::Ok(pyjson::dumps(b("value").unwrap_or(&Value::Null)).into_bytes()),
            0,
        ),
        "constant_bytes" => match (b("value"), b("size_bytes")) {
            (Some(Value::String(s)), _) => (Reply::Ok(s.clone().into_bytes()), 0),
            (_, Some(n)) => (Reply::Ok(vec![b'a'; n.as_u64().unwrap_or(0) as usize]), 0),
            _ => (Reply::Ok(b"null".to_vec()), 0),
        },
        "format" => (
            Reply::Ok(pyjson::dumps(&json!(format!("input-event-{}", py_str(event)))).into_bytes()),
            0,
        ),
        "raise" => {
            let error_type = b("error_type")
                .and_then(Value::as_str)
                .unwrap_or("Exception");
            (
                Reply::Failed(FunctionError {
                    error_type: error_type.to_string(),
                    error_message: b("message")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    stack_trace: stack_trace(case, function, error_type),
                }),
                0,
            )
        }
        other => panic!("unknown test function behaviour {other}"),
    }
}

/// The stack trace the recorded function printed for this error (Python's): a property of
/// the test's function, not of Step Functions. From the case's task results, or else from
/// another case whose function has the same handler file (a case with no history, e.g. an
/// Express execution, records none of its own).
fn stack_trace(case: &Value, function: &Value, error_type: &str) -> Option<Value> {
    let own = case["task_results"].as_array().and_then(|rs| {
        rs.iter().find_map(|r| {
            let c = &r["cause"];
            (c["errorType"] == error_type).then(|| c["stackTrace"].clone())
        })
    });
    own.or_else(|| {
        let file = function["handler_file"].as_str()?;
        corpus_traces()
            .get(&(file.to_string(), error_type.to_string()))
            .cloned()
            .flatten()
    })
}

/// Every stack trace recorded in the corpus, by the handler file of the function that raised
/// it and its error type (None where the corpus holds two different ones).
fn corpus_traces() -> &'static HashMap<(String, String), Option<Value>> {
    static TRACES: OnceLock<HashMap<(String, String), Option<Value>>> = OnceLock::new();
    TRACES.get_or_init(|| {
        let mut traces = HashMap::new();
        let Some(root) = corpus() else { return traces };
        let Ok(dir) = std::fs::read_dir(root.join("cases")) else {
            return traces;
        };
        for entry in dir.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            if !text.contains("\"stackTrace\"") {
                continue;
            }
            let Ok(case) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            for r in case["task_results"].as_array().into_iter().flatten() {
                let (error_type, trace) = (&r["cause"]["errorType"], &r["cause"]["stackTrace"]);
                let Some(error_type) = error_type.as_str().filter(|_| !trace.is_null()) else {
                    continue;
                };
                // The function that raised it: the case's only one raising this error type.
                let raising: Vec<&str> = case["lambda_functions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|f| f["behaviour"]["error_type"] == error_type)
                    .filter_map(|f| f["handler_file"].as_str())
                    .collect();
                let [file] = raising[..] else { continue };
                let key = (file.to_string(), error_type.to_string());
                match traces.get(&key) {
                    None => {
                        traces.insert(key, Some(trace.clone()));
                    }
                    Some(Some(t)) if t != trace => {
                        traces.insert(key, None);
                    }
                    _ => {}
                }
            }
        }
        traces
    })
}

fn function<'a>(case: &'a Value, name: &str) -> Option<&'a Value> {
    case["lambda_functions"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)
}

fn site() -> Site {
    Site {
        region: "us-east-1".into(),
        account: "000000000000".into(),
        payload_limit: 262_144,
    }
}

/// A result delivered `delay` ms after the invocation.
fn after(delay: i64, r: passo_tasks::TaskResult) -> TaskResult {
    let action = match r {
        Ok(v) => TaskAction::Succeeded(v),
        Err((error, cause)) => TaskAction::Failed { error, cause },
    };
    TaskResult::Script(vec![(delay, action)])
}

fn sdk_metadata(len: usize, content_type: &str, request_id: &str) -> Value {
    json!({
        "AllHttpHeaders": {
            "x-amzn-RequestId": [request_id], "connection": ["keep-alive"],
            "Content-Length": [len.to_string()], "Date": ["Tue, 14 Nov 2023 22:13:20 GMT"],
            "Content-Type": [content_type]
        },
        "HttpHeaders": {
            "connection": "keep-alive", "Content-Length": len.to_string(),
            "Content-Type": content_type, "Date": "Tue, 14 Nov 2023 22:13:20 GMT",
            "x-amzn-RequestId": request_id
        },
        "HttpStatusCode": 200
    })
}

/// What the recording test's callback worker did with the message a callback task sent.
fn callback_worker(id: &str, body: &Value) -> Vec<(i64, TaskAction)> {
    let message = body.get("Message").cloned().unwrap_or(Value::Null);
    if id.contains("timeout") || id.contains("no_token_parameter") || id.contains("heartbeats.") {
        return Vec::new(); // nobody answers
    }
    if id.contains("no_error_field") {
        let failed = TaskAction::Failed {
            error: String::new(),
            cause: None,
        };
        return vec![(100, failed)];
    }
    if id.contains("failure") {
        let failed = TaskAction::Failed {
            error: "Failure error".into(),
            cause: Some("Failure cause".into()),
        };
        return vec![(100, failed)];
    }
    if id.contains("multiple_") {
        let mut s: Vec<(i64, TaskAction)> =
            (1..=10).map(|i| (i * 100, TaskAction::Heartbeat)).collect();
        s.push((1_100, TaskAction::Succeeded(body.clone())));
        return s;
    }
    if id.contains("with_heartbeat") {
        return vec![
            (5_000, TaskAction::Heartbeat),
            (5_100, TaskAction::Succeeded(message)),
        ];
    }
    if id.contains("sns_publish") {
        return vec![(100, TaskAction::Succeeded(json!({})))];
    }
    vec![(100, TaskAction::Succeeded(message))]
}

/// What an activity's worker did in the recording test.
fn activity_worker(case: &Value, inv: &Invocation) -> Vec<(i64, TaskAction)> {
    let id = case["id"].as_str().unwrap_or_default();
    // The worker's name is the recording test's own choice.
    let worker = case["expected_history"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|e| e["activityStartedEventDetails"]["workerName"].as_str())
        .map(String::from);
    let started = (100, TaskAction::Started(worker));
    let input = inv.input.clone();
    if id.ends_with("start_timeout") {
        return vec![started];
    }
    if id.ends_with("failure") {
        let failed = TaskAction::Failed {
            error: "Programmatic Error".into(),
            cause: Some(input.to_string()),
        };
        return vec![started, (200, failed)];
    }
    if id.ends_with("with_heartbeat") {
        return vec![
            started,
            (2_100, TaskAction::Heartbeat),
            (4_100, TaskAction::Succeeded(input)),
        ];
    }
    vec![started, (200, TaskAction::Succeeded(input))]
}

/// The child machines the recording tests created (their definitions are not in the case
/// files; docs/research/task-cases.md §3.6 lists them).
fn child_definition(id: &str) -> Value {
    if id.contains("delegate_failure") {
        json!({"StartAt": "FailState", "States": {"FailState": {"Type": "Fail",
            "Error": "SomeFailure", "Cause": "This state machines raises a 'SomeFailure' failure."}}})
    } else if id.contains("delegate_timeout") {
        json!({"StartAt": "Start", "States": {"Start": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 5,
            "Parameters": {"FunctionName": "sleep_60", "Payload.$": "$.Payload"}, "End": true}}})
    } else if id.contains("sync_with_task_token") {
        json!({"StartAt": "Send", "States": {
            "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl.$": "$.QueueUrl", "MessageBody": {
                    "Message": "SQS_SEND_MESSAGE_AND_WAIT", "TaskToken.$": "$.TaskToken"}},
                "ResultPath": null, "Next": "Wait"},
            "Wait": {"Type": "Wait", "Seconds": 60, "End": true}}})
    } else {
        json!({"Comment": "BASE_PASS_RESULT", "StartAt": "State_1", "States": {"State_1": {
            "Type": "Pass", "Result": {"Arg1": "argument1"}, "End": true}}})
    }
}

/// Whether the recording test created a machine of this name (its other names are random).
fn machine_exists(case: &Value, name: &str) -> bool {
    case["normalize"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n["what"] == "state_machine_name" && n["pattern"].as_str() == Some(name))
}

/// A startExecution task: the child runs in process on virtual time, answered by the same
/// harness; a callback worker that reads the child's messages answers the parent's token.
fn start_execution(case: &Value, inv: &Invocation, pattern: Pattern) -> TaskResult {
    let id = case["id"].as_str().unwrap_or_default();
    let request_id = uuid::Uuid::new_v4().to_string();
    let call = match nested::start_call(&inv.input, &request_id) {
        Ok(c) => c,
        Err(e) => return after(0, Err(e)),
    };
    let parts: Vec<&str> = call.state_machine_arn.split(':').collect();
    let (region, account, machine_name) = (parts[3], parts[4], parts[6]);
    if !machine_exists(case, machine_name) {
        return after(
            0,
            Err(nested::no_such_machine(
                &call.state_machine_arn,
                &request_id,
            )),
        );
    }
    let name = call
        .name
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let arn = format!("arn:aws:states:{region}:{account}:execution:{machine_name}:{name}");
    let machine = Arc::new(passo_asl::parse(&child_definition(id)).expect("child definition"));
    let mut info = info_for(case);
    info.execution_arn = arn.clone();
    info.execution_name = name.clone();
    info.state_machine_arn = call.state_machine_arn.clone();
    info.state_machine_name = machine_name.to_string();
    info.start_time_ms = inv.now_ms;
    let input: Value = serde_json::from_str(&call.input_text).unwrap_or(Value::Null);
    let sent = std::cell::RefCell::new(Vec::new());
    let run = driver::run(
        machine,
        info,
        input,
        &RunOptions::default(),
        &mut |child_inv| {
            if child_inv
                .resource
                .starts_with("arn:aws:states:::sqs:sendMessage")
            {
                sent.borrow_mut()
                    .push((child_inv.now_ms, child_inv.input["MessageBody"].clone()));
            }
            if child_inv.input["FunctionName"] == "sleep_60" {
                return TaskResult::Script(vec![(60_000, TaskAction::Succeeded(json!({})))]);
            }
            answer(case, child_inv)
        },
    );
    let end = nested::run_end(
        &arn,
        &call.state_machine_arn,
        &name,
        &call.input_text,
        inv.now_ms,
        &run,
    );
    let start = nested::start_response(&arn, inv.now_ms, &request_id, "date");
    let mut result = nested::scripted(pattern, start, &end);
    // The test's success worker answers every token it reads off the queue.
    if let (TaskResult::Script(steps), Some(token)) = (&mut result, &inv.token) {
        for (at, body) in sent.borrow().iter() {
            if body["TaskToken"].as_str() == Some(token) {
                let message = Value::String(body["Message"].as_str().unwrap_or_default().into());
                steps.push((at - inv.now_ms + 100, TaskAction::Succeeded(message)));
            }
        }
        steps.sort_by_key(|(at, _)| *at);
    }
    result
}

fn answer(case: &Value, inv: &Invocation) -> TaskResult {
    let id = case["id"].as_str().unwrap_or_default();
    let request_id = uuid::Uuid::new_v4().to_string();
    let r = &inv.resource;
    if let Some(p) = Pattern::of(r) {
        return start_execution(case, inv, p);
    }
    if let Some((name, q)) = lambda::bare_function(r) {
        let q = q.as_deref();
        let reply = match function(case, &name) {
            Some(b) => {
                let (reply, delay) = function_reply(case, b, &inv.input);
                let result = lambda::bare_result(&site(), r, &name, q, Ok(reply), &request_id);
                return after(delay, result);
            }
            None => Err(CallError::NotFound(name.clone())),
        };
        return after(
            0,
            lambda::bare_result(&site(), r, &name, q, reply, &request_id),
        );
    }
    if lambda::is_invoke(r) {
        let call = match lambda::invoke_request(&inv.input) {
            Ok(c) => c,
            Err(e) => return after(0, Err(e)),
        };
        let Some(b) = function(case, &call.name) else {
            let nf = CallError::NotFound(call.name.clone());
            let result = lambda::invoke_result(&site(), &call, Err(nf), &request_id, "date");
            return after(0, result);
        };
        let event: Value = if call.payload.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&call.payload).unwrap_or(Value::Null)
        };
        let (reply, delay) = function_reply(case, b, &event);
        let result = lambda::invoke_result(&site(), &call, Ok(reply), &request_id, "date");
        return after(delay, result);
    }
    if r.contains(":activity:") {
        return TaskResult::Script(activity_worker(case, inv));
    }
    if r.starts_with("arn:aws:states:::sqs:sendMessage")
        || r.starts_with("arn:aws:states:::sns:publish")
    {
        let sqs = r.contains(":sqs:");
        let body = inv
            .input
            .get(if sqs { "MessageBody" } else { "Message" })
            .cloned()
            .unwrap_or(Value::Null);
        let text = match &body {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        let message_id = uuid::Uuid::new_v4().to_string();
        let response = if sqs {
            let md5 = format!("{:x}", Md5::digest(text.as_bytes()));
            json!({"MD5OfMessageBody": md5, "MessageId": message_id,
                   "SdkHttpMetadata": sdk_metadata(106, "application/x-amz-json-1.0", &request_id),
                   "SdkResponseMetadata": {"RequestId": request_id}})
        } else {
            json!({"MessageId": message_id,
                   "SdkHttpMetadata": sdk_metadata(294, "text/xml", &request_id),
                   "SdkResponseMetadata": {"RequestId": request_id}})
        };
        if !r.ends_with(".waitForTaskToken") {
            return TaskResult::Success(response);
        }
        let parsed = match &body {
            Value::String(s) => serde_json::from_str(s).unwrap_or(body.clone()),
            v => v.clone(),
        };
        let mut s = vec![(0, TaskAction::Submitted(response))];
        s.extend(callback_worker(id, &parsed));
        return TaskResult::Script(s);
    }
    TaskResult::Failure {
        error: "States.TaskFailed".into(),
        cause: Some(format!("the harness does not provide {r}")),
    }
}

#[test]
fn task_cases() {
    let Some(root) = corpus() else {
        eprintln!("conformance corpus not found; skipping");
        return;
    };
    let filter = std::env::var("PASSO_CASE").ok();
    let verbose = filter.is_some();
    let index: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("index.json")).unwrap()).unwrap();
    let (mut total, mut pass) = (0usize, 0usize);
    let mut misses = Vec::new();
    for entry in &index {
        let needs: Vec<&str> = entry["needs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if !needs.iter().any(|n| NEEDS.contains(n)) {
            continue;
        }
        let id = entry["id"].as_str().unwrap();
        if filter.as_deref().is_some_and(|f| !id.contains(f)) {
            continue;
        }
        let case: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join(format!("cases/{id}.json"))).unwrap(),
        )
        .unwrap();
        total += 1;
        let machine = match passo_asl::parse(&case["definition"]) {
            Ok(m) => Arc::new(m),
            Err(d) => {
                misses.push(format!("{id}: definition rejected: {:?}", d.first()));
                continue;
            }
        };
        let opts = RunOptions::default();
        let run = driver::run(
            machine,
            info_for(&case),
            input_of(&case),
            &opts,
            &mut |inv| answer(&case, inv),
        );
        let (outcome_ok, history_ok, why) = compare(&case, &run, verbose);
        if outcome_ok && history_ok != Some(false) {
            pass += 1;
        } else {
            misses.push(format!("{id} [{}]: {why}", needs.join(",")));
        }
    }
    for m in &misses {
        println!("MISS {m}");
    }
    let pct = if total == 0 {
        100.0
    } else {
        pass as f64 * 100.0 / total as f64
    };
    println!(
        "ASL conformance (lambda, activity, callback, nested-sfn): {pass}/{total} ({pct:.1}%)"
    );
    if filter.is_none() {
        assert!(
            pct >= FLOOR,
            "pass rate {pct:.1}% fell below the floor {FLOOR}%"
        );
    }
}
