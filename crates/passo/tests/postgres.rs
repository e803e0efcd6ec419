//! `passo server` choosing its database: PostgreSQL from passo.toml (executions land there
//! and a restarted server finds them), and clear refusals of a bad or unreachable one.
//! (The server's other process tests run on PostgreSQL with PASSO_TEST_ON_POSTGRES=1.)

mod support;

use passo_store::scratch::ScratchDatabase;
use passo_store::{Database, Db, DbOptions};
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

fn wait_status(s: &Server, arn: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = s.call("DescribeExecution", json!({"executionArn": arn}));
        if d["status"] == status {
            return;
        }
        assert!(Instant::now() < deadline, "{arn}: {d}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn passo_toml_selects_postgres_and_a_restart_finds_the_executions() {
    let Some(pg) = ScratchDatabase::for_test("passo_toml_selects_postgres") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("passo.toml");
    std::fs::write(&toml, format!("[server]\ndatabase = \"{}\"\n", pg.url())).unwrap();
    let data = dir.path().join("data");
    let toml_arg = toml.to_str().unwrap();
    let mut s = Server::start(&data, &["--project", toml_arg]);
    let sm = create(
        &s,
        "waits",
        "STANDARD",
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
            "P": {"Type": "Pass", "End": true}}}),
    );
    let arn = s.call(
        "StartExecution",
        json!({"stateMachineArn": sm, "name": "one", "input": "{}"}),
    )["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    s.kill();
    // Nothing went to the data directory's SQLite file: the execution is in PostgreSQL.
    assert!(!data.join("passo.db").exists());
    let db = Db::connect(&Database::Postgres(pg.url().into()), DbOptions::default()).unwrap();
    let row = db.execution(&arn).unwrap().expect("the execution's row");
    assert_eq!(row.status, "RUNNING");
    assert_eq!(db.timers_of(&arn).unwrap().len(), 1);
    db.close();
    // Restarted on the same database, the server carries the execution on.
    let s = Server::start(&data, &["--project", toml_arg]);
    wait_status(&s, &arn, "SUCCEEDED");
    let h = history(&s, &arn);
    assert_eq!(h.last().unwrap()["type"], "ExecutionSucceeded");
    check_history(&h).unwrap();
    // A database the server does not have: PostgreSQL's own words reach the user.
    let missing = format!("{}_missing", pg.url());
    let out = Command::new(env!("CARGO_BIN_EXE_passo"))
        .args(["server", "--listen", &free_addr(), "--data-dir"])
        .arg(&data)
        .args(["--database", &missing])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn a_bad_or_unreachable_database_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let run = |url: &str| {
        Command::new(env!("CARGO_BIN_EXE_passo"))
            .args(["server", "--listen", &free_addr(), "--data-dir"])
            .arg(dir.path())
            .args(["--database", url])
            .output()
            .unwrap()
    };
    let bad = run("mysql://127.0.0.1/db");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("postgres://HOST/DBNAME"));
    // Nothing listens on port 1: the server says so and stops (with the password hidden).
    let gone = run("postgres://u:secret@127.0.0.1:1/passo");
    assert_eq!(gone.status.code(), Some(1));
    let err = String::from_utf8_lossy(&gone.stderr);
    assert!(err.contains("cannot reach the database"), "{err}");
    assert!(
        err.contains("postgres://127.0.0.1:1/passo") && !err.contains("secret"),
        "{err}"
    );
}
