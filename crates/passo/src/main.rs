//! `passo`: run, validate and (later) serve AWS Step Functions state machines.

/// Prints a line to stdout, ignoring a closed pipe (`passo run ... | head` must not panic).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

mod bench;
mod bench_aws;
mod bench_cluster;
mod bench_history;
mod bench_http;
mod bench_map;
mod bench_webhooks;
mod client;
mod events_cmd;
mod express;
mod function_cmd;
mod graph_cmd;
mod map_host;
mod migrate_cmd;
mod migrate_copy;
mod project;
mod run;
mod server;
mod sign;
mod test_cmd;
mod test_state_cmd;
mod validate;

use clap::{Parser, Subcommand};

// Executions allocate many small, short-lived values; mimalloc handles that pattern far
// better than the system allocator (measured with `passo bench`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "passo",
    version,
    about = "Run AWS Step Functions state machines (Amazon States Language) anywhere",
    long_about = "Passo runs AWS Step Functions state machines with AWS's semantics: on a laptop, in CI, on your servers.\n\nExamples:\n  passo run examples/hello.asl.json --input '{\"name\":\"Ada\"}'\n  passo run flow.asl.json --mock mocks.json --test-case HappyPath --json --history\n  passo validate flow.asl.json other.asl.yaml\n  passo graph flow.asl.json --format mermaid\n  passo test tests/flow.test.yaml --junit report.xml\n  passo test-state flow.asl.json --state Approve --mock-error Busy --retry-count 1"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one execution in-process and print its output.
    Run(run::Args),
    /// Print a definition's graph (as the web console draws it) as Mermaid, DOT or SVG.
    Graph(graph_cmd::Args),
    /// Check definitions and list every problem (exit 0 valid, 1 invalid, 2 unreadable).
    Validate(validate::Args),
    // Its help (about and long_about) is in server::Args: a doc comment here would replace
    // the long one.
    Server(server::Args),
    /// Run test files (cases with inputs, mocks and expected outcomes) and report; exit 1 on
    /// a failed case. `--junit FILE` writes a report for CI.
    Test(test_cmd::Args),
    /// Run one state on its own, as the TestState API does: each step of its input/output
    /// processing, its next state, and what Retry and Catch make of a failure.
    TestState(test_state_cmd::Args),
    /// Create, list, show and delete the functions of a running `passo server`.
    Function(function_cmd::Args),
    /// Put events on a running `passo server`'s event bus.
    Events(events_cmd::EventsArgs),
    /// List the event bus's rules with their patterns, schedules and targets.
    Rules(events_cmd::RulesArgs),
    /// List every schedule (rules and EventBridge Scheduler) with its last and next firing.
    Schedules(events_cmd::SchedulesArgs),
    /// Measure the interpreter on benchmark workloads (executions/s, transitions/s).
    Bench(bench::Args),
    // Its help (about and long_about) is in migrate_cmd::Args: a doc comment here would
    // replace the long one.
    Migrate(migrate_cmd::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(a) => run::main(a),
        Command::Graph(a) => graph_cmd::main(a),
        Command::Validate(a) => validate::main(a),
        Command::Bench(a) => bench::main(a),
        Command::Server(a) => server::main(a),
        Command::Test(a) => test_cmd::main(a),
        Command::TestState(a) => test_state_cmd::main(a),
        Command::Function(a) => function_cmd::main(a),
        Command::Events(a) => events_cmd::events_main(a),
        Command::Rules(a) => events_cmd::rules_main(a),
        Command::Schedules(a) => events_cmd::schedules_main(a),
        Command::Migrate(a) => migrate_cmd::main(a),
    }
}
