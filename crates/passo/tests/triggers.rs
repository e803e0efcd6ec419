//! Triggers besides the bus's own PutEvents, through the real binary: a file written into
//! a Passo bucket by a workflow starts the ETL of examples/bucket-etl (S3's "Object Created"
//! event on the default bus), and a deleted one sends "Object Deleted"; signed webhooks
//! start executions (see `webhooks`), those declared in passo.toml too.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use support::Server;

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
out = {}
"#;

use support::boto3::venv;

/// Runs `script` (after [`PRELUDE`]) against the server; answers its `out`.
fn boto3(venv: &Path, s: &Server, script: &str) -> Value {
    support::boto3::run(venv, s, PRELUDE, script)
}

fn example(file: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/bucket-etl")
        .join(file);
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn a_file_dropped_in_a_bucket_starts_the_etl() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    let etl = support::create(
        &s,
        "etl",
        "STANDARD",
        serde_json::from_str(&example("etl.asl.json")).unwrap(),
    );
    let drop = support::create(
        &s,
        "drop-file",
        "STANDARD",
        serde_json::from_str(&example("drop-file.asl.json")).unwrap(),
    );
    let watcher = support::create(
        &s,
        "deleted",
        "STANDARD",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let cleanup = support::create(
        &s,
        "cleanup",
        "STANDARD",
        json!({"StartAt": "D", "States": {"D": {"Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:deleteObject",
            "Parameters": {"Bucket": "sales", "Key": "incoming/2026-12-02.csv"}, "End": true}}}),
    );
    let pattern = example("pattern.json");
    let targets = example("targets.json");
    let out = boto3(
        &venv,
        &s,
        &format!(
            r#"
events.put_rule(Name="sales-landed", EventPattern=r'''{pattern}''')
events.put_targets(Rule="sales-landed", Targets=json.loads(r'''{targets}'''))
events.put_rule(Name="sales-deleted", EventPattern=json.dumps({{"source": ["aws.s3"], "detail-type": ["Object Deleted"]}}))
events.put_targets(Rule="sales-deleted", Targets=[{{"Id": "w", "Arn": "{watcher}"}}])
body = "region,total\neu,10\nus,12"
for key in ["incoming/2026-12-02.csv", "elsewhere/notes.txt"]:
    e = sfn.start_execution(stateMachineArn="{drop}", input=json.dumps({{"key": key, "body": body}}))
    out.setdefault("drops", []).append(finished(e["executionArn"])["status"])
runs = executions("{etl}", 1)
time.sleep(0.3)
runs = sfn.list_executions(stateMachineArn="{etl}")["executions"]
out["etl"] = [finished(r["executionArn"]) for r in runs]
c = sfn.start_execution(stateMachineArn="{cleanup}")
out["cleanup"] = finished(c["executionArn"])["status"]
deleted = executions("{watcher}", 1)
out["deleted"] = [json.loads(finished(d["executionArn"])["output"]) for d in deleted]
"#
        ),
    );
    assert_eq!(out["drops"], json!(["SUCCEEDED", "SUCCEEDED"]), "{out}");
    let etl_runs = out["etl"].as_array().unwrap();
    // Only the file under incoming/ matched.
    assert_eq!(etl_runs.len(), 1, "{out}");
    assert_eq!(etl_runs[0]["status"], "SUCCEEDED", "{out}");
    let input: Value = serde_json::from_str(etl_runs[0]["input"].as_str().unwrap()).unwrap();
    assert_eq!(input["bucket"], "sales");
    assert_eq!(input["key"], "incoming/2026-12-02.csv");
    // The event's size is the stored object's, which the ETL reads back.
    let output: Value = serde_json::from_str(etl_runs[0]["output"].as_str().unwrap()).unwrap();
    let body = output["file"]["body"].as_str().unwrap();
    assert!(body.contains("eu,10"), "{output}");
    assert_eq!(input["size"], json!(body.len()), "{output}");
    assert_eq!(out["cleanup"], "SUCCEEDED");
    let deleted = &out["deleted"][0];
    assert_eq!(deleted["source"], "aws.s3");
    assert_eq!(deleted["detail-type"], "Object Deleted");
    assert_eq!(
        deleted["detail"]["object"]["key"],
        "incoming/2026-12-02.csv"
    );
    assert_eq!(deleted["detail"]["reason"], "DeleteObject");
    assert_eq!(deleted["resources"], json!(["arn:aws:s3:::sales"]));
}

// The script is written with format!'s brace escapes like its neighbours.
#[allow(clippy::useless_format)]
#[test]
fn signed_webhooks_start_executions_and_bad_ones_are_refused() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &["--max-request-bytes", "4096"]);
    let standard = support::create(
        &s,
        "on-push",
        "STANDARD",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let express = support::create(
        &s,
        "greet",
        "EXPRESS",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
            "Parameters": {"hello.$": "$.body.name", "via.$": "$.query.via"}, "End": true}}}),
    );
    s.call(
        "Passo.CreateWebhook",
        json!({"name": "github", "stateMachineArn": standard, "secret": "s3cret"}),
    );
    s.call(
        "Passo.CreateWebhook",
        json!({"name": "greet", "stateMachineArn": "greet", "token": "tok"}),
    );
    let (status, bad) = s.raw(
        "Passo.CreateWebhook",
        &json!({"name": "x", "stateMachineArn": "greet"}).to_string(),
        "",
    );
    assert_eq!(status, 400, "{bad}");
    let listed = s.call("Passo.ListWebhooks", json!({}));
    assert!(!listed.to_string().contains("s3cret"), "{listed}");
    let out = boto3(
        &venv,
        &s,
        &format!(
            r#"
import hmac, hashlib, urllib.request, urllib.error
base = os.environ["PASSO_ENDPOINT"]
def post(path, body, headers):
    req = urllib.request.Request(base + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
body = json.dumps({{"ref": "refs/heads/main"}}).encode()
sig = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
out["good"] = post("/webhooks/github", body, {{"X-Hub-Signature-256": sig, "Content-Type": "application/json"}})
out["tampered"] = post("/webhooks/github", body + b" ", {{"X-Hub-Signature-256": sig}})
out["unsigned"] = post("/webhooks/github", body, {{}})
out["unknown"] = post("/webhooks/nope", body, {{}})
out["big"] = post("/webhooks/github", b"x" * 10000, {{"X-Hub-Signature-256": sig}})
out["express"] = post("/webhooks/greet?via=curl", json.dumps({{"name": "Ada"}}).encode(), {{"Authorization": "Bearer tok"}})
out["badtoken"] = post("/webhooks/greet", b"{{}}", {{"Authorization": "Bearer nope"}})
arn = out["good"][1]["executionArn"]
d = finished(arn)
out["input"] = json.loads(d["input"])
"#
        ),
    );
    assert_eq!(out["good"][0], 200, "{out}");
    assert_eq!(out["input"]["body"], json!({"ref": "refs/heads/main"}));
    assert_eq!(out["input"]["headers"]["content-type"], "application/json");
    assert_eq!(out["tampered"][0], 401, "{out}");
    assert_eq!(out["tampered"][1]["error"], "Unauthorized");
    assert_eq!(out["unsigned"][0], 401);
    assert_eq!(out["unknown"][0], 404);
    assert_eq!(out["big"][0], 413, "{out}");
    assert_eq!(out["express"][0], 200, "{out}");
    assert_eq!(out["express"][1]["status"], "SUCCEEDED", "{out}");
    let output: Value =
        serde_json::from_str(out["express"][1]["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!({"hello": "Ada", "via": "curl"}));
    assert_eq!(out["badtoken"][0], 401);
    // The Express execution's input never holds the bearer token.
    assert!(!out.to_string().contains("Bearer tok\""), "{out}");
    let _ = express;
}

/// POST `body` to `path` of the server with `headers` (lines ending in \r\n): (status, JSON).
fn post(addr: &str, path: &str, body: &str, headers: &str) -> (u16, Value) {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    write!(
        c,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n{headers}\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    c.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn webhooks_declared_in_the_project_file_are_served_and_left_alone_by_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("passo.toml");
    std::fs::write(
        &project,
        r#"
[webhooks.deploy]
state_machine = "deploy"
token = "${PASSO_TEST_DEPLOY_TOKEN}"
"#,
    )
    .unwrap();
    let data = dir.path().join("d");
    let log = data.with_extension("log");
    let s = Server::start_env(
        &data,
        &["--project", project.to_str().unwrap()],
        None,
        Some(&log),
        &[("PASSO_TEST_DEPLOY_TOKEN", "let-me-in".to_string())],
    );
    let machine = support::create(
        &s,
        "deploy",
        "EXPRESS",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.body", "End": true}}}),
    );
    let (status, out) = post(
        &s.addr,
        "/webhooks/deploy",
        r#"{"ref": "main"}"#,
        "Authorization: Bearer let-me-in\r\n",
    );
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["stateMachineArn"], machine.as_str(), "{out}");
    assert_eq!(out["output"], r#"{"ref":"main"}"#, "{out}");
    let (status, _) = post(
        &s.addr,
        "/webhooks/deploy",
        "{}",
        "Authorization: Bearer no\r\n",
    );
    assert_eq!(status, 401);
    let listed = s.call("Passo.ListWebhooks", json!({}));
    assert_eq!(listed["webhooks"][0]["source"], "project", "{listed}");
    assert!(!listed.to_string().contains("let-me-in"), "{listed}");
    for (action, body) in [
        ("Passo.DeleteWebhook", json!({"name": "deploy"})),
        (
            "Passo.CreateWebhook",
            json!({"name": "deploy", "stateMachineArn": "deploy", "token": "other"}),
        ),
    ] {
        let (status, err) = s.raw(action, &body.to_string(), "");
        assert_eq!(status, 400, "{action}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains("project file"),
            "{err}"
        );
    }
    // A project file whose secret is not in the environment keeps the server from starting,
    // saying which.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_passo"))
        .args(["server", "--listen", &support::free_addr(), "--data-dir"])
        .arg(dir.path().join("d2"))
        .args(["--project", project.to_str().unwrap()])
        .env_remove("PASSO_TEST_DEPLOY_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PASSO_TEST_DEPLOY_TOKEN is not set"), "{err}");
}

#[test]
fn the_signed_webhook_example_deploys_main_and_refuses_forgeries() {
    use hmac::{Hmac, Mac};
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/signed-webhook");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let log = data.with_extension("log");
    let secret = "change-me";
    let project = ex.join("passo.toml");
    let s = Server::start_env(
        &data,
        &["--project", project.to_str().unwrap()],
        None,
        Some(&log),
        &[("GITHUB_WEBHOOK_SECRET", secret.to_string())],
    );
    let def: Value =
        serde_json::from_str(&std::fs::read_to_string(ex.join("deploy-on-push.asl.json")).unwrap())
            .unwrap();
    support::create(&s, "deploy-on-push", "STANDARD", def);
    let body = std::fs::read_to_string(ex.join("push.json")).unwrap();
    let sign = |body: &str| {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(body.as_bytes());
        let hex: String = m
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("X-Hub-Signature-256: sha256={hex}\r\nX-GitHub-Event: push\r\nContent-Type: application/json\r\n")
    };
    let (status, started) = post(&s.addr, "/webhooks/github-push", &body, &sign(&body));
    assert_eq!(status, 200, "{started}");
    let arn = started["executionArn"].as_str().unwrap().to_string();
    let mut d = Value::Null;
    for _ in 0..200 {
        d = s.call(
            "AWSStepFunctions.DescribeExecution",
            json!({"executionArn": arn}),
        );
        if d["status"] != "RUNNING" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        output,
        json!({"deploying": "9f1c2e7", "pushedBy": "ada", "event": "push"})
    );
    // A forged body (signed for another) and an unsigned one start nothing.
    let forged = body.replace("ada", "mallory");
    let (status, _) = post(&s.addr, "/webhooks/github-push", &forged, &sign(&body));
    assert_eq!(status, 401);
    let (status, _) = post(&s.addr, "/webhooks/github-push", &body, "");
    assert_eq!(status, 401);
    let listed = s.call(
        "AWSStepFunctions.ListExecutions",
        json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:deploy-on-push"}),
    );
    assert_eq!(
        listed["executions"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
}
