//! One test suite for every store backend: each case runs on SQLite and on PostgreSQL.
//!
//! PostgreSQL cases each get a scratch database (created with a unique name, dropped after
//! the case). Without a PostgreSQL server they are skipped with a note, unless
//! `PASSO_REQUIRE_E2E=1` (CI), where that fails them.

mod activity_queue;
mod catalog;
mod events;
mod executions;
mod export;
mod leases;
mod messaging;
mod postgres_only;
mod snapshots;
mod sqlite_only;

use passo_store::scratch::ScratchDatabase;
use passo_store::{Database, Db, DbOptions, ExecutionRow};

/// An open store and what it lives in.
pub struct Fixture {
    pub db: Db,
    place: Place,
}

enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(ScratchDatabase),
}

impl Fixture {
    fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let place = Place::Sqlite(dir);
        Fixture {
            db: Db::connect(&database(&place), DbOptions::default()).unwrap(),
            place,
        }
    }

    fn postgres(test: &str) -> Option<Fixture> {
        let place = Place::Postgres(ScratchDatabase::for_test(test)?);
        Some(Fixture {
            db: Db::connect(&database(&place), DbOptions::default()).unwrap(),
            place,
        })
    }

    /// Closes the store (after its writer has committed everything queued) and opens it
    /// again: what a restarted server sees.
    pub fn reopen(&mut self) {
        self.db.close();
        self.db = Db::connect(&database(&self.place), DbOptions::default()).unwrap();
    }
}

/// Another connection holding the write lock: the store's writer waits behind it.
pub enum Hold {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

impl Fixture {
    /// Blocks the store's writer (another connection takes the lock its next write needs),
    /// so that requests submitted meanwhile queue up and go in one batch once released.
    pub async fn hold_writes(&self) -> Hold {
        match &self.place {
            Place::Sqlite(dir) => {
                let c = rusqlite::Connection::open(dir.path().join("passo.db")).unwrap();
                c.execute_batch("BEGIN IMMEDIATE").unwrap();
                Hold::Sqlite(c)
            }
            Place::Postgres(db) => {
                let (client, conn) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                client
                    .batch_execute("BEGIN; LOCK TABLE executions IN SHARE ROW EXCLUSIVE MODE")
                    .await
                    .unwrap();
                Hold::Postgres(client)
            }
        }
    }
}

impl Hold {
    pub async fn release(self) {
        match self {
            Hold::Sqlite(c) => c.execute_batch("COMMIT").unwrap(),
            Hold::Postgres(c) => c.batch_execute("COMMIT").await.unwrap(),
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.db.close();
    }
}

fn database(place: &Place) -> Database {
    match place {
        Place::Sqlite(dir) => Database::Sqlite(dir.path().join("passo.db")),
        Place::Postgres(db) => Database::Postgres(db.url().to_string()),
    }
}

/// A running execution of machine `m` started at `start_ms`.
pub fn exec(arn: &str, m: &str, start_ms: i64) -> ExecutionRow {
    ExecutionRow {
        arn: arn.into(),
        machine_arn: m.into(),
        revision_id: "r1".into(),
        version_arn: None,
        alias_arn: None,
        name: arn.rsplit(':').next().unwrap().into(),
        status: "RUNNING".into(),
        input: "{}".into(),
        output: None,
        error: None,
        cause: None,
        start_ms,
        stop_ms: None,
        params: "{\"seed\":1}".into(),
        pending_tasks: 0,
        trace_header: None,
        redrive_count: 0,
        redrive_ms: None,
    }
}

/// The update that ends execution `arn` SUCCEEDED at `stop_ms`.
pub fn succeeded(arn: &str, stop_ms: i64) -> passo_store::ExecutionUpdate {
    passo_store::ExecutionUpdate {
        arn: arn.into(),
        status: "SUCCEEDED".into(),
        output: Some("{}".into()),
        error: None,
        cause: None,
        stop_ms: Some(stop_ms),
        pending_tasks: 0,
        redrive_count: 0,
        redrive_ms: None,
    }
}

/// Every case, as `module::function`, run once per backend.
macro_rules! suite {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let mut f = crate::Fixture::sqlite();
                    crate::$module::$name(&mut f).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(mut f) = crate::Fixture::postgres(stringify!($name)) else {
                        return;
                    };
                    assert_eq!(f.db.backend(), "postgres");
                    crate::$module::$name(&mut f).await;
                }
            )*
        }
    };
}

suite! {
    catalog::machines_revisions_versions_and_aliases,
    catalog::tags_keep_the_order_they_were_set_in,
    catalog::activities_and_functions,
    executions::concurrent_writes_share_commits_and_a_conflict_fails_alone,
    executions::a_failing_request_leaves_no_trace_and_its_neighbours_commit,
    executions::an_execution_runs_with_steps_and_survives_a_reopen,
    executions::timers_come_back_in_due_order,
    executions::map_runs_keep_their_start_and_take_updates,
    executions::listing_pages_by_start_time_without_repeats,
    executions::search_filters_across_machines,
    executions::purge_removes_only_what_stopped_before,
    events::buses_rules_and_targets,
    events::deliveries_are_recorded_once_and_kept_until_finished,
    events::dead_letters_newest_first,
    events::schedules_marks_and_webhooks,
    messaging::messages_keep_their_visibility_and_go_with_their_queue,
    messaging::topics_subscriptions_and_their_deliveries,
    export::a_store_reads_whole_in_pages_and_counts_its_tables,
    snapshots::a_snapshot_is_replaced_and_goes_with_its_execution,
    snapshots::steps_are_read_by_event_ids_and_after_a_seq,
}
