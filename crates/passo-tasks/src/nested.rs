//! Nested executions: `arn:aws:states:::states:startExecution` with its three patterns, and
//! the shapes AWS gives a parent (the StartExecution response; the DescribeExecution of the
//! finished child; the causes of a child that failed or a machine that does not exist).
//!
//! Starting and watching the child is the host's work (the server's runtime, or `passo run`
//! in process); this module only parses the request and shapes the answers, so both hosts
//! answer alike.

use crate::TaskResult;
use passo_engine::driver::{self, TaskAction};
use serde_json::{json, Map, Value};

/// How the parent waits for the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// `startExecution`: the task ends when the child has started.
    Start,
    /// `startExecution.sync`: the task ends with the child; Input and Output as JSON text.
    Sync,
    /// `startExecution.sync:2`: the same, with Input and Output as JSON.
    Sync2,
    /// `startExecution.waitForTaskToken`: the task ends with its token.
    Callback,
}

impl Pattern {
    /// The pattern a Task resource names, if it starts an execution.
    pub fn of(resource: &str) -> Option<Pattern> {
        let rest = resource
            .strip_prefix("arn:")?
            .split_once(':')?
            .1
            .strip_prefix("states:::states:startExecution")?;
        match rest {
            "" => Some(Pattern::Start),
            ".sync" => Some(Pattern::Sync),
            ".sync:2" => Some(Pattern::Sync2),
            ".waitForTaskToken" => Some(Pattern::Callback),
            _ => None,
        }
    }

    /// Whether the parent's task waits for the child to end.
    pub fn waits(self) -> bool {
        matches!(self, Pattern::Sync | Pattern::Sync2)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::Start => "start",
            Pattern::Sync => "sync",
            Pattern::Sync2 => "sync:2",
            Pattern::Callback => "callback",
        }
    }

    pub fn parse(s: &str) -> Option<Pattern> {
        Some(match s {
            "start" => Pattern::Start,
            "sync" => Pattern::Sync,
            "sync:2" => Pattern::Sync2,
            "callback" => Pattern::Callback,
            _ => return None,
        })
    }
}

/// The StartExecution call a task's parameters make.
#[derive(Debug, Clone, PartialEq)]
pub struct StartCall {
    pub state_machine_arn: String,
    pub name: Option<String>,
    /// The child's input as JSON text: `{}` when none is given, an object compacted, a string
    /// taken as the JSON text it holds.
    pub input_text: String,
}

/// A failure of the call itself, named as the Step Functions service names it.
pub fn service_error(code: &str, message: &str, request_id: &str) -> (String, Option<String>) {
    (
        format!("StepFunctions.{code}Exception"),
        Some(format!(
            "{message} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code}; Request ID: {request_id}; Proxy: null)"
        )),
    )
}

/// Reads the task's parameters: `StateMachineArn` (required), `Input`, `Name`.
pub fn start_call(params: &Value, request_id: &str) -> Result<StartCall, (String, Option<String>)> {
    let Some(obj) = params.as_object() else {
        return Err(service_error(
            "InvalidArn",
            "Invalid Arn: 'null'",
            request_id,
        ));
    };
    let arn = match obj.get("StateMachineArn") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err((
                "States.Runtime".into(),
                Some("The field 'StateMachineArn' is required".into()),
            ))
        }
    };
    let name = match obj.get("Name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => Some(v.to_string()),
    };
    let input_text = match obj.get("Input") {
        None | Some(Value::Null) => "{}".to_string(),
        Some(Value::String(s)) => {
            if serde_json::from_str::<Value>(s).is_err() {
                return Err(service_error(
                    "InvalidExecutionInput",
                    &format!("Invalid State Machine Execution Input: '{s}'"),
                    request_id,
                ));
            }
            s.clone()
        }
        Some(v) => v.to_string(),
    };
    Ok(StartCall {
        state_machine_arn: arn,
        name,
        input_text,
    })
}

/// StepFunctions.StateMachineDoesNotExistException, as AWS words it.
pub fn no_such_machine(arn: &str, request_id: &str) -> (String, Option<String>) {
    service_error(
        "StateMachineDoesNotExist",
        &format!("State Machine Does Not Exist: '{arn}'"),
        request_id,
    )
}

/// The SDK's HTTP metadata of a Step Functions answer with a body this long.
fn sdk_metadata(body_len: usize, request_id: &str, date: &str) -> Value {
    let len = body_len.to_string();
    json!({
        "AllHttpHeaders": {
            "x-amzn-RequestId": [request_id],
            "connection": ["keep-alive"],
            "Content-Length": [len],
            "Date": [date],
            "Content-Type": ["application/x-amz-json-1.0"]
        },
        "HttpHeaders": {
            "connection": "keep-alive",
            "Content-Length": len,
            "Content-Type": "application/x-amz-json-1.0",
            "Date": date,
            "x-amzn-RequestId": request_id
        },
        "HttpStatusCode": 200
    })
}

/// The StartExecution response a parent's task receives (the TaskSucceeded output of
/// `startExecution`, the TaskSubmitted output of `.sync`). Dates are epoch milliseconds, as
/// the service integration writes them.
pub fn start_response(execution_arn: &str, start_ms: i64, request_id: &str, date: &str) -> Value {
    let body_len = format!(
        "{{\"executionArn\":\"{execution_arn}\",\"startDate\":{}.{:03}}}",
        start_ms / 1000,
        start_ms % 1000
    )
    .len();
    json!({
        "ExecutionArn": execution_arn,
        "SdkHttpMetadata": sdk_metadata(body_len, request_id, date),
        "SdkResponseMetadata": {"RequestId": request_id},
        "StartDate": start_ms
    })
}

/// A child execution that has ended, as its parent learns of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildEnd {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub input_text: String,
    /// SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    pub status: String,
    pub output_text: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start_ms: i64,
    pub stop_ms: i64,
}

/// The DescribeExecution of the ended child, with Input/Output as text (`.sync`) or as JSON
/// (`.sync:2`). Keys in AWS's (alphabetical) order.
pub fn describe(end: &ChildEnd, parsed: bool) -> Value {
    let body = |text: &str| -> Value {
        if parsed {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
        } else {
            Value::String(text.to_string())
        }
    };
    let mut m = Map::new();
    if let Some(c) = &end.cause {
        m.insert("Cause".into(), json!(c));
    }
    if let Some(e) = &end.error {
        m.insert("Error".into(), json!(e));
    }
    m.insert("ExecutionArn".into(), json!(end.execution_arn));
    m.insert("Input".into(), body(&end.input_text));
    m.insert("InputDetails".into(), json!({"Included": true}));
    m.insert("Name".into(), json!(end.name));
    if let Some(o) = &end.output_text {
        m.insert("Output".into(), body(o));
        m.insert("OutputDetails".into(), json!({"Included": true}));
    }
    m.insert("RedriveCount".into(), json!(0));
    let redrivable = end.status != "SUCCEEDED";
    m.insert(
        "RedriveStatus".into(),
        json!(if redrivable {
            "REDRIVABLE"
        } else {
            "NOT_REDRIVABLE"
        }),
    );
    if !redrivable {
        m.insert(
            "RedriveStatusReason".into(),
            json!("Execution is SUCCEEDED and cannot be redriven"),
        );
    }
    m.insert("StartDate".into(), json!(end.start_ms));
    m.insert("StateMachineArn".into(), json!(end.state_machine_arn));
    m.insert("Status".into(), json!(end.status));
    m.insert("StopDate".into(), json!(end.stop_ms));
    Value::Object(m)
}

/// How a `.sync` parent's task ends with its child: the description on success; otherwise
/// States.TaskFailed with the description as the cause.
pub fn completion(end: &ChildEnd, pattern: Pattern) -> TaskResult {
    let d = describe(end, pattern == Pattern::Sync2);
    if end.status == "SUCCEEDED" {
        Ok(d)
    } else {
        Err(("States.TaskFailed".into(), Some(d.to_string())))
    }
}

/// How an in-process host (`passo run`, the conformance tests) answers a startExecution
/// task after running the child to its end on virtual time: the call's answer at once, and
/// for `.sync` the child's end as long after as the child ran. A callback task is only
/// submitted: its token is answered by someone else, or the task times out.
pub fn scripted(pattern: Pattern, start_response: Value, end: &ChildEnd) -> driver::TaskResult {
    match pattern {
        Pattern::Start => driver::TaskResult::Success(start_response),
        Pattern::Callback => {
            driver::TaskResult::Script(vec![(0, TaskAction::Submitted(start_response))])
        }
        Pattern::Sync | Pattern::Sync2 => {
            let last = match completion(end, pattern) {
                Ok(v) => TaskAction::Succeeded(v),
                Err((error, cause)) => TaskAction::Failed { error, cause },
            };
            driver::TaskResult::Script(vec![
                (0, TaskAction::Submitted(start_response)),
                ((end.stop_ms - end.start_ms).max(0), last),
            ])
        }
    }
}

/// The end of a child run in process.
pub fn run_end(
    execution_arn: &str,
    state_machine_arn: &str,
    name: &str,
    input_text: &str,
    start_ms: i64,
    run: &driver::Run,
) -> ChildEnd {
    let o = &run.outcome;
    ChildEnd {
        execution_arn: execution_arn.to_string(),
        state_machine_arn: state_machine_arn.to_string(),
        name: name.to_string(),
        input_text: input_text.to_string(),
        status: o.status.as_str().to_string(),
        output_text: o.output.as_ref().map(passo_engine::history::text),
        error: o.error.clone(),
        cause: o.cause.clone(),
        start_ms,
        stop_ms: run.end_time_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_name_their_pattern() {
        let p = |r: &str| Pattern::of(r);
        assert_eq!(
            p("arn:aws:states:::states:startExecution"),
            Some(Pattern::Start)
        );
        assert_eq!(
            p("arn:aws:states:::states:startExecution.sync"),
            Some(Pattern::Sync)
        );
        assert_eq!(
            p("arn:aws-cn:states:::states:startExecution.sync:2"),
            Some(Pattern::Sync2)
        );
        assert_eq!(
            p("arn:aws:states:::states:startExecution.waitForTaskToken"),
            Some(Pattern::Callback)
        );
        assert_eq!(p("arn:aws:states:::states:startExecution.sync:3"), None);
        assert_eq!(p("arn:aws:states:::lambda:invoke"), None);
        for q in [
            Pattern::Start,
            Pattern::Sync,
            Pattern::Sync2,
            Pattern::Callback,
        ] {
            assert_eq!(Pattern::parse(q.as_str()), Some(q));
        }
    }

    #[test]
    fn inputs_become_json_text() {
        let arn = "arn:aws:states:us-east-1:1:stateMachine:m";
        let c = start_call(&json!({"StateMachineArn": arn, "Input": null}), "r").unwrap();
        assert_eq!(c.input_text, "{}");
        let c = start_call(
            &json!({"StateMachineArn": arn, "Input": {"a": [1, 2]}}),
            "r",
        )
        .unwrap();
        assert_eq!(c.input_text, r#"{"a":[1,2]}"#);
        let c = start_call(&json!({"StateMachineArn": arn, "Input": "\"x\""}), "r").unwrap();
        assert_eq!(c.input_text, "\"x\"");
        let (e, cause) =
            start_call(&json!({"StateMachineArn": arn, "Input": "{x"}), "r").unwrap_err();
        assert_eq!(e, "StepFunctions.InvalidExecutionInputException");
        assert!(cause
            .unwrap()
            .contains("Error Code: InvalidExecutionInput; Request ID: r;"));
        let c = start_call(&json!({"StateMachineArn": arn, "Name": "n"}), "r").unwrap();
        assert_eq!(c.name.as_deref(), Some("n"));
    }

    #[test]
    fn sync_results_describe_the_child() {
        let mut end = ChildEnd {
            execution_arn: "arn:aws:states:us-east-1:1:execution:m:n".into(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:m".into(),
            name: "n".into(),
            input_text: "{}".into(),
            status: "SUCCEEDED".into(),
            output_text: Some(r#"{"Arg1":"argument1"}"#.into()),
            error: None,
            cause: None,
            start_ms: 1,
            stop_ms: 2,
        };
        let ok = completion(&end, Pattern::Sync).unwrap();
        assert_eq!(ok["Output"], r#"{"Arg1":"argument1"}"#);
        assert_eq!(ok["Input"], "{}");
        let ok2 = completion(&end, Pattern::Sync2).unwrap();
        assert_eq!(ok2["Output"], json!({"Arg1": "argument1"}));
        end.status = "FAILED".into();
        end.output_text = None;
        end.error = Some("States.Timeout".into());
        let (e, cause) = completion(&end, Pattern::Sync).unwrap_err();
        assert_eq!(e, "States.TaskFailed");
        let cause: Value = serde_json::from_str(&cause.unwrap()).unwrap();
        assert_eq!(cause["Error"], "States.Timeout");
        assert!(cause.get("Cause").is_none() && cause.get("Output").is_none());
    }

    #[test]
    fn the_start_response_measures_its_body() {
        let r = start_response("arn:x", 1_700_000_000_123, "rid", "date");
        assert_eq!(r["StartDate"], 1_700_000_000_123i64);
        let body = r#"{"executionArn":"arn:x","startDate":1700000000.123}"#;
        assert_eq!(
            r["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"],
            body.len().to_string()
        );
    }
}
