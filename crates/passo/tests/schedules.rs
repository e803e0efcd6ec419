//! Schedules through the real binary, on a test clock that runs fast
//! (`--schedule-clock ANCHOR_MS:SCALE`): a rule's `rate(1 minute)` fires once per due time
//! across a SIGKILL and a restart; the daily-schedule example (EventBridge Scheduler's API
//! through boto3, `cron(...)` in Europe/Paris) runs on consecutive mornings without waiting
//! a day; malformed expressions are refused with AWS's errors.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use support::Server;

const PRELUDE: &str = r#"
import boto3, json, os, sys, time
from botocore.config import Config
kw = dict(endpoint_url=os.environ["PASSO_ENDPOINT"], region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test",
          config=Config(retries={"max_attempts": 1}))
events = boto3.client("events", **kw)
scheduler = boto3.client("scheduler", **kw)
sfn = boto3.client("stepfunctions", **kw)
def code(call):
    try:
        call()
        return None
    except Exception as e:
        return e.response["Error"]["Code"]
def inputs(machine):
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
    arns = [e["executionArn"] for p in pages for e in p["executions"]]
    return [json.loads(sfn.describe_execution(executionArn=a)["input"]) for a in arns]
out = {}
"#;

use support::boto3::venv;

/// Runs `script` (after [`PRELUDE`]) against the server; answers its `out`.
fn boto3(venv: &Path, s: &Server, script: &str) -> Value {
    support::boto3::run(venv, s, PRELUDE, script)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn a_rule_rate_fires_once_per_due_time_across_a_sigkill() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    // A minute lasts 250 ms.
    let clock = format!("{}:240", now_ms());
    let args = ["--schedule-clock", clock.as_str()];
    let mut s = Server::start(&data, &args);
    let machine = support::create(
        &s,
        "tick",
        "STANDARD",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let rule = boto3(
        &venv,
        &s,
        &format!(
            r#"
out["arn"] = events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)")["RuleArn"]
events.put_targets(Rule="every-minute", Targets=[{{"Id": "t", "Arn": "{machine}"}}])
out["bad"] = [code(lambda e=e: events.put_rule(Name="bad", ScheduleExpression=e))
              for e in ["rate(1 minutes)", "cron(0 10 * * *)", "cron(0 10 1 * MON *)",
                        "at(2026-12-24T18:00:00)", "rate(0 minutes)"]]
"#
        ),
    );
    assert_eq!(rule["bad"], json!(vec!["ValidationException"; 5]), "{rule}");
    std::thread::sleep(Duration::from_millis(1600));
    s.kill();
    std::thread::sleep(Duration::from_millis(800));
    let s = Server::start(&data, &args);
    std::thread::sleep(Duration::from_millis(1600));
    let out = boto3(
        &venv,
        &s,
        &format!(
            r#"
events.disable_rule(Name="every-minute")
time.sleep(0.5)
out["events"] = inputs("{machine}")
"#
        ),
    );
    let events = out["events"].as_array().unwrap();
    let mut times: Vec<&str> = events.iter().map(|e| e["time"].as_str().unwrap()).collect();
    for e in events {
        assert_eq!(e["source"], "aws.events");
        assert_eq!(e["detail-type"], "Scheduled Event");
        assert_eq!(e["detail"], json!({}));
        assert_eq!(e["resources"], json!([rule["arn"]]));
    }
    let n = times.len();
    times.sort();
    times.dedup();
    // About 13 virtual minutes passed, 3 of them while the server was down (one of which is
    // caught up): at least 7 firings, and exactly one execution for each due time.
    assert!(n >= 7, "{n} executions: {times:?}");
    assert_eq!(times.len(), n, "a due time fired twice: {out}");
}

#[test]
fn the_daily_schedule_example_runs_each_morning_on_virtual_time() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    // A day lasts two seconds.
    let clock = format!("{}:43200", now_ms());
    let s = Server::start(&dir.path().join("d"), &["--schedule-clock", &clock]);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/daily-schedule");
    let definition = std::fs::read_to_string(example.join("report.asl.json")).unwrap();
    let machine = support::create(
        &s,
        "daily-report",
        "STANDARD",
        serde_json::from_str(&definition).unwrap(),
    );
    let target = std::fs::read_to_string(example.join("target.json")).unwrap();
    let out = boto3(
        &venv,
        &s,
        &format!(
            r#"
target = json.loads(r'''{target}''')
out["arn"] = scheduler.create_schedule(Name="daily-report", ScheduleExpression="cron(0 9 * * ? *)",
    ScheduleExpressionTimezone="Europe/Paris", FlexibleTimeWindow={{"Mode": "OFF"}},
    Target=target)["ScheduleArn"]
out["again"] = code(lambda: scheduler.create_schedule(Name="daily-report",
    ScheduleExpression="rate(1 day)", FlexibleTimeWindow={{"Mode": "OFF"}}, Target=target))
out["bad"] = [code(lambda e=e: scheduler.create_schedule(Name="b", ScheduleExpression=e,
    FlexibleTimeWindow={{"Mode": "OFF"}}, Target=target))
    for e in ["cron(0 9 * * * *)", "rate(2 day)", "at(2026-02-30T10:00:00)"]]
out["zone"] = code(lambda: scheduler.create_schedule(Name="b", ScheduleExpression="rate(1 day)",
    ScheduleExpressionTimezone="Mars/Olympus", FlexibleTimeWindow={{"Mode": "OFF"}}, Target=target))
out["missing"] = code(lambda: scheduler.get_schedule(Name="nope"))
out["got"] = scheduler.get_schedule(Name="daily-report")
out["listed"] = [x["Name"] for x in scheduler.list_schedules()["Schedules"]]
time.sleep(5.5)
scheduler.update_schedule(Name="daily-report", ScheduleExpression="cron(0 9 * * ? *)",
    ScheduleExpressionTimezone="Europe/Paris", FlexibleTimeWindow={{"Mode": "OFF"}},
    Target=target, State="DISABLED")
time.sleep(0.3)
out["runs"] = inputs("{machine}")
scheduler.delete_schedule(Name="daily-report")
out["after"] = scheduler.list_schedules()["Schedules"]
"#
        ),
    );
    assert_eq!(out["again"], "ConflictException", "{out}");
    assert_eq!(out["bad"], json!(vec!["ValidationException"; 3]), "{out}");
    assert_eq!(out["zone"], "ValidationException");
    assert_eq!(out["missing"], "ResourceNotFoundException");
    assert_eq!(out["got"]["ScheduleExpressionTimezone"], "Europe/Paris");
    assert_eq!(out["got"]["State"], "ENABLED");
    assert_eq!(out["listed"], json!(["daily-report"]));
    assert_eq!(out["after"], json!([]));
    let mut runs: Vec<String> = out["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["at"].as_str().unwrap().to_string())
        .collect();
    runs.sort();
    // 5.5 s are 2.75 days: two or three mornings, one run each, at 09:00 in Paris.
    assert!((2..=3).contains(&runs.len()), "{runs:?}");
    let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
    let mut days = Vec::new();
    for r in &runs {
        let t = chrono::DateTime::parse_from_rfc3339(r)
            .unwrap()
            .with_timezone(&paris);
        assert_eq!(t.format("%H:%M:%S").to_string(), "09:00:00", "{r}");
        days.push(t.date_naive());
    }
    for w in days.windows(2) {
        assert_eq!((w[1] - w[0]).num_days(), 1, "{runs:?}");
    }
}
