//! `passo server`: the AWS Step Functions API, durable on embedded SQLite or PostgreSQL.

use clap::Args as ClapArgs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(ClapArgs)]
#[command(
    about = "Serve the AWS Step Functions API (aws CLI, boto3 and the SDKs work with --endpoint-url)",
    long_about = "Serve the AWS Step Functions API over HTTP (AWS JSON 1.0 protocol).\n\n\
Standard executions are durable in an embedded SQLite database under --data-dir (or in \
PostgreSQL with --database postgres://...): kill the process at any moment and restart it, and \
every execution carries on. Express executions run \
in memory. Tasks that were in flight when the process died are invoked again (at-least-once).\n\n\
Several nodes may share one PostgreSQL database: each owns the executions it runs under a \
lease, and when one dies or loses the database for longer than --lease-ms the others take its \
executions over. Passo's own SQS queues and SNS topics are served by one node at a time; the \
others forward to it (at --node-url).\n\n\
Examples:\n  passo server\n  aws stepfunctions list-state-machines --endpoint-url http://127.0.0.1:8083\n  \
passo server --listen 0.0.0.0:8083 --access-key AKIDEXAMPLE:secret\n  \
passo server --database postgres://passo@db:5432/passo --node-id node-1"
)]
pub struct Args {
    /// Address to listen on (loopback by default; 0.0.0.0:8083 must be asked for).
    #[arg(long, default_value = "127.0.0.1:8083")]
    listen: SocketAddr,
    /// Directory for the embedded database and the task-token keys.
    #[arg(long, default_value = "./passo-data")]
    data_dir: PathBuf,
    /// Keep executions in PostgreSQL instead of the embedded SQLite database:
    /// postgres://USER@HOST:PORT/DBNAME (the schema is created or migrated at start), or
    /// sqlite:PATH. Also `[server] database = "..."` in passo.toml, or $PASSO_DATABASE.
    #[arg(long, value_name = "URL", env = "PASSO_DATABASE")]
    database: Option<String>,
    /// Account id in ARNs.
    #[arg(long, default_value = "123456789012")]
    account: String,
    /// Region in ARNs.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Days a finished execution is kept before it is removed.
    #[arg(long, default_value_t = 90)]
    retention_days: u32,
    /// Largest payload (bytes) a state may produce; AWS's 256 KiB by default, 0 = no limit.
    #[arg(long, default_value_t = 262_144)]
    payload_limit: usize,
    /// Largest API request body (bytes).
    #[arg(long, default_value_t = 1024 * 1024)]
    max_request_bytes: usize,
    /// Require requests signed (SigV4) with this access key, as ID:SECRET (repeatable).
    /// Without any, every signature is accepted, as local emulators do.
    #[arg(long, value_name = "ID:SECRET")]
    access_key: Vec<String>,
    /// Sync every commit to disk (survives power loss, not only a killed process; slower).
    #[arg(long)]
    fsync: bool,
    /// The project file declaring functions Task states call (default: ./passo.toml if any).
    #[arg(long, value_name = "FILE")]
    project: Option<PathBuf>,
    /// Where aws-sdk:s3 Tasks keep buckets, one folder each (default: passo.toml's
    /// [buckets], else <data-dir>/buckets).
    #[arg(long, value_name = "DIR")]
    buckets_dir: Option<PathBuf>,
    /// Mocked Task responses (AWS Step Functions Local's MockConfigFile), used by executions
    /// started with `stateMachineArn#TestCaseName`; also read from $SFN_MOCK_CONFIG.
    #[arg(long, value_name = "FILE", env = "SFN_MOCK_CONFIG")]
    mock: Option<PathBuf>,
    /// How often (seconds) the invariant sweeper checks that every running execution has
    /// something that can move it on (a task out, a timer, a child, a token awaited).
    #[arg(long, default_value_t = 10.0)]
    sweep_seconds: f64,
    /// Most asynchronous Express executions running at once; more StartExecution calls are
    /// refused with ThrottlingException until some end.
    #[arg(long, default_value_t = 10_000)]
    max_express: usize,
    /// A host name clients may reach the server by (repeatable). IP addresses and localhost
    /// are always accepted; any other name in a request's Host header is refused, so that a
    /// web page cannot reach the server through a name it rebinds to 127.0.0.1.
    #[arg(long, value_name = "NAME")]
    allowed_host: Vec<String>,
    /// Let the API create command functions (Passo.CreateFunction): whoever can call it can
    /// run commands as the server's user, so it needs --access-key. Also `[server]
    /// allow_function_api = true` in passo.toml.
    #[arg(long)]
    allow_function_api: bool,
    /// Listen on a non-loopback address without access keys: anyone who reaches the port
    /// can start executions and answer task tokens. Only behind something that
    /// authenticates (see SECURITY.md).
    #[arg(long)]
    insecure_no_auth: bool,
    /// Seconds a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    #[arg(long, default_value_t = 20)]
    header_timeout_seconds: u64,
    /// Seconds a client has to send a request's body.
    #[arg(long, default_value_t = 30)]
    body_timeout_seconds: u64,
    /// Connections open at once; more are answered ServiceUnavailable and closed (default:
    /// half the file descriptor limit, at most 4096).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Put a new task-token key first in --data-dir's key ring (token.keys) and exit. The
    /// old keys stay, so tokens already handed out keep working; a server started after
    /// this mints new tokens with the new key.
    #[arg(long)]
    rotate_token_key: bool,
    /// This node's name when several share one PostgreSQL database (each owns the
    /// executions it holds under a lease in that name). Default: made once and kept in
    /// --data-dir (node.id), so a restarted node finds its own leases again.
    #[arg(long, value_name = "NAME")]
    node_id: Option<String>,
    /// How long a node's leases last without renewal (PostgreSQL): when a node dies or is
    /// cut off from the database, the others take its executions over this long after.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    lease_ms: u64,
    /// The URL the other nodes reach this one at (PostgreSQL): one node at a time serves
    /// Passo's own SQS queues and SNS topics, and the others forward those requests to it.
    /// Default: http:// and --listen (127.0.0.1 when it listens on every address).
    #[arg(long, value_name = "URL")]
    node_url: Option<String>,
    /// Tests only: the scheduler's clock runs SCALE times faster from the real instant
    /// ANCHOR_MS (epoch ms) on, so a daily schedule fires every few seconds.
    #[arg(long, hide = true, value_name = "ANCHOR_MS:SCALE")]
    schedule_clock: Option<String>,
}

pub fn main(a: Args) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .try_init();
    if a.rotate_token_key {
        let rotated = std::fs::create_dir_all(&a.data_dir)
            .map_err(anyhow::Error::from)
            .and_then(|()| passo_server::token_keys::rotate(&a.data_dir));
        return match rotated {
            Ok(n) => {
                println!(
                    "{}: a new task-token key is first of {n}",
                    a.data_dir.join("token.keys").display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let mut keys = Vec::new();
    for k in &a.access_key {
        match k.split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() => {
                keys.push((id.to_string(), secret.to_string()))
            }
            _ => {
                eprintln!("error: --access-key must be ID:SECRET, got '{k}'");
                return ExitCode::from(2);
            }
        }
    }
    let mock_config = match &a.mock {
        None => None,
        Some(f) => match std::fs::read_to_string(f)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()))
        {
            Ok(v) => Some(std::sync::Arc::new(v)),
            Err(e) => {
                eprintln!("error: cannot read mock file {}: {e}", f.display());
                return ExitCode::from(2);
            }
        },
    };
    let mut project = match crate::project::load(a.project.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    crate::project::choose_buckets(&mut project, a.buckets_dir.clone(), &a.data_dir);
    let allow_function_api = a.allow_function_api || project.allow_function_api;
    let database = match a.database.as_deref().or(project.server_database.as_deref()) {
        None => None,
        Some(url) => match passo_store::Database::parse(url) {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("error: --database: {e}");
                return ExitCode::from(2);
            }
        },
    };
    if allow_function_api && keys.is_empty() {
        eprintln!("error: --allow-function-api lets API callers run commands as this user: it needs --access-key ID:SECRET, so that only signed requests can");
        return ExitCode::from(2);
    }
    if !a.listen.ip().is_loopback() && keys.is_empty() && !a.insecure_no_auth {
        eprintln!(
            "error: listening on {} without --access-key would let anyone who reaches it run workflows; add --access-key ID:SECRET, or --insecure-no-auth if something in front authenticates (see SECURITY.md)",
            a.listen
        );
        return ExitCode::from(2);
    }
    let schedule_clock = match a
        .schedule_clock
        .as_deref()
        .map(passo_server::schedules::clock::Clock::parse)
    {
        None => passo_server::schedules::clock::Clock::System,
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let cfg = passo_server::Config {
        schedule_clock,
        mock_config,
        realm: passo_server::arn::Realm {
            account: a.account,
            region: a.region,
        },
        payload_limit: a.payload_limit,
        retention_ms: i64::from(a.retention_days) * 24 * 3600 * 1000,
        max_request_bytes: a.max_request_bytes,
        access_keys: keys,
        sweep_every_ms: (a.sweep_seconds.max(0.1) * 1000.0) as u64,
        max_express_in_flight: a.max_express,
        allowed_hosts: a.allowed_host,
        allow_function_api,
        body_timeout_ms: a.body_timeout_seconds.max(1) * 1000,
        node_id: a.node_id.unwrap_or_default(),
        lease_ms: a.lease_ms.clamp(300, 3_600_000) as i64,
        node_url: a.node_url,
        ..Default::default()
    };
    let opts = passo_server::ServeOptions {
        listen: a.listen,
        data_dir: a.data_dir,
        database,
        fsync_full: a.fsync,
        project,
        limits: passo_server::api::listener::Limits {
            header_timeout: std::time::Duration::from_secs(a.header_timeout_seconds.max(1)),
            max_connections: a
                .max_connections
                .unwrap_or_else(passo_server::api::listener::default_max_connections),
        },
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(passo_server::serve(cfg, opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
