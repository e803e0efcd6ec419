//! Two `passo server` nodes on one PostgreSQL database: what is made through one node is
//! used by the other (functions, webhooks), and an event-bus delivery that the node which
//! accepted it never made (it died) is made by a node that lives.

mod support;

use passo_store::scratch::ScratchDatabase;
use passo_store::{Database, Db, DbOptions, DeliveryRow, Write};
use serde_json::{json, Value};
use std::io::{Read, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

const KEY: (&str, &str) = ("AKIDCLUSTERTEST", "cluster-secret");

/// Polls `f` for up to 15 s until it answers Some.
fn within<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn node(dir: &std::path::Path, name: &str, url: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--database", url, "--node-id", name, "--lease-ms", "1000"];
    args.extend_from_slice(extra);
    Server::start(&dir.join(name), &args)
}

/// `passo function SUB NAME --endpoint-url ENDPOINT REST` (the server's flag before REST:
/// `--command` takes everything after it), signed with the test's key.
fn function_cli(endpoint: &str, sub: &str, name: &str, rest: &[&str]) {
    let args = [sub, name];
    let out = Command::new(env!("CARGO_BIN_EXE_passo"))
        .arg("function")
        .args(args)
        .args(["--endpoint-url", &format!("http://{endpoint}")])
        .args(rest)
        .env("AWS_ACCESS_KEY_ID", KEY.0)
        .env("AWS_SECRET_ACCESS_KEY", KEY.1)
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "passo function {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn function_names(s: &Server) -> Vec<String> {
    let listed = s.call("Passo.ListFunctions", json!({}));
    listed["functions"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|f| f["name"].as_str().map(String::from))
        .collect()
}

fn wait_ended(s: &Server, arn: &str) -> Value {
    within(&format!("{arn} to end"), || {
        let d = s.call("DescribeExecution", json!({"executionArn": arn}));
        (d["status"] != "RUNNING").then_some(d)
    })
}

/// A POST of `body` to `path` with a bearer token: (status, JSON answer).
fn post_webhook(addr: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
    let mut c = TcpStream::connect(addr).unwrap();
    write!(
        c,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

#[test]
fn what_one_node_makes_the_other_uses_and_a_dead_nodes_deliveries_are_made() {
    let Some(pg) = ScratchDatabase::for_test("cluster_shared") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = format!("{}:{}", KEY.0, KEY.1);
    // Node 1 lets signed callers create command functions; node 2 takes unsigned calls.
    let n1 = node(
        dir.path(),
        "n1",
        pg.url(),
        &["--access-key", &key, "--allow-function-api"],
    );
    let n2 = node(dir.path(), "n2", pg.url(), &[]);

    // A function created through node 1 is called by an execution on node 2.
    function_cli(&n1.addr, "create", "echo", &["--command", "cat"]);
    within("node 2 to see the function", || {
        function_names(&n2)
            .contains(&"echo".to_string())
            .then_some(())
    });
    let sm = create(
        &n2,
        "calls-echo",
        "STANDARD",
        json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo", "End": true}}}),
    );
    let arn = n2.call(
        "StartExecution",
        json!({"stateMachineArn": sm, "input": "{\"hello\": \"node 2\"}"}),
    )["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let d = wait_ended(&n2, &arn);
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], "{\"hello\":\"node 2\"}", "{d}");
    // Deleted through node 1, it is gone from node 2 too.
    function_cli(&n1.addr, "delete", "echo", &[]);
    within("node 2 to forget the function", || {
        (!function_names(&n2).contains(&"echo".to_string())).then_some(())
    });

    // A webhook made through node 2 starts executions when posted to node 1.
    let target = create(
        &n2,
        "on-hook",
        "STANDARD",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.body", "End": true}}}),
    );
    n2.call(
        "Passo.CreateWebhook",
        json!({"name": "deploy", "stateMachineArn": target, "token": "tok"}),
    );
    let started = within("node 1 to serve the webhook", || {
        let (status, v) = post_webhook(&n1.addr, "/webhooks/deploy", "tok", "{\"ref\": \"main\"}");
        (status == 200).then_some(v)
    });
    let hooked = started["executionArn"].as_str().unwrap().to_string();
    // (Node 1 wants signed API calls: the execution is read through node 2.)
    let d = wait_ended(&n2, &hooked);
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], "{\"ref\":\"main\"}", "{d}");

    // An event delivery a dead node accepted and never made: its row, due a minute ago.
    let on_event = create(
        &n2,
        "on-event",
        "STANDARD",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let db = Db::connect(&Database::Postgres(pg.url().into()), DbOptions::default()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let event = json!({"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Order Placed", "source": "shop", "account": "123456789012",
        "time": "2026-12-03T09:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"order": 7}});
    let row = DeliveryRow {
        id: "dead-node-delivery".into(),
        event: event.to_string(),
        rule_arn: "arn:aws:events:us-east-1:123456789012:rule/orders".into(),
        rule_name: "orders".into(),
        target: json!({"Id": "t1", "Arn": on_event}).to_string(),
        ingested_ms: now - 60_000,
        attempts: 0,
        next_ms: now - 60_000,
    };
    block_on(db.write(vec![Write::InsertDelivery(row)])).unwrap();
    let made = within("a live node to make the delivery", || {
        let listed = n2.call("ListExecutions", json!({"stateMachineArn": on_event}));
        listed["executions"]
            .as_array()
            .and_then(|e| e.first().cloned())
    });
    let d = wait_ended(&n2, made["executionArn"].as_str().unwrap());
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let input: Value = serde_json::from_str(d["input"].as_str().unwrap()).unwrap();
    assert_eq!(input["detail"], json!({"order": 7}), "{d}");
    within("the delivery's row to go", || {
        db.pending_deliveries().unwrap().is_empty().then_some(())
    });
    // Made once, by one node.
    std::thread::sleep(Duration::from_millis(1_500));
    let listed = n2.call("ListExecutions", json!({"stateMachineArn": on_event}));
    assert_eq!(
        listed["executions"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
    db.close();
}

/// Runs a store future to completion on a small runtime of its own.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
