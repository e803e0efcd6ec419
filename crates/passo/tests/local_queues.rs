//! Passo's own queues and topics through the real binary, no Python needed:
//! examples/local-topics run by `passo run` (no server) leaves its message in the data
//! directory's store, where `passo server` then serves it over SQS's JSON protocol; a
//! function subscribed to a topic (`protocol: lambda`) gets SNS's Lambda event; with access
//! keys, unsigned SQS and SNS calls are refused.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use support::Server;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sqs(s: &Server, action: &str, body: Value) -> (u16, Value) {
    support::raw_call(
        &s.addr,
        &format!("AmazonSQS.{action}"),
        &body.to_string(),
        "",
    )
}

#[test]
fn a_message_sent_by_passo_run_is_served_by_passo_server() {
    let dir = tempfile::tempdir().unwrap();
    let example = root().join("examples/local-topics");
    let out = Command::new(env!("CARGO_BIN_EXE_passo"))
        .current_dir(dir.path())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_SQS")
        .env_remove("AWS_ENDPOINT_URL_SNS")
        .arg("run")
        .arg(example.join("orders.asl.json"))
        .arg("--input-file")
        .arg(example.join("input.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_str(&text).unwrap();
    let s = Server::start(&dir.path().join("passo-data"), &[]);
    let url = format!("http://{}/123456789012/new-orders", s.addr);
    let (status, got) = sqs(
        &s,
        "ReceiveMessage",
        json!({"QueueUrl": url, "MessageAttributeNames": ["All"]}),
    );
    assert_eq!(status, 200, "{got}");
    let m = &got["Messages"][0];
    assert!(m["MessageId"].is_string(), "{got}");
    assert_eq!(
        serde_json::from_str::<Value>(m["Body"].as_str().unwrap()).unwrap(),
        json!({"id": "o-1001", "item": "kettle", "quantity": 2})
    );
    assert_eq!(m["MessageAttributes"]["kind"]["StringValue"], "order");
    assert!(result["messageId"].is_string());
    // A queue URL the server hands out names its own address.
    let (_, listed) = sqs(&s, "ListQueues", json!({}));
    assert_eq!(listed["QueueUrls"], json!([url]));
}

#[test]
fn a_function_subscribed_to_a_topic_gets_the_sns_event() {
    let dir = tempfile::tempdir().unwrap();
    let got = dir.path().join("event.json");
    let project = dir.path().join("passo.toml");
    let script = format!("cat > {}.tmp && mv {0}.tmp {0}; echo '{{}}'", got.display());
    std::fs::write(
        &project,
        format!(
            "[functions.sink]\ncommand = [\"sh\", \"-c\", {}]\n",
            serde_json::to_string(&script).unwrap()
        ),
    )
    .unwrap();
    let s = Server::start(
        &dir.path().join("data"),
        &["--project", project.to_str().unwrap()],
    );
    let def = json!({"StartAt": "Topic", "States": {
        "Topic": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sns:createTopic",
                  "Parameters": {"Name": "events"}, "ResultPath": "$.topic", "Next": "Subscribe"},
        "Subscribe": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sns:subscribe",
                      "Parameters": {"TopicArn.$": "$.topic.TopicArn", "Protocol": "lambda",
                                     "Endpoint": "arn:aws:lambda:us-east-1:123456789012:function:sink"},
                      "ResultPath": "$.sub", "Next": "Publish"},
        "Publish": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sns:publish",
                    "Parameters": {"TopicArn.$": "$.topic.TopicArn", "Message": "hello function",
                                   "Subject": "greeting"},
                    "End": true}}});
    let arn = support::create(&s, "fanout", "STANDARD", def);
    let ex = s.call("StartExecution", json!({"stateMachineArn": arn}))["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !got.exists() {
        assert!(Instant::now() < deadline, "the function was not called");
        std::thread::sleep(Duration::from_millis(50));
    }
    let event: Value = serde_json::from_str(&std::fs::read_to_string(&got).unwrap()).unwrap();
    let record = &event["Records"][0];
    assert_eq!(record["EventSource"], "aws:sns");
    assert_eq!(record["Sns"]["Message"], "hello function");
    assert_eq!(record["Sns"]["Subject"], "greeting");
    assert_eq!(
        record["Sns"]["TopicArn"],
        "arn:aws:sns:us-east-1:123456789012:events"
    );
    let d = s.call("DescribeExecution", json!({"executionArn": ex}));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert!(
        record["EventSubscriptionArn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:sns:us-east-1:123456789012:events:")),
        "{event}"
    );
}

#[test]
fn an_unsigned_form_is_refused_even_without_access_keys() {
    // What a web page can make a browser post to 127.0.0.1 without a preflight.
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("data"), &[]);
    let body = "Action=CreateTopic&Name=t";
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        s.addr,
        body.len()
    );
    let mut conn = std::net::TcpStream::connect(&s.addr).unwrap();
    std::io::Write::write_all(&mut conn, req.as_bytes()).unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut conn, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(
        answer.contains("<Code>MissingAuthenticationTokenException</Code>"),
        "{answer}"
    );
}

#[test]
fn with_access_keys_unsigned_calls_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        &dir.path().join("data"),
        &["--access-key", "AKIDLOCAL:secret"],
    );
    let (status, v) = sqs(&s, "ListQueues", json!({}));
    assert_eq!(status, 403, "{v}");
    assert_eq!(
        v["__type"],
        "com.amazonaws.sqs#MissingAuthenticationTokenException"
    );
}
