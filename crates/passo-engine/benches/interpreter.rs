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
    // The shared workloads, then Passo's own variants (bench/ at the workspace root).
    let dir = env!("CARGO_MANIFEST_DIR");
    let text = [
        format!("{dir}/../../../shared/bench/{file}"),
        format!("{dir}/../../bench/{file}"),
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok())?;
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

#[divan::bench(args = [
    "w1-pass-chain.asl.json",
    "w2-choice-loop.asl.json",
    "w3-map-1000.asl.json",
    "w4-parallel.asl.json",
    "w1-pass-chain-jsonata.asl.json",
    "w3-map-1000-jsonata.asl.json",
])]
fn workload(bencher: divan::Bencher, file: &str) {
    let Some(m) = machine(file) else {
        eprintln!("{file} not found in ../shared/bench or bench/; skipping");
        return;
    };
    bencher.bench_local(|| run(divan::black_box(&m)));
}
