//! The recorded AWS executions whose Distributed Map reads a bucket (ItemReader) or writes
//! one (ResultWriter), run end to end: the objects the recorder put (`setup_calls`) are put
//! in local buckets, the interpreter and the virtual-time driver run the case with Passo's
//! bucket host, and status, output, error, cause and history are compared with AWS's.
//!
//! `PASSO_CASE=substring cargo test -p passo-tasks --test map_run_cases -- --nocapture`
//! runs matching cases and prints each difference.

#[path = "../../passo-engine/tests/support/conformance.rs"]
mod conformance;

use conformance::{compare, corpus, info_for, input_of};
use passo_engine::driver::{self, ItemStream, MapRunHost, ResultSink, RunOptions, TaskResult};
use passo_engine::map_run::MapRunSpec;
use passo_engine::Failure;
use passo_tasks::s3::{Buckets, PutOptions};
use serde_json::Value;
use std::sync::Arc;

/// Floor of the pass rate (outcome and history together); it only moves up.
const FLOOR: f64 = 90.0;

struct Host {
    buckets: Buckets,
    io: tokio::runtime::Runtime,
}

impl MapRunHost for Host {
    fn open_items(&mut self, spec: &MapRunSpec) -> Result<ItemStream, Failure> {
        Ok(passo_tasks::map_items::open(
            &self.buckets,
            self.io.handle(),
            spec,
        )?)
    }

    fn open_results(&mut self, spec: &MapRunSpec) -> Result<Box<dyn ResultSink>, Failure> {
        passo_tasks::map_items::open_results(&self.buckets, self.io.handle(), spec)
    }
}

/// Puts the recorder's buckets and objects in `buckets`.
fn set_up(case: &Value, buckets: &Buckets, io: &tokio::runtime::Runtime) {
    for call in case["setup_calls"].as_array().into_iter().flatten() {
        let a = &call["args"];
        let bucket = a["Bucket"].as_str().unwrap_or_default();
        match call["op"].as_str() {
            Some("create_bucket") => io.block_on(buckets.create_bucket(bucket)).unwrap(),
            Some("put_object") => {
                let key = a["Key"].as_str().unwrap_or_default();
                let body = a["Body"].as_str().unwrap_or_default().as_bytes().to_vec();
                io.block_on(buckets.put(bucket, key, body, PutOptions::default()))
                    .unwrap();
            }
            other => panic!("setup call {other:?} is not known to this test"),
        }
    }
}

fn run_case(case: &Value, verbose: bool) -> (bool, Option<bool>, String) {
    let machine = match passo_asl::parse(&case["definition"]) {
        Ok(m) => Arc::new(m),
        Err(d) => return (false, None, format!("definition rejected: {:?}", d.first())),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut host = Host {
        buckets: Buckets::local(dir.path()),
        io: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    };
    set_up(case, &host.buckets, &host.io);
    let opts = RunOptions::default();
    let mut tasks = |inv: &driver::Invocation| TaskResult::Failure {
        error: "States.TaskFailed".into(),
        cause: Some(format!("no task in these cases ({})", inv.resource)),
    };
    let run = driver::run_hosted(
        machine,
        info_for(case),
        input_of(case),
        &opts,
        &mut tasks,
        &mut host,
    );
    compare(case, &run, verbose)
}

#[test]
fn recorded_bucket_map_runs() {
    let Some(root) = corpus() else {
        eprintln!("conformance corpus not found; skipping");
        return;
    };
    let filter = std::env::var("PASSO_CASE").ok();
    let mut paths: Vec<_> = std::fs::read_dir(root.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let (mut total, mut passed) = (0usize, 0usize);
    let mut misses = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains("\"ItemReader\"") && !text.contains("\"ResultWriter\"") {
            continue;
        }
        let case: Value = serde_json::from_str(&text).unwrap();
        let id = case["id"].as_str().unwrap_or_default().to_string();
        if filter.as_deref().is_some_and(|f| !id.contains(f)) {
            continue;
        }
        let (outcome, history, why) = run_case(&case, filter.is_some());
        total += 1;
        if outcome && history != Some(false) {
            passed += 1;
        } else {
            misses.push(format!("{id}: {why}"));
        }
    }
    for m in &misses {
        println!("MISS {m}");
    }
    let pct = passed as f64 * 100.0 / total.max(1) as f64;
    println!("Bucket Map Runs (ItemReader/ResultWriter): {passed}/{total} ({pct:.1}%)");
    if filter.is_none() {
        assert!(total >= 26, "expected the 26 recorded cases, found {total}");
        assert!(pct >= FLOOR, "pass rate fell below the floor");
    }
}
