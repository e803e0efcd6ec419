//! Drives the real `passo` binary: run (plain, JSON, history, mocks, errors) and validate.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn passo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passo"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("passo runs")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn runs_the_hello_world_example() {
    let o = passo(&[
        "run",
        "examples/hello-world.asl.json",
        "--input-file",
        "examples/hello-world.input.json",
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["output"]["greetings"][1]["greeting"], "Hello, Grace!");
    assert_eq!(v["output"]["closing"], "What a crowd!");
}

#[test]
fn history_has_aws_event_chain() {
    let o = passo(&[
        "run",
        "examples/hello-world.asl.json",
        "--input",
        r#"{"names":["a"]}"#,
        "--json",
        "--history",
    ]);
    let v = json(&o);
    let h = v["history"].as_array().unwrap();
    assert_eq!(h[0]["type"], "ExecutionStarted");
    assert_eq!(h.last().unwrap()["type"], "ExecutionSucceeded");
    for (i, e) in h.iter().enumerate() {
        assert_eq!(e["id"], i as u64 + 1);
        assert!(e["previousEventId"].as_u64().unwrap() <= i as u64);
    }
    assert!(h.iter().any(|e| e["type"] == "MapIterationStarted"));
    assert_eq!(v["output"]["closing"], "Nice and quiet.");
}

#[test]
fn mocks_drive_retry_and_catch() {
    let base = [
        "run",
        "examples/order-with-retry.asl.json",
        "--input-file",
        "examples/order.input.json",
        "--mock",
        "examples/order-with-retry.mocks.json",
        "--json",
        "--history",
        "--test-case",
    ];
    let mut a = base.to_vec();
    a.push("FlakyThenOk");
    let o = passo(&a);
    let v = json(&o);
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["output"]["charge"]["chargeId"], "ch_2");
    let fails = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "TaskFailed")
        .count();
    assert_eq!(fails, 2, "two failed attempts before the retry succeeds");
    let mut b = base.to_vec();
    b.push("Declined");
    let o = passo(&b);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["error"], "OrderDeclined");
}

#[test]
fn unmocked_task_fails_naming_the_function_and_the_state() {
    let o = passo(&["run", "examples/order-with-retry.asl.json", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    // As AWS answers a call to a function that does not exist.
    assert_eq!(v["error"], "Lambda.ResourceNotFoundException");
    assert!(v["cause"]
        .as_str()
        .unwrap()
        .contains("function:charge:$LATEST"));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("'ChargeCard'") && stderr.contains("passo.toml"),
        "{stderr}"
    );
}

#[test]
fn bad_input_and_definitions_exit_2() {
    let o = passo(&["run", "examples/hello-world.asl.json", "--input", "{nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("InvalidExecutionInput"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"},"B":{"Type":"Pass","End":true}}}"#).unwrap();
    let o = passo(&["run", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let o = passo(&["validate", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("MISSING_TRANSITION_TARGET") && out.contains("/States/A/Next"),
        "{out}"
    );
    let o = passo(&["validate", "no/such/file.json"]);
    assert_eq!(o.status.code(), Some(2));
    let o = passo(&[
        "validate",
        "examples/hello-world.asl.json",
        "examples/order-with-retry.asl.json",
    ]);
    assert_eq!(o.status.code(), Some(0));
}

/// `$$.Execution.Id` of a run of a one-state machine, with `extra` arguments.
fn execution_id(dir: &std::path::Path, extra: &[&str]) -> String {
    let f = dir.join("ids.asl.json");
    std::fs::write(&f, r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"id.$":"$$.Execution.Id"},"End":true}}}"#).unwrap();
    let mut args = vec!["run", f.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let o = passo(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    json(&o)["output"]["id"].as_str().unwrap().to_string()
}

#[test]
fn express_runs_have_an_express_execution_arn() {
    let dir = tempfile::tempdir().unwrap();
    let id = execution_id(dir.path(), &["--type", "EXPRESS"]);
    // arn:aws:states:REGION:ACCOUNT:express:MACHINE:NAME:UUID, as AWS names Express executions.
    let parts: Vec<&str> = id.split(':').collect();
    assert_eq!(parts.len(), 9, "{id}");
    assert_eq!(
        &parts[..6],
        [
            "arn",
            "aws",
            "states",
            "us-east-1",
            "123456789012",
            "express"
        ],
        "{id}"
    );
    assert_eq!(parts[6], "ids", "{id}");
    assert_eq!(parts[7], "ids-exec", "{id}");
    let uuid = parts[8];
    assert_eq!(uuid.len(), 36, "{id}");
    assert_eq!(uuid.matches('-').count(), 4, "{id}");
    // The id comes from the seed: the same seed, the same ARN; another seed, another id.
    assert_eq!(execution_id(dir.path(), &["--type", "express"]), id);
    assert_ne!(
        execution_id(dir.path(), &["--type", "EXPRESS", "--seed", "7"]),
        id
    );
    // Standard (the default) keeps the execution ARN.
    let standard = execution_id(dir.path(), &[]);
    assert_eq!(
        standard,
        "arn:aws:states:us-east-1:123456789012:execution:ids:ids-exec"
    );
    assert_eq!(execution_id(dir.path(), &["--type", "STANDARD"]), standard);
}

/// An Express execution runs at most AWS's five minutes: a Wait of ten minutes times out
/// (virtual time, so the test takes no time), where a Standard run waits it out.
#[test]
fn express_runs_time_out_after_five_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("long.asl.json");
    std::fs::write(
        &f,
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}"#,
    )
    .unwrap();
    let o = passo(&[
        "run",
        f.to_str().unwrap(),
        "--type",
        "EXPRESS",
        "--json",
        "--history",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["status"], "TIMED_OUT", "{v}");
    assert_eq!(v["error"], "States.Timeout", "{v}");
    let h = v["history"].as_array().unwrap();
    assert_eq!(h.last().unwrap()["type"], "ExecutionTimedOut", "{v}");
    let o = passo(&["run", f.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json(&o)["status"], "SUCCEEDED");
}

#[test]
fn express_runs_refuse_callbacks_naming_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("callback.asl.json");
    std::fs::write(&f, r#"{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","Parameters":{"QueueUrl":"q","MessageBody":{"t.$":"$$.Task.Token"}},"End":true}}}"#).unwrap();
    let o = passo(&["run", f.to_str().unwrap(), "--type", "EXPRESS"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not a valid EXPRESS state machine"), "{err}");
    assert!(
        err.contains("/States/Ask/Resource (state 'Ask'): Express state machine does not support '.waitForTaskToken' service integration"),
        "{err}"
    );
    // The same definition is a valid Standard machine: it runs, its callback mocked.
    let mock = dir.path().join("mock.json");
    std::fs::write(&mock, r#"{"StateMachines":{"callback":{"TestCases":{"T":{"Ask":"R"}}}},"MockedResponses":{"R":{"0":{"Return":{"ok":true}}}}}"#).unwrap();
    let o = passo(&[
        "run",
        f.to_str().unwrap(),
        "--mock",
        mock.to_str().unwrap(),
        "--test-case",
        "T",
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(json(&o)["output"]["ok"], true);
    let o = passo(&["run", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        help.contains("--type <TYPE>") && help.contains("EXPRESS"),
        "{help}"
    );
}

#[test]
fn the_project_file_can_declare_a_machine_express() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let project = p.join("passo.toml");
    std::fs::write(
        &project,
        "[state_machines.ids]\ndefinition = \"ids.asl.json\"\ntype = \"EXPRESS\"\n\
         [state_machines.kid]\ndefinition = \"kid.asl.json\"\ntype = \"EXPRESS\"\n",
    )
    .unwrap();
    let project_arg = ["--project", project.to_str().unwrap()];
    // The top-level definition is found by its file.
    let id = execution_id(p, &project_arg);
    assert!(id.contains(":express:ids:ids-exec:"), "{id}");
    // The flag still wins.
    let mut standard = project_arg.to_vec();
    standard.extend(["--type", "STANDARD"]);
    assert!(execution_id(p, &standard).ends_with(":execution:ids:ids-exec"));
    // A nested Express execution: its own $$.Execution.Id is an Express ARN, and the Express
    // rules apply to it (a callback inside it is refused).
    std::fs::write(
        p.join("kid.asl.json"),
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"id.$":"$$.Execution.Id"},"End":true}}}"#,
    )
    .unwrap();
    let parent = p.join("parent.asl.json");
    std::fs::write(
        &parent,
        r#"{"StartAt":"S","States":{"S":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
            "Parameters":{"StateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:kid","Name":"k1"},"End":true}}}"#,
    )
    .unwrap();
    let run_parent = || {
        let mut args = vec!["run", parent.to_str().unwrap(), "--json"];
        args.extend_from_slice(&project_arg);
        passo(&args)
    };
    let o = run_parent();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let kid_id = json(&o)["output"]["Output"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        kid_id.starts_with("arn:aws:states:us-east-1:123456789012:express:kid:k1:"),
        "{kid_id}"
    );
    std::fs::write(
        p.join("kid.asl.json"),
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","End":true}}}"#,
    )
    .unwrap();
    let o = run_parent();
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["error"], "StepFunctions.InvalidDefinitionException");
    assert!(
        v["cause"].as_str().unwrap().contains("waitForTaskToken"),
        "{v}"
    );
    // Only STANDARD and EXPRESS are types.
    std::fs::write(
        &project,
        "[state_machines.ids]\ndefinition = \"ids.asl.json\"\ntype = \"FAST\"\n",
    )
    .unwrap();
    let f = p.join("ids.asl.json");
    let o = passo(&[
        "run",
        f.to_str().unwrap(),
        "--project",
        project.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not STANDARD or EXPRESS"));
}

#[test]
fn yaml_definitions_run() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.asl.yaml");
    std::fs::write(
        &f,
        "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Result: {ok: true}\n    End: true\n",
    )
    .unwrap();
    let o = passo(&["run", f.to_str().unwrap(), "--json"]);
    assert_eq!(json(&o)["output"]["ok"], true);
}

#[test]
fn endless_loops_end_at_the_history_limit() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("loop.json");
    std::fs::write(&f, r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Choice","Choices":[{"Variable":"$.never","IsPresent":true,"Next":"Done"}],"Default":"A"},"Done":{"Type":"Succeed"}}}"#).unwrap();
    let o = passo(&["run", f.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["error"], "States.Runtime");
    assert!(v["cause"].as_str().unwrap().contains("25000"));
}

#[test]
fn hostile_definitions_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // Deep nesting, a huge number, and garbage: an error and exit 2, never a crash.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let huge = r#"{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":1e400,"End":true}}}"#;
    for (name, text) in [
        ("deep.json", deep.as_str()),
        ("huge.json", huge),
        ("garbage.json", "\u{0}\u{1}{{{"),
    ] {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let o = passo(&["run", f.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains("panicked"),
            "{name}"
        );
    }
}

/// The bank account example: functions from its passo.toml (local Python commands) reached
/// by bare Lambda ARN and by lambda:invoke, in a Parallel, with Retry and Catch.
fn bank_account(input: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passo"))
        .current_dir(root().join("examples/bank-account"))
        .args([
            "run",
            "account-application.asl.json",
            "--input",
            input,
            "--json",
            "--history",
        ])
        .output()
        .expect("passo runs")
}

#[test]
fn bank_account_example_approves_a_valid_application() {
    let o = bank_account(
        r#"{"name":"Jane Doe","address":{"street":"1 Main St","city":"Springfield","zip":"12345"},"flakyMarker":null}"#,
    );
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert_eq!(
        v["output"],
        serde_json::json!({"status": "APPROVED", "name": "Jane Doe"})
    );
    let kinds: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"LambdaFunctionSucceeded"),
        "bare ARN: {kinds:?}"
    );
    assert_eq!(kinds.iter().filter(|k| **k == "TaskSucceeded").count(), 2);
}

#[test]
fn bank_account_example_denies_on_a_custom_error() {
    let o = bank_account(
        r#"{"name":"Evil Corp","address":{"street":"1 Main St","city":"Springfield","zip":"12345"},"flakyMarker":null}"#,
    );
    let v = json(&o);
    assert_eq!(o.status.code(), Some(1), "{v}");
    assert_eq!(v["error"], "ApplicationDenied");
    // The Catch received the function's error object, as Lambda reports it.
    let cause: Value = serde_json::from_str(v["cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["errorType"], "ValidationError");
    assert_eq!(cause["errorMessage"], "'Evil Corp' may not open an account");
}

#[test]
fn bank_account_example_retries_a_busy_back_end() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("attempted");
    let input = serde_json::json!({
        "name": "Jane Doe",
        "address": {"street": "1 Main St", "city": "Springfield", "zip": "12345"},
        "flakyMarker": marker.to_str().unwrap()
    });
    let o = bank_account(&input.to_string());
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v}");
    let failed: Vec<&Value> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "TaskFailed")
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "one failed attempt, then the retry succeeded"
    );
    assert_eq!(
        failed[0]["taskFailedEventDetails"]["error"],
        "ServiceUnavailable"
    );
}

/// A nested execution in `passo run`: the project's state machine runs in process, and the
/// parent's `.sync:2` task gets its description; a child that waits makes the parent wait
/// (virtual time), and a machine the project does not declare fails as AWS says.
#[test]
fn nested_executions_run_the_projects_state_machines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("passo.toml"),
        "[state_machines.child]\ndefinition = \"child.asl.json\"\n",
    )
    .unwrap();
    std::fs::write(
        p.join("child.asl.json"),
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":30,"Next":"P"},
            "P":{"Type":"Pass","Parameters":{"doubled.$":"States.MathAdd($.n, $.n)"},"End":true}}}"#,
    )
    .unwrap();
    let parent = |suffix: &str, machine: &str| {
        format!(
            r#"{{"StartAt":"S","States":{{"S":{{"Type":"Task",
            "Resource":"arn:aws:states:::states:startExecution{suffix}",
            "Parameters":{{"StateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:{machine}",
              "Input":{{"n.$":"$.n"}},"Name":"kid"}},"End":true}}}}}}"#
        )
    };
    std::fs::write(p.join("sync2.asl.json"), parent(".sync:2", "child")).unwrap();
    std::fs::write(p.join("missing.asl.json"), parent("", "nobody")).unwrap();
    let project = p.join("passo.toml");
    let run = |file: &str| {
        passo(&[
            "run",
            p.join(file).to_str().unwrap(),
            "--project",
            project.to_str().unwrap(),
            "--input",
            r#"{"n": 21}"#,
            "--json",
            "--history",
        ])
    };
    let o = run("sync2.asl.json");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(v["output"]["Output"], serde_json::json!({"doubled": 42}));
    assert_eq!(v["output"]["Status"], "SUCCEEDED");
    assert!(v["output"]["ExecutionArn"]
        .as_str()
        .unwrap()
        .ends_with(":execution:child:kid"));
    let history = v["history"].as_array().unwrap();
    let at = |t: &str| {
        let e = history.iter().find(|e| e["type"] == t).unwrap();
        e["timestamp"].as_f64().unwrap()
    };
    // The child's Wait passed (on virtual time) between the submission and the end.
    assert_eq!((at("TaskSucceeded") - at("TaskSubmitted")).round(), 30.0);
    let o = run("missing.asl.json");
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(
        v["error"],
        "StepFunctions.StateMachineDoesNotExistException"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("[state_machines.nobody]"));
}

/// `passo test`: the bank-account example's test file passes (real functions and mocks);
/// a case that does not end as expected fails with a diff, exit 1, and a JUnit report.
#[test]
fn passo_test_reports_cases_with_diffs_and_junit() {
    let o = passo(&[
        "test",
        "examples/bank-account/account-application.test.yaml",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("3 passed, 0 failed"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    std::fs::write(
        &file,
        r#"
definition:
  StartAt: Greet
  States:
    Greet: {Type: Task, Resource: "arn:aws:lambda:us-east-1:1:function:greet", End: true}
cases:
  - name: right
    mocks: {Greet: {Return: {hello: Ada}}}
    expect: {output: {hello: Ada}, path: [Greet]}
  - name: wrong <output>
    mocks: {Greet: {Return: {hello: Bob}}}
    expect: {output: {hello: Ada}}
  - name: fails as expected
    mocks: {Greet: {Throw: {Error: Nope, Cause: why}}}
    expect: {error: Nope, cause: why}
"#,
    )
    .unwrap();
    let junit = dir.path().join("junit.xml");
    let o = passo(&[
        "test",
        file.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("2 passed, 1 failed"), "{out}");
    assert!(
        out.contains("-   \"hello\": \"Ada\"") && out.contains("+   \"hello\": \"Bob\""),
        "{out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(r#"tests="3" failures="1""#), "{xml}");
    assert!(xml.contains("name=\"wrong &lt;output&gt;\""), "{xml}");
    // A file that cannot be read is a usage error.
    let o = passo(&["test", dir.path().join("none.yaml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn test_state_runs_one_state_of_the_example() {
    let def = "examples/bank-account/account-application.asl.json";
    // The real function, through the project beside the example.
    let o = passo(&[
        "test-state",
        def,
        "--state",
        "CheckName",
        "--input",
        r#"{"name": "Jane Doe"}"#,
        "--project",
        "examples/bank-account/passo.toml",
        "--json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = json(&o);
    assert_eq!(r["status"], "SUCCEEDED");
    let out: Value = serde_json::from_str(r["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        out,
        serde_json::json!({"name": "Jane Doe", "checked": true})
    );
    // A mocked error the Retry matches, with one retry made: retried after 2 s.
    let o = passo(&[
        "test-state",
        def,
        "--state",
        "ApproveApplication",
        "--input-file",
        "examples/bank-account/applicant.input.json",
        "--mock-error",
        "ServiceUnavailable:busy",
        "--retry-count",
        "1",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let r = json(&o);
    assert_eq!(r["status"], "RETRIABLE");
    assert_eq!(r["cause"], "busy");
    assert_eq!(r["inspectionData"]["errorDetails"]["retryIndex"], 0);
    assert!(r["inspectionData"]["errorDetails"]["retryBackoffIntervalSeconds"].is_u64());
    // Refusals carry AWS's exception name, exit 2.
    let o = passo(&["test-state", def, "--state", "Nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("ValidationException: State not found in definition"));
}

#[test]
fn graph_prints_the_definition_as_mermaid_dot_and_svg() {
    let def = "examples/order-with-retry.asl.json";
    let m = passo(&["graph", def]);
    assert_eq!(
        m.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&m.stderr)
    );
    let m = String::from_utf8(m.stdout).unwrap();
    assert!(m.starts_with("flowchart TD\n"), "{m}");
    for line in [
        "n0[\"ChargeCard\"]",
        "n0 --> n1",
        "n0 -. \"CardDeclined\" .-> n2",
        "nstart --> n0",
    ] {
        assert!(m.contains(line), "no {line:?} in:\n{m}");
    }

    let d = passo(&["graph", def, "--format", "dot"]);
    assert_eq!(d.status.code(), Some(0));
    let d = String::from_utf8(d.stdout).unwrap();
    assert!(d.starts_with("digraph passo {"), "{d}");
    assert!(d.contains("\"0\" [label=\"ChargeCard\"];"), "{d}");
    assert!(
        d.contains("\"0\" -> \"2\" [label=\"CardDeclined\", style=dashed"),
        "{d}"
    );

    let s = passo(&["graph", def, "--format", "svg"]);
    assert_eq!(s.status.code(), Some(0));
    let s = String::from_utf8(s.stdout).unwrap();
    assert!(
        s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{s}"
    );
    assert!(s.contains("<style>"), "a standalone SVG carries its style");
    for name in ["ChargeCard", "Ship", "Declined"] {
        assert!(s.contains(&format!("data-name=\"{name}\"")), "{name}");
    }
}

#[test]
fn graph_refuses_an_invalid_definition_and_a_missing_file() {
    let dir = std::env::temp_dir().join(format!("passo-graph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"StartAt": "Nowhere", "States": {"A": {"Type": "Succeed"}}}"#,
    )
    .unwrap();
    let o = passo(&["graph", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Nowhere"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = passo(&["graph", dir.join("absent.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
