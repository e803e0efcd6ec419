//! Runs the executions recorded against AWS (../shared/conformance/asl) that call SQS, SNS,
//! DynamoDB, EventBridge and other services through `aws-sdk:*`, with Passo's real
//! integrations against real servers started here: `passo server` (a fresh one per case)
//! for the services Passo serves itself (SQS, SNS, EventBridge, Step Functions), moto's
//! server for the others (DynamoDB, S3, Secrets Manager). Each case's `setup_calls` (queues,
//! topics, tables, rules, buckets and objects) are made against them first, the execution
//! runs on virtual time through the interpreter, and its outcome and history are compared
//! with AWS's after the snapshot's normalisation. A callback's worker is the recording
//! test's: it reads the message the task sent off the queue (an SNS message off the queue
//! subscribed to the topic) and answers the token it carries.
//!
//! `PASSO_CASE=substring cargo test -p passo --test service_conformance -- --nocapture`
//! runs matching cases and prints each difference. Needs moto's server in the virtualenv at
//! `PASSO_VENV`; skipped without it unless `PASSO_REQUIRE_E2E=1`.

#[path = "../../passo-engine/tests/support/conformance.rs"]
mod conformance;
mod support;
use support::moto;

use conformance::{compare, corpus, info_for, input_of};
use passo_engine::driver::{self, Invocation, RunOptions, TaskAction, TaskResult};
use passo_tasks::{aws, lambda::Site, s3, Integrations, Project, TaskRequest};
use serde_json::{json, Value};
use std::sync::Arc;

/// Floor of the pass rate (outcome and history together); it only moves up.
const FLOOR: f64 = 90.0;

/// Why a case is known to differ (checked against moto 5.2's answers and the recordings):
/// the case still counts as a miss; the reason is printed beside it.
const KNOWN_DIFFERENCES: [(&str, &str); 6] = [
    ("dynamodb_invalid_param", "MOTO: moto answers 500 to a PutItem without Item (AWS: ValidationException)"),
    ("dynamodb.test_invalid_param", "MOTO: moto answers 500 to a PutItem without Item (AWS: ValidationException)"),
    ("put_item_invalid_table_name", "MOTO: moto does not check table names (AWS: ValidationException)"),
    ("send_message_no_such_queue", "RECORDING: AWS's cause names the queue's random id, which the case's input replaced by a placeholder"),
    ("put_update_get_item", "MOTO: moto's UpdateItem answers ConsumedCapacity nobody asked for"),
    ("test_invalid_secret_name", "MOTO: moto accepts a secret name with a space (AWS: InvalidName)"),
];

/// The services `passo server` answers itself (serviceIds), and the cases' needs that use
/// them.
const PASSO_SERVES: [&str; 4] = ["SQS", "SNS", "EventBridge", "SFN"];

fn served_by_passo(needs: &[&str]) -> bool {
    needs.iter().any(|n| {
        ["sqs", "sns", "events", "callback"].contains(n)
            || [
                "aws-sdk:sqs",
                "aws-sdk:sns",
                "aws-sdk:eventbridge",
                "aws-sdk:sfn",
            ]
            .contains(n)
    })
}

/// The state machines a case's input names for `aws-sdk:sfn:startExecution` were made by
/// the recording test's fixture, not by its setup calls, and their definitions are not in
/// the recording. StartExecution answers only the execution's ARN and start date, so each
/// is made here as a one-Pass machine of that name.
fn started_machines(s: &support::Server, input: &Value) {
    let mut names = Vec::new();
    let mut walk = vec![input];
    while let Some(v) = walk.pop() {
        match v {
            Value::String(t) => {
                if let Some(name) = t
                    .strip_prefix("arn:aws:states:us-east-1:000000000000:stateMachine:")
                    .filter(|n| !n.contains(':'))
                {
                    names.push(name.to_string());
                }
            }
            Value::Object(m) => walk.extend(m.values()),
            Value::Array(a) => walk.extend(a),
            _ => {}
        }
    }
    for name in names {
        s.call(
            "AWSStepFunctions.CreateStateMachine",
            json!({"name": name, "roleArn": "arn:aws:iam::000000000000:role/r",
                "definition": json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string()}),
        );
    }
}

/// The settings of one case: Passo's services at `passo` (when the case has a server), the
/// rest at moto.
fn settings(moto: &str, passo: Option<&str>) -> aws::settings::ProjectAws {
    let mut services = std::collections::BTreeMap::new();
    if let Some(p) = passo {
        for id in PASSO_SERVES {
            services.insert(
                id.to_string(),
                aws::settings::ServiceSettings {
                    endpoint: Some(aws::settings::EndpointSetting::Url(p.to_string())),
                    region: None,
                },
            );
        }
    }
    aws::settings::ProjectAws {
        region: Some("us-east-1".into()),
        endpoint: Some(aws::settings::EndpointSetting::Url(moto.to_string())),
        services,
        ..Default::default()
    }
}

/// Whether the case calls a service this runner gives it, or why it is skipped.
fn selected(needs: &[&str]) -> Result<bool, &'static str> {
    if needs.contains(&"unresolved") {
        return Err("the recording left a resource unresolved");
    }
    let service =
        |n: &&str| ["sqs", "sns", "dynamodb", "events"].contains(n) || n.starts_with("aws-sdk:");
    if !needs.iter().any(service) {
        return Ok(false);
    }
    if needs
        .iter()
        .any(|n| ["lambda", "nested-sfn", "activity"].contains(n))
    {
        return Err("also needs functions or nested executions (task_conformance)");
    }
    Ok(true)
}

/// `create_queue` -> `createQueue`.
fn camel(op: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in op.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Makes one of the recording test's setup calls against moto.
async fn setup_call(
    http: &reqwest::Client,
    buckets: &s3::Buckets,
    call: &Value,
) -> Result<(), String> {
    let service = call["service"].as_str().unwrap_or_default();
    let op = call["op"].as_str().unwrap_or_default();
    let args = &call["args"];
    match (service, op) {
        ("s3", "create_bucket") => {
            let bucket = args["Bucket"].as_str().unwrap_or_default();
            return buckets
                .create_bucket(bucket)
                .await
                .map_err(|e| e.to_string());
        }
        // The test's bytes, as boto3 put them (not a Task's JSON).
        ("s3", "put_object") => {
            let body = match &args["Body"] {
                Value::String(s) => s.clone().into_bytes(),
                Value::Object(b) => b["$bytes"].as_str().unwrap_or_default().as_bytes().to_vec(),
                other => other.to_string().into_bytes(),
            };
            let (bucket, key) = (args["Bucket"].as_str(), args["Key"].as_str());
            return buckets
                .put(
                    bucket.unwrap_or_default(),
                    key.unwrap_or_default(),
                    body,
                    Default::default(),
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string());
        }
        ("s3", _) => {
            return s3::calls::call(buckets, &camel(op), args)
                .await
                .map(|_| ())
                .map_err(|e| format!("{e:?}"));
        }
        // The test's fixture: a table keyed by one string attribute.
        ("dynamodb", "create_table(fixture)") => {
            let key = args["partition_key"].as_str().unwrap_or("id");
            let input = json!({
                "TableName": args["table_name"],
                "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST"
            });
            return aws::call(http, None, "dynamodb", "createTable", &input, None)
                .await
                .map(|_| ())
                .map_err(|e| format!("{e:?}"));
        }
        _ => {}
    }
    let mut args = args.clone();
    // boto3 was given the rule's pattern as an object; the API takes its text.
    if let Some(p) = args.get_mut("EventPattern").filter(|p| p.is_object()) {
        *p = Value::String(p.to_string());
    }
    let service = if service == "events" {
        "eventbridge"
    } else {
        service
    };
    aws::call(http, None, service, &camel(op), &args, None)
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

/// The queue a callback's message can be read from: the task's queue, or for SNS the queue
/// the test subscribed to the topic.
fn message_queue(case: &Value, inv: &Invocation) -> Option<(String, bool)> {
    if inv.resource.contains(":sqs:") {
        return Some((inv.input["QueueUrl"].as_str()?.to_string(), false));
    }
    let sub = case["setup_calls"]
        .as_array()?
        .iter()
        .find(|c| c["op"] == "subscribe" && c["args"]["Protocol"] == "sqs")?;
    let arn = sub["args"]["Endpoint"].as_str()?;
    let p: Vec<&str> = arn.split(':').collect();
    let url = format!(
        "https://sqs.{}.amazonaws.com/{}/{}",
        p.get(3)?,
        p.get(4)?,
        p.get(5)?
    );
    Some((url, true))
}

/// The message carrying this task's token, read off its queue (None: it is not there).
async fn received_message(http: &reqwest::Client, case: &Value, inv: &Invocation) -> Option<Value> {
    let (queue, from_sns) = message_queue(case, inv)?;
    let token = inv.token.as_deref()?;
    let input = json!({"QueueUrl": queue, "MaxNumberOfMessages": 10, "VisibilityTimeout": 0});
    let answer = aws::call(http, None, "sqs", "receiveMessage", &input, None)
        .await
        .ok()?;
    answer["Messages"].as_array()?.iter().find_map(|m| {
        let body: Value = serde_json::from_str(m["Body"].as_str()?).ok()?;
        let body = if from_sns {
            serde_json::from_str(body["Message"].as_str()?).ok()?
        } else {
            body
        };
        (body["TaskToken"].as_str() == Some(token)).then_some(body)
    })
}

/// What the recording test's callback worker did with the message it read.
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

/// The recording tests replaced their DynamoDB table's name by `<test-table>` in their
/// snapshots (the table fixture's transformer); the case's rules do not list that
/// replacement.
fn with_fixture_rules(case: &mut Value) {
    let shown = case["expected"].to_string() + &case["expected_history"].to_string();
    if !shown.contains("<test-table>") {
        return;
    }
    // The fixture's table, or the one the test named in its input (a table it never made).
    let mut names: Vec<Value> = case["setup_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["op"] == "create_table(fixture)")
        .map(|c| c["args"]["table_name"].clone())
        .collect();
    names.push(case["input"]["TableName"].clone());
    let tables: Vec<Value> = names
        .into_iter()
        .filter_map(|n| n.as_str().map(|n| n.trim_start_matches('/').to_string()))
        .map(|n| json!({"type": "regex", "pattern": n, "replacement": "<test-table>"}))
        .collect();
    if let Some(rules) = case["normalize"].as_array_mut() {
        rules.splice(0..0, tables);
    }
}

struct Harness {
    io: tokio::runtime::Runtime,
    http: reqwest::Client,
    integrations: Arc<Integrations>,
    moto: String,
}

impl Harness {
    /// Integrations for one case (their `[aws]` settings are the process's from then on).
    fn integrations(
        moto: &str,
        passo: Option<&str>,
        buckets: &std::path::Path,
    ) -> Arc<Integrations> {
        // S3 is Passo's own too: its local buckets (a fresh folder per case).
        let project = Project {
            buckets: Some(s3::Config::Local {
                dir: buckets.to_path_buf(),
            }),
            aws: settings(moto, passo),
            ..Project::default()
        };
        let site = Site {
            region: "us-east-1".into(),
            account: "000000000000".into(),
            payload_limit: 262_144,
        };
        Arc::new(Integrations::new(project, site))
    }
}

impl Harness {
    fn answer(&self, case: &Value, execution_arn: &str, inv: &Invocation) -> TaskResult {
        let mut req = TaskRequest::from_invocation(inv.clone());
        req.execution_arn = execution_arn.to_string();
        let result = self.io.block_on(self.integrations.run(req));
        match result {
            Ok(out) if inv.resource.ends_with(".waitForTaskToken") => {
                let id = case["id"].as_str().unwrap_or_default();
                let mut steps = vec![(0, TaskAction::Submitted(out))];
                let message = self.io.block_on(received_message(&self.http, case, inv));
                if let Some(m) = message {
                    steps.extend(callback_worker(id, &m));
                }
                TaskResult::Script(steps)
            }
            Ok(out) => TaskResult::Success(out),
            Err((error, cause)) => TaskResult::Failure { error, cause },
        }
    }

    /// moto forgets everything: each case starts from its own setup.
    fn reset(&self) {
        let url = format!("{}/moto-api/reset", self.moto);
        let _ = self.io.block_on(self.http.post(url).send());
    }
}

#[test]
fn service_cases() {
    let Some(root) = corpus() else {
        eprintln!("conformance corpus not found; skipping");
        return;
    };
    let Some(python) = moto::python() else { return };
    // The recorded cases live in account 000000000000 (moto's is set by MOTO_ACCOUNT_ID);
    // Passo's calls go to moto with dummy credentials. Set before any other thread starts.
    std::env::set_var("MOTO_ACCOUNT_ID", "000000000000");
    let (_moto, port) = moto::start(&python);
    let endpoint = format!("http://127.0.0.1:{port}");
    for (k, v) in [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ] {
        std::env::set_var(k, v);
    }
    std::env::remove_var("AWS_PROFILE");
    let mut h = Harness {
        io: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        http: reqwest::Client::new(),
        integrations: Harness::integrations(&endpoint, None, &std::env::temp_dir()),
        moto: endpoint.clone(),
    };
    let scratch = tempfile::tempdir().unwrap();

    let filter = std::env::var("PASSO_CASE").ok();
    let verbose = filter.is_some();
    let index: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("index.json")).unwrap()).unwrap();
    let (mut total, mut pass) = (0usize, 0usize);
    let mut misses = Vec::new();
    for entry in &index {
        let id = entry["id"].as_str().unwrap();
        let needs: Vec<&str> = entry["needs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        match selected(&needs) {
            Ok(false) => continue,
            Ok(true) => {}
            Err(why) => {
                if needs.iter().any(|n| {
                    ["sqs", "sns", "dynamodb", "events"].contains(n) || n.starts_with("aws-sdk:")
                }) {
                    println!("SKIP {id} [{}]: {why}", needs.join(","));
                }
                continue;
            }
        }
        if filter.as_deref().is_some_and(|f| !id.contains(f)) {
            continue;
        }
        let mut case: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join(format!("cases/{id}.json"))).unwrap(),
        )
        .unwrap();
        with_fixture_rules(&mut case);
        total += 1;
        h.reset();
        // A fresh `passo server` for each case that calls a service it serves.
        let server = served_by_passo(&needs).then(|| {
            support::Server::start(
                &scratch.path().join(format!("case-{total}")),
                &["--account", "000000000000", "--region", "us-east-1"],
            )
        });
        let passo_url = server.as_ref().map(|s| format!("http://{}", s.addr));
        if let Some(s) = &server {
            started_machines(s, &json!([case["input"], case["definition"]]));
        }
        let bucket_dir = scratch.path().join(format!("buckets-{total}"));
        h.integrations = Harness::integrations(&endpoint, passo_url.as_deref(), &bucket_dir);
        let buckets = h.integrations.buckets().expect("moto's buckets");
        for call in case["setup_calls"].as_array().into_iter().flatten() {
            if let Err(e) = h.io.block_on(setup_call(&h.http, buckets, call)) {
                if verbose {
                    println!("  setup {} {}: {e}", call["service"], call["op"]);
                }
            }
        }
        let machine = match passo_asl::parse(&case["definition"]) {
            Ok(m) => Arc::new(m),
            Err(d) => {
                misses.push(format!("{id}: definition rejected: {:?}", d.first()));
                continue;
            }
        };
        let info = info_for(&case);
        let arn = info.execution_arn.clone();
        let run = driver::run(
            machine,
            info,
            input_of(&case),
            &RunOptions::default(),
            &mut |inv| h.answer(&case, &arn, inv),
        );
        let (outcome_ok, history_ok, why) = compare(&case, &run, verbose);
        if outcome_ok && history_ok != Some(false) {
            pass += 1;
        } else {
            let why = why.lines().take(3).collect::<Vec<_>>().join(" ");
            let why = match KNOWN_DIFFERENCES
                .iter()
                .find(|(k, _)| id.to_ascii_lowercase().contains(k))
            {
                Some((_, known)) => format!("{known}; {why}"),
                None => why,
            };
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
    println!("Service conformance: {pass}/{total} ({pct:.1}%)");
    if filter.is_none() {
        assert!(
            pct >= FLOOR,
            "pass rate {pct:.1}% fell below the floor {FLOOR}%"
        );
    }
}
