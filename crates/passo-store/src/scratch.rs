//! Throwaway PostgreSQL databases for tests: each made under a unique name on the server
//! the tests use, and dropped when its handle goes, so test runs neither share state nor
//! leave any behind.

use std::sync::atomic::{AtomicU64, Ordering};

/// The server tests use unless `PASSO_TEST_POSTGRES` names another (any database on it
/// will do: scratch databases are created beside it).
pub const DEFAULT_SERVER: &str = "postgres://127.0.0.1/test";

/// A database that exists until this is dropped.
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates a fresh database on the server `admin_url` connects to.
    pub fn create(admin_url: &str) -> Result<ScratchDatabase, String> {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let config: tokio_postgres::Config = admin_url.parse().map_err(|e| format!("{e}"))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "passo_t_{}_{}_{nanos}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config
            .get_user()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let url = format!("postgres://{user}{host}:{port}/{name}");
        execute(admin_url, format!("CREATE DATABASE {name}"))?;
        Ok(ScratchDatabase {
            admin_url: admin_url.to_string(),
            name,
            url,
        })
    }

    /// For a test: a scratch database on `PASSO_TEST_POSTGRES` (or [`DEFAULT_SERVER`]).
    /// When no server answers, None with a note printed, or a panic when
    /// `PASSO_REQUIRE_E2E=1` (CI), where a skipped PostgreSQL test would hide a failure.
    pub fn for_test(test: &str) -> Option<ScratchDatabase> {
        let server =
            std::env::var("PASSO_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_SERVER.to_string());
        match ScratchDatabase::create(&server) {
            Ok(db) => Some(db),
            Err(e) if std::env::var("PASSO_REQUIRE_E2E").as_deref() == Ok("1") => {
                panic!("{test}: PostgreSQL at {server} is required (PASSO_REQUIRE_E2E=1): {e}")
            }
            Err(e) => {
                eprintln!("note: {test} skipped on PostgreSQL: no server at {server} ({e})");
                None
            }
        }
    }

    /// The connection string of the scratch database.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = execute(&self.admin_url, sql) {
            eprintln!("note: scratch database {} was not dropped: {e}", self.name);
        }
    }
}

/// Runs `sql` on a connection of its own, on a thread of its own (so it works from inside
/// an async runtime too).
pub(crate) fn execute(url: &str, sql: String) -> Result<(), String> {
    query(url, sql).map(|_| ())
}

/// [`execute`], answering the first column of the first row any statement of `sql`
/// returned.
pub(crate) fn query(url: &str, sql: String) -> Result<Option<String>, String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
            config.connect_timeout(std::time::Duration::from_secs(5));
            let (client, conn) = config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            let conn = tokio::spawn(conn);
            let out = client
                .simple_query(&sql)
                .await
                .map(|messages| {
                    messages.into_iter().find_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(String::from),
                        _ => None,
                    })
                })
                .map_err(|e| e.to_string());
            drop(client);
            let _ = conn.await;
            out
        })
    })
    .join()
    .map_err(|_| "the thread running it panicked".to_string())?
}
