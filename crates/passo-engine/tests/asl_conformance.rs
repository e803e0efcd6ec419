//! Runs the executions recorded against real AWS Step Functions
//! (../shared/conformance/asl) that need no external service and use JSONPath only, and
//! compares status, output, error, cause and, where recorded, the whole history.
//!
//! `PASSO_CASE=substring cargo test -p passo-engine --test asl_conformance -- --nocapture`
//! runs only matching cases and prints each difference.

#[path = "support/conformance.rs"]
mod conformance;

use conformance::{compare, corpus, info_for, input_of};
use passo_engine::driver::{self, RunOptions, TaskResult};
use serde_json::Value;
use std::sync::Arc;

const OUTCOME_FLOOR: f64 = 97.0;
const HISTORY_FLOOR: f64 = 90.0;

#[derive(Default)]
struct Tally {
    outcome_total: usize,
    outcome_pass: usize,
    history_total: usize,
    history_pass: usize,
    failures: Vec<String>,
}

#[test]
fn jsonpath_pure_cases() {
    run_language("JSONPath", (OUTCOME_FLOOR, HISTORY_FLOOR));
}

/// Issue 3's targets are 95% and 90%; these floors record where JSONata stands now.
#[test]
fn jsonata_pure_cases() {
    run_language("JSONata", (JSONATA_OUTCOME_FLOOR, JSONATA_HISTORY_FLOOR));
}

const JSONATA_OUTCOME_FLOOR: f64 = 95.0;
const JSONATA_HISTORY_FLOOR: f64 = 90.0;

fn run_language(language: &str, (outcome_floor, history_floor): (f64, f64)) {
    let Some(root) = corpus() else {
        eprintln!("conformance corpus not found; skipping");
        return;
    };
    let filter = std::env::var("PASSO_CASE").ok();
    let verbose = filter.is_some();
    let index: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("index.json")).unwrap()).unwrap();
    let mut t = Tally::default();
    for entry in &index {
        if entry["pure"] != true || entry["query_language"] != language {
            continue;
        }
        let id = entry["id"].as_str().unwrap();
        if filter.as_deref().is_some_and(|f| !id.contains(f)) {
            continue;
        }
        let case: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join(format!("cases/{id}.json"))).unwrap(),
        )
        .unwrap();
        let (outcome_ok, history_ok, why) = run_case(&case, verbose);
        t.outcome_total += 1;
        t.outcome_pass += outcome_ok as usize;
        if let Some(h) = history_ok {
            t.history_total += 1;
            t.history_pass += h as usize;
        }
        if !outcome_ok || history_ok == Some(false) {
            t.failures.push(format!("{id}: {why}"));
        }
    }
    let pct = |a: usize, b: usize| {
        if b == 0 {
            100.0
        } else {
            a as f64 * 100.0 / b as f64
        }
    };
    for f in &t.failures {
        println!("MISS {f}");
    }
    println!(
        "ASL conformance ({language}, pure): outcome {}/{} ({:.1}%), history {}/{} ({:.1}%)",
        t.outcome_pass,
        t.outcome_total,
        pct(t.outcome_pass, t.outcome_total),
        t.history_pass,
        t.history_total,
        pct(t.history_pass, t.history_total)
    );
    if filter.is_none() {
        // Floors that only move up; the targets are 95% (outcome) and 90% (history).
        assert!(
            pct(t.outcome_pass, t.outcome_total) >= outcome_floor,
            "outcome pass rate fell below the floor"
        );
        assert!(
            pct(t.history_pass, t.history_total) >= history_floor,
            "history pass rate fell below the floor"
        );
    }
}

fn run_case(case: &Value, verbose: bool) -> (bool, Option<bool>, String) {
    let machine = match passo_asl::parse(&case["definition"]) {
        Ok(m) => Arc::new(m),
        Err(d) => {
            return (
                false,
                case["expected_history"].as_array().map(|_| false),
                format!("definition rejected: {:?}", d.first()),
            )
        }
    };
    let info = info_for(case);
    // AWS had not finished RUNNING cases when it recorded them: stop at the first long wait.
    let opts = RunOptions {
        horizon_ms: (case["expected"]["status"] == "RUNNING")
            .then_some(info.start_time_ms + 60_000),
        ..RunOptions::default()
    };
    let run = driver::run(machine, info, input_of(case), &opts, &mut |inv| {
        TaskResult::Failure {
            error: "States.TaskFailed".into(),
            cause: Some(format!("no task in pure cases ({})", inv.resource)),
        }
    });
    compare(case, &run, verbose)
}
