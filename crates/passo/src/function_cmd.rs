//! `passo function`: create, list, show and delete the functions of a running `passo server`
//! (kept in its database, beside the ones its project file declares).

use serde_json::{json, Map, Value};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// The server.
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:8083",
        value_name = "URL"
    )]
    endpoint_url: String,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Create a function: a local command (the event on stdin, the result on stdout) or an
    /// HTTP endpoint (a POST of the event). Tasks reach it by its Lambda ARN or name.
    #[command(after_help = "Examples:\n  \
        passo function create check-name --command python3 functions/check_name.py --timeout-seconds 10\n  \
        passo function create score --url http://127.0.0.1:9000/score --concurrency 4")]
    Create {
        name: String,
        /// The command and its arguments: everything after --command, so give it last.
        #[arg(long, num_args = 1.., allow_hyphen_values = true, conflicts_with = "url", required_unless_present = "url")]
        command: Vec<String>,
        #[arg(long)]
        url: Option<String>,
        /// The process is killed (or the request dropped) after this long.
        #[arg(long, value_name = "SECONDS")]
        timeout_seconds: Option<u64>,
        /// At most this many calls at once; more wait their turn.
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        /// An environment variable for the command, NAME=VALUE (repeatable).
        #[arg(long, value_name = "NAME=VALUE")]
        env: Vec<String>,
        /// Where the command runs (default: the server's working directory).
        #[arg(long, value_name = "DIR")]
        cwd: Option<String>,
    },
    /// Show one function.
    Get { name: String },
    /// List every function (from the project file and created).
    List,
    /// Delete a created function.
    Delete { name: String },
}

pub fn main(args: Args) -> ExitCode {
    let (action, body) = match args.action {
        Action::Create {
            name,
            command,
            url,
            timeout_seconds,
            concurrency,
            env,
            cwd,
        } => {
            let mut m = Map::new();
            m.insert("name".into(), json!(name));
            if !command.is_empty() {
                m.insert("command".into(), json!(command));
            }
            if let Some(u) = url {
                m.insert("url".into(), json!(u));
            }
            if let Some(t) = timeout_seconds {
                m.insert("timeout_seconds".into(), json!(t));
            }
            if let Some(c) = concurrency {
                m.insert("concurrency".into(), json!(c));
            }
            let mut vars = Map::new();
            for kv in env {
                let Some((k, v)) = kv.split_once('=') else {
                    eprintln!("error: --env wants NAME=VALUE, got '{kv}'");
                    return ExitCode::from(2);
                };
                vars.insert(k.into(), json!(v));
            }
            if !vars.is_empty() {
                m.insert("env".into(), Value::Object(vars));
            }
            if let Some(c) = cwd {
                m.insert("cwd".into(), json!(c));
            }
            ("CreateFunction", Value::Object(m))
        }
        Action::Get { name } => ("GetFunction", json!({ "name": name })),
        Action::List => ("ListFunctions", json!({})),
        Action::Delete { name } => ("DeleteFunction", json!({ "name": name })),
    };
    let result = crate::client::Client::new(&args.endpoint_url)
        .and_then(|c| c.json(crate::client::PASSO, action, &body));
    match result {
        Ok(v) => {
            if v.as_object().is_some_and(|m| !m.is_empty()) {
                outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}
