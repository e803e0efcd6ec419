//! The SQLite backend: one file in WAL mode, a writer thread that group-commits (one
//! transaction per batch, a savepoint per request) and a small pool of read connections,
//! which WAL lets run beside the writer.

mod export;
mod history_text;
mod messaging;
mod read;
mod schema;
mod write;

use crate::{DbOptions, Request, Result, StoreError};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// The writer's connection (readers open their own in [`Sqlite::read`]).
fn open_conn(path: &Path, opts: &DbOptions) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(
        None,
        "synchronous",
        if opts.fsync_full { "FULL" } else { "NORMAL" },
    )?;
    c.pragma_update(None, "foreign_keys", "OFF")?;
    // The writer's statement journal in memory, not in a temporary file: in a savepoint
    // (each request of a batch that had to be retried one by one, see `commit_batch`) and
    // for a statement that may fail midway, SQLite keeps each page's first image so that
    // it can roll back alone. Past 64 KiB that journal spilled to a file. Measured while
    // every request of a batch still ran in a savepoint: perf showed its pwrite()s under
    // `subjournalPageIfRequired` among the server's top kernel samples, and `passo bench
    // --http` measured 11.3-11.5 KB written per durable Standard execution with it against
    // 9.1-9.9 KB without. Only the
    // writer's connection: readers may sort large results, which should spill to disk.
    // (A batch's journal is bounded by its pages: a few MB at most.)
    c.pragma_update(None, "temp_store", "MEMORY")?;
    // Checkpoints stay at SQLite's 1,000 log pages. 10,000 was tried: with a savepoint per
    // request it gave ~12% more durable Standard W1 executions/s (p99 14 -> 8 ms), but once
    // batches went without savepoints (`commit_all_or_nothing`) it gave none (19,652 /
    // 20,056 exec/s against 19,624 / 19,478 at 1,000), while the writer's longer
    // checkpoints (it runs each inside the commit crossing the mark) raised the webhook ->
    // Standard run's p99 from 25-27 ms to 87-90 ms.
    // A write-ahead log that grew under a burst of writes (checkpoints wait for readers) is
    // cut back to this after a checkpoint, rather than keeping its largest size on disk.
    c.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(c)
}

/// Applies the migrations the database has not had, each in its own transaction.
fn migrate(conn: &Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = schema::MIGRATIONS.last().map_or(0, |m| m.0);
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (version, sql) in schema::MIGRATIONS.iter().filter(|m| m.0 > found) {
        // Looked at again under the write lock: another process opening the file at the
        // same moment may have applied it meanwhile.
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let now: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let applied = if now < *version {
            conn.execute_batch(&format!("{sql} PRAGMA user_version = {version};"))
        } else {
            Ok(())
        };
        match applied {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e.into());
            }
        }
    }
    Ok(())
}

impl Sqlite {
    /// Opens (creating if needed) the database file at `path` and starts the writer thread.
    pub(crate) fn open(path: &Path, opts: DbOptions) -> Result<Sqlite> {
        let conn = open_conn(path, &opts)?;
        conn.execute_batch(schema::SCHEMA)?;
        conn.execute_batch(schema::MESSAGING)?;
        migrate(&conn)?;
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
        let commit_wait = opts.commit_wait;
        let handle = std::thread::Builder::new()
            .name("passo-store-writer".into())
            .spawn(move || writer_loop(conn, rx, max_batch, commit_wait, weak))
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

/// Takes every queued request (up to `max_batch`, gathered as [`gather`] says), applies
/// them in one transaction ([`commit_batch`]), commits once and answers them all.
fn writer_loop(
    mut conn: Connection,
    rx: mpsc::Receiver<Request>,
    max_batch: usize,
    commit_wait: Duration,
    inner: std::sync::Weak<Inner>,
) {
    let mut last_len = 0;
    while let Ok(first) = rx.recv() {
        let wait = if last_len > 1 {
            commit_wait
        } else {
            Duration::ZERO
        };
        let batch = gather(&rx, first, max_batch, wait, GATHER_GAP);
        last_len = batch.len();
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

/// The longest pause between two requests that still counts as "arriving together".
const GATHER_GAP: Duration = Duration::from_micros(250);

/// The requests of one transaction: `first`, what is queued, and, for up to `wait`, what
/// keeps arriving (each within `gap` of the one before).
///
/// Why wait at all: a commit writes every page it changed to the WAL as a whole 4 KB frame
/// (and the checkpoint writes it again), however little of the page changed. Executions
/// committed together share their pages (the tables' and indexes' newest leaves), so the
/// bytes written per execution fall as transactions grow. Measured with `passo bench
/// --http` (durable Standard W1, 64 connections, 2 cores, runs alternated): 17.4-19.2 KB
/// written per execution committing at once, 11.2-12.5 KB waiting up to 0.3 ms (the
/// default), ~10.9 KB up to 1 ms; executions per second equal within the machine's noise
/// at 0.3 ms (8,455-8,858 against 8,247-9,033), ~10% fewer at 1 ms (each client waits the
/// longer commit). The wait applies only after a transaction of several requests, so a
/// lone request (a CLI run, a quiet server) never waits.
fn gather(
    rx: &mpsc::Receiver<Request>,
    first: Request,
    max_batch: usize,
    wait: Duration,
    gap: Duration,
) -> Vec<Request> {
    let mut batch = vec![first];
    let deadline = Instant::now() + wait;
    while batch.len() < max_batch {
        if let Ok(r) = rx.try_recv() {
            batch.push(r);
            continue;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match rx.recv_timeout(left.min(gap)) {
            Ok(r) => batch.push(r),
            Err(_) => break,
        }
    }
    batch
}

/// Applies a batch in one transaction: whole if no request fails
/// ([`commit_all_or_nothing`]), else each request in its own savepoint, so that only a
/// failing one is refused.
fn commit_batch(conn: &mut Connection, batch: &[Request]) -> rusqlite::Result<Vec<Result<()>>> {
    if batch.len() > 1 {
        if let Some(done) = commit_all_or_nothing(conn, batch)? {
            return Ok(done);
        }
    }
    let tx = conn.transaction()?;
    let mut results = Vec::with_capacity(batch.len());
    for (writes, _) in batch {
        let r = if batch.len() == 1 {
            write::apply_all(&tx, writes)
        } else {
            tx.execute_batch("SAVEPOINT req")?;
            let r = write::apply_all(&tx, writes);
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

/// The common case first: every request of the batch applied in one transaction without a
/// savepoint each, committed if none fails. When one fails, nothing of it is kept and
/// `commit_batch` applies them again, each in its own savepoint, so that only the failing
/// one is refused (the writes are data; applying them twice is applying them once).
///
/// Why: a savepoint per request cost three more statements each and made SQLite keep a
/// statement journal of every page's first image in every savepoint. `passo bench --http`
/// durable Standard W1, runs alternated: 21,391 / 20,328 exec/s at 54 / 58 us of server
/// CPU per execution against 16,557 / 16,067 at 72 / 74 us with a savepoint each.
fn commit_all_or_nothing(
    conn: &mut Connection,
    batch: &[Request],
) -> rusqlite::Result<Option<Vec<Result<()>>>> {
    let tx = conn.transaction()?;
    for (writes, _) in batch {
        if write::apply_all(&tx, writes).is_err() {
            tx.rollback()?;
            return Ok(None);
        }
    }
    tx.commit()?;
    Ok(Some(batch.iter().map(|_| Ok(())).collect()))
}

/// Whether another connection has the SQLite file at `path` open (a server running on it):
/// in WAL mode every open connection keeps a shared lock on the file, so an exclusive lock
/// taken without waiting fails while any is open. The file must exist (it is not created).
pub fn in_use(path: &Path) -> Result<bool> {
    let c = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    c.busy_timeout(std::time::Duration::ZERO)?;
    c.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    match c.execute_batch("BEGIN EXCLUSIVE; ROLLBACK") {
        Ok(()) => Ok(false),
        Err(rusqlite::Error::SqliteFailure(f, _))
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            Ok(true)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Write;
    use tokio::sync::oneshot;

    fn request() -> Request {
        (Vec::<Write>::new(), oneshot::channel().0)
    }

    #[test]
    fn gather_takes_what_keeps_arriving_until_its_senders_stop() {
        let (tx, rx) = mpsc::channel();
        let sender = std::thread::spawn(move || {
            for _ in 0..3 {
                std::thread::sleep(Duration::from_millis(20));
                tx.send(request()).unwrap();
            }
        });
        // A wait and a gap far longer than the sender's pauses: it ends when the sender
        // hangs up, with every request it sent.
        let long = Duration::from_secs(60);
        let batch = gather(&rx, request(), 2048, long, long);
        assert_eq!(batch.len(), 4);
        sender.join().unwrap();
    }

    #[test]
    fn gather_without_a_wait_takes_only_what_is_queued_and_at_most_a_batch() {
        let (tx, rx) = mpsc::channel();
        for _ in 0..5 {
            tx.send(request()).unwrap();
        }
        let batch = gather(&rx, request(), 4, Duration::ZERO, GATHER_GAP);
        assert_eq!(batch.len(), 4, "the first and three queued: a batch of 4");
        let batch = gather(&rx, request(), 2048, Duration::ZERO, GATHER_GAP);
        assert_eq!(batch.len(), 3, "the first and the two still queued");
    }

    #[test]
    fn a_lone_request_is_committed_without_waiting_whatever_the_commit_wait() {
        let dir = tempfile::tempdir().unwrap();
        let opts = DbOptions {
            commit_wait: Duration::from_secs(3600),
            ..Default::default()
        };
        let db = crate::Db::open(&dir.path().join("p.db"), opts).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            for _ in 0..3 {
                tokio::time::timeout(Duration::from_secs(30), db.write(Vec::new()))
                    .await
                    .expect("a lone request waited for company")
                    .unwrap();
            }
        });
        assert_eq!(db.commits(), 3);
        db.close();
    }
}
