//! `passo migrate` through the real binary. A store an SQLite server filled (machines with
//! versions, aliases and tags; finished executions; one RUNNING in a Wait and one waiting on
//! a task token; a rule, a schedule, queues with messages) moves to PostgreSQL: every table
//! holds the same rows, a server started there on the same data directory answers the same
//! descriptions and histories, and carries the running executions to their end. Moved back
//! to SQLite, the rows are the same again. A destination holding anything is refused and
//! left as it was, and so is a source a server has open.

mod support;

use passo_store::scratch::ScratchDatabase;
use passo_store::{Database, Db, DbOptions, ExecutionRow, MachineRow, Write, TABLES};
use serde_json::{json, Value};
use std::io::{Read, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{check_history, free_addr, history, still_running, Server};

const ROLE: &str = "arn:aws:iam::123456789012:role/t";

/// A server on `data`, on SQLite unless `database` names another store (whatever
/// PASSO_TEST_ON_POSTGRES says: this test picks its stores itself).
fn start(data: &Path, database: Option<&str>) -> Server {
    let addr = free_addr();
    let log = data.with_extension("log");
    let out = || {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        Stdio::from(f)
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passo"));
    cmd.args(["server", "--listen", &addr, "--data-dir"])
        .arg(data)
        .env_remove("PASSO_DATABASE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_SQS")
        .stdout(out())
        .stderr(out());
    if let Some(d) = database {
        cmd.args(["--database", d]);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the server exited at start: {status}; see {}",
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Server {
        child,
        addr,
        log: Some(log),
        database: None,
    }
}

fn migrate(from: &str, to: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passo"))
        .args(["migrate", "--from", from, "--to", to])
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One REST call (EventBridge Scheduler's API): (HTTP status, JSON body).
fn rest(addr: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut s = TcpStream::connect(addr).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn start_execution(s: &Server, machine: &str, name: &str, input: Value) -> String {
    s.call(
        "StartExecution",
        json!({"stateMachineArn": machine, "name": name, "input": input.to_string()}),
    )["executionArn"]
        .as_str()
        .unwrap()
        .to_string()
}

fn status(s: &Server, arn: &str) -> Value {
    s.call("DescribeExecution", json!({"executionArn": arn}))["status"].clone()
}

fn queue_url(s: &Server, name: &str) -> String {
    s.call("AmazonSQS.GetQueueUrl", json!({"QueueName": name}))["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string()
}

/// What the API shows of the catalog, the finished executions, the rule and the schedule.
fn snapshot(s: &Server, finished: &[String]) -> Value {
    let machines = s.call("ListStateMachines", json!({}))["stateMachines"].clone();
    let mut each = Vec::new();
    for m in machines.as_array().unwrap() {
        let arn = m["stateMachineArn"].clone();
        let aliases = s.call("ListStateMachineAliases", json!({"stateMachineArn": arn}));
        let described: Vec<Value> = aliases["stateMachineAliases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                s.call(
                    "DescribeStateMachineAlias",
                    json!({"stateMachineAliasArn": a["stateMachineAliasArn"]}),
                )
            })
            .collect();
        each.push(json!({
            "machine": s.call("DescribeStateMachine", json!({"stateMachineArn": arn})),
            "versions": s.call("ListStateMachineVersions", json!({"stateMachineArn": arn})),
            "aliases": described,
            "tags": s.call("ListTagsForResource", json!({"resourceArn": arn})),
        }));
    }
    let executions: Vec<Value> = finished
        .iter()
        .map(|arn| {
            json!({
                "described": s.call("DescribeExecution", json!({"executionArn": arn})),
                "history": history(s, arn),
            })
        })
        .collect();
    let (code, schedule) = rest(&s.addr, "GET", "/schedules/nightly", &Value::Null);
    assert_eq!(code, 200, "{schedule}");
    json!({
        "machines": machines,
        "each": each,
        "executions": executions,
        "rule": s.call("AWSEvents.DescribeRule", json!({"Name": "orders"})),
        "targets": s.call("AWSEvents.ListTargetsByRule", json!({"Rule": "orders"})),
        "schedule": schedule,
    })
}

/// Every row of every table in `db` (as text), table by table in [`TABLES`]' order; rows
/// sorted where a table has no order of its own, tags in the order they were set.
fn dump(db: &Db) -> Vec<(&'static str, Vec<String>)> {
    fn rows<T: std::fmt::Debug>(v: Vec<T>) -> Vec<String> {
        let mut v: Vec<String> = v.iter().map(|r| format!("{r:?}")).collect();
        v.sort();
        v
    }
    let all = usize::MAX;
    let mut queue_messages = Vec::new();
    for q in db.queues().unwrap() {
        queue_messages.extend(db.queue_messages(&q.name).unwrap());
    }
    let tables = vec![
        ("machines", rows(db.machines().unwrap())),
        ("revisions", rows(db.revisions_page(None, all).unwrap())),
        ("versions", rows(db.all_versions().unwrap())),
        ("aliases", rows(db.all_aliases().unwrap())),
        (
            "tags",
            db.all_tags()
                .unwrap()
                .iter()
                .map(|t| format!("{t:?}"))
                .collect(),
        ),
        ("activities", rows(db.activities().unwrap())),
        ("functions", rows(db.functions().unwrap())),
        ("executions", rows(db.executions_page(None, all).unwrap())),
        ("steps", rows(db.steps_page(None, all).unwrap())),
        ("timers", rows(db.due_timers(i64::MAX, all).unwrap())),
        ("map_runs", rows(db.map_runs_page(None, all).unwrap())),
        ("event_buses", rows(db.event_buses().unwrap())),
        ("rules", rows(db.rules().unwrap())),
        ("rule_targets", rows(db.rule_targets().unwrap())),
        ("deliveries", rows(db.pending_deliveries().unwrap())),
        ("dead_letters", rows(db.dead_letters(all).unwrap())),
        ("schedules", rows(db.schedules().unwrap())),
        ("schedule_marks", rows(db.schedule_marks().unwrap())),
        ("webhooks", rows(db.webhooks().unwrap())),
        ("queues", rows(db.queues().unwrap())),
        ("queue_messages", rows(queue_messages)),
        ("topics", rows(db.topics().unwrap())),
        ("subscriptions", rows(db.subscriptions().unwrap())),
        ("topic_deliveries", rows(db.topic_deliveries().unwrap())),
    ];
    let names: Vec<&str> = tables.iter().map(|t| t.0).collect();
    assert_eq!(names, TABLES, "dump covers every table");
    tables
}

fn dump_of(d: &Database) -> Vec<(&'static str, Vec<String>)> {
    let db = Db::connect(d, DbOptions::default()).unwrap();
    let rows = dump(&db);
    db.close();
    rows
}

/// The source and destination counts of `table` in migrate's summary.
fn counted(out: &str, table: &str) -> Vec<i64> {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(table))
        .unwrap_or_else(|| panic!("no {table} line in:\n{out}"));
    line.split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect()
}

/// Fills the SQLite store of a server on `data`; answers (finished executions, the one in
/// a Wait, the one waiting on a task token, the Wait's history so far), the server stopped.
fn fill(data: &Path) -> (Vec<String>, String, String, Value, Value) {
    let mut s = start(data, None);
    let pass = |n: &str| {
        json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"n": n}, "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Pass", "End": true}}})
    };
    let chain = s.call(
        "CreateStateMachine",
        json!({"name": "chain", "type": "STANDARD", "definition": pass("1").to_string(),
               "roleArn": ROLE, "publish": true, "versionDescription": "first"}),
    );
    let chain_arn = chain["stateMachineArn"].as_str().unwrap().to_string();
    let v1 = chain["stateMachineVersionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let v2 = s.call(
        "UpdateStateMachine",
        json!({"stateMachineArn": chain_arn, "definition": pass("2").to_string(),
               "publish": true, "versionDescription": "second"}),
    )["stateMachineVersionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let alias = s.call(
        "CreateStateMachineAlias",
        json!({"name": "live", "description": "mostly one",
               "routingConfiguration": [{"stateMachineVersionArn": v1, "weight": 100}]}),
    )["stateMachineAliasArn"]
        .as_str()
        .unwrap()
        .to_string();
    s.call(
        "TagResource",
        json!({"resourceArn": chain_arn, "tags": [
            {"key": "team", "value": "core"}, {"key": "tier", "value": "gold"}]}),
    );
    let fails = support::create(
        &s,
        "fails",
        "STANDARD",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "No", "Cause": "x"}}}),
    );
    let finished = vec![
        start_execution(&s, &chain_arn, "plain", json!({"k": 1})),
        start_execution(&s, &v2, "by-version", json!({"k": 2})),
        start_execution(&s, &alias, "by-alias", json!({"k": 3})),
        start_execution(&s, &fails, "failed", json!({})),
    ];
    assert!(still_running(&s, &finished, 30).is_empty());
    assert_eq!(status(&s, &finished[3]), "FAILED");

    // A queue a task token goes to, and one with a message of its own.
    s.call("AmazonSQS.CreateQueue", json!({"QueueName": "asks"}));
    s.call("AmazonSQS.CreateQueue", json!({"QueueName": "plain"}));
    s.call(
        "AmazonSQS.SendMessage",
        json!({"QueueUrl": queue_url(&s, "plain"), "MessageBody": "hello",
               "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "greeting"}}}),
    );
    let ask = support::create(
        &s,
        "ask",
        "STANDARD",
        json!({"StartAt": "Ask", "States": {"Ask": {"Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": queue_url(&s, "asks"),
                           "MessageBody": {"token.$": "$$.Task.Token"}},
            "End": true}}}),
    );
    let asking = start_execution(&s, &ask, "asking", json!({}));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let a = s.call(
            "AmazonSQS.GetQueueAttributes",
            json!({"QueueUrl": queue_url(&s, "asks"), "AttributeNames": ["All"]}),
        );
        if a["Attributes"]["ApproximateNumberOfMessages"] == "1" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the token never reached the queue: {a}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    s.call(
        "AWSEvents.PutRule",
        json!({"Name": "orders", "EventPattern": "{\"source\":[\"shop\"]}",
               "Description": "orders to the chain"}),
    );
    s.call(
        "AWSEvents.PutTargets",
        json!({"Rule": "orders", "Targets": [{"Id": "sm", "Arn": chain_arn, "RoleArn": ROLE}]}),
    );
    let (code, v) = rest(
        &s.addr,
        "POST",
        "/schedules/nightly",
        &json!({"ScheduleExpression": "cron(0 3 * * ? *)",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {"Arn": chain_arn, "RoleArn": ROLE, "Input": "{\"nightly\":true}"}}),
    );
    assert_eq!(code, 200, "{v}");

    // Last, so that it still waits when the server stops.
    let waits = support::create(
        &s,
        "waits",
        "STANDARD",
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 6, "Next": "P"},
            "P": {"Type": "Pass", "End": true}}}),
    );
    let waiting = start_execution(&s, &waits, "waiting", json!({"w": 1}));
    let before = snapshot(&s, &finished);
    let wait_history = json!(history(&s, &waiting));
    assert_eq!(status(&s, &waiting), "RUNNING");
    assert_eq!(status(&s, &asking), "RUNNING");

    // While the server has the file open, migrate refuses to read it.
    let db = data.join("passo.db");
    let busy = migrate(
        &format!("sqlite:{}", db.display()),
        "sqlite:/nonexistent/x.db",
    );
    assert_eq!(busy.status.code(), Some(2), "{}", text(&busy));
    assert!(
        text(&busy).contains("open in another process"),
        "{}",
        text(&busy)
    );
    s.kill();
    (finished, waiting, asking, before, wait_history)
}

#[test]
fn a_sqlite_store_moves_to_postgres_and_carries_on_there() {
    let Some(pg) = ScratchDatabase::for_test("a_sqlite_store_moves_to_postgres") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let (finished, waiting, asking, before, wait_history) = fill(&data);
    let sqlite = Database::Sqlite(data.join("passo.db"));

    // The data directory names its passo.db.
    let out = migrate(&format!("sqlite:{}", data.display()), pg.url());
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("verified"), "{said}");
    assert_eq!(counted(&said, "executions"), [6, 6, 6], "{said}");
    assert_eq!(counted(&said, "versions"), [2, 2, 2], "{said}");
    assert_eq!(counted(&said, "queue_messages"), [2, 2, 2], "{said}");
    let postgres = Database::Postgres(pg.url().to_string());
    let rows = dump_of(&sqlite);
    assert_eq!(rows, dump_of(&postgres));
    for (table, got) in &rows {
        let expected = matches!(
            *table,
            "machines"
                | "revisions"
                | "versions"
                | "aliases"
                | "tags"
                | "executions"
                | "steps"
                | "timers"
                | "rules"
                | "rule_targets"
                | "schedules"
                | "queues"
                | "queue_messages"
        );
        assert!(!expected || !got.is_empty(), "{table} has no rows to copy");
    }

    // A server on PostgreSQL, with the same data directory (its token.keys).
    let s = start(&data, Some(pg.url()));
    assert_eq!(snapshot(&s, &finished), before);
    // The Wait fires and the execution ends, its history carrying on from where it was.
    assert!(still_running(&s, std::slice::from_ref(&waiting), 30).is_empty());
    assert_eq!(status(&s, &waiting), "SUCCEEDED");
    let h = history(&s, &waiting);
    check_history(&h).unwrap();
    let so_far = wait_history.as_array().unwrap();
    assert_eq!(&h[..so_far.len()], &so_far[..]);
    assert!(h.iter().any(|e| e["type"] == "WaitStateExited"));
    // The task token is still in its queue, and still answers its task.
    let got = s.call(
        "AmazonSQS.ReceiveMessage",
        json!({"QueueUrl": queue_url(&s, "asks"), "WaitTimeSeconds": 5}),
    );
    let body: Value =
        serde_json::from_str(got["Messages"][0]["Body"].as_str().expect("the token")).unwrap();
    s.call(
        "SendTaskSuccess",
        json!({"taskToken": body["token"], "output": "{\"approved\":true}"}),
    );
    assert!(still_running(&s, std::slice::from_ref(&asking), 30).is_empty());
    let d = s.call("DescribeExecution", json!({"executionArn": asking}));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], "{\"approved\":true}");
    // The other queue's message, with its attributes.
    let got = s.call(
        "AmazonSQS.ReceiveMessage",
        json!({"QueueUrl": queue_url(&s, "plain"), "MessageAttributeNames": ["All"]}),
    );
    let m = &got["Messages"][0];
    assert_eq!(m["Body"], "hello", "{got}");
    assert_eq!(m["MessageAttributes"]["kind"]["StringValue"], "greeting");
    drop(s);

    // And back to SQLite (the way PostgreSQL's leases stay behind).
    let back = dir.path().join("back.db");
    let out = migrate(pg.url(), &format!("sqlite:{}", back.display()));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(dump_of(&postgres), dump_of(&Database::Sqlite(back.clone())));
}

fn machine(arn: &str) -> MachineRow {
    MachineRow {
        arn: arn.into(),
        name: "m".into(),
        kind: "STANDARD".into(),
        definition: "{}".into(),
        role_arn: ROLE.into(),
        revision_id: "r".into(),
        description: String::new(),
        created_ms: 1,
        logging: "{}".into(),
        tracing: "{}".into(),
        encryption: "{}".into(),
    }
}

fn execution(arn: &str) -> ExecutionRow {
    ExecutionRow {
        arn: arn.into(),
        machine_arn: "arn:m".into(),
        revision_id: "r".into(),
        version_arn: None,
        alias_arn: None,
        name: "e".into(),
        status: "RUNNING".into(),
        input: "{}".into(),
        output: None,
        error: None,
        cause: None,
        start_ms: 1,
        stop_ms: None,
        params: "{}".into(),
        pending_tasks: 0,
        trace_header: None,
        redrive_count: 0,
        redrive_ms: None,
    }
}

fn store_with(d: &Database, writes: Vec<Write>) {
    let db = Db::connect(d, DbOptions::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(db.write(writes)).unwrap();
    db.close();
}

/// Refused with exit 2 and `words`, and both stores as they were.
fn refused(from: &Database, to: &Database, to_url: &str, words: &str) {
    let (was_from, was_to) = (dump_of(from), dump_of(to));
    let from_url = match from {
        Database::Sqlite(p) => format!("sqlite:{}", p.display()),
        Database::Postgres(u) => u.clone(),
    };
    let out = migrate(&from_url, to_url);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(words), "{}", text(&out));
    assert_eq!(dump_of(from), was_from);
    assert_eq!(dump_of(to), was_to);
}

#[test]
fn a_destination_holding_anything_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let from = Database::Sqlite(dir.path().join("from.db"));
    store_with(&from, vec![Write::PutMachine(machine("arn:from"))]);
    let to_path = dir.path().join("to.db");
    let to = Database::Sqlite(to_path.clone());
    store_with(&to, vec![Write::PutMachine(machine("arn:to"))]);
    let to_url = format!("sqlite:{}", to_path.display());
    refused(&from, &to, &to_url, "is not empty (machines: 1)");

    // A source that is not there is not made.
    let missing = dir.path().join("missing.db");
    let out = migrate(&format!("sqlite:{}", missing.display()), &to_url);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("no Passo database at"),
        "{}",
        text(&out)
    );
    assert!(!missing.exists());

    let Some(pg) = ScratchDatabase::for_test("a_destination_holding_anything_is_refused") else {
        return;
    };
    let to = Database::Postgres(pg.url().to_string());
    store_with(&to, vec![Write::InsertExecution(execution("arn:e"))]);
    refused(&from, &to, pg.url(), "is not empty (executions: 1)");
}
