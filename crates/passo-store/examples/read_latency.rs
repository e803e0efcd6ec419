//! What a synchronous read costs on each backend, called from a tokio task as the server
//! calls them: `Db::execution` on SQLite, on PostgreSQL (through the store's own runtime),
//! and, for comparison, the same query awaited directly on a tokio-postgres connection
//! (what `block_in_place` around an async client would cost, minus the blocking).
//!
//! cargo run --release -p passo-store --example read_latency [-- postgres://127.0.0.1/test]

use passo_store::scratch::ScratchDatabase;
use passo_store::{Database, Db, DbOptions, ExecutionRow, Write};
use std::time::Instant;

const N: usize = 20_000;

fn row(i: usize) -> ExecutionRow {
    ExecutionRow {
        arn: format!("arn:ex:m:{i}"),
        machine_arn: "arn:sm:m".into(),
        revision_id: "r".into(),
        version_arn: None,
        alias_arn: None,
        name: i.to_string(),
        status: "RUNNING".into(),
        input: "{}".into(),
        output: None,
        error: None,
        cause: None,
        start_ms: i as i64,
        stop_ms: None,
        params: "{}".into(),
        pending_tasks: 0,
        trace_header: None,
        redrive_count: 0,
        redrive_ms: None,
    }
}

async fn measure(what: &str, db: &Db) {
    let writes = (0..1000).map(|i| Write::InsertExecution(row(i))).collect();
    db.write(writes).await.unwrap();
    let t = Instant::now();
    for i in 0..N {
        assert!(db
            .execution(&format!("arn:ex:m:{}", i % 1000))
            .unwrap()
            .is_some());
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / N as f64;
    println!("{what:<45} {us:>7.1} µs per read");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = std::env::args()
        .nth(1)
        .unwrap_or_else(|| passo_store::scratch::DEFAULT_SERVER.into());
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Db::open(&dir.path().join("p.db"), DbOptions::default()).unwrap();
    measure("SQLite Db::execution", &sqlite).await;
    let scratch = ScratchDatabase::create(&server).unwrap();
    let pg = Db::connect(
        &Database::Postgres(scratch.url().into()),
        DbOptions::default(),
    )
    .unwrap();
    measure("PostgreSQL Db::execution (store runtime)", &pg).await;
    let (client, conn) = tokio_postgres::connect(scratch.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let st = client
        .prepare("SELECT * FROM executions WHERE arn = $1")
        .await
        .unwrap();
    let t = Instant::now();
    for i in 0..N {
        let arn = format!("arn:ex:m:{}", i % 1000);
        assert!(client.query_opt(&st, &[&arn]).await.unwrap().is_some());
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / N as f64;
    println!(
        "{:<45} {us:>7.1} µs per read",
        "PostgreSQL awaited in place (no hop)"
    );
    drop(client);
    pg.close();
    sqlite.close();
}
