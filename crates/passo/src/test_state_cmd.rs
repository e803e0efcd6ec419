//! `passo test-state`: the TestState API on the command line, no server needed. One state
//! (a file holding a single state, or a whole machine with `--state NAME`) runs on its own
//! with an input, optionally a mocked result or error, and prints what each step of its
//! input/output processing produced, where it would go next, and what Retry and Catch would
//! do with a failure. A Task that is not mocked calls the project's functions for real.

use passo_engine::test_state::{
    self, Environment, InspectionLevel, MockError, MockInput, Request, StateConfiguration, Step,
};
use passo_engine::Failure;
use passo_tasks::TaskRequest;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
#[command(after_help = "Examples:\n  \
    passo test-state state.json --input '{\"a\": 1}'\n  \
    passo test-state flow.asl.json --state CheckName --input-file applicant.json\n  \
    passo test-state flow.asl.json --state Approve --mock-error Busy:'try later' --retry-count 2\n  \
    passo test-state map.json --mock-result '[1, 2, 3]' --map-failures 2 --json\n\n\
Exit status: 0 when the state succeeded, 1 when it failed, would be retried or was caught,\n\
2 when the request was refused (AWS's exception name and message are printed).")]
pub struct Args {
    /// A file holding one state, or a whole state machine (then give --state).
    definition: PathBuf,
    /// The state to test, by name, when the file holds a whole machine (nested Map and
    /// Parallel states are searched too).
    #[arg(long, value_name = "NAME")]
    state: Option<String>,
    /// The state's input (JSON); default {}.
    #[arg(long, value_name = "JSON", conflicts_with = "input_file")]
    input: Option<String>,
    /// Read the input from a file.
    #[arg(long, value_name = "FILE")]
    input_file: Option<PathBuf>,
    /// The Task's, Map's or Parallel's result, mocked (JSON): nothing is called.
    #[arg(long, value_name = "JSON", conflicts_with = "mock_error")]
    mock_result: Option<String>,
    /// The state fails with this error instead (`ERROR` or `ERROR:CAUSE`), then Retry and
    /// Catch decide.
    #[arg(long, value_name = "ERROR[:CAUSE]")]
    mock_error: Option<String>,
    /// How strictly a mocked result is checked against the service's response shape.
    #[arg(long, value_name = "MODE", value_parser = ["STRICT", "PRESENT", "NONE"])]
    field_validation: Option<String>,
    /// Retries already made (Retry's back-off and attempts left depend on it).
    #[arg(long, value_name = "N")]
    retry_count: Option<u64>,
    /// Failed iterations of a mocked Map, checked against its tolerated failure thresholds.
    #[arg(long, value_name = "N")]
    map_failures: Option<u64>,
    /// The context object (`$$`), JSON; default: one made up for an Express execution.
    #[arg(long, value_name = "JSON")]
    context: Option<String>,
    /// Variables visible to the state, a JSON object.
    #[arg(long, value_name = "JSON")]
    variables: Option<String>,
    /// INFO (outcome only), DEBUG or TRACE (every step).
    #[arg(long, default_value = "DEBUG", value_parser = ["INFO", "DEBUG", "TRACE"])]
    level: String,
    /// The project file whose functions answer Tasks that are not mocked (default:
    /// ./passo.toml if any).
    #[arg(long, value_name = "FILE")]
    project: Option<PathBuf>,
    /// Print the API's response (as `aws stepfunctions test-state` shows it).
    #[arg(long)]
    json: bool,
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn request(args: &Args) -> Result<Request, String> {
    let input = match (&args.input, &args.input_file) {
        (Some(i), _) => Some(i.clone()),
        (None, Some(f)) => Some(read(f)?),
        (None, None) => None,
    };
    let mock = if args.mock_result.is_some() || args.mock_error.is_some() {
        let field_validation_mode = args
            .field_validation
            .as_deref()
            .and_then(passo_engine::test_state_shapes::FieldValidationMode::parse)
            .unwrap_or_default();
        Some(MockInput {
            result: args.mock_result.clone(),
            error_output: args.mock_error.as_ref().map(|e| {
                let (error, cause) = match e.split_once(':') {
                    Some((e, c)) => (e.to_string(), Some(c.to_string())),
                    None => (e.clone(), None),
                };
                MockError {
                    error: Some(error),
                    cause,
                }
            }),
            field_validation_mode,
        })
    } else {
        None
    };
    Ok(Request {
        definition: read(&args.definition)?,
        // Local calls need no IAM role: one is made up so unmocked Tasks run.
        role_arn: Some("arn:aws:iam::123456789012:role/passo-local".into()),
        input,
        inspection_level: InspectionLevel::parse(&args.level).unwrap_or_default(),
        reveal_secrets: false,
        variables: args.variables.clone(),
        state_name: args.state.clone(),
        mock,
        context: args.context.clone(),
        config: StateConfiguration {
            retrier_retry_count: args.retry_count,
            map_iteration_failure_count: args.map_failures,
            ..StateConfiguration::default()
        },
    })
}

pub fn main(args: Args) -> ExitCode {
    let req = match request(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let env = Environment {
        now_ms: chrono::Utc::now().timestamp_millis(),
        seed: std::process::id() as u64 ^ chrono::Utc::now().timestamp_micros() as u64,
        region: "us-east-1".into(),
        account: "123456789012".into(),
    };
    let prepared = match test_state::prepare(&req, &env) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}: {e}", e.code());
            return ExitCode::from(2);
        }
    };
    let response = match prepared.run(None) {
        Step::Done(r) => r,
        Step::Invoke(inv) => {
            let outcome = match call(&args, inv) {
                Ok(o) => o,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            match prepared.run(Some(outcome)) {
                Step::Done(r) => r,
                Step::Invoke(_) => {
                    eprintln!("error: the state asked for a second call");
                    return ExitCode::from(2);
                }
            }
        }
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&response.to_api()).unwrap_or_default()
        );
    } else {
        print_report(&response);
    }
    match response.status {
        test_state::Status::Succeeded => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }
}

/// Runs the Task's real call with the project's integrations.
fn call(
    args: &Args,
    inv: passo_engine::driver::Invocation,
) -> Result<Result<Value, Failure>, String> {
    let project = crate::project::load(args.project.as_deref())?;
    let (integrations, io) = crate::project::local_integrations(project)?;
    let req = TaskRequest::from_invocation(inv);
    Ok(io
        .block_on(integrations.run(req))
        .map_err(|(error, cause)| Failure {
            error,
            cause,
            from_task: true,
        }))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The response for a person: the outcome, then each step's value in processing order.
fn print_report(r: &test_state::Response) {
    outln!("status: {}", r.status.as_str());
    if let Some(n) = &r.next_state {
        outln!("next state: {n}");
    }
    if let Some(e) = &r.error {
        outln!("error: {e}");
    }
    if let Some(c) = &r.cause {
        outln!("cause: {c}");
    }
    if let Some(i) = &r.inspection {
        let steps = [
            ("input", &i.input),
            ("after InputPath", &i.after_input_path),
            ("after Parameters", &i.after_parameters),
            ("after Arguments", &i.after_arguments),
            ("after ItemsPath", &i.after_items_path),
            ("result", &i.result),
            ("after ResultSelector", &i.after_result_selector),
            ("after ResultPath", &i.after_result_path),
            ("variables", &i.variables),
        ];
        for (name, v) in steps {
            if let Some(v) = v {
                outln!("{name}: {}", pretty(v));
            }
        }
        if let Some(n) = i.max_concurrency {
            outln!("MaxConcurrency: {n}");
        }
        if let Some(n) = i.tolerated_failure_count {
            outln!("ToleratedFailureCount: {n}");
        }
        if let Some(p) = i.tolerated_failure_percentage {
            outln!("ToleratedFailurePercentage: {p}");
        }
        if let Some(d) = &i.error_details {
            if let Some(r) = d.retry_index {
                match d.retry_backoff_interval_seconds {
                    Some(s) => outln!("Retry #{r} matched: retried after {s} s"),
                    None => outln!("Retry #{r} matched: no attempts left"),
                }
            }
            if let Some(c) = d.catch_index {
                outln!("Catch #{c} matched");
            }
        }
    }
    if let Some(o) = &r.output {
        outln!("output: {}", pretty(o));
    }
}
