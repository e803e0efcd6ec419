//! Issue 18: an activity task handed to a worker polling any node. Two `passo server`
//! nodes share one PostgreSQL database; the activity, the machine and every execution are
//! made on node 1, and the workers poll node 2 only. Every task must reach a worker once,
//! every execution succeed once with ActivityStarted before each answer in its history
//! (answers go to either node: to node 1, the owner, they may overtake the TaskStarted
//! node 2 forwarded), and nothing be left queued. A long poll on node 2 that began before
//! the execution started on node 1 gets its task.

mod support;

use passo_store::scratch::ScratchDatabase;
use passo_store::{Database, Db, DbOptions};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::cluster::{metric_sum, Cluster};
use support::{check_history, create, history, raw_call, try_call, Server};

/// Executions the workers serve (two tasks each).
const EXECUTIONS: i64 = 24;
const WORKERS: usize = 3;

/// A task as a worker got it.
struct Handed {
    token: String,
    input: Value,
}

#[test]
fn workers_polling_only_node_2_get_every_task_node_1_schedules_once() {
    let Some(pg) = ScratchDatabase::for_test("cluster activities") else {
        return;
    };
    // No function is called here: the ledger address is never used. No node is proxied.
    let mut cluster = Cluster::new(pg.url(), "http://127.0.0.1:9/", 2, usize::MAX, 5_000);
    cluster.nodes[0].start();
    let activity = create_activity(cluster.nodes[0].server());
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": activity, "Next": "B"},
        "B": {"Type": "Task", "Resource": activity, "End": true}}});
    let machine = create(cluster.nodes[0].server(), "two-tasks", "STANDARD", def);
    cluster.nodes[1].start();
    let n1 = cluster.nodes[0].server();
    let (a1, a2) = (cluster.nodes[0].addr.clone(), cluster.nodes[1].addr.clone());
    let start = |name: &str, i: i64| {
        raw_call(
            &a1,
            "StartExecution",
            &json!({"stateMachineArn": machine, "name": name,
                    "input": json!({"i": i, "n": 0}).to_string()})
            .to_string(),
            "",
        )
    };
    let poll = json!({"activityArn": activity, "workerName": "early"});

    // A long poll on node 2 first, then the execution on node 1.
    let early = {
        let (a2, poll) = (a2.clone(), poll.to_string());
        std::thread::spawn(move || raw_call(&a2, "GetActivityTask", &poll, ""))
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !early.is_finished(),
        "the poll answered before any task was queued"
    );
    let (s, v) = start("early", -1);
    assert_eq!(s, 200, "{v}");
    let early_arn = v["executionArn"].as_str().unwrap().to_string();
    let (s, got) = early.join().unwrap();
    assert_eq!(s, 200, "{got}");
    let token = got["taskToken"]
        .as_str()
        .expect("the long poll on node 2 got the task node 1 queued");
    let input: Value = serde_json::from_str(got["input"].as_str().unwrap()).unwrap();
    assert_eq!(input, json!({"i": -1, "n": 0}));
    // Answered on node 1, the owner: straight after node 2 forwarded its TaskStarted.
    let out = json!({"i": -1, "n": 1}).to_string();
    let (s, v) = raw_call(
        &a1,
        "SendTaskSuccess",
        &json!({"taskToken": token, "output": out}).to_string(),
        "",
    );
    assert_eq!(s, 200, "{v}");

    // Workers on node 2 only; they answer tasks of odd executions on node 1, the rest on 2.
    let handed: Arc<Mutex<Vec<Handed>>> = Arc::default();
    let refused: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    for w in 0..WORKERS {
        let (a1, a2, activity) = (a1.clone(), a2.clone(), activity.clone());
        let (handed, refused, stop) = (handed.clone(), refused.clone(), stop.clone());
        std::thread::spawn(move || {
            let poll = json!({"activityArn": activity, "workerName": format!("w{w}")});
            while !stop.load(Ordering::Relaxed) {
                // None: the nodes are gone (the test is over).
                let Some((s, t)) = try_call(&a2, "GetActivityTask", &poll) else {
                    return;
                };
                let Some(token) = t["taskToken"].as_str().filter(|_| s == 200) else {
                    if s != 200 {
                        refused
                            .lock()
                            .unwrap()
                            .push(format!("GetActivityTask: {s} {t}"));
                    }
                    continue;
                };
                let input: Value = serde_json::from_str(t["input"].as_str().unwrap()).unwrap();
                let (i, n) = (input["i"].as_i64().unwrap(), input["n"].as_i64().unwrap());
                let output = json!({"i": i, "n": n + 1}).to_string();
                handed.lock().unwrap().push(Handed {
                    token: token.to_string(),
                    input,
                });
                let to = if i % 2 == 1 { &a1 } else { &a2 };
                let req = json!({"taskToken": token, "output": output});
                match try_call(to, "SendTaskSuccess", &req) {
                    Some((200, _)) => {}
                    other => refused
                        .lock()
                        .unwrap()
                        .push(format!("SendTaskSuccess: {other:?}")),
                }
            }
        });
    }
    let mut arns = vec![early_arn];
    for i in 0..EXECUTIONS {
        let (s, v) = start(&format!("e{i}"), i);
        assert_eq!(s, 200, "{v}");
        arns.push(v["executionArn"].as_str().unwrap().to_string());
    }

    // Every execution ends, through either node.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut running: Vec<String> = arns.clone();
    while !running.is_empty() && Instant::now() < deadline {
        running.retain(|a| {
            n1.call("DescribeExecution", json!({"executionArn": a}))["status"] == "RUNNING"
        });
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    assert!(
        running.is_empty(),
        "still running: {running:?}\n{}",
        cluster.nodes[1].log_tail(40)
    );
    assert!(
        refused.lock().unwrap().is_empty(),
        "{:?}",
        refused.lock().unwrap()
    );

    // Each task went to one worker, once.
    let handed = handed.lock().unwrap();
    let tokens: HashSet<&str> = handed.iter().map(|h| h.token.as_str()).collect();
    assert_eq!(tokens.len(), handed.len(), "a task was handed out twice");
    let mut inputs: Vec<(i64, i64)> = handed
        .iter()
        .map(|h| {
            (
                h.input["i"].as_i64().unwrap(),
                h.input["n"].as_i64().unwrap(),
            )
        })
        .collect();
    inputs.sort_unstable();
    let mut expected: Vec<(i64, i64)> = vec![(-1, 1)];
    expected.extend((0..EXECUTIONS).flat_map(|i| [(i, 0), (i, 1)]));
    assert_eq!(inputs, expected, "the tasks the workers got");

    // Each execution succeeded once, its history in AWS's order, read through node 2.
    let n2 = cluster.nodes[1].server();
    for (k, arn) in arns.iter().enumerate() {
        let d = n2.call("DescribeExecution", json!({"executionArn": arn}));
        assert_eq!(d["status"], "SUCCEEDED", "{arn}: {d}");
        let i = k as i64 - 1;
        let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
        assert_eq!(output, json!({"i": i, "n": 2}), "{arn}");
        let h = history(n2, arn);
        check_history(&h).unwrap_or_else(|e| panic!("{arn}: {e}"));
        let activity_events: Vec<&str> = h
            .iter()
            .filter_map(|e| e["type"].as_str())
            .filter(|t| t.starts_with("Activity"))
            .collect();
        let once = ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"];
        assert_eq!(activity_events, [once, once].concat(), "{arn}");
    }
    let listed = n2.call(
        "ListExecutions",
        json!({"stateMachineArn": machine, "maxResults": 1000}),
    );
    assert_eq!(listed["executions"].as_array().unwrap().len(), arns.len());

    // Nothing left queued or forwarded, and node 2 did forward the workers' events.
    let left = queued_rows(pg.url());
    assert_eq!(left, (0, 0), "(activity_tasks, inbox) rows left");
    let forwarded = metric_sum(std::slice::from_ref(&a2), "events_forwarded").unwrap_or(0.0);
    assert!(forwarded > 0.0, "node 2 forwarded nothing");
    println!(
        "Cluster activities: {} executions, {} tasks handed on node 2 (plus the long poll's), \
         {forwarded} events forwarded by node 2",
        arns.len(),
        handed.len()
    );
}

/// Rows in (activity_tasks, inbox).
fn queued_rows(url: &str) -> (i64, i64) {
    let db = Db::connect(&Database::Postgres(url.into()), DbOptions::default()).unwrap();
    let counts = db.table_counts().unwrap();
    db.close();
    let count = |table: &str| {
        counts
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, n)| *n)
            .unwrap_or_else(|| panic!("no table {table}"))
    };
    (count("activity_tasks"), count("inbox"))
}

#[test]
fn tasks_queued_by_a_node_that_died_are_queued_once_by_the_node_that_took_over() {
    let Some(pg) = ScratchDatabase::for_test("cluster activities takeover") else {
        return;
    };
    const N: i64 = 10;
    let mut cluster = Cluster::new(pg.url(), "http://127.0.0.1:9/", 2, usize::MAX, 2_000);
    cluster.nodes[0].start();
    let activity = create_activity(cluster.nodes[0].server());
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": activity, "End": true}}});
    let machine = create(cluster.nodes[0].server(), "one-task", "STANDARD", def);
    cluster.nodes[1].start();
    let a2 = cluster.nodes[1].addr.clone();
    let mut arns = Vec::new();
    for i in 0..N {
        let v = cluster.nodes[0].server().call(
            "StartExecution",
            json!({"stateMachineArn": machine, "name": format!("e{i}"),
                   "input": json!({"i": i}).to_string()}),
        );
        arns.push(v["executionArn"].as_str().unwrap().to_string());
    }
    let within = |what: &str, secs: u64, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done() {
            assert!(
                Instant::now() < deadline,
                "{what} did not happen within {secs} s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    within("queueing every task", 30, &|| queued_rows(pg.url()).0 == N);
    // Node 1 dies with every task queued; node 2 takes the executions over once their
    // leases run out, and sends their open tasks again.
    cluster.nodes[0].kill();
    within("the takeover", 60, &|| {
        metric_sum(std::slice::from_ref(&a2), "leases_taken_over").unwrap_or(0.0) >= N as f64
    });
    assert_eq!(queued_rows(pg.url()), (N, 0), "each task queued once");

    // One worker on node 2 gets each task once.
    let poll = json!({"activityArn": activity, "workerName": "w"});
    let mut tokens = HashSet::new();
    let mut inputs = Vec::new();
    while inputs.len() < N as usize {
        let (s, t) = try_call(&a2, "GetActivityTask", &poll).expect("node 2 answers");
        assert_eq!(s, 200, "{t}");
        let token = t["taskToken"].as_str().expect("a task within the poll");
        assert!(
            tokens.insert(token.to_string()),
            "a task was handed out twice"
        );
        let input: Value = serde_json::from_str(t["input"].as_str().unwrap()).unwrap();
        inputs.push(input["i"].as_i64().unwrap());
        let req = json!({"taskToken": token, "output": input.to_string()});
        let (s, v) = try_call(&a2, "SendTaskSuccess", &req).expect("node 2 answers");
        assert_eq!(s, 200, "{v}");
    }
    inputs.sort_unstable();
    assert_eq!(inputs, (0..N).collect::<Vec<_>>());
    let n2 = cluster.nodes[1].server();
    within("every execution's end", 30, &|| {
        arns.iter().all(|a| {
            n2.call("DescribeExecution", json!({"executionArn": a}))["status"] == "SUCCEEDED"
        })
    });
    within("the inbox emptying", 10, &|| {
        queued_rows(pg.url()) == (0, 0)
    });
}

/// Creates the activity the tests' machines use; answers its ARN.
fn create_activity(s: &Server) -> String {
    s.call("CreateActivity", json!({"name": "work"}))["activityArn"]
        .as_str()
        .unwrap()
        .to_string()
}
