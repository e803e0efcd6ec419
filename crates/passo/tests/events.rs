//! The event bus through the real binary, driven by boto3's `events` client and the aws
//! CLI from the e2e virtualenv: rules that start workflows (with an InputTransformer'd
//! input), per-entry errors, rules that cannot be deleted while they have targets, dead
//! letters, `aws.states` status events chaining workflows, a workflow putting events on the
//! bus it runs beside, TestEventPattern with AWS's documented examples, and an accepted
//! event that outlives a SIGKILL, delivered exactly once after the restart.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use support::Server;

/// boto3 clients for the server at `PASSO_ENDPOINT`, and waiting helpers; the script
/// fills `out`, printed as JSON.
const PRELUDE: &str = r#"
import boto3, json, os, sys, time
from botocore.config import Config
kw = dict(endpoint_url=os.environ["PASSO_ENDPOINT"], region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test",
          config=Config(retries={"max_attempts": 1}))
events = boto3.client("events", **kw)
sfn = boto3.client("stepfunctions", **kw)
def executions(machine, n, secs=20):
    deadline = time.time() + secs
    while True:
        found = sfn.list_executions(stateMachineArn=machine)["executions"]
        if len(found) >= n or time.time() > deadline:
            return found
        time.sleep(0.05)
def finished(arn, secs=20):
    deadline = time.time() + secs
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING" or time.time() > deadline:
            return d
        time.sleep(0.05)
def code(call):
    try:
        call()
        return None
    except events.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
out = {}
"#;

use support::boto3::venv;

/// Runs `script` (after [`PRELUDE`]) against the server; answers its `out`.
fn boto3(venv: &Path, s: &Server, script: &str) -> Value {
    support::boto3::run(venv, s, PRELUDE, script)
}

/// `aws events ARGS... --endpoint-url` against the server: (exit code, stdout, stderr).
fn aws(venv: &Path, s: &Server, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(venv.join("bin/aws"))
        .args(["events"])
        .args(args)
        .args([
            "--endpoint-url",
            &format!("http://{}", s.addr),
            "--output",
            "json",
        ])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A machine that answers its input.
fn echo() -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})
}

#[test]
fn a_rule_on_a_custom_bus_starts_a_workflow_with_a_transformed_input() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let machine = support::create(&s, "on-order", "STANDARD", echo());
    let out = boto3(
        &venv,
        &s,
        &format!(
            r#"
machine = "{machine}"
out["bus"] = events.create_event_bus(Name="orders")["EventBusArn"]
out["rule"] = events.put_rule(Name="big-orders", EventBusName="orders",
    EventPattern=json.dumps({{"source": ["com.shop"], "detail": {{"total": [{{"numeric": [">", 100]}}]}}}}))["RuleArn"]
out["targets"] = events.put_targets(Rule="big-orders", EventBusName="orders", Targets=[{{
    "Id": "start", "Arn": machine,
    "InputTransformer": {{
        "InputPathsMap": {{"order": "$.detail.id", "total": "$.detail.total", "items": "$.detail.items"}},
        "InputTemplate": '{{"order": <order>, "total": <total>, "items": <items>, "note": "order <order> from <aws.events.rule-name>"}}'}}}}])
put = events.put_events(Entries=[
    {{"Source": "com.shop", "DetailType": "Order Placed", "EventBusName": "orders",
      "Detail": json.dumps({{"id": "o-1", "total": 250, "items": ["a", "b"]}})}},
    {{"Source": "com.shop", "DetailType": "Order Placed", "EventBusName": "orders",
      "Detail": json.dumps({{"id": "o-2", "total": 5, "items": []}})}},
])
out["put"] = put
found = executions(machine, 1)
time.sleep(0.3)
found = sfn.list_executions(stateMachineArn=machine)["executions"]
out["count"] = len(found)
out["name"] = found[0]["name"]
out["input"] = json.loads(finished(found[0]["executionArn"])["input"])
out["describe"] = events.describe_rule(Name="big-orders", EventBusName="orders")
out["listed"] = [r["Name"] for r in events.list_rules(EventBusName="orders", NamePrefix="big")["Rules"]]
out["listed_targets"] = events.list_targets_by_rule(Rule="big-orders", EventBusName="orders")["Targets"]
out["buses"] = sorted(b["Name"] for b in events.list_event_buses()["EventBuses"])
"#
        ),
    );
    assert_eq!(
        out["bus"],
        "arn:aws:events:us-east-1:123456789012:event-bus/orders"
    );
    assert_eq!(
        out["rule"],
        "arn:aws:events:us-east-1:123456789012:rule/orders/big-orders"
    );
    assert_eq!(out["targets"]["FailedEntryCount"], 0, "{out}");
    assert_eq!(out["put"]["FailedEntryCount"], 0, "{out}");
    let id = out["put"]["Entries"][0]["EventId"].as_str().unwrap();
    // Only the order over 100 matched; its execution is named after the event.
    assert_eq!(out["count"], 1, "{out}");
    assert!(out["name"].as_str().unwrap().starts_with(id), "{out}");
    assert_eq!(
        out["input"],
        json!({"order": "o-1", "total": 250, "items": ["a", "b"], "note": "order o-1 from big-orders"})
    );
    assert_eq!(out["describe"]["State"], "ENABLED");
    assert_eq!(out["describe"]["EventBusName"], "orders");
    assert_eq!(out["listed"], json!(["big-orders"]));
    assert_eq!(out["listed_targets"][0]["Id"], "start");
    assert_eq!(out["buses"], json!(["default", "orders"]));
}

#[test]
fn entries_fail_alone_and_rules_with_targets_stay() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let machine = support::create(&s, "m", "STANDARD", echo());
    let gone = machine.replace(":m", ":gone");
    let out = boto3(
        &venv,
        &s,
        &format!(
            r#"
put = events.put_events(Entries=[
    {{"DetailType": "x", "Detail": "{{}}"}},
    {{"Source": "a", "DetailType": "x", "Detail": "[1]"}},
    {{"Source": "a", "DetailType": "x", "Detail": "{{}}", "EventBusName": "nope"}},
    {{"Source": "aws.states", "DetailType": "x", "Detail": "{{}}"}},
    {{"Source": "a", "DetailType": "x", "Detail": "{{}}"}},
])
out["put"] = put
out["eleven"] = code(lambda: events.put_events(Entries=[{{"Source": "a", "DetailType": "x", "Detail": "{{}}"}}] * 11))
out["big"] = code(lambda: events.put_events(Entries=[{{"Source": "a", "DetailType": "x", "Detail": json.dumps({{"s": "x" * 300000}})}}]))
out["pattern"] = code(lambda: events.put_rule(Name="bad", EventPattern='{{"source": "a"}}'))
out["no_bus"] = code(lambda: events.put_rule(Name="r", EventBusName="nope", EventPattern='{{"source": ["a"]}}'))
events.put_rule(Name="r", EventPattern='{{"source": ["dead"]}}')
out["targets"] = events.put_targets(Rule="r", Targets=[
    {{"Id": "q", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f"}},
    {{"Id": "gone", "Arn": "{gone}", "DeadLetterConfig": {{"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"}}}}])
out["delete_with_targets"] = code(lambda: events.delete_rule(Name="r"))
events.put_events(Entries=[{{"Source": "dead", "DetailType": "x", "Detail": "{{}}"}}])
out["disable_missing"] = code(lambda: events.disable_rule(Name="missing"))
events.disable_rule(Name="r")
out["state"] = events.describe_rule(Name="r")["State"]
events.remove_targets(Rule="r", Ids=["gone"])
events.delete_rule(Name="r")
out["after"] = code(lambda: events.describe_rule(Name="r"))
out["delete_default"] = code(lambda: events.delete_event_bus(Name="default"))
"#
        ),
    );
    let entries = &out["put"]["Entries"];
    assert_eq!(out["put"]["FailedEntryCount"], 4, "{out}");
    assert_eq!(entries[0]["ErrorCode"], "InvalidArgument");
    assert_eq!(
        entries[0]["ErrorMessage"],
        "Parameter Source is not valid. Reason: Source is a required argument."
    );
    assert_eq!(entries[1]["ErrorCode"], "MalformedDetail");
    assert_eq!(entries[2]["ErrorCode"], "ResourceNotFoundException");
    assert_eq!(entries[3]["ErrorCode"], "NotAuthorizedForSourceException");
    assert!(entries[4]["EventId"].is_string(), "{out}");
    assert_eq!(out["eleven"], "ValidationException");
    assert_eq!(out["big"], "ValidationException");
    assert_eq!(out["pattern"], "InvalidEventPatternException");
    assert_eq!(out["no_bus"], "ResourceNotFoundException");
    // A Lambda target (Passo cannot invoke one from a rule) is refused alone; the machine
    // target is kept.
    assert_eq!(out["targets"]["FailedEntryCount"], 1, "{out}");
    assert_eq!(out["targets"]["FailedEntries"][0]["TargetId"], "q");
    assert_eq!(out["delete_with_targets"], "ValidationException");
    assert_eq!(out["disable_missing"], "ResourceNotFoundException");
    assert_eq!(out["state"], "DISABLED");
    assert_eq!(out["after"], "ResourceNotFoundException");
    assert_eq!(out["delete_default"], "ValidationException");
    // The event for the machine that does not exist is a dead letter, not lost.
    let letters = s.call("Passo.ListDeadLetters", json!({}));
    let l = &letters["deadLetters"][0];
    assert_eq!(l["errorCode"], "StateMachineDoesNotExist", "{letters}");
    assert_eq!(l["targetArn"], gone.as_str());
    assert_eq!(l["deadLetterArn"], "arn:aws:sqs:us-east-1:123456789012:dlq");
    assert_eq!(l["attempts"], 1);
}

#[test]
fn a_failed_execution_starts_a_second_workflow_through_aws_states_events() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let flaky = support::create(
        &s,
        "flaky",
        "STANDARD",
        json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.fail", "BooleanEquals": true, "Next": "F"}], "Default": "OK"},
            "F": {"Type": "Fail", "Error": "Order.Rejected", "Cause": "no stock"},
            "OK": {"Type": "Succeed"}}}),
    );
    let handler = support::create(&s, "on-failure", "STANDARD", echo());
    let out = boto3(
        &venv,
        &s,
        &format!(
            r#"
events.put_rule(Name="failures", EventPattern=json.dumps({{
    "source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
    "detail": {{"status": ["FAILED"], "stateMachineArn": ["{flaky}"]}}}}))
events.put_targets(Rule="failures", Targets=[{{"Id": "h", "Arn": "{handler}", "InputPath": "$.detail"}}])
ok = sfn.start_execution(stateMachineArn="{flaky}", input='{{"fail": false}}')["executionArn"]
bad = sfn.start_execution(stateMachineArn="{flaky}", input='{{"fail": true}}')["executionArn"]
finished(ok); finished(bad)
found = executions("{handler}", 1)
time.sleep(0.3)
found = sfn.list_executions(stateMachineArn="{handler}")["executions"]
out["count"] = len(found)
out["bad"] = bad
out["detail"] = json.loads(finished(found[0]["executionArn"])["input"])
"#
        ),
    );
    assert_eq!(out["count"], 1, "{out}");
    let d = &out["detail"];
    assert_eq!(d["executionArn"], out["bad"]);
    assert_eq!(d["stateMachineArn"], flaky.as_str());
    assert_eq!(d["status"], "FAILED");
    assert_eq!(d["error"], "Order.Rejected");
    assert_eq!(d["cause"], "no stock");
    assert_eq!(d["input"], "{\"fail\": true}");
    assert!(d["startDate"].is_i64() && d["stopDate"].is_i64(), "{d}");
    assert_eq!(d["redriveStatus"], "REDRIVABLE");
}

#[test]
fn a_workflow_puts_events_on_the_bus_of_its_server() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let sink = support::create(&s, "sink", "STANDARD", echo());
    let source = support::create(
        &s,
        "announce",
        "STANDARD",
        json!({"StartAt": "Put", "States": {"Put": {"Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:eventbridge:putEvents",
            "Parameters": {"Entries": [{"Source": "com.workflow", "DetailType": "Done",
                                        "Detail.$": "States.JsonToString($)"}]},
            "End": true}}}),
    );
    let out = boto3(
        &venv,
        &s,
        &format!(
            r#"
events.put_rule(Name="done", EventPattern='{{"source": ["com.workflow"]}}')
events.put_targets(Rule="done", Targets=[{{"Id": "s", "Arn": "{sink}", "InputPath": "$.detail"}}])
run = sfn.start_execution(stateMachineArn="{source}", input='{{"order": 7}}')["executionArn"]
out["run"] = finished(run)
found = executions("{sink}", 1)
out["sink"] = json.loads(finished(found[0]["executionArn"])["input"]) if found else None
"#
        ),
    );
    assert_eq!(out["run"]["status"], "SUCCEEDED", "{out}");
    let result: Value = serde_json::from_str(out["run"]["output"].as_str().unwrap()).unwrap();
    assert_eq!(result["FailedEntryCount"], 0, "{result}");
    assert!(result["Entries"][0]["EventId"].is_string(), "{result}");
    assert_eq!(out["sink"], json!({"order": 7}));
}

#[test]
fn test_event_pattern_answers_as_aws_documents() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    // The EC2 event and patterns of AWS's "Testing an event pattern" and "Content filtering".
    let event = json!({
        "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2", "account": "123456789012", "time": "2015-11-11T21:29:54Z",
        "region": "us-east-1", "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
        "detail": {"instance-id": "i-abcd1111", "state": "pending"}
    })
    .to_string();
    let test = |pattern: &str| {
        aws(
            &venv,
            &s,
            &[
                "test-event-pattern",
                "--event-pattern",
                pattern,
                "--event",
                &event,
            ],
        )
    };
    let (rc, yes, err) = test(r#"{"source": ["aws.ec2"], "detail": {"state": ["pending"]}}"#);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&yes).unwrap(),
        json!({"Result": true})
    );
    let (_, no, _) =
        test(r#"{"source": ["aws.ec2"], "detail": {"state": [{"anything-but": "pending"}]}}"#);
    assert_eq!(
        serde_json::from_str::<Value>(&no).unwrap(),
        json!({"Result": false})
    );
    let (_, prefix, _) = test(
        r#"{"resources": [{"prefix": "arn:aws:ec2:us-east-1"}], "detail-type": [{"wildcard": "EC2 * Notification"}]}"#,
    );
    assert_eq!(
        serde_json::from_str::<Value>(&prefix).unwrap(),
        json!({"Result": true})
    );
    let (rc, _, err) = test(r#"{"source": "aws.ec2"}"#);
    assert_ne!(rc, 0);
    assert!(err.contains("InvalidEventPatternException"), "{err}");
    // The CLI's answer comes back as JSON 1.1.
    let (rc, buses, err) = aws(&venv, &s, &["list-event-buses"]);
    assert_eq!(rc, 0, "{err}");
    let buses: Value = serde_json::from_str(&buses).unwrap();
    assert_eq!(buses["EventBuses"][0]["Name"], "default");
}

#[test]
fn an_accepted_event_outlives_a_sigkill_and_starts_one_execution() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let mut s = Server::start(&data, &[]);
    let machine = support::create(
        &s,
        "slow",
        "STANDARD",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}),
    );
    boto3(
        &venv,
        &s,
        &format!(
            r#"
events.put_rule(Name="all", EventPattern='{{"source": ["com.load"]}}')
events.put_targets(Rule="all", Targets=[{{"Id": "t", "Arn": "{machine}"}}])
"#
        ),
    );
    // PutEvents straight over HTTP, so the kill follows the last answer at once.
    let mut ids = Vec::new();
    for batch in 0..10 {
        let entries: Vec<Value> = (0..10)
            .map(|i| json!({"Source": "com.load", "DetailType": "n", "Detail": json!({"n": batch * 10 + i}).to_string()}))
            .collect();
        let (status, v) = support::raw_call(
            &s.addr,
            "AWSEvents.PutEvents",
            &json!({"Entries": entries}).to_string(),
            "",
        );
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["FailedEntryCount"], 0, "{v}");
        for e in v["Entries"].as_array().unwrap() {
            ids.push(e["EventId"].as_str().unwrap().to_string());
        }
    }
    s.kill();
    let log = data.with_extension("log");
    let s = Server::start(&data, &[]);
    let out = boto3(
        &venv,
        &s,
        &format!(
            r#"
executions("{machine}", 100)
time.sleep(0.5)
pages = sfn.get_paginator("list_executions").paginate(stateMachineArn="{machine}")
out["names"] = [e["name"] for p in pages for e in p["executions"]]
"#
        ),
    );
    let names: Vec<&str> = out["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 100, "{out}");
    for id in &ids {
        let n = names.iter().filter(|n| n.starts_with(id.as_str())).count();
        assert_eq!(n, 1, "event {id}: {n} executions");
    }
    let resumed = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .find(|l| l.contains("accepted before the restart"))
        .map(String::from);
    println!(
        "after the kill: {}",
        resumed.as_deref().unwrap_or("nothing pending")
    );
}

#[test]
fn with_access_keys_the_events_api_wants_requests_signed_for_events() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &["--access-key", "AKIDTEST:secret"]);
    let out = boto3(
        &venv,
        &s,
        r#"
good = boto3.client("events", endpoint_url=kw["endpoint_url"], region_name="us-east-1",
    aws_access_key_id="AKIDTEST", aws_secret_access_key="secret", config=kw["config"])
out["signed"] = [b["Name"] for b in good.list_event_buses()["EventBuses"]]
out["wrong_secret"] = code(lambda: boto3.client("events", endpoint_url=kw["endpoint_url"],
    region_name="us-east-1", aws_access_key_id="AKIDTEST", aws_secret_access_key="nope",
    config=kw["config"]).list_event_buses())
out["unknown_key"] = code(lambda: events.list_event_buses())
"#,
    );
    assert_eq!(out["signed"], json!(["default"]), "{out}");
    assert_eq!(out["wrong_secret"], "InvalidSignatureException");
    assert_eq!(out["unknown_key"], "UnrecognizedClientException");
    // Unsigned: refused before the action is looked at.
    let (status, v) = support::raw_call(&s.addr, "AWSEvents.ListEventBuses", "{}", "");
    assert_eq!(
        (status, v["__type"].as_str()),
        (403, Some("MissingAuthenticationTokenException"))
    );
}

#[test]
fn the_event_rule_example_runs_with_the_aws_cli() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/event-rule");
    let file = |name: &str| format!("file://{}", example.join(name).display());
    let def: Value = serde_json::from_str(
        &std::fs::read_to_string(example.join("ship-order.asl.json")).unwrap(),
    )
    .unwrap();
    let machine = support::create(&s, "ship-order", "STANDARD", def);
    let steps: [&[&str]; 4] = [
        &["create-event-bus", "--name", "shop"],
        &[
            "put-rule",
            "--name",
            "big-orders",
            "--event-bus-name",
            "shop",
            "--event-pattern",
            &file("pattern.json"),
        ],
        &[
            "put-targets",
            "--rule",
            "big-orders",
            "--event-bus-name",
            "shop",
            "--targets",
            &file("targets.json"),
        ],
        &["put-events", "--entries", &file("events.json")],
    ];
    for args in steps {
        let (rc, out, err) = aws(&venv, &s, args);
        assert_eq!(rc, 0, "{args:?}: {err}");
        if let Ok(v) = serde_json::from_str::<Value>(&out) {
            assert_eq!(
                v.get("FailedEntryCount").map_or(0, |n| n.as_i64().unwrap()),
                0,
                "{v}"
            );
        }
    }
    let out = boto3(
        &venv,
        &s,
        &format!(
            r#"
found = executions("{machine}", 1)
time.sleep(0.3)
found = sfn.list_executions(stateMachineArn="{machine}")["executions"]
out["count"] = len(found)
d = finished(found[0]["executionArn"])
out["input"] = json.loads(d["input"])
out["output"] = json.loads(d["output"])
"#
        ),
    );
    assert_eq!(out["count"], 1, "{out}");
    assert_eq!(out["input"]["order"], "o-1001");
    assert_eq!(out["input"]["rule"], "big-orders");
    assert_eq!(out["output"]["carrier"], "road");
}
