//! The writer: group commit on one connection, pipelined.
//!
//! Every queued request (up to `max_batch`) goes into one transaction. The statements of
//! the whole batch are sent without waiting for answers (tokio-postgres pipelines requests
//! sent on one connection), so a batch costs about one round trip plus the commit, not one
//! per statement. A batch where nothing is refused commits as it is; one where a request is
//! refused (a name already taken) is rolled back and run again with a savepoint per request,
//! so that only the refused requests fail and their neighbours commit.

use super::write::{plan, Param};
use crate::{Request, Result, StoreError};
use deadpool_postgres::{ClientWrapper, Object, Pool};
use futures_util::future::{maybe_done, poll_fn};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_postgres::error::SqlState;
use tokio_postgres::Statement;

/// Commits requests until every sender is gone.
pub(super) async fn run(
    pool: Pool,
    mut rx: UnboundedReceiver<Request>,
    max_batch: usize,
    commits: Arc<AtomicU64>,
) {
    let mut conn: Option<Object> = None;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        // A connection that broke is replaced; the callers retry what failed meanwhile.
        let mut c = match conn.take().filter(|c| !c.is_closed()) {
            Some(c) => c,
            None => match pool.get().await {
                Ok(c) => c,
                Err(e) => {
                    let msg = match super::no_connection(e) {
                        StoreError::Unavailable(m) => m,
                        other => other.to_string(),
                    };
                    for (_, reply) in batch {
                        let _ = reply.send(Err(StoreError::Unavailable(msg.clone())));
                    }
                    continue;
                }
            },
        };
        let outcome = commit_batch(&mut c, &batch).await;
        commits.fetch_add(1, Ordering::Relaxed);
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
        conn = Some(c);
    }
}

/// A request's statements, prepared.
type Prepared<'a> = Vec<(Statement, Vec<Param<'a>>)>;

async fn commit_batch(
    c: &mut ClientWrapper,
    batch: &[Request],
) -> std::result::Result<Vec<Result<()>>, tokio_postgres::Error> {
    // Statements are prepared once per connection (the cache answers at once after that),
    // so that sending them below never waits.
    let mut prepared: Vec<Prepared<'_>> = Vec::with_capacity(batch.len());
    for (writes, _) in batch {
        let mut stmts = Vec::new();
        for s in writes.iter().flat_map(plan) {
            stmts.push((c.prepare_cached(&s.sql).await?, s.params));
        }
        prepared.push(stmts);
    }
    match all_at_once(c, &prepared).await? {
        None => Ok(batch.iter().map(|_| Ok(())).collect()),
        Some(e) if batch.len() == 1 => Ok(vec![Err(refused(e))]),
        Some(_) => one_savepoint_each(c, &prepared).await,
    }
}

/// The common case, where nothing is refused: the whole batch in one transaction without
/// savepoints (each would be a subtransaction: a few thousand of them cost time, and past
/// 64 in one transaction they slow every other session's snapshots). Answers the first
/// refusal, after rolling everything back.
async fn all_at_once(
    c: &mut ClientWrapper,
    prepared: &[Prepared<'_>],
) -> std::result::Result<Option<tokio_postgres::Error>, tokio_postgres::Error> {
    let tx = c.transaction().await?;
    let sent = prepared
        .iter()
        .flatten()
        .map(|(st, params)| tx.execute(st, params))
        .collect();
    let refusal = pipelined(sent).await.into_iter().find_map(|a| a.err());
    match refusal {
        None => {
            tx.commit().await?;
            Ok(None)
        }
        // Not the database refusing a statement: the connection or server is in trouble,
        // and the whole batch fails.
        Some(e) if e.as_db_error().is_none() => Err(e),
        Some(e) => {
            tx.rollback().await?;
            Ok(Some(e))
        }
    }
}

/// A batch where something was refused, again: each request in its own savepoint, so that
/// only the refused ones fail. PostgreSQL refuses everything after a failed statement in a
/// transaction, so the writer rolls back to that request's savepoint and sends the requests
/// after it again.
async fn one_savepoint_each(
    c: &mut ClientWrapper,
    prepared: &[Prepared<'_>],
) -> std::result::Result<Vec<Result<()>>, tokio_postgres::Error> {
    let tx = c.transaction().await?;
    let savepoint = tx.prepare_cached("SAVEPOINT req").await?;
    let release = tx.prepare_cached("RELEASE SAVEPOINT req").await?;
    let rollback = tx.prepare_cached("ROLLBACK TO SAVEPOINT req").await?;
    let mut results = Vec::with_capacity(prepared.len());
    let mut start = 0;
    while start < prepared.len() {
        let mut sent = Vec::new();
        let mut owner = Vec::new();
        for (i, stmts) in prepared.iter().enumerate().skip(start) {
            sent.push(tx.execute(&savepoint, &[]));
            owner.push(i);
            for (st, params) in stmts {
                sent.push(tx.execute(st, params));
                owner.push(i);
            }
            sent.push(tx.execute(&release, &[]));
            owner.push(i);
        }
        let answers = pipelined(sent).await;
        let first_error = answers
            .into_iter()
            .enumerate()
            .find_map(|(j, a)| a.err().map(|e| (owner[j], e)));
        let Some((failed, e)) = first_error else {
            results.extend((start..prepared.len()).map(|_| Ok(())));
            break;
        };
        results.extend((start..failed).map(|_| Ok(())));
        if e.as_db_error().is_none() {
            return Err(e);
        }
        tx.execute(&rollback, &[]).await?;
        tx.execute(&release, &[]).await?;
        results.push(Err(refused(e)));
        start = failed + 1;
    }
    tx.commit().await?;
    Ok(results)
}

/// A statement the database refused: a taken key is a conflict, a failed lease check a
/// lost lease.
pub(super) fn refused(e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        return StoreError::Conflict;
    }
    if let Some(key) = super::leases::lost(&e) {
        return StoreError::LeaseLost(key);
    }
    StoreError::Postgres(e)
}

/// Polls every future once, in order, which sends each one's request on the connection,
/// then waits for their answers in that same order.
async fn pipelined<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures
        .into_iter()
        .map(|f| Box::pin(maybe_done(f)))
        .collect();
    poll_fn(|cx| {
        for f in futures.iter_mut() {
            let _ = f.as_mut().poll(cx);
        }
        Poll::Ready(())
    })
    .await;
    let mut out = Vec::with_capacity(futures.len());
    for mut f in futures {
        f.as_mut().await;
        out.push(
            Pin::as_mut(&mut f)
                .take_output()
                .expect("a finished future has its output"),
        );
    }
    out
}
