//! PostgreSQL only: the store outlives its connections (a database restart, a failover, an
//! administrator's `pg_terminate_backend`), and its schema migrations.

use crate::exec;
use passo_store::scratch::ScratchDatabase;
use passo_store::{Database, Db, DbOptions, Write};
use std::time::{Duration, Instant};

async fn connect(db: &ScratchDatabase) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// Ends every connection to the scratch database but the caller's.
async fn terminate_connections(db: &ScratchDatabase) {
    let ended = connect(db)
        .await
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(ended.get::<_, i64>(0) > 0, "the store had connections open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_and_reads_go_on_after_the_connections_are_cut() {
    let Some(scratch) = ScratchDatabase::for_test("reconnect") else {
        return;
    };
    let db = Db::connect(
        &Database::Postgres(scratch.url().into()),
        DbOptions::default(),
    )
    .unwrap();
    db.write(vec![Write::InsertExecution(exec("before", "m", 1))])
        .await
        .unwrap();
    assert!(db.execution("before").unwrap().is_some());
    terminate_connections(&scratch).await;
    // The first attempts may meet a dead connection (and report it, as the runtime's
    // retries expect); fresh connections take over within a few tries.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut failures = 0;
    loop {
        match db
            .write(vec![Write::InsertExecution(exec("after", "m", 2))])
            .await
        {
            Ok(()) => break,
            Err(e) => {
                failures += 1;
                assert!(Instant::now() < deadline, "no reconnection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    assert!(failures <= 2, "{failures} failed writes");
    let read = loop {
        match db.execution("after") {
            Ok(r) => break r,
            Err(e) => {
                assert!(Instant::now() < deadline, "no reconnection: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    assert!(read.is_some());
    assert!(db.execution("before").unwrap().is_some());
    db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_and_a_newer_schema_is_refused() {
    let Some(scratch) = ScratchDatabase::for_test("migrations") else {
        return;
    };
    let database = Database::Postgres(scratch.url().into());
    // Two stores opening a new database at once: the advisory lock lets one migrate.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Db::connect(&database, DbOptions::default()));
        let b = s.spawn(|| Db::connect(&database, DbOptions::default()));
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    a.write(vec![Write::InsertExecution(exec("kept", "m", 1))])
        .await
        .unwrap();
    assert!(b.execution("kept").unwrap().is_some());
    a.close();
    b.close();
    let client = connect(&scratch).await;
    let versions: Vec<i64> = client
        .query("SELECT version FROM schema_version ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    // Reopening applies nothing again and keeps the rows.
    let db = Db::connect(&database, DbOptions::default()).unwrap();
    assert!(db.execution("kept").unwrap().is_some());
    db.close();
    client
        .execute("INSERT INTO schema_version VALUES (999, 0)", &[])
        .await
        .unwrap();
    match Db::connect(&database, DbOptions::default()) {
        Err(passo_store::StoreError::SchemaTooNew {
            found: 999,
            known: 5,
        }) => {}
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a database of schema 999 was opened"),
    }
}
