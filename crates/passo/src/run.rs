//! `passo run`: one execution in-process, on virtual time unless `--real-time`.

use passo_engine::driver::{self, Invocation, RunOptions, TaskAction, TaskResult};
use passo_engine::mock::Mocks;
use passo_engine::{ExecutionInfo, Status};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// The state machine definition (JSON or YAML).
    definition: PathBuf,
    /// Execution input as JSON text (default `{}`).
    #[arg(long, conflicts_with = "input_file")]
    input: Option<String>,
    /// Read the execution input from a file.
    #[arg(long)]
    input_file: Option<PathBuf>,
    /// Print one JSON object: {"status", "output"} or {"status", "error", "cause"}.
    #[arg(long)]
    json: bool,
    /// Include the history (GetExecutionHistory's events) in the output.
    #[arg(long)]
    history: bool,
    /// Mocked Task responses (AWS Step Functions Local MockConfigFile format).
    #[arg(long, requires = "test_case")]
    mock: Option<PathBuf>,
    /// The test case of the mock file to use.
    #[arg(long, requires = "mock")]
    test_case: Option<String>,
    /// The state machine's name in the mock file (default: the only one).
    #[arg(long)]
    name: Option<String>,
    /// Really wait for Wait states, retries and timeouts instead of skipping virtual time.
    #[arg(long)]
    real_time: bool,
    /// Seed for retry jitter, States.UUID and States.MathRandom (default: fixed, so runs replay).
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,
    /// The project file declaring functions Task states call (default: ./passo.toml if any).
    #[arg(long, value_name = "FILE")]
    project: Option<PathBuf>,
}

fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

pub fn main(args: Args) -> ExitCode {
    let text = match std::fs::read_to_string(&args.definition) {
        Ok(t) => t,
        Err(e) => return usage_error(format!("cannot read {}: {e}", args.definition.display())),
    };
    let machine = match passo_asl::parse_str(&text) {
        Ok(m) => Arc::new(m),
        Err(diags) => {
            eprintln!(
                "error: InvalidDefinition: {} is not a valid state machine:",
                args.definition.display()
            );
            for d in &diags {
                let at = if d.location.is_empty() {
                    "/"
                } else {
                    d.location.as_str()
                };
                eprintln!("  {} at {}: {}", d.code.as_str(), at, d.message);
            }
            return ExitCode::from(2);
        }
    };
    let input_text = match (&args.input, &args.input_file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => return usage_error(format!("cannot read {}: {e}", f.display())),
        },
        (None, None) => "{}".to_string(),
    };
    let input: Value = match serde_json::from_str(&input_text) {
        Ok(v) => v,
        Err(e) => {
            return usage_error(format!(
                "InvalidExecutionInput: the input is not valid JSON: {e}"
            ))
        }
    };
    let mut mocks = match (&args.mock, &args.test_case) {
        (Some(file), Some(case)) => {
            let cfg = match std::fs::read_to_string(file)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()))
            {
                Ok(v) => v,
                Err(e) => {
                    return usage_error(format!("cannot read mock file {}: {e}", file.display()))
                }
            };
            match Mocks::from_config(&cfg, args.name.as_deref(), case) {
                Ok(m) => Some(m),
                Err(e) => return usage_error(e),
            }
        }
        _ => None,
    };
    let name = args
        .name
        .clone()
        .or_else(|| {
            args.definition.file_stem().map(|s| {
                s.to_string_lossy()
                    .split('.')
                    .next()
                    .unwrap_or("machine")
                    .to_string()
            })
        })
        .unwrap_or_else(|| "machine".into());
    let start = chrono::Utc::now().timestamp_millis();
    let info = ExecutionInfo::local(&name, start, args.seed);
    let project = match crate::project::load(args.project.as_deref()) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let site = passo_tasks::lambda::Site {
        region: "us-east-1".into(),
        account: "123456789012".into(),
        payload_limit: 262_144,
    };
    let integrations = passo_tasks::Integrations::new(project, site);
    let io = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage_error(e),
    };
    let execution_arn = info.execution_arn.clone();
    let mut tasks = |inv: &Invocation| -> TaskResult {
        if let Some(r) = mocks.as_mut().and_then(|m| m.answer(inv)) {
            return r;
        }
        let req = passo_tasks::TaskRequest {
            execution_arn: execution_arn.clone(),
            state_name: inv.state_name.clone(),
            resource: inv.resource.clone(),
            input: inv.input.clone(),
            attempt: inv.attempt,
            timeout_seconds: inv.timeout_seconds,
            heartbeat_seconds: None,
            token: inv.token.clone(),
        };
        match io.block_on(integrations.run(req)) {
            // A callback went out, but nothing can answer its token outside a server.
            Ok(out) if inv.resource.ends_with(".waitForTaskToken") => {
                eprintln!(
                    "note: Task state '{}' waits for a task token; callbacks need `passo server` (or a mock)",
                    inv.state_name
                );
                TaskResult::Script(vec![(0, TaskAction::Submitted(out))])
            }
            Ok(out) => TaskResult::Success(out),
            Err((error, cause))
                if cause
                    .as_deref()
                    .is_some_and(|c| c.starts_with("No integration is configured")) =>
            {
                TaskResult::Failure {
                    error,
                    cause: Some(format!(
                        "{} (Task state '{}'): declare a function in passo.toml, or give mocked responses with --mock FILE --test-case NAME",
                        cause.unwrap_or_default(),
                        inv.state_name
                    )),
                }
            }
            Err((error, cause)) => {
                if error == "Lambda.ResourceNotFoundException" {
                    eprintln!(
                        "note: Task state '{}' calls a function no project declares: add it to passo.toml, or give mocked responses with --mock FILE --test-case NAME",
                        inv.state_name
                    );
                }
                TaskResult::Failure { error, cause }
            }
        }
    };
    let mut opts = RunOptions::default();
    if args.real_time {
        opts.wait_until = Some(Box::new(|at: i64| {
            let now = chrono::Utc::now().timestamp_millis();
            if at > now {
                std::thread::sleep(std::time::Duration::from_millis((at - now) as u64));
            }
            chrono::Utc::now().timestamp_millis()
        }));
    }
    let run = driver::run(machine, info, input, &opts, &mut tasks);
    let o = &run.outcome;
    if args.json {
        let mut out = serde_json::Map::new();
        out.insert("status".into(), json!(o.status.as_str()));
        match o.status {
            Status::Succeeded => {
                out.insert("output".into(), o.output.clone().unwrap_or(Value::Null));
            }
            _ => {
                out.insert(
                    "error".into(),
                    o.error.clone().map(Value::String).unwrap_or(Value::Null),
                );
                out.insert(
                    "cause".into(),
                    o.cause.clone().map(Value::String).unwrap_or(Value::Null),
                );
            }
        }
        if args.history {
            out.insert(
                "history".into(),
                Value::Array(run.history.iter().map(|e| e.to_json()).collect()),
            );
        }
        outln!("{}", Value::Object(out));
    } else {
        if args.history {
            for e in &run.history {
                outln!("{}", e.to_json());
            }
        }
        match o.status {
            Status::Succeeded => outln!(
                "{}",
                serde_json::to_string_pretty(o.output.as_ref().unwrap_or(&Value::Null))
                    .unwrap_or_default()
            ),
            s => {
                eprintln!(
                    "execution {}: error {}",
                    s.as_str(),
                    o.error.as_deref().unwrap_or("-")
                );
                if let Some(c) = &o.cause {
                    eprintln!("cause: {c}");
                }
            }
        }
    }
    if o.status == Status::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
