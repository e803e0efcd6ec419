//! `passo server` driven as a process through its HTTP API: durability across SIGKILL,
//! stop, Express, request limits and signature checks.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::*;

/// Executions waiting (1-2 s) or mid-chain when the server is SIGKILLed all finish after a
/// restart, exactly once, with no recorded step run twice.
#[test]
fn sigkill_and_restart_every_execution_completes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), &[]);
    let mut states = json!({});
    for i in 0..20 {
        let next = if i == 19 {
            json!({"End": true})
        } else {
            json!({"Next": format!("P{}", i + 1)})
        };
        let mut st = json!({"Type": "Pass", "Result": {"i": i}, "ResultPath": format!("$.p{i}")});
        st.as_object_mut()
            .unwrap()
            .extend(next.as_object().unwrap().clone());
        if i == 10 {
            st = json!({"Type": "Wait", "Seconds": 1, "Next": "P11"});
        }
        states[format!("P{i}")] = st;
    }
    let chain = create(
        &s,
        "chain",
        "STANDARD",
        json!({"StartAt": "P0", "States": states}),
    );
    let waits = create(
        &s,
        "waits",
        "STANDARD",
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "A"},
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "End": true}}}),
    );
    let mut arns = Vec::new();
    for i in 0..300 {
        let (machine, input) = if i % 2 == 0 {
            (&chain, json!({}))
        } else {
            (&waits, json!({"s": 1 + i % 2}))
        };
        let v = s.call(
            "StartExecution",
            json!({"stateMachineArn": machine, "name": format!("x{i}"), "input": input.to_string()}),
        );
        arns.push(v["executionArn"].as_str().unwrap().to_string());
    }
    s.kill();
    let s = Server::start(dir.path(), &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    for arn in &arns {
        loop {
            let d = s.call("DescribeExecution", json!({"executionArn": arn}));
            if d["status"] == "SUCCEEDED" {
                break;
            }
            assert_eq!(d["status"], "RUNNING", "{d}");
            assert!(Instant::now() < deadline, "{arn} still running");
            std::thread::sleep(Duration::from_millis(100));
        }
        let h = history(&s, arn);
        let succeeded = h
            .iter()
            .filter(|e| e["type"] == "ExecutionSucceeded")
            .count();
        assert_eq!(succeeded, 1, "{arn}");
        let mut entered: Vec<&str> = h
            .iter()
            .filter_map(|e| e["stateEnteredEventDetails"]["name"].as_str())
            .collect();
        let n = entered.len();
        entered.sort_unstable();
        entered.dedup();
        assert_eq!(entered.len(), n, "{arn}: a state was entered twice");
        let ids: Vec<u64> = h.iter().map(|e| e["id"].as_u64().unwrap()).collect();
        assert_eq!(
            ids,
            (1..=h.len() as u64).collect::<Vec<_>>(),
            "{arn}: event ids"
        );
    }
    let listed = s.call(
        "ListExecutions",
        json!({"stateMachineArn": chain, "statusFilter": "SUCCEEDED", "maxResults": 1000}),
    );
    assert_eq!(listed["executions"].as_array().unwrap().len(), 150);
}

#[test]
fn stop_aborts_a_waiting_execution_and_idempotent_start() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let m = create(
        &s,
        "long",
        "STANDARD",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    );
    let start = json!({"stateMachineArn": m, "name": "e", "input": "{\"a\":1}"});
    let a = s.call("StartExecution", start.clone());
    // Same name and input while running: the same execution.
    let b = s.call("StartExecution", start);
    assert_eq!(a["executionArn"], b["executionArn"]);
    // Same name, other input: ExecutionAlreadyExists.
    let (status, err) = s.raw(
        "StartExecution",
        &json!({"stateMachineArn": m, "name": "e", "input": "{}"}).to_string(),
        "",
    );
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("ExecutionAlreadyExists"))
    );
    s.call(
        "StopExecution",
        json!({"executionArn": a["executionArn"], "error": "Bye", "cause": "test"}),
    );
    let d = s.call(
        "DescribeExecution",
        json!({"executionArn": a["executionArn"]}),
    );
    assert_eq!(d["status"], "ABORTED");
    let h = history(&s, a["executionArn"].as_str().unwrap());
    assert_eq!(h.last().unwrap()["type"], "ExecutionAborted");
}

#[test]
fn express_sync_answers_output_or_error_and_standard_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let ok = create(
        &s,
        "ok",
        "EXPRESS",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "$.x"}, "End": true}}}),
    );
    let v = s.call(
        "StartSyncExecution",
        json!({"stateMachineArn": ok, "input": "{\"x\": 5}"}),
    );
    assert_eq!(
        (v["status"].as_str(), v["output"].as_str()),
        (Some("SUCCEEDED"), Some("{\"v\":5}"))
    );
    assert!(v["executionArn"].as_str().unwrap().contains(":express:ok:"));
    let bad = create(
        &s,
        "bad",
        "EXPRESS",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "why"}}}),
    );
    let v = s.call("StartSyncExecution", json!({"stateMachineArn": bad}));
    assert_eq!(
        (
            v["status"].as_str(),
            v["error"].as_str(),
            v["cause"].as_str()
        ),
        (Some("FAILED"), Some("Nope"), Some("why"))
    );
    let std = create(
        &s,
        "std",
        "STANDARD",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let (status, err) = s.raw(
        "StartSyncExecution",
        &json!({"stateMachineArn": std}).to_string(),
        "",
    );
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("StateMachineTypeNotSupported"))
    );
}

#[test]
fn oversized_bodies_and_unsigned_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &[
            "--max-request-bytes",
            "1000",
            "--access-key",
            "AKIDTEST:secret",
        ],
    );
    let (status, err) = s.raw("ListStateMachines", &"x".repeat(2000), "");
    assert_eq!(
        (status, err["__type"].as_str()),
        (413, Some("RequestEntityTooLargeException"))
    );
    let (status, err) = s.raw("ListStateMachines", "{}", "");
    assert_eq!(
        (status, err["__type"].as_str()),
        (403, Some("MissingAuthenticationTokenException"))
    );
    // Signed now over every header AWS requires, by a key the server does not know or
    // with a signature the configured secret does not make.
    let now = chrono::Utc::now();
    let signed_by = |key: &str| {
        format!(
            "X-Amz-Date: {}\r\nAuthorization: AWS4-HMAC-SHA256 Credential={key}/{}/us-east-1/states/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000\r\n",
            now.format("%Y%m%dT%H%M%SZ"),
            now.format("%Y%m%d")
        )
    };
    let (status, err) = s.raw("ListStateMachines", "{}", &signed_by("OTHER"));
    assert_eq!(
        (status, err["__type"].as_str()),
        (403, Some("UnrecognizedClientException"))
    );
    let (status, err) = s.raw("ListStateMachines", "{}", &signed_by("AKIDTEST"));
    assert_eq!(
        (status, err["__type"].as_str()),
        (403, Some("InvalidSignatureException"))
    );
    assert!(
        err["message"].as_str().unwrap().contains("does not match"),
        "{err}"
    );
}

#[test]
fn versions_aliases_route_and_history_pages() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let def = |r: i64| json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": r, "End": true}}});
    let m = s.call(
        "CreateStateMachine",
        json!({"name": "v", "definition": def(1).to_string(), "roleArn": "arn:aws:iam::1:role/r", "publish": true}),
    );
    let v1 = m["stateMachineVersionArn"].as_str().unwrap().to_string();
    let arn = m["stateMachineArn"].as_str().unwrap();
    assert!(v1.ends_with(":v:1"));
    let u = s.call(
        "UpdateStateMachine",
        json!({"stateMachineArn": arn, "definition": def(2).to_string(), "publish": true}),
    );
    let v2 = u["stateMachineVersionArn"].as_str().unwrap().to_string();
    assert!(v2.ends_with(":v:2"));
    let alias = s.call(
        "CreateStateMachineAlias",
        json!({"name": "prod", "routingConfiguration": [
            {"stateMachineVersionArn": v1, "weight": 100}]}),
    )["stateMachineAliasArn"]
        .as_str()
        .unwrap()
        .to_string();
    // Through the alias: version 1's definition (Result 1), and the execution says so.
    let e = s.call("StartExecution", json!({"stateMachineArn": alias}));
    let d = s.call(
        "DescribeExecution",
        json!({"executionArn": e["executionArn"]}),
    );
    assert_eq!(d["output"], "1");
    assert_eq!(d["stateMachineAliasArn"], alias.as_str());
    assert_eq!(d["stateMachineVersionArn"], v1.as_str());
    // The current revision runs Result 2.
    let e = s.call("StartExecution", json!({"stateMachineArn": arn}));
    let d = s.call(
        "DescribeExecution",
        json!({"executionArn": e["executionArn"]}),
    );
    assert_eq!(d["output"], "2");
    // A version an alias routes to cannot be deleted.
    let (status, err) = s.raw(
        "DeleteStateMachineVersion",
        &json!({"stateMachineVersionArn": v1}).to_string(),
        "",
    );
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("ConflictException"))
    );
    // History pages of 2, reversed.
    let p1 = s.call(
        "GetExecutionHistory",
        json!({"executionArn": e["executionArn"], "maxResults": 2, "reverseOrder": true}),
    );
    assert_eq!(p1["events"][0]["type"], "ExecutionSucceeded");
    let p2 = s.call(
        "GetExecutionHistory",
        json!({"executionArn": e["executionArn"], "maxResults": 2, "reverseOrder": true,
               "nextToken": p1["nextToken"]}),
    );
    assert_eq!(p2["events"][0]["type"], "PassStateEntered");
    assert_eq!(p2["events"][1]["type"], "ExecutionStarted");
    assert!(p2.get("nextToken").is_none());
}

#[test]
fn redrive_restarts_an_aborted_execution_at_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let m = create(
        &s,
        "redrive",
        "STANDARD",
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Result": "x", "ResultPath": "$.p", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    );
    let e = s.call(
        "StartExecution",
        json!({"stateMachineArn": m, "input": "{\"a\":1}"}),
    );
    let arn = e["executionArn"].as_str().unwrap();
    // A running execution cannot be redriven.
    let (status, err) = s.raw(
        "RedriveExecution",
        &json!({"executionArn": arn}).to_string(),
        "",
    );
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("ExecutionNotRedrivable"))
    );
    s.call("StopExecution", json!({"executionArn": arn}));
    let d = s.call("DescribeExecution", json!({"executionArn": arn}));
    assert_eq!(
        (d["status"].as_str(), d["redriveStatus"].as_str()),
        (Some("ABORTED"), Some("REDRIVABLE"))
    );
    s.call("RedriveExecution", json!({"executionArn": arn}));
    let d = s.call("DescribeExecution", json!({"executionArn": arn}));
    assert_eq!(
        (d["status"].as_str(), d["redriveCount"].as_u64()),
        (Some("RUNNING"), Some(1))
    );
    let h = history(&s, arn);
    let kinds: Vec<&str> = h.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let n = kinds.len();
    assert_eq!(
        &kinds[n - 3..],
        ["ExecutionAborted", "ExecutionRedriven", "WaitStateEntered"]
    );
    // The Wait state runs again on the input it had: P is not run again.
    assert_eq!(
        h[n - 1]["stateEnteredEventDetails"]["input"],
        "{\"a\":1,\"p\":\"x\"}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "PassStateEntered").count(),
        1
    );
}

/// Asynchronous Express executions hold their state in memory until they end: past
/// `--max-express` running at once, StartExecution is refused with AWS's throttling error
/// until some end; Standard executions are not counted.
#[test]
fn async_express_executions_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &["--max-express", "5"]);
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "End": true}}});
    let express = create(&s, "bounded", "EXPRESS", def.clone());
    let standard = create(&s, "unbounded", "STANDARD", def);
    for _ in 0..5 {
        s.call("StartExecution", json!({"stateMachineArn": express}));
    }
    let (status, v) = s.raw(
        "StartExecution",
        &json!({"stateMachineArn": express}).to_string(),
        "",
    );
    assert_eq!(
        (status, v["__type"].as_str()),
        (400, Some("ThrottlingException")),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap().starts_with("Rate exceeded"),
        "{v}"
    );
    s.call("StartExecution", json!({"stateMachineArn": standard}));
    let (_, stats) = raw_call(&s.addr, "Passo.DescribeServer", "{}", "");
    assert_eq!(stats["expressInFlight"], 5, "{stats}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = s.raw(
            "StartExecution",
            &json!({"stateMachineArn": express}).to_string(),
            "",
        );
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "places were not given back");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every answer carries a request id (what the SDKs report as the request's id).
#[test]
fn every_answer_has_a_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    for (action, body) in [
        ("ListStateMachines", "{}"),
        ("DescribeExecution", "{\"executionArn\": \"nope\"}"),
        ("NoSuchAction", "{}"),
    ] {
        let mut c = std::net::TcpStream::connect(&s.addr).unwrap();
        use std::io::{Read, Write};
        write!(
            c,
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.{action}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).unwrap();
        let head = out.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        let id = head
            .lines()
            .find_map(|l| l.strip_prefix("x-amzn-requestid: "))
            .unwrap_or_else(|| panic!("{action}: no request id in {head}"));
        assert_eq!(
            uuid::Uuid::parse_str(id.trim()).unwrap().get_version_num(),
            4
        );
    }
}
