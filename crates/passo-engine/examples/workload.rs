//! Runs one workload a fixed number of times with history recorded, for instruction counts
//! under callgrind (wall-clock benchmarks are noisy on a shared machine):
//! `valgrind --tool=callgrind target/release/examples/workload FILE.asl.json 200`.

use passo_engine::driver::{self, RunOptions, TaskResult};
use passo_engine::ExecutionInfo;
use serde_json::Value;
use std::process::ExitCode;
use std::sync::Arc;

// The same allocator as the `passo` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(file), count) = (args.next(), args.next()) else {
        eprintln!("usage: workload FILE.asl.json [COUNT]");
        return ExitCode::from(2);
    };
    let count: u64 = count.and_then(|c| c.parse().ok()).unwrap_or(100);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::from(2);
        }
    };
    let machine = match passo_asl::parse_str(&text) {
        Ok(m) => Arc::new(m),
        Err(d) => {
            eprintln!("{file}: invalid definition: {:?}", d.first());
            return ExitCode::from(2);
        }
    };
    let opts = RunOptions::default();
    let (mut transitions, mut events) = (0u64, 0usize);
    for run in 0..count {
        let info = ExecutionInfo::local("bench", 1_700_000_000_000, run);
        let r = driver::run(
            machine.clone(),
            info,
            Value::Object(Default::default()),
            &opts,
            &mut |_| TaskResult::Failure {
                error: "States.TaskFailed".into(),
                cause: None,
            },
        );
        transitions += r.transitions;
        events += r.history.len();
    }
    println!("{count} executions, {transitions} transitions, {events} history events");
    ExitCode::SUCCESS
}
