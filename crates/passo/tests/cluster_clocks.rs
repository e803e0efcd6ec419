//! Two `passo server` nodes on one PostgreSQL database whose clocks disagree by 30 s (one
//! runs under libfaketime, Debian's `faketime` package). Lease times are on the database's
//! clock, so while both nodes live neither sees the other's leases as run out: nothing is
//! taken over, no step is refused, and every execution ends once, with its own history.
//! (With lease times on the nodes' clocks, the node ahead took over every execution of the
//! other as soon as it scanned.) Event deliveries are due on the database's clock too:
//! those the node behind accepts are never overdue to the node ahead.

mod support;

use passo_store::scratch::ScratchDatabase;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::cluster::{metric_sum, names_with_status};
use support::*;

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const AHEAD_S: f64 = 30.0;
const EACH: usize = 40;
const EVENT_BURSTS: usize = 40;

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A rule on the default bus sending events of `source` to the state machine `target`.
fn rule_to(s: &Server, source: &str, target: &str) {
    s.call(
        "AWSEvents.PutRule",
        json!({"Name": source, "EventPattern": json!({"source": [source]}).to_string()}),
    );
    let put = s.call(
        "AWSEvents.PutTargets",
        json!({"Rule": source, "Targets": [{"Id": "m", "Arn": target}]}),
    );
    assert_eq!(put["FailedEntryCount"], 0, "{put}");
}

#[test]
fn nodes_whose_clocks_disagree_take_nothing_over_from_each_other() {
    let Some(pg) = ScratchDatabase::for_test("cluster_clocks") else {
        return;
    };
    if !Path::new(LIBFAKETIME).exists() {
        assert_ne!(
            std::env::var("PASSO_REQUIRE_E2E").as_deref(),
            Ok("1"),
            "PASSO_REQUIRE_E2E=1, but {LIBFAKETIME} is missing (Debian's faketime package)"
        );
        println!("note: no libfaketime ({LIBFAKETIME}): skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = |name: &str, env: &[(&str, String)]| {
        // One asynchronous Express execution at a time: deliveries to the slow Express
        // target below are throttled and retried, so their rows live for seconds.
        let args = [
            "--database",
            pg.url(),
            "--node-id",
            name,
            "--lease-ms",
            "2000",
            "--max-express",
            "1",
        ];
        let log = dir.path().join(format!("{name}.log"));
        Server::start_env(&dir.path().join(name), &args, None, Some(&log), env)
    };
    let a = node("a", &[]);
    let b = node(
        "b",
        &[
            ("LD_PRELOAD", LIBFAKETIME.to_string()),
            ("FAKETIME", format!("+{AHEAD_S}s")),
        ],
    );
    let addrs = vec![a.addr.clone(), b.addr.clone()];
    // Longer than the lease, so that leases are renewed and scanned for several times.
    let wait = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 5, "Next": "P"},
        "P": {"Type": "Pass", "End": true}}});
    let machine = create(&a, "clocks", "STANDARD", wait);
    let mut arns = Vec::new();
    for i in 0..EACH {
        for (s, tag) in [(&a, "a"), (&b, "b")] {
            let v = s.call(
                "StartExecution",
                json!({"stateMachineArn": machine, "name": format!("{tag}{i}"), "input": "{}"}),
            );
            arns.push((tag, v["executionArn"].as_str().unwrap().to_string()));
        }
    }
    // The premise: node b's clock is ahead (its start times say so).
    let started_b = b.call("DescribeExecution", json!({"executionArn": arns[1].1}));
    let ahead = started_b["startDate"].as_f64().unwrap() - unix_now();
    assert!(
        ahead > AHEAD_S - 5.0,
        "node b's clock is not ahead ({ahead:.1} s): libfaketime did not take"
    );

    // Events accepted by node a (behind): each delivery's row lives while a starts its
    // execution; node b (ahead) scans for overdue deliveries every half lease.
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let target = create(&a, "clocks-target", "STANDARD", pass);
    rule_to(&a, "clocks", &target);
    let slow = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3, "End": true}}});
    let slow = create(&a, "clocks-slow", "EXPRESS", slow);
    rule_to(&a, "clocks-slow", &slow);
    let entry = json!({"Source": "clocks-slow", "DetailType": "t", "Detail": "{}"});
    let put = a.call("AWSEvents.PutEvents", json!({"Entries": vec![entry; 4]}));
    assert_eq!(put["FailedEntryCount"], 0, "{put}");
    let entry = json!({"Source": "clocks", "DetailType": "t", "Detail": "{}"});
    for _ in 0..EVENT_BURSTS {
        let put = a.call(
            "AWSEvents.PutEvents",
            json!({"Entries": vec![entry.clone(); 10]}),
        );
        assert_eq!(put["FailedEntryCount"], 0, "{put}");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = names_with_status(&addrs, &machine, "SUCCEEDED").len();
        if done == 2 * EACH {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{done} of {} executions SUCCEEDED within 60 s",
            2 * EACH
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Past a few more takeover scans (every lease/2) with everything ended.
    std::thread::sleep(Duration::from_secs(2));
    let taken =
        metric_sum(&addrs, "leases_taken_over").expect("the nodes expose leases_taken_over");
    let lost = metric_sum(&addrs, "leases_lost").expect("the nodes expose leases_lost");
    assert_eq!(
        (taken, lost),
        (0.0, 0.0),
        "executions taken over / steps refused between two live nodes whose clocks differ"
    );
    let deliveries = metric_sum(&addrs, "deliveries_taken_over")
        .expect("the nodes expose deliveries_taken_over");
    assert_eq!(
        deliveries, 0.0,
        "event deliveries taken over from a live node"
    );
    let delivered = names_with_status(&addrs, &target, "SUCCEEDED").len();
    assert_eq!(delivered, 10 * EVENT_BURSTS, "one execution per event");
    for (tag, arn) in &arns {
        let h = history(if *tag == "a" { &a } else { &b }, arn);
        let kinds: Vec<&str> = h.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "ExecutionStarted",
                "WaitStateEntered",
                "WaitStateExited",
                "PassStateEntered",
                "PassStateExited",
                "ExecutionSucceeded"
            ],
            "{arn}"
        );
    }
}
