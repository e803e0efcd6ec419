//! The console's JSON endpoints through the real binary, where the browser tests
//! (tests/e2e/test_console.py) do not look: the functions page's recent calls.

mod support;

use serde_json::{json, Value};
use support::Server;

/// GET `path` of the server: the JSON body.
fn get(addr: &str, path: &str) -> Value {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    c.read_to_string(&mut text).unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn the_functions_page_lists_recent_calls_newest_first_with_their_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("passo.toml");
    std::fs::write(
        &project,
        r#"
[functions.echo]
command = ["cat"]

[functions.refuse]
command = ["sh", "-c", "echo '{\"errorType\": \"Refused\", \"errorMessage\": \"no\"}'; exit 1"]
"#,
    )
    .unwrap();
    let s = Server::start(
        &dir.path().join("d"),
        &["--project", project.to_str().unwrap()],
    );
    let machine = support::create(
        &s,
        "calls",
        "STANDARD",
        json!({"StartAt": "Echo", "States": {
            "Echo": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo", "Next": "Refuse"},
            "Refuse": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:refuse",
                       "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}], "End": true},
            "Done": {"Type": "Succeed"}}}),
    );
    let ex = s.call(
        "AWSStepFunctions.StartExecution",
        json!({"stateMachineArn": machine, "input": "{\"a\": 1}"}),
    )["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..400 {
        let d = s.call(
            "AWSStepFunctions.DescribeExecution",
            json!({"executionArn": ex}),
        );
        if d["status"] != "RUNNING" {
            assert_eq!(d["status"], "SUCCEEDED", "{d}");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let page = get(&s.addr, "/console/api/functions");
    let calls = page["recentCalls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{page}");
    assert_eq!(calls[0]["function"], "refuse", "newest first: {page}");
    assert_eq!(calls[0]["status"], "FAILED");
    assert_eq!(calls[0]["error"], "Refused");
    assert_eq!(calls[1]["function"], "echo");
    assert_eq!(calls[1]["status"], "SUCCEEDED");
    assert!(calls[1]["durationMs"].is_u64());
    assert!(calls[1]["started"].as_f64().unwrap() > 1.7e9);
}
