//! What operators watch, through the real binary: `/healthz/live`, `/healthz/ready` and
//! `/metrics` (Prometheus's text format) counting what the server did.

mod support;

use serde_json::json;
use support::Server;

/// GET `path` with `host` as the Host header: (status, content type, body).
fn get(addr: &str, host: &str, path: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    c.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let ctype = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or_default()
        .to_string();
    (status, ctype, body.to_string())
}

/// The value of one sample line (`name{labels} value`) of a scrape.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|l| {
        let (name, v) = l.rsplit_once(' ')?;
        (name == series).then(|| v.parse().ok())?
    })
}

#[test]
fn health_and_metrics_answer_and_count_what_the_server_did() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("d"), &[]);
    assert_eq!(get(&s.addr, &s.addr, "/healthz/live").0, 200);
    assert_eq!(get(&s.addr, &s.addr, "/healthz/ready").0, 200);
    // Like the API, only loopback names unless told otherwise.
    assert_eq!(get(&s.addr, "evil.example", "/metrics").0, 403);

    let three = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "C"},
        "C": {"Type": "Fail", "Error": "Nope"}}});
    let standard = support::create(&s, "std", "STANDARD", three.clone());
    let express = support::create(&s, "exp", "EXPRESS", three);
    for i in 0..2 {
        s.call(
            "AWSStepFunctions.StartExecution",
            json!({"stateMachineArn": standard, "name": format!("e{i}")}),
        );
    }
    s.call(
        "AWSStepFunctions.StartSyncExecution",
        json!({"stateMachineArn": express}),
    );
    let (status, ctype, scrape) = get(&s.addr, &s.addr, "/metrics");
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let v =
        |series: &str| sample(&scrape, series).unwrap_or_else(|| panic!("{series} in\n{scrape}"));
    assert_eq!(v(r#"passo_executions_started_total{type="STANDARD"}"#), 2.0);
    assert_eq!(v(r#"passo_executions_started_total{type="EXPRESS"}"#), 1.0);
    assert_eq!(
        v(r#"passo_executions_finished_total{type="STANDARD",status="FAILED"}"#),
        2.0
    );
    assert_eq!(
        v(r#"passo_executions_finished_total{type="EXPRESS",status="FAILED"}"#),
        1.0
    );
    // Three states entered by each Standard execution, in its start step.
    assert_eq!(v("passo_state_transitions_total"), 6.0);
    assert_eq!(v("passo_steps_committed_total"), 2.0);
    assert_eq!(v("passo_stranded_found"), 0.0);
    assert!(
        scrape.contains("# TYPE passo_task_seconds histogram"),
        "{scrape}"
    );
    assert!(scrape.trim_end().ends_with("# EOF"), "{scrape}");
}
