//! The PostgreSQL backend.
//!
//! The store runs its own small tokio runtime on threads of its own: the writer
//! ([`writer`]) and every read run there on pooled tokio-postgres connections, and a
//! caller waits for its answer on a channel. So the synchronous [`crate::Reads`] work from
//! any thread, inside an async runtime or not (the sync `postgres` crate would panic there),
//! and the server's code calls the same methods on either backend.

mod activity_queue;
mod clock;
mod export;
mod leases;
mod nodes;
mod read;
mod rows;
mod schema;
mod write;
mod writer;

use crate::{DbOptions, Request, Result, StoreError};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

pub(crate) struct Postgres {
    pool: Pool,
    runtime: tokio::runtime::Handle,
    tx: Mutex<Option<UnboundedSender<Request>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    commits: Arc<AtomicU64>,
    offset: Arc<clock::Offset>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// No connection could be had: what the server said, if it said anything.
pub(super) fn no_connection(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => {
            StoreError::Unavailable(crate::postgres_detail(&e))
        }
        e => unavailable(e),
    }
}

impl Postgres {
    /// Connects to `url`, applies the migrations the database lacks and starts the writer.
    pub(crate) fn open(url: &str, opts: DbOptions) -> Result<Postgres> {
        let mut config: tokio_postgres::Config = url.parse().map_err(unavailable)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("passo");
        }
        // A node cut off mid-transaction must not hold its rows' locks (a lease another
        // node is claiming) for TCP's hours: the server ends such a session itself.
        let keep = config.get_options().map(str::to_string).unwrap_or_default();
        if !keep.contains("idle_in_transaction_session_timeout") {
            config.options(format!("{keep} -c idle_in_transaction_session_timeout=10000").trim());
        }
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(opts.read_connections.max(1) + 1)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(unavailable)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("passo-store-pg")
            .enable_all()
            .build()
            .map_err(unavailable)?;
        let handle = runtime.handle().clone();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let commits = Arc::new(AtomicU64::new(0));
        let (writer_pool, writer_commits) = (pool.clone(), commits.clone());
        let max_batch = opts.max_batch;
        // The runtime lives on this thread and is dropped there (dropping one inside another
        // runtime's task would panic), once the writer has drained its queue.
        let thread = std::thread::Builder::new()
            .name("passo-store-pg-writer".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let ready = async {
                        let mut c = writer_pool.get().await.map_err(no_connection)?;
                        schema::migrate(&mut c).await?;
                        clock::measure(&c).await
                    }
                    .await;
                    let ok = ready.is_ok();
                    let _ = ready_tx.send(ready);
                    if ok {
                        writer::run(writer_pool, rx, max_batch, writer_commits).await;
                    }
                });
            })
            .map_err(unavailable)?;
        let offset = Arc::new(clock::Offset::default());
        match ready_rx.recv() {
            Ok(Ok(ms)) => offset.set(ms),
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => return Err(StoreError::Closed),
        }
        Ok(Postgres {
            pool,
            runtime: handle,
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            commits,
            offset,
        })
    }

    /// Runs `f` on a pooled connection on the store's runtime and waits for its answer.
    fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Object) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let pool = self.pool.clone();
        self.runtime.spawn(async move {
            let answer = match pool.get().await {
                Ok(c) => f(c).await,
                Err(e) => Err(no_connection(e)),
            };
            let _ = tx.send(answer);
        });
        rx.recv().map_err(|_| StoreError::Closed)?
    }
}

impl crate::Store for Postgres {
    fn send(&self, request: Request) -> Result<()> {
        let guard = self.tx.lock().unwrap();
        let sender = guard.as_ref().ok_or(StoreError::Closed)?;
        sender.send(request).map_err(|_| StoreError::Closed)
    }

    fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    fn close(&self) {
        self.tx.lock().unwrap().take();
        if let Some(t) = self.thread.lock().unwrap().take() {
            let _ = t.join();
        }
        self.pool.close();
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn shared(&self) -> Option<&dyn crate::Shared> {
        Some(self)
    }
}
