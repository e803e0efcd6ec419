//! The interpreter on the workloads of ../shared/bench (W1-W4), history recorded as a
//! Standard execution would. `cargo bench -p passo-engine`; divan reports time per execution
//! (divide the transitions per execution, 10/202/1002/13, by it for transitions/s).

use passo_engine::driver::{self, RunOptions, TaskResult};
use passo_engine::ExecutionInfo;
use serde_json::Value;
use std::sync::Arc;

// The same allocator as the `passo` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

fn machine(file: &str) -> Option<Arc<passo_asl::StateMachine>> {
    let path = format!(
        "{}/../../../shared/bench/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).ok()?;
    Some(Arc::new(
        passo_asl::parse_str(&text).expect("benchmark definitions are valid"),
    ))
}

fn run(m: &Arc<passo_asl::StateMachine>) -> u64 {
    let info = ExecutionInfo::local("bench", 1_700_000_000_000, 1);
    let r = driver::run(
        m.clone(),
        info,
        Value::Object(Default::default()),
        &RunOptions::default(),
        &mut |_| TaskResult::Failure {
            error: "States.TaskFailed".into(),
            cause: None,
        },
    );
    r.transitions
}

#[divan::bench(args = ["w1-pass-chain.asl.json", "w2-choice-loop.asl.json", "w3-map-1000.asl.json", "w4-parallel.asl.json"])]
fn workload(bencher: divan::Bencher, file: &str) {
    let Some(m) = machine(file) else {
        eprintln!("../shared/bench/{file} not found; skipping");
        return;
    };
    bencher.bench_local(|| run(divan::black_box(&m)));
}
