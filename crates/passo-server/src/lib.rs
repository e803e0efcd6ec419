//! `passo server`: the AWS Step Functions API over Passo's interpreter.
//!
//! - [`runtime`] drives Standard executions durably over [`passo_store`]; [`timers`] fires
//!   their timers; [`express`] runs Express executions in memory.
//! - [`api`] speaks the AWS JSON 1.0 protocol; [`catalog`] holds machines, versions and
//!   aliases; [`arn`] and [`error`] give AWS's ARNs, name rules and errors; [`sigv4`] checks
//!   signatures when access keys are configured.

pub mod activities;
pub mod api;
pub mod arn;
pub mod bus;
pub mod catalog;
mod codec;
pub mod console;
pub mod error;
pub mod express;
pub mod express_recent;
pub mod local;
pub mod map_runs;
pub mod nested;
pub mod ops;
mod private;
pub mod queues;
pub mod runtime;
pub mod schedules;
pub mod sigv4;
pub mod tasks;
pub mod timers;
pub mod token_keys;
pub mod topics;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub realm: arn::Realm,
    /// Largest payload a state may produce (AWS: 256 KiB); 0 disables the check.
    pub payload_limit: usize,
    /// How long finished executions are kept (AWS: 90 days).
    pub retention_ms: i64,
    /// Largest request body accepted (AWS: 1 MiB).
    pub max_request_bytes: usize,
    /// (access key id, secret); when empty, any signature is accepted.
    pub access_keys: Vec<(String, String)>,
    /// Sign task tokens (newest first); kept in the data directory so tokens outlive a
    /// restart, and a ring so a key can be rotated with tokens in flight.
    pub token_keys: passo_engine::token::KeyRing,
    /// Step Functions Local's MockConfigFile: executions started with
    /// `stateMachineArn#TestCase` take their Task results from its test case.
    pub mock_config: Option<Arc<serde_json::Value>>,
    /// How often the invariant sweeper looks for executions nothing can move on.
    pub sweep_every_ms: u64,
    /// Most asynchronous Express executions running at once; more are refused with
    /// ThrottlingException (each holds its state in memory until it ends).
    pub max_express_in_flight: usize,
    /// Host names accepted besides IP addresses and localhost (see `api::guard`).
    pub allowed_hosts: Vec<String>,
    /// Whether `Passo.CreateFunction` may create command functions (needs access keys).
    pub allow_function_api: bool,
    /// Time a client has to send a request's body.
    pub body_timeout_ms: u64,
    /// The scheduler's clock (the system's, or a faster one for tests).
    pub schedule_clock: schedules::clock::Clock,
    /// This node's name in the leases of a shared database (PostgreSQL); unique per node.
    pub node_id: String,
    /// How long a lease lasts without renewal: a node that stops renewing (killed, cut off)
    /// has its executions taken over this long after.
    pub lease_ms: i64,
    /// The URL other nodes reach this one at (they forward SQS and SNS requests to the node
    /// serving them); None: `http://` and the listen address (127.0.0.1 for 0.0.0.0).
    pub node_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            realm: arn::Realm {
                account: "123456789012".into(),
                region: "us-east-1".into(),
            },
            payload_limit: 262_144,
            retention_ms: 90 * 24 * 3600 * 1000,
            max_request_bytes: 1024 * 1024,
            access_keys: Vec::new(),
            token_keys: passo_engine::token::KeyRing::new(vec![b"passo-default-secret".to_vec()]),
            mock_config: None,
            sweep_every_ms: 10_000,
            max_express_in_flight: 10_000,
            allowed_hosts: Vec::new(),
            allow_function_api: false,
            body_timeout_ms: 30_000,
            schedule_clock: schedules::clock::Clock::System,
            node_id: String::new(),
            lease_ms: 10_000,
            node_url: None,
        }
    }
}

/// Where to listen and keep data.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Where executions are kept: None for the embedded SQLite file in `data_dir`. The data
    /// directory still holds the task-token keys (and buckets) either way.
    pub database: Option<passo_store::Database>,
    pub fsync_full: bool,
    /// The project (functions) Task states can call.
    pub project: passo_tasks::Project,
    /// Limits on the connections the API accepts.
    pub limits: api::listener::Limits,
}

/// Opens the store, recovers running executions, and serves until Ctrl-C (or SIGTERM).
pub async fn serve(cfg: Config, opts: ServeOptions) -> anyhow::Result<()> {
    // Nothing Passo writes is for other users: the database holds inputs and outputs, the
    // key signs task tokens.
    private::restrict_umask();
    private::data_dir(&opts.data_dir)?;
    let database = match &opts.database {
        Some(d) => d.clone(),
        None => {
            let db_path = opts.data_dir.join("passo.db");
            private::file(&db_path)?;
            passo_store::Database::Sqlite(db_path)
        }
    };
    let mut cfg = cfg;
    cfg.token_keys = token_keys::load(&opts.data_dir)?;
    if cfg.node_id.is_empty() {
        cfg.node_id = node_id(&opts.data_dir)?;
    }
    let db = passo_store::Db::connect(
        &database,
        passo_store::DbOptions {
            fsync_full: opts.fsync_full,
            ..Default::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("{database}: {e}"))?;
    let site = passo_tasks::lambda::Site {
        region: cfg.realm.region.clone(),
        account: cfg.realm.account.clone(),
        payload_limit: cfg.payload_limit,
    };
    let integrations = Arc::new(passo_tasks::Integrations::new(opts.project.clone(), site));
    let tasks: Arc<dyn tasks::TaskRunner> = Arc::new(integrations.clone());
    let registry = integrations.functions().clone();
    // Queues and topics: served on this port, and reached by Tasks with no endpoint set;
    // on a shared database by one node at a time (`runtime::messaging_lease`).
    let messaging = if db.shared().is_some() {
        runtime::messaging_lease::Messaging::shared(&db, &cfg.realm, &cfg.node_id, cfg.lease_ms)?
    } else {
        runtime::messaging_lease::Messaging::alone(&db, &cfg.realm)?
    };
    messaging.set_functions(registry.clone());
    integrations.set_local(Arc::new(local::Services(messaging.clone())));
    let created = api::load_functions(&db, &registry).map_err(|e| anyhow::anyhow!("{e}"))?;
    let functions = opts.project.functions.len() + created;
    let buckets = integrations.buckets().ok().cloned();
    let rt = runtime::Runtime::new(cfg, db.clone(), tasks).map_err(|e| anyhow::anyhow!("{e}"))?;
    integrations.set_local(bus::local::LocalEvents::new(&rt));
    rt.webhooks
        .declare(&rt.cfg.realm, &opts.project.webhooks)
        .map_err(|e| anyhow::anyhow!("the project file's {e}"))?;
    rt.set_functions(registry);
    messaging.set_metrics(&rt.metrics.cluster);
    rt.set_messaging(messaging.clone());
    if let Some(b) = buckets {
        b.set_observer(bus::bucket_events::BucketEvents::new(&rt));
        rt.set_buckets(b);
    }
    let reissued = rt.recover().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let deliveries = rt.resume_deliveries().map_err(|e| anyhow::anyhow!("{e}"))?;
    if deliveries > 0 {
        tracing::info!("delivering {deliveries} events accepted before the restart");
    }
    let timer_task = tokio::spawn(timers::run(rt.clone()));
    let every = std::time::Duration::from_millis(rt.cfg.sweep_every_ms.max(100));
    let sweep_task = tokio::spawn(runtime::sweeper::run(rt.clone(), every));
    let schedule_task = tokio::spawn(schedules::run(rt.clone()));
    let lease_task = tokio::spawn(runtime::leases::run(rt.clone()));
    if rt.clustered() {
        tracing::info!(
            "node {} sharing its database (leases of {} ms)",
            rt.cfg.node_id,
            rt.cfg.lease_ms
        );
    }
    let listener = tokio::net::TcpListener::bind(opts.listen).await?;
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    };
    messaging.set_base_url(
        rt.cfg
            .node_url
            .as_deref()
            .unwrap_or(&format!("http://{host}")),
    );
    if let Some(local) = messaging.local() {
        let pending = topics::deliver::resume(&local.topics).map_err(|e| anyhow::anyhow!("{e}"))?;
        if pending > 0 {
            tracing::info!("delivering {pending} SNS notifications accepted before the restart");
        }
    }
    messaging.start().await;
    let messaging_task = tokio::spawn(runtime::messaging_lease::run(messaging.clone()));
    tracing::info!(
        "passo server listening on http://{addr} (data: {}, {functions} functions){}",
        database,
        if reissued > 0 {
            format!(", re-invoked {reissued} in-flight tasks")
        } else {
            String::new()
        }
    );
    api::listener::serve(listener, api::router(rt.clone()), opts.limits, shutdown()).await?;
    timer_task.abort();
    sweep_task.abort();
    schedule_task.abort();
    lease_task.abort();
    messaging_task.abort();
    messaging.release().await;
    db.close();
    tracing::info!("passo server stopped");
    Ok(())
}

/// This node's name: kept in the data directory (`node.id`, made once), so that a node
/// restarted on it finds its own leases again rather than waiting for them to run out.
fn node_id(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let path = data_dir.join("node.id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        if !id.trim().is_empty() {
            return Ok(id.trim().to_string());
        }
    }
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "passo".into());
    let id = format!("{host}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    std::fs::write(&path, format!("{id}\n"))?;
    Ok(id)
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term = async move {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
