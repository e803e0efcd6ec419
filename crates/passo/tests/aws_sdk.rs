//! `aws-sdk:SERVICE:ACTION` Tasks driven by the services' API models, through the real
//! binary against moto's server (a real DynamoDB-compatible API started by the test):
//! examples/dynamodb-sdk creates a table, writes and reads an item, and catches
//! `DynamoDb.ResourceNotFoundException` with the SDK's cause.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// `passo run --json` (the definition to come) with moto on `port` as every service's endpoint.
fn against(port: u16, dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passo"));
    cmd.current_dir(dir)
        .args(["run", "--json"])
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1");
    cmd
}

#[test]
fn dynamodb_calls_reach_an_aws_compatible_server() {
    let Some(python) = support::moto::python() else {
        return;
    };
    let (_moto, port) = support::moto::start(&python);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let out = against(port, dir.path())
        .arg(root.join("examples/dynamodb-sdk/orders.asl.json"))
        .arg("--input-file")
        .arg(root.join("examples/dynamodb-sdk/input.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("{e}: {text} {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let o = &v["output"];
    assert_eq!(o["stored"]["id"], "order-1", "{o}");
    assert_eq!(o["stored"]["total"], "42", "{o}");
    assert_eq!(
        o["missing"]["Error"], "DynamoDb.ResourceNotFoundException",
        "{o}"
    );
    let cause = o["missing"]["Cause"].as_str().unwrap();
    assert!(
        cause.contains("(Service: DynamoDb, Status Code: 400, Request ID: "),
        "{cause}"
    );
}

#[test]
fn without_an_endpoint_or_credentials_the_task_says_how_to_configure_one() {
    let dir = tempfile::tempdir().unwrap();
    let def = dir.path().join("m.asl.json");
    std::fs::write(
        &def,
        r#"{"StartAt": "Q", "States": {"Q": {"Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:listTables", "End": true}}}"#,
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passo"));
    cmd.current_dir(dir.path())
        .arg("run")
        .arg(&def)
        .arg("--json");
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.env("HOME", dir.path()).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "FAILED", "{v}");
    assert_eq!(v["error"], "States.TaskFailed");
    let cause = v["cause"].as_str().unwrap();
    assert!(cause.contains("AWS_ENDPOINT_URL_DYNAMODB"), "{cause}");
}

#[test]
fn sns_calls_speak_the_query_protocol() {
    let Some(python) = support::moto::python() else {
        return;
    };
    let (_moto, port) = support::moto::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let def = dir.path().join("sns.asl.json");
    std::fs::write(
        &def,
        serde_json::json!({
            "StartAt": "Create",
            "States": {
                "Create": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sns:createTopic",
                    "Parameters": {"Name": "orders"}, "ResultPath": "$.topic", "Next": "Publish"},
                "Publish": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sns:publish",
                    "Parameters": {"TopicArn.$": "$.topic.TopicArn", "Message": "hello",
                        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "test"}}},
                    "ResultPath": "$.published", "Next": "List"},
                "List": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sns:listTopics",
                    "ResultPath": "$.topics", "Next": "Missing"},
                "Missing": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sns:publish",
                    "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:nope", "Message": "x"},
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done", "ResultPath": "$.missing"}],
                    "Next": "Done"},
                "Done": {"Type": "Pass", "End": true}
            }
        })
        .to_string(),
    )
    .unwrap();
    let out = against(port, dir.path()).arg(&def).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let o = &v["output"];
    let arn = o["topic"]["TopicArn"].as_str().unwrap();
    assert!(arn.ends_with(":orders"), "{o}");
    assert!(
        o["published"]["MessageId"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{o}"
    );
    let topics = o["topics"]["Topics"].as_array().unwrap();
    assert!(topics.iter().any(|t| t["TopicArn"] == arn), "{o}");
    assert_eq!(o["missing"]["Error"], "Sns.NotFoundException", "{o}");
}
