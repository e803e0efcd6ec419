//! The published state machines of `shared/conformance/wild` (174 definitions AWS accepted):
//! every one must validate, and every one must run to an end in process (every Task answered
//! `{}`, input `{}`, virtual time) without a panic or a hang. A failure is a fine outcome: the
//! empty input lacks the paths most workflows read.
//!
//! The corpus lives outside this repository; when it is missing the tests print a note and pass.

mod support;

use passo_engine::driver::{self, Invocation, RunOptions, TaskResult};
use passo_engine::{ExecutionInfo, Status};
use serde_json::json;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// The one definition that is invalid as published: `"QueryLanguage": "JSONata"` inside
/// `States` (see the corpus README).
const INVALID_AS_PUBLISHED: &str =
    "shared-fallback-state-jsonata__statemachine__statemachine.asl.json";

/// Virtual start time of every run (any fixed instant: runs must not depend on the clock).
const START_MS: i64 = 1_700_000_000_000;

/// Virtual time a run may cover: a year of Wait states and retries is more than any of them
/// needs, and a polling loop (Wait, check, Choice back to Wait) ends here or at AWS's 25,000
/// history events, whichever comes first.
const HORIZON_MS: i64 = 366 * 24 * 3600 * 1000;

/// Wall-clock time one run may take before it counts as a hang.
const HANG_AFTER: Duration = Duration::from_secs(60);

fn definitions() -> Option<Vec<PathBuf>> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/wild/definitions");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!(
            "note: {} is missing; wild definitions not checked",
            dir.display()
        );
        return None;
    };
    let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    Some(files)
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().to_string()
}

/// What `passo validate` reports for a file (empty: valid).
fn problems(text: &str) -> Vec<String> {
    let diags = match passo_asl::parse_text(text) {
        Ok(v) => passo_asl::validate(&v),
        Err(d) => vec![d],
    };
    diags.iter().map(|d| d.to_string()).collect()
}

#[test]
fn every_published_definition_is_accepted() {
    let Some(files) = definitions() else { return };
    let mut accepted = 0;
    let mut wrong = Vec::new();
    for f in &files {
        let name = file_name(f);
        let p = problems(&std::fs::read_to_string(f).unwrap());
        match (p.is_empty(), name == INVALID_AS_PUBLISHED) {
            (true, false) => accepted += 1,
            (false, true) => {}
            (true, true) => wrong.push(format!("{name}: accepted, but it is invalid")),
            (false, false) => wrong.push(format!("{name}: {}", p.join(" | "))),
        }
    }
    println!("Wild definitions: accepted {accepted}/{}", files.len());
    for w in &wrong {
        println!("    {w}");
    }
    assert!(files.len() >= 174, "the corpus has {} files", files.len());
    assert!(
        wrong.is_empty(),
        "{} definitions judged wrongly",
        wrong.len()
    );
}

/// How one run ended.
enum Ended {
    Finished {
        status: Status,
        error: Option<String>,
        cause: Option<String>,
    },
    Panicked(String),
}

/// Runs a definition with every Task answered `{}`, as `passo run --mock` would with a mock
/// of `{}` for each of its Task states.
fn run_with_empty_answers(text: &str, name: &str) -> Ended {
    let machine = match passo_asl::parse_str(text) {
        Ok(m) => Arc::new(m),
        Err(d) => panic!("{name} does not parse: {d:?}"),
    };
    let info = ExecutionInfo::local("wild", START_MS, 0x5eed);
    let opts = RunOptions {
        horizon_ms: Some(START_MS + HORIZON_MS),
        record_history: true,
        wait_until: None,
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        driver::run(machine, info, json!({}), &opts, &mut |_: &Invocation| {
            TaskResult::Success(json!({}))
        })
    }));
    match result {
        Ok(run) => Ended::Finished {
            status: run.outcome.status,
            error: run.outcome.error,
            cause: run.outcome.cause,
        },
        Err(p) => Ended::Panicked(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into()),
        ),
    }
}

#[test]
fn every_published_definition_runs_without_a_panic() {
    let Some(files) = definitions() else { return };
    let (mut succeeded, mut failed, mut ran) = (0, 0, 0);
    let mut wrong = Vec::new();
    let mut outcomes = Vec::new();
    for f in files
        .iter()
        .filter(|f| file_name(f) != INVALID_AS_PUBLISHED)
    {
        let name = file_name(f);
        let text = std::fs::read_to_string(f).unwrap();
        // Each run on its own thread, so a hang is seen (and reported) instead of waited for.
        let (tx, rx) = mpsc::channel();
        let thread_name = name.clone();
        std::thread::spawn(move || {
            let _ = tx.send(run_with_empty_answers(&text, &thread_name));
        });
        ran += 1;
        match rx.recv_timeout(HANG_AFTER) {
            Err(_) => wrong.push(format!("{name}: no end after {HANG_AFTER:?}")),
            Ok(Ended::Panicked(msg)) => wrong.push(format!("{name}: panicked: {msg}")),
            Ok(Ended::Finished {
                status,
                error,
                cause,
            }) => {
                let error = error.unwrap_or_default();
                let cause = cause.unwrap_or_default();
                match status {
                    Status::Succeeded => succeeded += 1,
                    Status::Failed | Status::TimedOut | Status::Aborted => failed += 1,
                    other => wrong.push(format!("{name}: ended {}", other.as_str())),
                }
                if cause.contains("not mocked") || cause.contains("No integration is configured") {
                    wrong.push(format!("{name}: a Task went unanswered: {error}: {cause}"));
                }
                if cause.contains("stalled") {
                    wrong.push(format!("{name}: {error}: {cause}"));
                }
                outcomes.push(format!("{name}: {} {error} {cause}", status.as_str()));
            }
        }
    }
    for o in &outcomes {
        println!("    {}", o.chars().take(240).collect::<String>());
    }
    println!(
        "Wild definitions: ran {}/{ran} without a panic ({succeeded} succeeded, {failed} failed)",
        succeeded + failed
    );
    for w in &wrong {
        println!("    wrong: {w}");
    }
    assert!(ran >= 173, "only {ran} definitions ran");
    assert!(wrong.is_empty(), "{} runs went wrong", wrong.len());
}

/// The same definitions through the server's CreateStateMachine (JSON only, as the API
/// takes; YAML files are sent as the JSON they hold), as a deployment would send them.
#[test]
fn every_published_definition_is_created_by_the_server() {
    let Some(files) = definitions() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = support::Server::start(dir.path(), &[]);
    let mut created = 0;
    let mut wrong = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let text = std::fs::read_to_string(f).unwrap();
        let value = passo_asl::parse_text(&text).expect("every file is JSON or YAML");
        let (status, v) = s.raw(
            "CreateStateMachine",
            &json!({"name": format!("wild-{i}"), "definition": value.to_string(),
                    "roleArn": "arn:aws:iam::123456789012:role/wild"})
            .to_string(),
            "",
        );
        let name = file_name(f);
        match (status == 200, name == INVALID_AS_PUBLISHED) {
            (true, false) => created += 1,
            (false, true) => {}
            (true, true) => wrong.push(format!("{name}: created, but it is invalid as published")),
            (false, false) => wrong.push(format!("{name}: {}", v["message"])),
        }
    }
    println!(
        "Wild definitions: CreateStateMachine accepted {created}/{}",
        files.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}
