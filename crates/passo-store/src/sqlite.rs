//! The SQLite implementation: schema, the group-committing writer thread and the reads.

use crate::messaging::{QueueMessageRow, QueueRow, SubscriptionRow, TopicRow};
use crate::rows::*;
use crate::{DbOptions, Request, Result, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS machines (
  arn TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, definition TEXT NOT NULL,
  role_arn TEXT NOT NULL, revision_id TEXT NOT NULL, description TEXT NOT NULL,
  created_ms INTEGER NOT NULL, logging TEXT NOT NULL, tracing TEXT NOT NULL,
  encryption TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revisions (
  machine_arn TEXT NOT NULL, revision_id TEXT NOT NULL, definition TEXT NOT NULL,
  role_arn TEXT NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (machine_arn, revision_id));
CREATE TABLE IF NOT EXISTS versions (
  arn TEXT PRIMARY KEY, machine_arn TEXT NOT NULL, version INTEGER NOT NULL,
  revision_id TEXT NOT NULL, description TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS versions_machine ON versions (machine_arn, version);
CREATE TABLE IF NOT EXISTS aliases (
  arn TEXT PRIMARY KEY, machine_arn TEXT NOT NULL, name TEXT NOT NULL,
  description TEXT NOT NULL, routing TEXT NOT NULL, created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS activities (
  arn TEXT PRIMARY KEY, name TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS functions (
  name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tags (
  resource_arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (resource_arn, key));
CREATE TABLE IF NOT EXISTS executions (
  arn TEXT PRIMARY KEY, machine_arn TEXT NOT NULL, revision_id TEXT NOT NULL,
  version_arn TEXT, alias_arn TEXT, name TEXT NOT NULL, status TEXT NOT NULL,
  input TEXT NOT NULL, output TEXT, error TEXT, cause TEXT, start_ms INTEGER NOT NULL,
  stop_ms INTEGER, params TEXT NOT NULL, pending_tasks INTEGER NOT NULL, trace_header TEXT,
  redrive_count INTEGER NOT NULL DEFAULT 0, redrive_ms INTEGER);
CREATE INDEX IF NOT EXISTS executions_machine ON executions (machine_arn, start_ms);
CREATE INDEX IF NOT EXISTS executions_running ON executions (status) WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS executions_stopped ON executions (stop_ms) WHERE stop_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS steps (
  execution_arn TEXT NOT NULL, seq INTEGER NOT NULL, now_ms INTEGER NOT NULL,
  event TEXT NOT NULL, history TEXT NOT NULL, PRIMARY KEY (execution_arn, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS map_runs (
  arn TEXT PRIMARY KEY, execution_arn TEXT NOT NULL, state_machine_arn TEXT NOT NULL,
  status TEXT NOT NULL, start_ms INTEGER NOT NULL, stop_ms INTEGER, config TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS map_runs_execution ON map_runs (execution_arn, start_ms);
CREATE TABLE IF NOT EXISTS timers (
  execution_arn TEXT NOT NULL, timer_id INTEGER NOT NULL, fire_at_ms INTEGER NOT NULL,
  PRIMARY KEY (execution_arn, timer_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS timers_due ON timers (fire_at_ms);
CREATE TABLE IF NOT EXISTS event_buses (
  name TEXT PRIMARY KEY, arn TEXT NOT NULL, description TEXT, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rules (
  bus TEXT NOT NULL, name TEXT NOT NULL, arn TEXT NOT NULL, event_pattern TEXT,
  schedule TEXT, state TEXT NOT NULL, description TEXT, role_arn TEXT,
  created_ms INTEGER NOT NULL, PRIMARY KEY (bus, name));
CREATE TABLE IF NOT EXISTS rule_targets (
  bus TEXT NOT NULL, rule TEXT NOT NULL, id TEXT NOT NULL, spec TEXT NOT NULL,
  PRIMARY KEY (bus, rule, id));
CREATE TABLE IF NOT EXISTS deliveries (
  id TEXT PRIMARY KEY, event TEXT NOT NULL, rule_arn TEXT NOT NULL, rule_name TEXT NOT NULL,
  target TEXT NOT NULL, ingested_ms INTEGER NOT NULL, attempts INTEGER NOT NULL,
  next_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letters (
  id TEXT PRIMARY KEY, event TEXT NOT NULL, rule_arn TEXT NOT NULL, target_id TEXT NOT NULL,
  target_arn TEXT NOT NULL, dead_letter_arn TEXT, error_code TEXT NOT NULL,
  error_message TEXT NOT NULL, attempts INTEGER NOT NULL, time_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS schedules (
  grp TEXT NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL, created_ms INTEGER NOT NULL,
  modified_ms INTEGER NOT NULL, PRIMARY KEY (grp, name));
CREATE TABLE IF NOT EXISTS schedule_marks (key TEXT PRIMARY KEY, due_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS webhooks (
  name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_ms INTEGER NOT NULL);
";

/// The SQLite backend.
pub(crate) struct Sqlite {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    tx: Mutex<Option<mpsc::Sender<Request>>>,
    readers: Mutex<Vec<Connection>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Transactions committed so far (tests count commits instead of timing disks).
    commits: std::sync::atomic::AtomicU64,
}

fn open_conn(path: &Path, opts: &DbOptions) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(
        None,
        "synchronous",
        if opts.fsync_full { "FULL" } else { "NORMAL" },
    )?;
    c.pragma_update(None, "foreign_keys", "OFF")?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(c)
}

impl Sqlite {
    /// Opens (creating if needed) the database file at `path` and starts the writer thread.
    pub(crate) fn open(path: &Path, opts: DbOptions) -> Result<Sqlite> {
        let conn = open_conn(path, &opts)?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(crate::messaging::SCHEMA)?;
        let (tx, rx) = mpsc::channel::<Request>();
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            tx: Mutex::new(Some(tx)),
            readers: Mutex::new(Vec::new()),
            writer: Mutex::new(None),
            commits: Default::default(),
        });
        let weak = Arc::downgrade(&inner);
        let max_batch = opts.max_batch;
        let handle = std::thread::Builder::new()
            .name("passo-store-writer".into())
            .spawn(move || writer_loop(conn, rx, max_batch, weak))
            .map_err(|_| StoreError::Closed)?;
        *inner.writer.lock().unwrap() = Some(handle);
        Ok(Sqlite { inner })
    }

    /// Runs `f` on a read connection (WAL: sees every committed write).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.inner.readers.lock().unwrap().pop();
        let conn = match conn {
            Some(c) => c,
            None => {
                let c = Connection::open(&self.inner.path)?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                c
            }
        };
        let out = f(&conn);
        let mut pool = self.inner.readers.lock().unwrap();
        if pool.len() < 8 {
            pool.push(conn);
        }
        Ok(out?)
    }
}

impl crate::Store for Sqlite {
    fn send(&self, request: Request) -> Result<()> {
        let guard = self.inner.tx.lock().unwrap();
        let sender = guard.as_ref().ok_or(StoreError::Closed)?;
        sender.send(request).map_err(|_| StoreError::Closed)
    }

    fn commits(&self) -> u64 {
        self.inner
            .commits
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops the writer after it has committed everything queued.
    fn close(&self) {
        self.inner.tx.lock().unwrap().take();
        if let Some(h) = self.inner.writer.lock().unwrap().take() {
            let _ = h.join();
        }
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

impl crate::Reads for Sqlite {
    fn search_executions(
        &self,
        f: &crate::ExecutionFilter<'_>,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ExecutionRow>> {
        self.search(f, after, limit)
    }

    /// Every queue (loaded once at startup).
    fn queues(&self) -> Result<Vec<QueueRow>> {
        self.read(crate::messaging::queues)
    }

    /// A queue's messages in the order they were accepted.
    fn queue_messages(&self, queue: &str) -> Result<Vec<QueueMessageRow>> {
        self.read(|c| crate::messaging::messages(c, queue))
    }

    fn topics(&self) -> Result<Vec<TopicRow>> {
        self.read(crate::messaging::topics)
    }

    fn subscriptions(&self) -> Result<Vec<SubscriptionRow>> {
        self.read(crate::messaging::subscriptions)
    }

    /// SNS deliveries to HTTP endpoints and functions not yet handed over.
    fn topic_deliveries(&self) -> Result<Vec<crate::messaging::TopicDeliveryRow>> {
        self.read(crate::messaging::topic_deliveries)
    }

    fn machine(&self, arn: &str) -> Result<Option<MachineRow>> {
        self.read(|c| {
            c.prepare_cached("SELECT * FROM machines WHERE arn = ?1")?
                .query_row([arn], machine_row)
                .optional()
        })
    }

    fn machines(&self) -> Result<Vec<MachineRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT * FROM machines ORDER BY created_ms, arn")?;
            let rows = st.query_map([], machine_row)?;
            rows.collect()
        })
    }

    fn revision(&self, machine_arn: &str, revision_id: &str) -> Result<Option<RevisionRow>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT machine_arn, revision_id, definition, role_arn, kind FROM revisions
                 WHERE machine_arn = ?1 AND revision_id = ?2",
            )?
            .query_row([machine_arn, revision_id], |r| {
                Ok(RevisionRow {
                    machine_arn: r.get(0)?,
                    revision_id: r.get(1)?,
                    definition: r.get(2)?,
                    role_arn: r.get(3)?,
                    kind: r.get(4)?,
                })
            })
            .optional()
        })
    }

    fn versions(&self, machine_arn: &str) -> Result<Vec<VersionRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT * FROM versions WHERE machine_arn = ?1 ORDER BY version DESC",
            )?;
            let rows = st.query_map([machine_arn], version_row)?;
            rows.collect()
        })
    }

    fn all_versions(&self) -> Result<Vec<VersionRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT * FROM versions")?;
            let rows = st.query_map([], version_row)?;
            rows.collect()
        })
    }

    fn all_aliases(&self) -> Result<Vec<AliasRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT * FROM aliases ORDER BY created_ms, arn")?;
            let rows = st.query_map([], |r| {
                Ok(AliasRow {
                    arn: r.get(0)?,
                    machine_arn: r.get(1)?,
                    name: r.get(2)?,
                    description: r.get(3)?,
                    routing: r.get(4)?,
                    created_ms: r.get(5)?,
                    updated_ms: r.get(6)?,
                })
            })?;
            rows.collect()
        })
    }

    fn tags(&self, resource_arn: &str) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT key, value FROM tags WHERE resource_arn = ?1 ORDER BY rowid",
            )?;
            let rows = st.query_map([resource_arn], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    fn activity(&self, arn: &str) -> Result<Option<ActivityRow>> {
        self.read(|c| {
            c.prepare_cached("SELECT arn, name, created_ms FROM activities WHERE arn = ?1")?
                .query_row([arn], |r| {
                    Ok(ActivityRow {
                        arn: r.get(0)?,
                        name: r.get(1)?,
                        created_ms: r.get(2)?,
                    })
                })
                .optional()
        })
    }

    /// Every activity, oldest first.
    fn activities(&self) -> Result<Vec<ActivityRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT arn, name, created_ms FROM activities ORDER BY created_ms, arn",
            )?;
            let rows = st.query_map([], |r| {
                Ok(ActivityRow {
                    arn: r.get(0)?,
                    name: r.get(1)?,
                    created_ms: r.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Every function created through the API, oldest first.
    fn functions(&self) -> Result<Vec<FunctionRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT name, spec, created_ms FROM functions ORDER BY created_ms, name",
            )?;
            let rows = st.query_map([], |r| {
                Ok(FunctionRow {
                    name: r.get(0)?,
                    spec: r.get(1)?,
                    created_ms: r.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    fn execution(&self, arn: &str) -> Result<Option<ExecutionRow>> {
        self.read(|c| {
            c.prepare_cached("SELECT * FROM executions WHERE arn = ?1")?
                .query_row([arn], execution_row)
                .optional()
        })
    }

    /// Executions of a machine, newest first, optionally of one status, version or alias
    /// (`qualifier`), or revision (a Map Run's children); `after` (start time, ARN) continues
    /// after the last row of the previous page, so rows added or changed meanwhile neither
    /// repeat nor shift the pages.
    fn executions(
        &self,
        machine_arn: &str,
        status: Option<&str>,
        qualifier: Option<&str>,
        revision: Option<&str>,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ExecutionRow>> {
        let (after_ms, after_arn) = match after {
            Some((ms, arn)) => (Some(ms), Some(arn)),
            None => (None, None),
        };
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT * FROM executions WHERE machine_arn = ?1
                   AND (?2 IS NULL OR status = ?2)
                   AND (?3 IS NULL OR version_arn = ?3 OR alias_arn = ?3)
                   AND (?4 IS NULL OR start_ms < ?4 OR (start_ms = ?4 AND arn < ?5))
                   AND (?7 IS NULL OR revision_id = ?7)
                 ORDER BY start_ms DESC, arn DESC LIMIT ?6",
            )?;
            let rows = st.query_map(
                params![
                    machine_arn,
                    status,
                    qualifier,
                    after_ms,
                    after_arn,
                    limit as i64,
                    revision
                ],
                execution_row,
            )?;
            rows.collect()
        })
    }

    fn map_run(&self, arn: &str) -> Result<Option<MapRunRow>> {
        self.read(|c| {
            c.prepare_cached("SELECT * FROM map_runs WHERE arn = ?1")?
                .query_row([arn], map_run_row)
                .optional()
        })
    }

    /// The Map Runs an execution started, in start order.
    fn map_runs_of(&self, execution_arn: &str) -> Result<Vec<MapRunRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT * FROM map_runs WHERE execution_arn = ?1 ORDER BY start_ms, arn",
            )?;
            let rows = st.query_map([execution_arn], map_run_row)?;
            rows.collect()
        })
    }

    /// Every running execution: (ARN, tasks that were out at its last step).
    fn running(&self) -> Result<Vec<(String, i64)>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT arn, pending_tasks FROM executions WHERE status = 'RUNNING'",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// Running executions with no timer in the store (the sweeper's candidates).
    fn running_without_timers(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT arn FROM executions e WHERE status = 'RUNNING'
                 AND NOT EXISTS (SELECT 1 FROM timers t WHERE t.execution_arn = e.arn)",
            )?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// The timers of one execution.
    fn timers_of(&self, execution_arn: &str) -> Result<Vec<TimerRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT fire_at_ms, execution_arn, timer_id FROM timers WHERE execution_arn = ?1",
            )?;
            let rows = st.query_map([execution_arn], timer_row)?;
            rows.collect()
        })
    }

    /// The steps of an execution, in order.
    fn steps(&self, execution_arn: &str) -> Result<Vec<StepRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT execution_arn, seq, now_ms, event, history FROM steps
                 WHERE execution_arn = ?1 ORDER BY seq",
            )?;
            let rows = st.query_map([execution_arn], |r| {
                Ok(StepRow {
                    execution_arn: r.get(0)?,
                    seq: r.get(1)?,
                    now_ms: r.get(2)?,
                    event: r.get(3)?,
                    history: r.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Every event bus, by name.
    fn event_buses(&self) -> Result<Vec<EventBusRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT name, arn, description, created_ms FROM event_buses ORDER BY name",
            )?;
            let rows = st.query_map([], |r| {
                Ok(EventBusRow {
                    name: r.get(0)?,
                    arn: r.get(1)?,
                    description: r.get(2)?,
                    created_ms: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Every rule of every bus, by bus and name.
    fn rules(&self) -> Result<Vec<RuleRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT bus, name, arn, event_pattern, schedule, state, description, role_arn,
                 created_ms FROM rules ORDER BY bus, name",
            )?;
            let rows = st.query_map([], |r| {
                Ok(RuleRow {
                    bus: r.get(0)?,
                    name: r.get(1)?,
                    arn: r.get(2)?,
                    event_pattern: r.get(3)?,
                    schedule: r.get(4)?,
                    state: r.get(5)?,
                    description: r.get(6)?,
                    role_arn: r.get(7)?,
                    created_ms: r.get(8)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Every target of every rule, by bus, rule and id.
    fn rule_targets(&self) -> Result<Vec<RuleTargetRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT bus, rule, id, spec FROM rule_targets ORDER BY bus, rule, id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(RuleTargetRow {
                    bus: r.get(0)?,
                    rule: r.get(1)?,
                    id: r.get(2)?,
                    spec: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Deliveries not yet handed over, soonest due first.
    /// EventBridge Scheduler's schedules.
    fn schedules(&self) -> Result<Vec<ScheduleRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT grp, name, spec, created_ms, modified_ms FROM schedules ORDER BY grp, name",
            )?;
            let rows = st.query_map([], |r| {
                Ok(ScheduleRow {
                    group: r.get(0)?,
                    name: r.get(1)?,
                    spec: r.get(2)?,
                    created_ms: r.get(3)?,
                    modified_ms: r.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The last due time each schedule (a rule's or a Scheduler schedule's) fired for.
    fn schedule_marks(&self) -> Result<Vec<(String, i64)>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT key, due_ms FROM schedule_marks")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// Webhooks created through the API.
    fn webhooks(&self) -> Result<Vec<WebhookRow>> {
        self.read(|c| {
            let mut st =
                c.prepare_cached("SELECT name, spec, created_ms FROM webhooks ORDER BY name")?;
            let rows = st.query_map([], |r| {
                Ok(WebhookRow {
                    name: r.get(0)?,
                    spec: r.get(1)?,
                    created_ms: r.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    fn pending_deliveries(&self) -> Result<Vec<DeliveryRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, event, rule_arn, rule_name, target, ingested_ms, attempts, next_ms
                 FROM deliveries ORDER BY next_ms, id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(DeliveryRow {
                    id: r.get(0)?,
                    event: r.get(1)?,
                    rule_arn: r.get(2)?,
                    rule_name: r.get(3)?,
                    target: r.get(4)?,
                    ingested_ms: r.get(5)?,
                    attempts: r.get(6)?,
                    next_ms: r.get(7)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Dead letters, newest first, at most `limit`.
    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetterRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, event, rule_arn, target_id, target_arn, dead_letter_arn, error_code,
                 error_message, attempts, time_ms FROM dead_letters
                 ORDER BY time_ms DESC, id LIMIT ?1",
            )?;
            let rows = st.query_map([limit as i64], |r| {
                Ok(DeadLetterRow {
                    id: r.get(0)?,
                    event: r.get(1)?,
                    rule_arn: r.get(2)?,
                    target_id: r.get(3)?,
                    target_arn: r.get(4)?,
                    dead_letter_arn: r.get(5)?,
                    error_code: r.get(6)?,
                    error_message: r.get(7)?,
                    attempts: r.get(8)?,
                    time_ms: r.get(9)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Timers due at or before `until_ms`, earliest first.
    fn due_timers(&self, until_ms: i64, limit: usize) -> Result<Vec<TimerRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT fire_at_ms, execution_arn, timer_id FROM timers
                 WHERE fire_at_ms <= ?1 ORDER BY fire_at_ms LIMIT ?2",
            )?;
            let rows = st.query_map(params![until_ms, limit as i64], timer_row)?;
            rows.collect()
        })
    }
}

fn machine_row(r: &Row<'_>) -> rusqlite::Result<MachineRow> {
    Ok(MachineRow {
        arn: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        definition: r.get(3)?,
        role_arn: r.get(4)?,
        revision_id: r.get(5)?,
        description: r.get(6)?,
        created_ms: r.get(7)?,
        logging: r.get(8)?,
        tracing: r.get(9)?,
        encryption: r.get(10)?,
    })
}

fn version_row(r: &Row<'_>) -> rusqlite::Result<VersionRow> {
    Ok(VersionRow {
        arn: r.get(0)?,
        machine_arn: r.get(1)?,
        version: r.get(2)?,
        revision_id: r.get(3)?,
        description: r.get(4)?,
        created_ms: r.get(5)?,
    })
}

fn map_run_row(r: &Row<'_>) -> rusqlite::Result<MapRunRow> {
    Ok(MapRunRow {
        arn: r.get(0)?,
        execution_arn: r.get(1)?,
        state_machine_arn: r.get(2)?,
        status: r.get(3)?,
        start_ms: r.get(4)?,
        stop_ms: r.get(5)?,
        config: r.get(6)?,
    })
}

pub(crate) fn execution_row(r: &Row<'_>) -> rusqlite::Result<ExecutionRow> {
    Ok(ExecutionRow {
        arn: r.get(0)?,
        machine_arn: r.get(1)?,
        revision_id: r.get(2)?,
        version_arn: r.get(3)?,
        alias_arn: r.get(4)?,
        name: r.get(5)?,
        status: r.get(6)?,
        input: r.get(7)?,
        output: r.get(8)?,
        error: r.get(9)?,
        cause: r.get(10)?,
        start_ms: r.get(11)?,
        stop_ms: r.get(12)?,
        params: r.get(13)?,
        pending_tasks: r.get(14)?,
        trace_header: r.get(15)?,
        redrive_count: r.get(16)?,
        redrive_ms: r.get(17)?,
    })
}

/// Takes every queued request (up to `max_batch`), applies each in its own savepoint inside
/// one transaction, commits once and answers them all.
/// A timer row read as `fire_at_ms, execution_arn, timer_id`.
fn timer_row(r: &rusqlite::Row) -> rusqlite::Result<TimerRow> {
    Ok(TimerRow {
        fire_at_ms: r.get(0)?,
        execution_arn: r.get(1)?,
        timer_id: r.get(2)?,
    })
}

fn writer_loop(
    mut conn: Connection,
    rx: mpsc::Receiver<Request>,
    max_batch: usize,
    inner: std::sync::Weak<Inner>,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let outcome = commit_batch(&mut conn, &batch);
        if let Some(i) = inner.upgrade() {
            i.commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        match outcome {
            Ok(results) => {
                for ((_, reply), r) in batch.into_iter().zip(results) {
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for (_, reply) in batch {
                    let _ = reply.send(Err(StoreError::Commit(msg.clone())));
                }
            }
        }
    }
}

fn commit_batch(conn: &mut Connection, batch: &[Request]) -> rusqlite::Result<Vec<Result<()>>> {
    let tx = conn.transaction()?;
    let mut results = Vec::with_capacity(batch.len());
    for (writes, _) in batch {
        let r = if batch.len() == 1 {
            apply_all(&tx, writes)
        } else {
            tx.execute_batch("SAVEPOINT req")?;
            let r = apply_all(&tx, writes);
            if r.is_err() {
                tx.execute_batch("ROLLBACK TO req")?;
            }
            tx.execute_batch("RELEASE req")?;
            r
        };
        results.push(r);
    }
    if results.len() == 1 && results[0].is_err() {
        tx.rollback()?;
    } else {
        tx.commit()?;
    }
    Ok(results)
}

fn apply_all(c: &Connection, writes: &[Write]) -> Result<()> {
    for w in writes {
        apply(c, w)?;
    }
    Ok(())
}

fn apply(c: &Connection, w: &Write) -> Result<()> {
    match w {
        Write::Messaging(m) => crate::messaging::apply(c, m)?,
        Write::PutMachine(m) => {
            c.prepare_cached(
                "INSERT OR REPLACE INTO machines VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
            )?
            .execute(params![
                m.arn,
                m.name,
                m.kind,
                m.definition,
                m.role_arn,
                m.revision_id,
                m.description,
                m.created_ms,
                m.logging,
                m.tracing,
                m.encryption
            ])?;
        }
        Write::DeleteMachine(arn) => {
            c.prepare_cached("DELETE FROM machines WHERE arn = ?1")?
                .execute([arn])?;
            c.prepare_cached("DELETE FROM versions WHERE machine_arn = ?1")?
                .execute([arn])?;
            c.prepare_cached("DELETE FROM aliases WHERE machine_arn = ?1")?
                .execute([arn])?;
            c.prepare_cached("DELETE FROM tags WHERE resource_arn = ?1")?
                .execute([arn])?;
        }
        Write::PutMapRun(m) => {
            c.prepare_cached("INSERT OR IGNORE INTO map_runs VALUES (?1,?2,?3,?4,?5,?6,?7)")?
                .execute(params![
                    m.arn,
                    m.execution_arn,
                    m.state_machine_arn,
                    m.status,
                    m.start_ms,
                    m.stop_ms,
                    m.config
                ])?;
        }
        Write::UpdateMapRun {
            arn,
            status,
            stop_ms,
            config,
        } => {
            c.prepare_cached(
                "UPDATE map_runs SET status = ?2, stop_ms = ?3, config = ?4 WHERE arn = ?1",
            )?
            .execute(params![arn, status, stop_ms, config])?;
        }
        Write::PutRevision(r) => {
            c.prepare_cached("INSERT OR REPLACE INTO revisions VALUES (?1,?2,?3,?4,?5)")?
                .execute(params![
                    r.machine_arn,
                    r.revision_id,
                    r.definition,
                    r.role_arn,
                    r.kind
                ])?;
        }
        Write::PutVersion(v) => {
            c.prepare_cached("INSERT INTO versions VALUES (?1,?2,?3,?4,?5,?6)")?
                .execute(params![
                    v.arn,
                    v.machine_arn,
                    v.version,
                    v.revision_id,
                    v.description,
                    v.created_ms
                ])
                .map_err(conflict)?;
        }
        Write::DeleteVersion(arn) => {
            c.prepare_cached("DELETE FROM versions WHERE arn = ?1")?
                .execute([arn])?;
        }
        Write::PutAlias(a) => {
            c.prepare_cached("INSERT OR REPLACE INTO aliases VALUES (?1,?2,?3,?4,?5,?6,?7)")?
                .execute(params![
                    a.arn,
                    a.machine_arn,
                    a.name,
                    a.description,
                    a.routing,
                    a.created_ms,
                    a.updated_ms
                ])?;
        }
        Write::DeleteAlias(arn) => {
            c.prepare_cached("DELETE FROM aliases WHERE arn = ?1")?
                .execute([arn])?;
        }
        Write::PutTags(arn, tags) => {
            let mut st = c.prepare_cached("INSERT OR REPLACE INTO tags VALUES (?1,?2,?3)")?;
            for (k, v) in tags {
                st.execute(params![arn, k, v])?;
            }
        }
        Write::PutActivity(a) => {
            c.prepare_cached("INSERT OR IGNORE INTO activities VALUES (?1,?2,?3)")?
                .execute(params![a.arn, a.name, a.created_ms])?;
        }
        Write::PutFunction(f) => {
            c.prepare_cached("INSERT OR REPLACE INTO functions VALUES (?1,?2,?3)")?
                .execute(params![f.name, f.spec, f.created_ms])?;
        }
        Write::DeleteFunction(name) => {
            c.prepare_cached("DELETE FROM functions WHERE name = ?1")?
                .execute([name])?;
        }
        Write::DeleteActivity(arn) => {
            c.prepare_cached("DELETE FROM activities WHERE arn = ?1")?
                .execute([arn])?;
            c.prepare_cached("DELETE FROM tags WHERE resource_arn = ?1")?
                .execute([arn])?;
        }
        Write::RemoveTags(arn, keys) => {
            let mut st =
                c.prepare_cached("DELETE FROM tags WHERE resource_arn = ?1 AND key = ?2")?;
            for k in keys {
                st.execute(params![arn, k])?;
            }
        }
        Write::InsertExecution(e) => {
            c.prepare_cached(
                "INSERT INTO executions VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)",
            )?
            .execute(params![
                e.arn,
                e.machine_arn,
                e.revision_id,
                e.version_arn,
                e.alias_arn,
                e.name,
                e.status,
                e.input,
                e.output,
                e.error,
                e.cause,
                e.start_ms,
                e.stop_ms,
                e.params,
                e.pending_tasks,
                e.trace_header,
                e.redrive_count,
                e.redrive_ms
            ])
            .map_err(conflict)?;
        }
        Write::UpdateExecution(u) => {
            c.prepare_cached(
                "UPDATE executions SET status = ?2, output = ?3, error = ?4, cause = ?5,
                 stop_ms = ?6, pending_tasks = ?7, redrive_count = ?8,
                 redrive_ms = COALESCE(?9, redrive_ms) WHERE arn = ?1",
            )?
            .execute(params![
                u.arn,
                u.status,
                u.output,
                u.error,
                u.cause,
                u.stop_ms,
                u.pending_tasks,
                u.redrive_count,
                u.redrive_ms
            ])?;
        }
        Write::AppendStep(s) => {
            c.prepare_cached("INSERT INTO steps VALUES (?1,?2,?3,?4,?5)")?
                .execute(params![
                    s.execution_arn,
                    s.seq,
                    s.now_ms,
                    s.event,
                    s.history
                ])
                .map_err(conflict)?;
        }
        Write::PutTimer(t) => {
            c.prepare_cached("INSERT OR REPLACE INTO timers VALUES (?1,?2,?3)")?
                .execute(params![t.execution_arn, t.timer_id, t.fire_at_ms])?;
        }
        Write::DeleteTimer(arn, id) => {
            c.prepare_cached("DELETE FROM timers WHERE execution_arn = ?1 AND timer_id = ?2")?
                .execute(params![arn, id])?;
        }
        Write::DeleteTimers(arn) => {
            c.prepare_cached("DELETE FROM timers WHERE execution_arn = ?1")?
                .execute([arn])?;
        }
        Write::PurgeStoppedBefore(ms) => {
            c.prepare_cached(
                "DELETE FROM steps WHERE execution_arn IN
                 (SELECT arn FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < ?1)",
            )?
            .execute([ms])?;
            c.prepare_cached("DELETE FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < ?1")?
                .execute([ms])?;
            c.prepare_cached("DELETE FROM map_runs WHERE stop_ms IS NOT NULL AND stop_ms < ?1")?
                .execute([ms])?;
        }
        Write::InsertEventBus(b) => {
            c.prepare_cached("INSERT INTO event_buses VALUES (?1,?2,?3,?4)")?
                .execute(params![b.name, b.arn, b.description, b.created_ms])
                .map_err(conflict)?;
        }
        Write::DeleteEventBus(name) => {
            for sql in [
                "DELETE FROM event_buses WHERE name = ?1",
                "DELETE FROM rules WHERE bus = ?1",
                "DELETE FROM rule_targets WHERE bus = ?1",
            ] {
                c.prepare_cached(sql)?.execute([name])?;
            }
        }
        Write::PutRule(r) => {
            c.prepare_cached("INSERT OR REPLACE INTO rules VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")?
                .execute(params![
                    r.bus,
                    r.name,
                    r.arn,
                    r.event_pattern,
                    r.schedule,
                    r.state,
                    r.description,
                    r.role_arn,
                    r.created_ms
                ])?;
        }
        Write::DeleteRule(bus, name) => {
            c.prepare_cached("DELETE FROM rules WHERE bus = ?1 AND name = ?2")?
                .execute([bus, name])?;
            c.prepare_cached("DELETE FROM rule_targets WHERE bus = ?1 AND rule = ?2")?
                .execute([bus, name])?;
        }
        Write::PutRuleTarget(t) => {
            c.prepare_cached("INSERT OR REPLACE INTO rule_targets VALUES (?1,?2,?3,?4)")?
                .execute(params![t.bus, t.rule, t.id, t.spec])?;
        }
        Write::DeleteRuleTarget(bus, rule, id) => {
            c.prepare_cached("DELETE FROM rule_targets WHERE bus = ?1 AND rule = ?2 AND id = ?3")?
                .execute([bus, rule, id])?;
        }
        Write::InsertDelivery(d) => {
            c.prepare_cached("INSERT OR IGNORE INTO deliveries VALUES (?1,?2,?3,?4,?5,?6,?7,?8)")?
                .execute(params![
                    d.id,
                    d.event,
                    d.rule_arn,
                    d.rule_name,
                    d.target,
                    d.ingested_ms,
                    d.attempts,
                    d.next_ms
                ])?;
        }
        Write::FinishDelivery(id) => {
            c.prepare_cached("DELETE FROM deliveries WHERE id = ?1")?
                .execute([id])?;
        }
        Write::RetryDelivery(id, attempts, next_ms) => {
            c.prepare_cached("UPDATE deliveries SET attempts = ?2, next_ms = ?3 WHERE id = ?1")?
                .execute(params![id, attempts, next_ms])?;
        }
        Write::PutDeadLetter(d) => {
            c.prepare_cached(
                "INSERT OR REPLACE INTO dead_letters VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
            )?
            .execute(params![
                d.id,
                d.event,
                d.rule_arn,
                d.target_id,
                d.target_arn,
                d.dead_letter_arn,
                d.error_code,
                d.error_message,
                d.attempts,
                d.time_ms
            ])?;
        }
        Write::PutSchedule(r) => {
            c.prepare_cached("INSERT OR REPLACE INTO schedules VALUES (?1,?2,?3,?4,?5)")?
                .execute(params![
                    r.group,
                    r.name,
                    r.spec,
                    r.created_ms,
                    r.modified_ms
                ])?;
        }
        Write::DeleteSchedule(group, name) => {
            c.prepare_cached("DELETE FROM schedules WHERE grp = ?1 AND name = ?2")?
                .execute([group, name])?;
        }
        Write::MarkSchedule(key, due_ms) => {
            c.prepare_cached("INSERT OR REPLACE INTO schedule_marks VALUES (?1,?2)")?
                .execute(params![key, due_ms])?;
        }
        Write::DeleteScheduleMark(key) => {
            c.prepare_cached("DELETE FROM schedule_marks WHERE key = ?1")?
                .execute([key])?;
        }
        Write::PutWebhook(w) => {
            c.prepare_cached("INSERT OR REPLACE INTO webhooks VALUES (?1,?2,?3)")?
                .execute(params![w.name, w.spec, w.created_ms])?;
        }
        Write::DeleteWebhook(name) => {
            c.prepare_cached("DELETE FROM webhooks WHERE name = ?1")?
                .execute([name])?;
        }
    }
    Ok(())
}

fn conflict(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict
        }
        _ => StoreError::Sqlite(e),
    }
}
