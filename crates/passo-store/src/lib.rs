//! Passo's durable storage, behind one interface with two backends.
//!
//! - [`sqlite`]: one embedded SQLite database (WAL), the default: nothing to install.
//! - [`postgres`]: a PostgreSQL database, for users who already run one (and, later, for
//!   several Passo nodes sharing it).
//!
//! The store holds state machines with their revisions, versions and aliases, tags,
//! executions, the *steps* of each execution (the event the interpreter was given, the time,
//! and the history events it wrote), timers, and the event bus, schedule, webhook, queue and
//! topic state.
//!
//! Both backends take writes the same way: one writer commits whatever has queued up in one
//! transaction (group commit): at thousands of executions per second, batching decides
//! throughput, not the rows. Each request is wrapped in its own savepoint, so one failing
//! request (say, an execution name already taken) does not fail its neighbours. Reads are
//! synchronous calls ([`Reads`]) that every backend answers alike; one test suite
//! (`tests/suite/`) runs against both.

mod messaging;
mod postgres;
mod rows;
pub mod scratch;
mod search;
pub mod seed;
mod sqlite;
mod tables;

pub use messaging::{
    MessagingWrite, QueueMessageRow, QueueRow, SubscriptionRow, TopicDeliveryRow, TopicRow,
};
pub use rows::*;
pub use search::ExecutionFilter;
pub use sqlite::in_use as sqlite_in_use;
pub use tables::{NODE_TABLES, TABLES};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::oneshot;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a row with this key already exists")]
    Conflict,
    #[error("storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL error: {}", postgres_detail(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("cannot reach the database: {0}")]
    Unavailable(String),
    #[error("the database's schema is version {found}, newer than this Passo knows ({known}): upgrade Passo")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("the store's writer has stopped")]
    Closed,
    /// A `Write::HoldLease` found the lease held by another node, or under a newer fence.
    #[error("this node no longer holds the lease of {0}")]
    LeaseLost(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// tokio-postgres shows a refused statement as "db error": say what the server said.
pub(crate) fn postgres_detail(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({}: {})", db.message(), db.severity(), db.code().code()),
        None => e.to_string(),
    }
}

/// Which database to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded SQLite file at this path.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://user@host:port/dbname?options=...`).
    Postgres(String),
}

impl Database {
    /// Reads `--database`: a `postgres://` or `postgresql://` URL, or `sqlite:PATH`.
    pub fn parse(s: &str) -> std::result::Result<Database, String> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            s.parse::<tokio_postgres::Config>()
                .map_err(|e| format!("'{s}' is not a PostgreSQL connection string: {e}"))?;
            Ok(Database::Postgres(s.to_string()))
        } else if let Some(path) = s.strip_prefix("sqlite:") {
            Ok(Database::Sqlite(PathBuf::from(
                path.trim_start_matches("//"),
            )))
        } else {
            Err(format!(
                "'{s}' is neither postgres://HOST/DBNAME nor sqlite:PATH"
            ))
        }
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(p) => write!(f, "{}", p.display()),
            // The URL may carry a password: show where, not how.
            Database::Postgres(url) => match url.parse::<tokio_postgres::Config>() {
                Ok(c) => {
                    let host = c.get_hosts().first().map_or("?".to_string(), |h| match h {
                        tokio_postgres::config::Host::Tcp(h) => h.clone(),
                        #[cfg(unix)]
                        tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                    });
                    let port = c.get_ports().first().copied().unwrap_or(5432);
                    write!(
                        f,
                        "postgres://{host}:{port}/{}",
                        c.get_dbname().unwrap_or("")
                    )
                }
                Err(_) => write!(f, "postgres://..."),
            },
        }
    }
}

/// How the database is opened.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// SQLite: `synchronous=FULL`, surviving power loss, not only a killed process (slower
    /// commits). PostgreSQL always commits durably as the server is configured.
    pub fsync_full: bool,
    /// Most write requests committed in one transaction.
    pub max_batch: usize,
    /// SQLite: how long the writer gathers more requests into a transaction when the last
    /// one held several (requests are arriving together); zero commits what is queued at
    /// once. A lone request never waits. See `sqlite::gather`.
    pub commit_wait: std::time::Duration,
    /// Read connections kept open (PostgreSQL; SQLite keeps up to 8).
    pub read_connections: usize,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            fsync_full: false,
            max_batch: 2048,
            commit_wait: std::time::Duration::from_micros(300),
            read_connections: 4,
        }
    }
}

/// One write request and where its outcome goes.
pub(crate) type Request = (Vec<Write>, oneshot::Sender<Result<()>>);

/// What a backend does besides the reads.
pub(crate) trait Store: Reads + Send + Sync {
    /// Queues a request for the writer (answered on `reply` once committed or failed).
    fn send(&self, request: Request) -> Result<()>;
    fn commits(&self) -> u64;
    fn close(&self);
    fn backend(&self) -> &'static str;
    /// The operations of several nodes sharing the database; None for a backend only one
    /// process can use (SQLite).
    fn shared(&self) -> Option<&dyn Shared> {
        None
    }
}

/// What several Passo nodes on one database need besides reads and writes: claiming and
/// renewing leases, and finding the work no live node holds. "Claimable" below means: no
/// lease, a released one, one that ran out, or one `node` holds itself. Claiming the
/// activity tasks queued for any node's workers is [`ActivityTasks`].
pub trait Shared: ActivityTasks + Send + Sync {
    /// Takes the lease of `key` for `node` until `now_ms + ttl_ms` if it is claimable,
    /// bumping its fence.
    fn claim(&self, key: &str, node: &str, now_ms: i64, ttl_ms: i64) -> Result<Claim>;
    /// Extends every lease `node` holds to `expires_ms` (skipping any a commit is using
    /// right now: that commit extends it); answers how many.
    fn renew(&self, node: &str, expires_ms: i64) -> Result<u64>;
    fn lease(&self, key: &str) -> Result<Option<LeaseRow>>;
    /// Extends the lease `node` holds on `key` under `fence` to at least `expires_ms`, at
    /// once (not behind the writer's queue); false when the lease is not so held.
    fn extend(&self, key: &str, node: &str, fence: i64, expires_ms: i64) -> Result<bool>;
    /// Leases held by other nodes that ran out: their executions need a new owner.
    fn expired_leases(&self, node: &str, now_ms: i64, limit: usize) -> Result<Vec<LeaseRow>>;
    /// Forwarded events whose execution is claimable by `node`, oldest first.
    fn inbox(&self, node: &str, now_ms: i64, limit: usize) -> Result<Vec<InboxRow>>;
    /// Timers due by `until_ms` whose execution is claimable by `node`, earliest first.
    fn due_timers_for(
        &self,
        node: &str,
        now_ms: i64,
        until_ms: i64,
        limit: usize,
    ) -> Result<Vec<TimerRow>>;
    /// Running executions without timers that are claimable by `node` (the sweeper's).
    fn sweep_candidates(&self, node: &str, now_ms: i64) -> Result<Vec<String>>;
    /// Event-bus deliveries due before `overdue_ms` and not attempted since (the node that
    /// accepted them died or is stuck), at most `limit`: each is rescheduled to `now_ms`
    /// for the caller, so that no other node takes it before it is overdue once more.
    fn take_overdue_deliveries(
        &self,
        overdue_ms: i64,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>>;
    /// Records where `node.id` is reached (its row replaced: URL and time seen).
    fn put_node(&self, node: &NodeRow) -> Result<()>;
    /// Where a node is reached, if it ever said.
    fn node(&self, id: &str) -> Result<Option<NodeRow>>;
    /// The secret the nodes of this database authenticate their calls to each other with:
    /// the one kept, else `candidate`, kept from now on (the first node to ask sets it).
    fn cluster_secret(&self, candidate: &str) -> Result<String>;
    /// Bytes the executions take in the database (their rows, steps, timers and leases,
    /// with indexes and TOAST), for the benchmarks.
    fn execution_bytes(&self) -> Result<i64>;
    /// How far the database's clock is ahead of this node's (ms; negative when behind), as
    /// last measured. Every lease time (claims, expiries, the scans for run-out leases) is
    /// on the database's clock: a node adds this to its own, so that nodes whose clocks
    /// disagree still agree on whose lease has run out.
    fn clock_offset_ms(&self) -> i64;
}

/// The activity tasks queued in a shared database (`Write::QueueActivityTask`), claimed by
/// whichever node a worker polls: each queued task goes to one claimer, however many nodes
/// claim at once.
pub trait ActivityTasks: Send + Sync {
    /// Takes the task (execution, task id) off the queue if it is still there: the one
    /// caller that gets it answers it, every other gets None.
    fn claim_activity_task(
        &self,
        execution_arn: &str,
        task: i64,
    ) -> Result<Option<ActivityTaskRow>>;
    /// Takes the oldest task of `activity` off the queue, passing over any another claimer
    /// is taking right now (so claimers never wait on each other).
    fn claim_next_activity_task(&self, activity: &str) -> Result<Option<ActivityTaskRow>>;
    /// Whether the task is queued, or an event forwarded to its execution waits in the inbox
    /// (a worker that claimed it on another node has its TaskStarted on the way there).
    fn activity_task_pending(&self, execution_arn: &str, task: i64) -> Result<bool>;
    /// The events forwarded to one execution, oldest first: its owner looks for a worker's
    /// TaskStarted there when the worker's answer overtook it.
    fn inbox_of(&self, execution_arn: &str) -> Result<Vec<InboxRow>>;
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    store: Arc<dyn Store>,
}

impl Db {
    /// Opens (creating if needed) the SQLite database file at `path` and starts its writer.
    pub fn open(path: &Path, opts: DbOptions) -> Result<Db> {
        Db::connect(&Database::Sqlite(path.to_path_buf()), opts)
    }

    /// Opens `database`: creates or migrates its schema, then starts its writer.
    pub fn connect(database: &Database, opts: DbOptions) -> Result<Db> {
        let store: Arc<dyn Store> = match database {
            Database::Sqlite(path) => Arc::new(sqlite::Sqlite::open(path, opts)?),
            Database::Postgres(url) => Arc::new(postgres::Postgres::open(url, opts)?),
        };
        Ok(Db { store })
    }

    /// Applies `writes` atomically, committed together with whatever else is queued.
    /// Resolves once the transaction is committed.
    pub async fn write(&self, writes: Vec<Write>) -> Result<()> {
        self.submit(writes).await
    }

    /// Queues `writes` at once (so requests queued one after another commit in that order)
    /// and resolves when they are committed.
    pub fn submit(
        &self,
        writes: Vec<Write>,
    ) -> impl std::future::Future<Output = Result<()>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let sent = self.store.send((writes, tx));
        async move {
            sent?;
            rx.await.map_err(|_| StoreError::Closed)?
        }
    }

    /// Transactions committed since the database was opened.
    pub fn commits(&self) -> u64 {
        self.store.commits()
    }

    /// Stops the writer after it has committed everything queued.
    pub fn close(&self) {
        self.store.close()
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// The lease operations, when several nodes can share this database.
    pub fn shared(&self) -> Option<&dyn Shared> {
        self.store.shared()
    }
}

/// Declares the reads once: the [`Reads`] trait every backend implements, and the same
/// methods on [`Db`], which hands them to its backend.
macro_rules! reads {
    ($( $(#[$doc:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )*) => {
        /// The reads every backend answers alike. They block the calling thread for one
        /// round trip to the database (callers on an async runtime accept that, as they
        /// did with SQLite's file reads).
        pub trait Reads {
            $( $(#[$doc])* fn $name(&self $(, $arg: $ty)*) -> $ret; )*
        }

        impl Db {
            $( $(#[$doc])* pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                self.store.$name($($arg),*)
            } )*
        }
    };
}

reads! {
    /// Every queue (loaded once at startup).
    fn queues(&self) -> Result<Vec<QueueRow>>;
    /// A queue's messages in the order they were accepted.
    fn queue_messages(&self, queue: &str) -> Result<Vec<QueueMessageRow>>;
    fn topics(&self) -> Result<Vec<TopicRow>>;
    fn subscriptions(&self) -> Result<Vec<SubscriptionRow>>;
    /// SNS deliveries to HTTP endpoints and functions not yet handed over.
    fn topic_deliveries(&self) -> Result<Vec<TopicDeliveryRow>>;
    fn machine(&self, arn: &str) -> Result<Option<MachineRow>>;
    /// Every machine, oldest first.
    fn machines(&self) -> Result<Vec<MachineRow>>;
    fn revision(&self, machine_arn: &str, revision_id: &str) -> Result<Option<RevisionRow>>;
    /// A machine's versions, newest first.
    fn versions(&self, machine_arn: &str) -> Result<Vec<VersionRow>>;
    fn all_versions(&self) -> Result<Vec<VersionRow>>;
    /// Every alias, oldest first.
    fn all_aliases(&self) -> Result<Vec<AliasRow>>;
    /// A resource's tags in the order they were (last) set.
    fn tags(&self, resource_arn: &str) -> Result<Vec<(String, String)>>;
    fn activity(&self, arn: &str) -> Result<Option<ActivityRow>>;
    /// Every activity, oldest first.
    fn activities(&self) -> Result<Vec<ActivityRow>>;
    /// Every function created through the API, oldest first.
    fn functions(&self) -> Result<Vec<FunctionRow>>;
    fn execution(&self, arn: &str) -> Result<Option<ExecutionRow>>;
    /// Executions of a machine, newest first, optionally of one status, version or alias
    /// (`qualifier`), or revision (a Map Run's children); `after` (start time, ARN)
    /// continues after the last row of the previous page, so rows added or changed
    /// meanwhile neither repeat nor shift the pages.
    fn executions(
        &self,
        machine_arn: &str,
        status: Option<&str>,
        qualifier: Option<&str>,
        revision: Option<&str>,
        after: Option<(i64, &str)>,
        limit: usize
    ) -> Result<Vec<ExecutionRow>>;
    /// Executions matching `f` across machines, newest first; `after` (start time, ARN)
    /// continues after the last row of the previous page.
    fn search_executions(
        &self,
        f: &ExecutionFilter<'_>,
        after: Option<(i64, &str)>,
        limit: usize
    ) -> Result<Vec<ExecutionRow>>;
    fn map_run(&self, arn: &str) -> Result<Option<MapRunRow>>;
    /// The Map Runs an execution started, in start order.
    fn map_runs_of(&self, execution_arn: &str) -> Result<Vec<MapRunRow>>;
    /// Every running execution: (ARN, tasks that were out at its last step).
    fn running(&self) -> Result<Vec<(String, i64)>>;
    /// The running executions that had tasks out at their last step, oldest first: what a
    /// restart sends again (a million parked in a Wait cost it nothing).
    fn running_with_tasks(&self) -> Result<Vec<String>>;
    /// Running executions with no timer in the store (the sweeper's candidates).
    fn running_without_timers(&self) -> Result<Vec<String>>;
    /// The timers of one execution.
    fn timers_of(&self, execution_arn: &str) -> Result<Vec<TimerRow>>;
    /// The steps of an execution, in order.
    fn steps(&self, execution_arn: &str) -> Result<Vec<StepRow>>;
    /// The steps of an execution after step `after_seq`, in order, without their history
    /// (`history` is empty): what replaying them needs.
    fn step_events(&self, execution_arn: &str, after_seq: i64) -> Result<Vec<StepRow>>;
    /// The steps of an execution holding any event with an id from `first` to `last`, in
    /// order, and any step written before steps kept their event ids (the caller picks the
    /// events out).
    fn history_steps(&self, execution_arn: &str, first: i64, last: i64) -> Result<Vec<StepRow>>;
    /// The id of an execution's last history event, as its steps record it (None when no
    /// step records it).
    fn last_event_id(&self, execution_arn: &str) -> Result<Option<i64>>;
    /// The execution's latest snapshot.
    fn snapshot(&self, execution_arn: &str) -> Result<Option<SnapshotRow>>;
    /// Every event bus, by name.
    fn event_buses(&self) -> Result<Vec<EventBusRow>>;
    /// Every rule of every bus, by bus and name.
    fn rules(&self) -> Result<Vec<RuleRow>>;
    /// Every target of every rule, by bus, rule and id.
    fn rule_targets(&self) -> Result<Vec<RuleTargetRow>>;
    /// EventBridge Scheduler's schedules, by group and name.
    fn schedules(&self) -> Result<Vec<ScheduleRow>>;
    /// The last due time each schedule (a rule's or a Scheduler schedule's) fired for.
    fn schedule_marks(&self) -> Result<Vec<(String, i64)>>;
    /// Webhooks created through the API, by name.
    fn webhooks(&self) -> Result<Vec<WebhookRow>>;
    /// Deliveries not yet handed over, soonest due first.
    fn pending_deliveries(&self) -> Result<Vec<DeliveryRow>>;
    /// Dead letters, newest first, at most `limit`.
    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetterRow>>;
    /// Timers due at or before `until_ms`, earliest first.
    fn due_timers(&self, until_ms: i64, limit: usize) -> Result<Vec<TimerRow>>;
    /// For purging in slices: the stop time of the `slice`-th oldest execution that stopped
    /// before `before_ms` (purging before it removes fewer than `slice`), or None when fewer
    /// than `slice` stopped before it.
    fn purge_cutoff(&self, before_ms: i64, slice: usize) -> Result<Option<i64>>;

    // Reading a store whole, a page at a time in key order (`passo migrate`): `after` is
    // the key of the last row of the previous page.

    /// Rows in each table of [`TABLES`] and, on PostgreSQL, of [`NODE_TABLES`].
    fn table_counts(&self) -> Result<Vec<(String, i64)>>;
    /// Revisions by (machine ARN, revision id).
    fn revisions_page(&self, after: Option<(&str, &str)>, limit: usize) -> Result<Vec<RevisionRow>>;
    /// Every tag of every resource as (resource ARN, key, value), in the order they were
    /// (last) set.
    fn all_tags(&self) -> Result<Vec<(String, String, String)>>;
    /// Executions by ARN.
    fn executions_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<ExecutionRow>>;
    /// Steps of every execution by (execution ARN, seq).
    fn steps_page(&self, after: Option<(&str, i64)>, limit: usize) -> Result<Vec<StepRow>>;
    /// Map Runs by ARN.
    fn map_runs_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<MapRunRow>>;
    /// Messages of every queue by (queue, seq).
    fn queue_messages_page(
        &self,
        after: Option<(&str, i64)>,
        limit: usize
    ) -> Result<Vec<QueueMessageRow>>;
}

/// Where a page of executions (newest first, by start time then ARN) starts: after the
/// cursor, or for the first page after a start time no execution has, so that every page is
/// one range of the index `(start_ms, arn) < (ms, arn)` reads.
pub(crate) fn page_cursor(after: Option<(i64, &str)>) -> (i64, &str) {
    after.unwrap_or((i64::MAX, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_name_a_backend() {
        assert_eq!(
            Database::parse("postgres://127.0.0.1/test"),
            Ok(Database::Postgres("postgres://127.0.0.1/test".into()))
        );
        assert_eq!(
            Database::parse("sqlite:/var/passo/p.db"),
            Ok(Database::Sqlite("/var/passo/p.db".into()))
        );
        assert!(Database::parse("mysql://h/db").is_err());
        assert!(Database::parse("postgres://h:notaport/db").is_err());
        // Shown without the password.
        let d = Database::parse("postgresql://u:secret@db.example:6432/passo").unwrap();
        assert_eq!(d.to_string(), "postgres://db.example:6432/passo");
    }
}
