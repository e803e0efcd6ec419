//! `passo bench`: the interpreter on the workloads of ../shared/bench, in-process, one core,
//! recording history as a Standard execution would. Prints executions/s and state
//! transitions/s (states entered) per workload.

use passo_engine::driver::{self, RunOptions, TaskResult};
use passo_engine::{ExecutionInfo, Status};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// Workload definitions (default: the four ASL workloads in ../shared/bench).
    files: Vec<PathBuf>,
    /// Seconds to measure each workload for.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Skip recording history events (measures the interpreter alone).
    #[arg(long)]
    no_history: bool,
    /// Measure `passo server` through its HTTP API instead (W1: Express StartSyncExecution
    /// with the server's CPU per request, durable Standard StartExecution with the bytes it
    /// writes, nested executions, webhooks, executions parked in a Wait and a restart, then
    /// long histories).
    #[arg(long)]
    http: bool,
    /// Measure function calls instead: a Task's call of a local command function (`cat`,
    /// which returns its payload), through the same path `passo server` takes (process start,
    /// stdin/stdout, Lambda's result shape), `--connections` at once.
    #[arg(long)]
    functions: bool,
    /// With --http: concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// With --http: Standard executions to park in a one-hour Wait (0 skips it).
    #[arg(long, default_value_t = 100_000)]
    parked: usize,
    /// With --http: measure a server already running here (e.g. http://127.0.0.1:8083)
    /// instead of starting one.
    #[arg(long)]
    endpoint: Option<String>,
    /// With --http: run the servers on this PostgreSQL database, 1, 2, ... --nodes of
    /// them sharing it (durable Standard W1 to completion at each count, bytes per state
    /// transition, parked executions per GB), e.g.
    /// `passo bench --http --database postgres://127.0.0.1/test --nodes 3 --parked 10000`.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// With --http --database: the most nodes to measure.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// With --http --database: then add this many finished executions to the database
    /// (copies of one of the first round's, made by PostgreSQL itself) and run one node's
    /// round again, e.g. `--finished 10000000`: old executions must not slow new ones.
    #[arg(long, default_value_t = 0, value_name = "N")]
    finished: usize,
    /// Measure a Distributed Map instead: N rows of a CSV in a local bucket, each child a
    /// Pass state, MaxConcurrency 1,000, results written back (in process; with --http in
    /// `passo server` too).
    #[arg(long, value_name = "N")]
    map_rows: Option<usize>,
    /// Measure the aws-sdk integration layer instead: CPU per DynamoDB GetItem call against
    /// an in-process endpoint, beside a bare POST of the same bytes.
    #[arg(long)]
    aws: bool,
    /// With --map-rows: JSONL lines instead of CSV rows.
    #[arg(long)]
    jsonl: bool,
    /// With --map-rows --http: also run this many durable STANDARD children (0 skips).
    #[arg(long, default_value_t = 10_000)]
    standard_children: usize,
    /// Measure long histories alone: executions of ~20,000 events resumed after a restart
    /// (StopExecution's latency), and GetExecutionHistory in pages of 1,000 over 25,000
    /// events (SQLite, or `--database postgres://...`). `--http` measures them last.
    #[arg(long)]
    long_history: bool,
    /// With --long-history or --http: events of each long execution (about; 0 skips them
    /// in --http).
    #[arg(long, default_value_t = 20_000)]
    history_events: usize,
    /// With --long-history: long executions to resume.
    #[arg(long, default_value_t = 5)]
    resumes: usize,
}

/// The shared workloads (../shared/bench) and Passo's own variants (./bench, e.g. JSONata).
fn default_files() -> Vec<PathBuf> {
    let shared = ["../shared/bench", "../../shared/bench", "shared/bench"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_dir());
    let mut files: Vec<PathBuf> = shared
        .into_iter()
        .chain(Some(PathBuf::from("bench")).filter(|p| p.is_dir()))
        .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten())
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".asl.json"))
        .collect();
    files.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
    files
}

pub fn main(args: Args) -> ExitCode {
    if args.functions {
        return bench_functions(args.seconds, args.connections.min(64));
    }
    if let Some(rows) = args.map_rows {
        return crate::bench_map::main(crate::bench_map::MapArgs {
            rows,
            jsonl: args.jsonl,
            http: args.http,
            standard_children: args.standard_children,
        });
    }
    if args.aws {
        return crate::bench_aws::main(args.seconds);
    }
    if args.long_history {
        return crate::bench_history::main(crate::bench_history::HistoryArgs {
            database: args.database,
            events: args.history_events,
            executions: args.resumes.max(1),
        });
    }
    if args.http {
        let w1 = args.files.first().cloned().or_else(|| {
            default_files()
                .into_iter()
                .find(|p| p.to_string_lossy().contains("w1-pass-chain"))
        });
        let Some(w1) = w1 else {
            eprintln!("error: W1 not found (../shared/bench/w1-pass-chain.asl.json); pass it");
            return ExitCode::from(2);
        };
        let measured_here = args.endpoint.is_none();
        let code = match args.database.clone() {
            Some(database) => crate::bench_cluster::main(crate::bench_cluster::ClusterArgs {
                database,
                nodes: args.nodes.max(1),
                connections: args.connections,
                seconds: args.seconds,
                parked: args.parked,
                finished: args.finished,
                w1,
            }),
            None => crate::bench_http::main(crate::bench_http::HttpArgs {
                connections: args.connections,
                seconds: args.seconds,
                parked: args.parked,
                endpoint: args.endpoint,
                w1,
            }),
        };
        // Then the long histories, so that one run prints every server figure (a server
        // at --endpoint is not restarted, so it has no resume to measure).
        if code != ExitCode::SUCCESS || !measured_here || args.history_events == 0 {
            return code;
        }
        outln!();
        return crate::bench_history::main(crate::bench_history::HistoryArgs {
            database: args.database,
            events: args.history_events,
            executions: args.resumes.max(1),
        });
    }
    let files = if args.files.is_empty() {
        default_files()
    } else {
        args.files.clone()
    };
    if files.is_empty() {
        eprintln!("error: no workloads found (looked for ../shared/bench/*.asl.json); pass definition files");
        return ExitCode::from(2);
    }
    outln!(
        "{:<32} {:>12} {:>14} {:>16} {:>12}",
        "workload",
        "executions",
        "exec/s",
        "transitions/s",
        "us/exec"
    );
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                return ExitCode::from(2);
            }
        };
        let machine = match passo_asl::parse_str(&text) {
            Ok(m) => Arc::new(m),
            Err(d) => {
                eprintln!("{}: invalid definition: {:?}", file.display(), d.first());
                return ExitCode::from(2);
            }
        };
        let opts = RunOptions {
            record_history: !args.no_history,
            ..RunOptions::default()
        };
        let input = Value::Object(Default::default());
        let budget = Duration::from_secs_f64(args.seconds);
        let start = Instant::now();
        let mut runs = 0u64;
        let mut transitions = 0u64;
        let mut history_events = 0usize;
        while start.elapsed() < budget {
            let info = ExecutionInfo::local("bench", 1_700_000_000_000, runs);
            // Task workloads (bench/t1-*) call a function that returns its payload, answered
            // in process: what is measured is the interpreter's task path.
            let r = driver::run(machine.clone(), info, input.clone(), &opts, &mut |inv| {
                TaskResult::Success(serde_json::json!({
                    "StatusCode": 200,
                    "Payload": inv.input.get("Payload").cloned().unwrap_or(Value::Null),
                }))
            });
            if r.outcome.status != Status::Succeeded {
                eprintln!(
                    "{}: execution did not succeed: {:?}",
                    file.display(),
                    r.outcome
                );
                return ExitCode::from(1);
            }
            transitions += r.transitions;
            history_events += r.history.len();
            runs += 1;
        }
        let secs = start.elapsed().as_secs_f64();
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        outln!(
            "{:<32} {:>12} {:>14.0} {:>16.0} {:>12.1}",
            name,
            runs,
            runs as f64 / secs,
            transitions as f64 / secs,
            secs * 1e6 / runs as f64
        );
        let _ = history_events;
    }
    ExitCode::SUCCESS
}

/// Calls per second of a local command function (`cat`) and of an HTTP endpoint function
/// (an echo server in this process), `concurrency` at once, through the path `passo server`
/// and `passo run` take.
fn bench_functions(seconds: f64, concurrency: usize) -> ExitCode {
    let io = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // The HTTP endpoint answers with the payload it was sent, as `cat` does.
    let listener = match io.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen for the echo endpoint: {e}");
            return ExitCode::from(2);
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let app = axum::Router::new().route("/", axum::routing::post(|body: String| async { body }));
    io.spawn(async move { axum::serve(listener, app).await });
    let cases = [
        (
            "local command function (cat)",
            "[functions.echo]\ncommand = [\"cat\"]\ntimeout_seconds = 10\n".to_string(),
        ),
        (
            "HTTP endpoint function (echo server in process)",
            format!("[functions.echo]\nurl = \"http://127.0.0.1:{port}/\"\ntimeout_seconds = 10\n"),
        ),
    ];
    for (what, toml) in cases {
        match call_rate(&toml, seconds, concurrency) {
            Ok((calls, secs)) => outln!(
                "{what}, {concurrency} at once: {calls} calls, {:.0} calls/s, {:.2} ms per call",
                calls as f64 / secs,
                secs * 1000.0 * concurrency as f64 / calls.max(1) as f64
            ),
            Err(e) => {
                eprintln!("error: {what}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    drop(io);
    ExitCode::SUCCESS
}

/// Calls the function `echo` of the project `toml` for `seconds`, `concurrency` at once:
/// (calls, seconds taken).
fn call_rate(toml: &str, seconds: f64, concurrency: usize) -> Result<(u64, f64), String> {
    let project =
        passo_tasks::Project::parse(toml, std::path::Path::new(".")).map_err(|e| e.to_string())?;
    let (integrations, io) =
        crate::project::local_integrations(project).map_err(|e| e.to_string())?;
    let integrations = Arc::new(integrations);
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let calls = io.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency.max(1) {
            let integrations = integrations.clone();
            tasks.spawn(async move {
                let mut n = 0u64;
                while start.elapsed() < budget {
                    let req = passo_tasks::TaskRequest {
                        execution_arn: String::new(),
                        state_name: "Echo".into(),
                        resource: "arn:aws:lambda:us-east-1:123456789012:function:echo".into(),
                        input: serde_json::json!({"order": n, "items": [1, 2, 3]}),
                        attempt: 0,
                        timeout_seconds: None,
                        heartbeat_seconds: None,
                        token: None,
                    };
                    if let Err(e) = integrations.run(req).await {
                        return Err(format!("{e:?}"));
                    }
                    n += 1;
                }
                Ok(n)
            });
        }
        let mut total = 0u64;
        while let Some(r) = tasks.join_next().await {
            total += r.map_err(|e| e.to_string())??;
        }
        Ok::<u64, String>(total)
    })?;
    Ok((calls, start.elapsed().as_secs_f64()))
}
