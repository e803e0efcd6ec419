//! Task tokens through the real server: single use, bound to one execution instance (a
//! later execution of the same name does not accept them), unforgeable, and still valid
//! after the token key is rotated.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use support::{create, Server};

const NAME: &str = "reused-name";

/// An activity, a machine whose one Task waits on it, and the machine's ARN.
fn setup(s: &Server) -> (String, String) {
    let activity = s.call("CreateActivity", json!({"name": "work"}))["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    let def = json!({"StartAt": "A", "States": {"A": {
        "Type": "Task", "Resource": activity, "End": true}}});
    (activity.clone(), create(s, "tokens", "STANDARD", def))
}

/// Starts execution `name` and takes its task's token as a worker would.
fn start_and_take(s: &Server, machine: &str, activity: &str, name: &str) -> (String, String) {
    let arn = s.call(
        "StartExecution",
        json!({"stateMachineArn": machine, "name": name, "input": "{}"}),
    )["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let t = s.call(
        "GetActivityTask",
        json!({"activityArn": activity, "workerName": "w"}),
    );
    let token = t["taskToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no task for {name}: {t}"))
        .to_string();
    (arn, token)
}

fn succeed(s: &Server, token: &str) -> (u16, Value) {
    s.raw(
        "SendTaskSuccess",
        &json!({"taskToken": token, "output": "{\"ok\":true}"}).to_string(),
        "",
    )
}

fn code(r: &(u16, Value)) -> (u16, Option<&str>) {
    (r.0, r.1["__type"].as_str())
}

#[test]
fn a_token_answers_once_and_only_its_own_execution() {
    let d1 = tempfile::tempdir().unwrap();
    let s = Server::start(d1.path(), &[]);
    let (activity, machine) = setup(&s);
    let (_, token) = start_and_take(&s, &machine, &activity, NAME);
    assert_eq!(code(&succeed(&s, &token)), (200, None));
    // Used: its task has ended.
    assert_eq!(code(&succeed(&s, &token)), (400, Some("TaskTimedOut")));
    drop(s);

    // The first execution purged and its name taken again: the same ARN, the same task id,
    // the same key (the ring copied over), but another instance with its own seed.
    let d2 = tempfile::tempdir().unwrap();
    std::fs::copy(d1.path().join("token.keys"), d2.path().join("token.keys")).unwrap();
    let s = Server::start(d2.path(), &[]);
    let (_, machine2) = setup(&s);
    assert_eq!(machine2, machine);
    let (arn, new_token) = start_and_take(&s, &machine, &activity, NAME);
    assert_ne!(new_token, token);
    assert_eq!(
        code(&succeed(&s, &token)),
        (400, Some("TaskDoesNotExist")),
        "the first execution's token must not answer the second's task"
    );
    let running = s.call("DescribeExecution", json!({"executionArn": arn}));
    assert_eq!(running["status"], "RUNNING");

    // A token with its nonce altered (to pass for the new instance's) is not one we minted.
    let mut forged: Vec<char> = token.chars().collect();
    forged[16] = if forged[16] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    assert_eq!(code(&succeed(&s, &forged)), (400, Some("InvalidToken")));

    assert_eq!(code(&succeed(&s, &new_token)), (200, None));
    let done = s.call("DescribeExecution", json!({"executionArn": arn}));
    assert_eq!(done["status"], "SUCCEEDED");
}

fn key_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("token.keys"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count()
}

#[test]
fn tokens_in_flight_survive_a_key_rotation() {
    let d = tempfile::tempdir().unwrap();
    let mut s = Server::start(d.path(), &[]);
    let (activity, machine) = setup(&s);
    let (arn, token) = start_and_take(&s, &machine, &activity, "in-flight");
    s.kill();
    assert_eq!(key_lines(d.path()), 1);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_passo"))
        .args(["server", "--rotate-token-key", "--data-dir"])
        .arg(d.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(key_lines(d.path()), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path().join("token.keys"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "whoever reads the ring can mint tokens"
        );
    }

    let s = Server::start(d.path(), &[]);
    // Minted under the old key before the rotation: still accepted.
    assert_eq!(code(&succeed(&s, &token)), (200, None));
    let done = s.call("DescribeExecution", json!({"executionArn": arn}));
    assert_eq!(done["status"], "SUCCEEDED");
    // New tokens come from the new key, and work too.
    let (_, fresh) = start_and_take(&s, &machine, &activity, "after");
    assert_eq!(code(&succeed(&s, &fresh)), (200, None));
}
