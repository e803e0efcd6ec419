//! The optimized integrations (`dynamodb:putItem`/`getItem`, `sqs:sendMessage`,
//! `sns:publish`, `events:putEvents`) through the real binary against moto's server:
//! examples/optimized-services creates its table, queue and topic, then runs an order through
//! them; boto3 reads the queued message back to see that a JSON body went out as its text.

mod support;

use md5::{Digest, Md5};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// `passo run --json DEFINITION` with moto on `port` as every service's endpoint.
fn run(port: u16, dir: &Path, definition: &Path, input: Option<&Path>) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passo"));
    cmd.current_dir(dir)
        .args(["run", "--json"])
        .arg(definition)
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1");
    if let Some(i) = input {
        cmd.arg("--input-file").arg(i);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("{e}: {text} {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn an_order_goes_through_dynamodb_sqs_sns_and_eventbridge() {
    let Some(python) = support::moto::python() else {
        return;
    };
    let (_moto, port) = support::moto::start(&python);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/optimized-services");
    let dir = tempfile::tempdir().unwrap();

    let setup = run(port, dir.path(), &example.join("setup.asl.json"), None);
    assert_eq!(setup["status"], "SUCCEEDED", "{setup}");
    let input = dir.path().join("input.json");
    std::fs::write(&input, setup["output"].to_string()).unwrap();

    let v = run(
        port,
        dir.path(),
        &example.join("order.asl.json"),
        Some(&input),
    );
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let o = &v["output"];
    // getItem's Item, and the SDK's metadata beside it.
    assert_eq!(o["stored"]["id"], "order-1", "{o}");
    assert_eq!(o["stored"]["total"], "42", "{o}");
    assert_eq!(o["stored"]["status"], 200, "{o}");
    // sendMessage: the MD5 of the body as sent, which is the JSON text of MessageBody.
    let body = r#"{"orderId":"order-1","total":42}"#;
    let md5 = format!("{:x}", Md5::digest(body.as_bytes()));
    assert_eq!(o["queued"]["MD5OfMessageBody"], md5.as_str(), "{o}");
    assert!(
        o["queued"]["MessageId"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{o}"
    );
    assert!(
        o["published"]["MessageId"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{o}"
    );
    assert_eq!(o["event"]["FailedEntryCount"], 0, "{o}");
    assert!(o["event"]["Entries"][0]["EventId"].is_string(), "{o}");
    assert_eq!(
        o["missing"]["Error"], "DynamoDB.ResourceNotFoundException",
        "{o}"
    );
    let cause = o["missing"]["Cause"].as_str().unwrap();
    assert!(
        cause.contains("(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ResourceNotFoundException; Request ID: "),
        "{cause}"
    );

    // The message on the queue, read by boto3: the body Step Functions would have sent.
    let queue = o["QueueUrl"].as_str().unwrap();
    let read = Command::new(&python)
        .args([
            "-c",
            "import boto3,sys; q=boto3.client('sqs'); m=q.receive_message(QueueUrl=sys.argv[1])['Messages'][0]; print(m['Body'])",
            queue,
        ])
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap();
    let got = String::from_utf8_lossy(&read.stdout);
    assert_eq!(
        got.trim(),
        body,
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
}

#[test]
fn an_event_bridge_entry_that_fails_fails_the_task() {
    let Some(python) = support::moto::python() else {
        return;
    };
    let (_moto, port) = support::moto::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let def = dir.path().join("events.asl.json");
    // No Source: EventBridge refuses the entry (and accepts the other).
    std::fs::write(
        &def,
        r#"{"StartAt": "Put", "States": {"Put": {"Type": "Task",
            "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {"Entries": [
                {"Source": "passo.test", "DetailType": "t", "Detail": {"n": 1}},
                {"DetailType": "t", "Detail": {"n": 2}}]},
            "End": true}}}"#,
    )
    .unwrap();
    let v = run(port, dir.path(), &def, None);
    assert_eq!(v["status"], "FAILED", "{v}");
    assert_eq!(v["error"], "EventBridge.FailedEntry", "{v}");
    let cause: Value = serde_json::from_str(v["cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["FailedEntryCount"], 1, "{cause}");
    assert!(cause["Entries"][0]["EventId"].is_string(), "{cause}");
    assert_eq!(
        cause["Entries"][1]["ErrorCode"], "InvalidArgument",
        "{cause}"
    );
}
