//! Rules whose targets are Passo's own queues and topics, dead-letter queues, and the CLI's
//! `passo events put`, `passo rules list` and `passo schedules list`, through the real
//! binary. Queues are driven with SQS's JSON protocol (the aws CLI's and SDKs' wire format),
//! topics with boto3 (their query protocol) when the e2e virtualenv is there.

mod support;

use serde_json::{json, Value};
use std::process::Command;
use support::Server;

fn passo(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_passo"))
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A POST of JSON to a REST path of the server: the answer's text.
fn rest_post(addr: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    write!(
        c,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    c.read_to_string(&mut text).unwrap();
    text
}

fn endpoint(s: &Server) -> String {
    format!("http://{}", s.addr)
}

/// Creates a queue; answers (URL, ARN).
fn queue(s: &Server, name: &str) -> (String, String) {
    let url = s.call("AmazonSQS.CreateQueue", json!({"QueueName": name}))["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let attrs = s.call(
        "AmazonSQS.GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
    );
    (
        url,
        attrs["Attributes"]["QueueArn"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

/// The first message of a queue (long-polled), with its attributes.
fn receive(s: &Server, url: &str) -> Value {
    let got = s.call(
        "AmazonSQS.ReceiveMessage",
        json!({"QueueUrl": url, "WaitTimeSeconds": 10, "MessageAttributeNames": ["All"]}),
    );
    got["Messages"][0].clone()
}

#[test]
fn a_rule_feeds_a_queue_and_an_undeliverable_event_lands_in_the_dead_letter_queue() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let (work_url, work_arn) = queue(&s, "work");
    let (dlq_url, dlq_arn) = queue(&s, "undelivered");
    let (fifo_url, fifo_arn) = {
        let url = s.call(
            "AmazonSQS.CreateQueue",
            json!({"QueueName": "ordered.fifo", "Attributes": {"FifoQueue": "true"}}),
        )["QueueUrl"]
            .as_str()
            .unwrap()
            .to_string();
        let arn = s.call(
            "AmazonSQS.GetQueueAttributes",
            json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
        )["Attributes"]["QueueArn"]
            .as_str()
            .unwrap()
            .to_string();
        (url, arn)
    };
    s.call(
        "AWSEvents.PutRule",
        json!({"Name": "orders", "EventPattern": json!({"source": ["shop"]}).to_string()}),
    );
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:not-there";
    let put = s.call(
        "AWSEvents.PutTargets",
        json!({"Rule": "orders", "Targets": [
            {"Id": "queue", "Arn": work_arn, "InputPath": "$.detail"},
            {"Id": "fifo", "Arn": fifo_arn, "SqsParameters": {"MessageGroupId": "orders"}},
            {"Id": "gone", "Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}},
            {"Id": "lambda", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f"},
        ]}),
    );
    // Passo cannot invoke a Lambda ARN as a rule target: that target alone is refused.
    assert_eq!(put["FailedEntryCount"], 1, "{put}");
    assert_eq!(put["FailedEntries"][0]["TargetId"], "lambda", "{put}");

    let (code, out, err) = passo(&[
        "events",
        "put",
        "--endpoint-url",
        &endpoint(&s),
        "--source",
        "shop",
        "--detail-type",
        "Order Placed",
        "--detail",
        r#"{"id": "o-7", "total": 12}"#,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let event_id = out.trim().to_string();
    assert_eq!(event_id.len(), 36, "an event id: {out}");

    let m = receive(&s, &work_url);
    assert_eq!(
        serde_json::from_str::<Value>(m["Body"].as_str().unwrap()).unwrap(),
        json!({"id": "o-7", "total": 12}),
        "the queue gets InputPath's part of the event: {m}"
    );
    let f = receive(&s, &fifo_url);
    let whole: Value = serde_json::from_str(f["Body"].as_str().unwrap()).unwrap();
    assert_eq!(whole["id"], event_id.as_str(), "{f}");
    assert_eq!(whole["detail-type"], "Order Placed");

    // The machine does not exist: not retried, the event goes to the dead-letter queue
    // with EventBridge's attributes, and is kept in ListDeadLetters as well.
    let d = receive(&s, &dlq_url);
    let body: Value = serde_json::from_str(d["Body"].as_str().unwrap()).unwrap();
    assert_eq!(body["id"], event_id.as_str(), "the body is the event: {d}");
    let attr = |k: &str| d["MessageAttributes"][k]["StringValue"].clone();
    assert_eq!(attr("ERROR_CODE"), "StateMachineDoesNotExist", "{d}");
    assert_eq!(attr("TARGET_ARN"), missing);
    assert_eq!(
        attr("RULE_ARN"),
        "arn:aws:events:us-east-1:123456789012:rule/orders"
    );
    assert_eq!(attr("RETRY_ATTEMPTS"), "0");
    assert!(
        d["MessageAttributes"]
            .get("EXHAUSTED_RETRY_CONDITION")
            .is_none(),
        "a failure that is not retried exhausts no retry condition: {d}"
    );
    let letters = s.call("Passo.ListDeadLetters", json!({}));
    assert_eq!(letters["deadLetters"][0]["deadLetterArn"], dlq_arn.as_str());

    // `passo rules list` shows the rule, its pattern and its three targets.
    let (code, out, err) = passo(&["rules", "list", "--endpoint-url", &endpoint(&s)]);
    assert_eq!(code, 0, "{err}");
    let line = out.lines().find(|l| l.contains("orders")).unwrap_or("");
    assert!(line.starts_with("default"), "{out}");
    assert!(
        line.contains("ENABLED") && line.contains(r#"{"source":["shop"]}"#),
        "{out}"
    );
    for arn in [&work_arn, &fifo_arn, &missing.to_string()] {
        assert!(line.contains(arn.as_str()), "{arn} in {out}");
    }
    // A refused entry makes `passo events put` fail, naming the error.
    let (code, _, err) = passo(&[
        "events",
        "put",
        "--endpoint-url",
        &endpoint(&s),
        "--bus",
        "no-such-bus",
        "--source",
        "shop",
        "--detail-type",
        "x",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("refused"), "{err}");
}

#[test]
fn a_rule_publishes_to_a_topic_whose_queue_subscriber_gets_the_event() {
    let Some(venv) = support::boto3::venv() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let (url, arn) = queue(&s, "alerts-inbox");
    let out = support::boto3::run(
        &venv,
        &s,
        r#"
import boto3, json, os
kw = dict(endpoint_url=os.environ["PASSO_ENDPOINT"], region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
sns = boto3.client("sns", **kw)
out = {}
"#,
        &format!(
            r#"
topic = sns.create_topic(Name="alerts")["TopicArn"]
sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="{arn}", Attributes={{"RawMessageDelivery": "true"}})
out["topic"] = topic
"#
        ),
    );
    let topic = out["topic"].as_str().unwrap();
    s.call(
        "AWSEvents.PutRule",
        json!({"Name": "failures", "EventPattern": json!({"detail-type": ["Job Failed"]}).to_string()}),
    );
    let put = s.call(
        "AWSEvents.PutTargets",
        json!({"Rule": "failures", "Targets": [{"Id": "page", "Arn": topic,
            "InputTransformer": {"InputPathsMap": {"job": "$.detail.job"},
                                 "InputTemplate": "\"job <job> failed\""}}]}),
    );
    assert_eq!(put["FailedEntryCount"], 0, "{put}");
    let entries = dir.path().join("entries.json");
    std::fs::write(
        &entries,
        json!([{"Source": "batch", "DetailType": "Job Failed", "Detail": "{\"job\": \"nightly\"}"}])
            .to_string(),
    )
    .unwrap();
    let (code, _, err) = passo(&[
        "events",
        "put",
        "--endpoint-url",
        &endpoint(&s),
        "--entries",
        entries.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let m = receive(&s, &url);
    assert_eq!(m["Body"], "\"job nightly failed\"", "{m}");
}

#[test]
fn schedules_list_shows_rules_and_scheduler_schedules_with_their_next_firing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let machine = support::create(
        &s,
        "nightly",
        "STANDARD",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    s.call(
        "AWSEvents.PutRule",
        json!({"Name": "every-day", "ScheduleExpression": "cron(0 3 * * ? *)"}),
    );
    s.call(
        "AWSEvents.PutTargets",
        json!({"Rule": "every-day", "Targets": [{"Id": "m", "Arn": machine}]}),
    );
    // EventBridge Scheduler's CreateSchedule (restJson1), in Berlin's time.
    let body = json!({"ScheduleExpression": "cron(30 8 ? * MON-FRI *)",
        "ScheduleExpressionTimezone": "Europe/Berlin",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": machine, "RoleArn": "arn:aws:iam::123456789012:role/r"}})
    .to_string();
    let created = rest_post(&s.addr, "/schedules/weekday-report", &body);
    assert!(created.contains("ScheduleArn"), "{created}");
    let (code, out, err) = passo(&["schedules", "list", "--endpoint-url", &endpoint(&s)]);
    assert_eq!(code, 0, "{err}");
    let weekday = out
        .lines()
        .find(|l| l.contains("weekday-report"))
        .unwrap_or("");
    assert!(
        weekday.starts_with("schedule default/weekday-report"),
        "{out}"
    );
    assert!(
        weekday.contains("cron(30 8 ? * MON-FRI *) Europe/Berlin"),
        "{out}"
    );
    // 08:30 in Berlin is 06:30 or 07:30 UTC.
    assert!(
        weekday.contains("T06:30:00Z") || weekday.contains("T07:30:00Z"),
        "{out}"
    );
    let line = out.lines().find(|l| l.contains("every-day")).unwrap_or("");
    assert!(line.starts_with("rule default/every-day"), "{out}");
    assert!(line.contains("cron(0 3 * * ? *)"), "{out}");
    assert!(line.contains(&machine), "{out}");
    // Never fired yet; next at 03:00 UTC.
    assert!(line.contains(" - "), "{out}");
    assert!(line.contains("T03:00:00"), "{out}");
    let (_, j, _) = passo(&[
        "schedules",
        "list",
        "--json",
        "--endpoint-url",
        &endpoint(&s),
    ]);
    let v: Value = serde_json::from_str(&j).unwrap();
    let next = v["schedules"][0]["nextFire"].as_str().unwrap();
    let next = chrono::DateTime::parse_from_rfc3339(next).unwrap();
    let now = chrono::Utc::now();
    let ahead = next.signed_duration_since(now);
    assert!(
        ahead > chrono::Duration::zero() && ahead <= chrono::Duration::hours(24),
        "{next} is the next 03:00 after {now}"
    );
}
