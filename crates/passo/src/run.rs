//! `passo run`: one execution in-process, on virtual time unless `--real-time`.

use crate::express::{make_express, RunType};
use passo_engine::driver::{self, Invocation, RunOptions, TaskAction, TaskResult};
use passo_engine::mock::Mocks;
use passo_engine::{ExecutionInfo, Status};
use passo_tasks::nested;
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
    /// Where aws-sdk:s3 Tasks keep buckets, one folder each (default: passo.toml's
    /// [buckets], else ./passo-data/buckets, where `passo server` keeps them by default).
    #[arg(long, value_name = "DIR")]
    buckets_dir: Option<PathBuf>,
    /// The state machine's type. EXPRESS validates with CreateStateMachine's Express rules
    /// (no `.sync`, no `.waitForTaskToken`, no activities) and gives the execution an Express
    /// ARN (arn:aws:states:REGION:ACCOUNT:express:MACHINE:NAME:ID, seen in $$.Execution.Id).
    /// [default: the type passo.toml declares for this definition, else STANDARD]
    #[arg(long = "type", value_name = "TYPE", value_enum, ignore_case = true)]
    machine_type: Option<RunType>,
}

/// The state a diagnostic's location is in (`/States/A/Branches/0/States/B/Resource`: B).
pub fn state_of(location: &str) -> Option<&str> {
    let (_, rest) = location.rsplit_once("/States/")?;
    rest.split('/').next().filter(|n| !n.is_empty())
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
    let mut project = match crate::project::load(args.project.as_deref()) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    crate::project::choose_buckets(
        &mut project,
        args.buckets_dir.clone(),
        std::path::Path::new("passo-data"),
    );
    let run_type = args
        .machine_type
        .unwrap_or_else(|| RunType::declared_for(&project, &args.definition));
    let machine_type = run_type.machine_type();
    let parsed = passo_asl::parse_text(&text)
        .map_err(|d| vec![d])
        .and_then(|v| passo_asl::parse_for(&v, machine_type));
    let machine = match parsed {
        Ok(m) => Arc::new(m),
        Err(diags) => {
            let kind = match run_type {
                RunType::Standard => "",
                RunType::Express => "EXPRESS ",
            };
            eprintln!(
                "error: InvalidDefinition: {} is not a valid {kind}state machine:",
                args.definition.display()
            );
            for d in &diags {
                let at = if d.location.is_empty() {
                    "/"
                } else {
                    d.location.as_str()
                };
                let state = state_of(&d.location)
                    .map(|n| format!(" (state '{n}')"))
                    .unwrap_or_default();
                eprintln!(
                    "  {} at {at}{state}: {}",
                    d.code.as_str(),
                    d.message.trim_end()
                );
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
    let mocks = match (&args.mock, &args.test_case) {
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
    let mut info = ExecutionInfo::local(&name, start, args.seed);
    if run_type == RunType::Express {
        make_express(&mut info);
    }
    let (integrations, io) = match crate::project::local_integrations(project) {
        Ok(x) => x,
        Err(e) => return usage_error(e),
    };
    // SQS and SNS with no endpoint configured: Passo's own queues and topics, in the data
    // directory `passo server` uses by default (queue URLs name its default address).
    integrations.set_local(Arc::new(passo_server::local::OnDemand::new(
        std::path::Path::new("passo-data"),
        passo_server::arn::Realm {
            account: "123456789012".into(),
            region: "us-east-1".into(),
        },
        "http://127.0.0.1:8083",
    )));
    let mut local = LocalTasks::new(mocks, &integrations, &io, &info.execution_arn);
    let execution_arn = info.execution_arn.clone();
    let mut tasks = |inv: &Invocation| local.answer(inv, &execution_arn, 0);
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
    let mut host = crate::map_host::RunHost::new(&integrations, &io, args.json);
    let run = driver::run_hosted(machine, info, input, &opts, &mut tasks, &mut host);
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

/// How deep nested executions may go in one `passo run` (a machine starting itself ends here).
const MAX_DEPTH: usize = 16;

/// The account of an ARN (`arn:aws:states:REGION:ACCOUNT:...`).
fn site_account(arn: &str) -> String {
    arn.split(':').nth(4).unwrap_or("123456789012").to_string()
}

/// Answers Task invocations in process: mocks first (the top execution only), then nested
/// executions of the project's state machines, then the project's functions.
pub(crate) struct LocalTasks<'a> {
    pub mocks: Option<Mocks>,
    integrations: &'a passo_tasks::Integrations,
    io: &'a tokio::runtime::Runtime,
    project_machines: std::collections::BTreeMap<String, PathBuf>,
    /// The project's machines declared `type = "EXPRESS"`.
    express_machines: std::collections::BTreeSet<String>,
    account: String,
    /// A `passo test` case's routes, tried before the project's.
    pub routes: std::sync::Arc<passo_tasks::routes::Routes>,
}

impl<'a> LocalTasks<'a> {
    pub fn new(
        mocks: Option<Mocks>,
        integrations: &'a passo_tasks::Integrations,
        io: &'a tokio::runtime::Runtime,
        execution_arn: &str,
    ) -> LocalTasks<'a> {
        LocalTasks {
            mocks,
            integrations,
            io,
            project_machines: integrations.functions().project().state_machines.clone(),
            express_machines: integrations.functions().project().express_machines.clone(),
            account: site_account(execution_arn),
            routes: Default::default(),
        }
    }

    /// A `.sync` job, submitted: recorded as TaskSubmitted, then followed until it ends. The
    /// job's real duration becomes its virtual one; past the Task's TimeoutSeconds the job is
    /// stopped (the task has timed out by then).
    fn follow_job(&mut self, req: &passo_tasks::TaskRequest, submitted: Value) -> TaskResult {
        let stop = passo_tasks::CancellationToken::new();
        let timeout = req.timeout_seconds.map(std::time::Duration::from_secs);
        let begun = std::time::Instant::now();
        let routes = self.routes.clone();
        let result = self.io.block_on(passo_tasks::routes::scoped(routes, async {
            let follow = self.integrations.follow(req, &submitted, &stop);
            tokio::pin!(follow);
            let Some(t) = timeout else {
                return follow.await;
            };
            tokio::select! {
                r = &mut follow => r,
                _ = tokio::time::sleep(t) => {
                    stop.cancel();
                    follow.await
                }
            }
        }));
        let mut after = i64::try_from(begun.elapsed().as_millis()).unwrap_or(i64::MAX);
        if stop.is_cancelled() {
            // Strictly after the timeout, so the interpreter times the task out first.
            after = after.max(timeout.map_or(0, |t| t.as_millis() as i64) + 1);
        }
        let end = match result {
            Ok(output) => TaskAction::Succeeded(output),
            Err((error, cause)) => TaskAction::Failed { error, cause },
        };
        TaskResult::Script(vec![(0, TaskAction::Submitted(submitted)), (after, end)])
    }

    pub fn answer(&mut self, inv: &Invocation, execution_arn: &str, depth: usize) -> TaskResult {
        if depth == 0 {
            if let Some(r) = self.mocks.as_mut().and_then(|m| m.answer(inv)) {
                return r;
            }
        }
        if let Some(pattern) = nested::Pattern::of(&inv.resource) {
            return self.start_execution(inv, pattern, depth);
        }
        let req = passo_tasks::TaskRequest {
            execution_arn: execution_arn.to_string(),
            state_name: inv.state_name.clone(),
            resource: inv.resource.clone(),
            input: inv.input.clone(),
            attempt: inv.attempt,
            timeout_seconds: inv.timeout_seconds,
            heartbeat_seconds: None,
            token: inv.token.clone(),
        };
        let routed =
            passo_tasks::routes::scoped(self.routes.clone(), self.integrations.run(req.clone()));
        match self.io.block_on(routed) {
            Ok(submitted) if passo_tasks::follows_job(&inv.resource) => {
                self.follow_job(&req, submitted)
            }
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
    }

    /// A nested execution: the project's state machine of that name runs here, to its end,
    /// on virtual time; the parent's task hears of it as it would from the service.
    fn start_execution(
        &mut self,
        inv: &Invocation,
        pattern: nested::Pattern,
        depth: usize,
    ) -> TaskResult {
        let request_id = uuid::Uuid::new_v4().to_string();
        let fail = |(error, cause): (String, Option<String>)| TaskResult::Failure { error, cause };
        let call = match nested::start_call(&inv.input, &request_id) {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
        let parts: Vec<&str> = call.state_machine_arn.split(':').collect();
        let machine_name = parts.get(6).copied().unwrap_or_default().to_string();
        let Some(path) = self.project_machines.get(&machine_name).cloned() else {
            eprintln!(
                "note: Task state '{}' starts state machine '{machine_name}', which the project does not declare: add [state_machines.{machine_name}] definition = \"FILE\" to passo.toml",
                inv.state_name
            );
            return fail(nested::no_such_machine(
                &call.state_machine_arn,
                &request_id,
            ));
        };
        if depth >= MAX_DEPTH {
            return fail((
                "States.Runtime".into(),
                Some(format!(
                    "Nested executions go deeper than {MAX_DEPTH} levels"
                )),
            ));
        }
        let run_type = RunType::of_machine(&self.express_machines, &machine_name);
        let machine = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                passo_asl::parse_text(&t)
                    .map_err(|d| vec![d])
                    .and_then(|v| passo_asl::parse_for(&v, run_type.machine_type()))
                    .map_err(|d| passo_asl::invalid_definition_message(&d))
            }) {
            Ok(m) => Arc::new(m),
            Err(e) => {
                return fail((
                    "StepFunctions.InvalidDefinitionException".into(),
                    Some(format!("{}: {e}", path.display())),
                ))
            }
        };
        let name = call
            .name
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut info = ExecutionInfo::local(&machine_name, inv.now_ms, 0x5eed ^ depth as u64);
        let region = parts.get(3).copied().unwrap_or("us-east-1");
        info.state_machine_arn = format!(
            "arn:aws:states:{region}:{}:stateMachine:{machine_name}",
            self.account
        );
        info.state_machine_name = machine_name.clone();
        info.execution_name = name.clone();
        info.execution_arn = format!(
            "arn:aws:states:{region}:{}:execution:{machine_name}:{name}",
            self.account
        );
        if run_type == RunType::Express {
            make_express(&mut info);
        }
        let input: Value = serde_json::from_str(&call.input_text).unwrap_or(Value::Null);
        let child_arn = info.execution_arn.clone();
        let machine_arn = info.state_machine_arn.clone();
        let run = driver::run(
            machine,
            info,
            input,
            &RunOptions::default(),
            &mut |i: &Invocation| self.answer(i, &child_arn, depth + 1),
        );
        let end = nested::run_end(
            &child_arn,
            &machine_arn,
            &name,
            &call.input_text,
            inv.now_ms,
            &run,
        );
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let start = nested::start_response(&child_arn, inv.now_ms, &request_id, &date);
        nested::scripted(pattern, start, &end)
    }
}
