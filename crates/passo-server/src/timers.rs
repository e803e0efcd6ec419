//! Timers: rows in the store; the ones due soon also sit in an in-memory heap that one task
//! watches. A periodic scan moves rows from the store into the heap as they come due, so an
//! execution parked for a year costs a row, not memory.

use crate::runtime::{now_ms, Delivery, Expect, Runtime, LOOKAHEAD_MS};
use passo_engine::Event;
use passo_store::{TimerRow, Write};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The timers due soonest first, and the (execution, timer) keys present, to add each once.
type Heap = (BinaryHeap<Reverse<TimerRow>>, HashSet<(String, i64)>);

#[derive(Default)]
pub struct Timers {
    heap: Mutex<Heap>,
    wake: Notify,
}

impl Timers {
    /// Adds a timer (once: a timer already in the heap is not added again).
    pub fn push(&self, t: TimerRow) {
        let mut g = self.heap.lock().unwrap();
        let key = (t.execution_arn.clone(), t.timer_id);
        if g.1.insert(key) {
            let earliest =
                g.0.peek()
                    .is_none_or(|Reverse(h)| t.fire_at_ms < h.fire_at_ms);
            g.0.push(Reverse(t));
            drop(g);
            if earliest {
                self.wake.notify_one();
            }
        }
    }

    fn pop_due(&self, now: i64) -> (Vec<TimerRow>, Option<i64>) {
        let mut g = self.heap.lock().unwrap();
        let mut due = Vec::new();
        while let Some(Reverse(t)) = g.0.peek() {
            if t.fire_at_ms > now {
                break;
            }
            let Reverse(t) = g.0.pop().unwrap();
            g.1.remove(&(t.execution_arn.clone(), t.timer_id));
            due.push(t);
        }
        let next = g.0.peek().map(|Reverse(t)| t.fire_at_ms);
        (due, next)
    }

    pub fn len(&self) -> usize {
        self.heap.lock().unwrap().0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How often the store is scanned for timers coming due, and old executions purged.
const SCAN_EVERY_MS: i64 = 5_000;
const PURGE_EVERY_MS: i64 = 3_600_000;

/// Executions purged per transaction: a retention purge of millions must not hold the
/// writer (and every step waiting behind it) for minutes.
const PURGE_SLICE: usize = 5_000;

/// Purges what stopped before `before`, oldest first, a slice per commit.
async fn purge(db: &passo_store::Db, before: i64) {
    let mut last = None;
    loop {
        let cutoff = match db.purge_cutoff(before, PURGE_SLICE) {
            Ok(c) => c,
            Err(e) => return tracing::warn!("purging old executions: {e}"),
        };
        // A slice's worth stopped in the same millisecond: take them all at once.
        let upto = match cutoff {
            Some(c) if Some(c) == last => (c + 1).min(before),
            Some(c) => c,
            None => before,
        };
        last = cutoff;
        if let Err(e) = db.write(vec![Write::PurgeStoppedBefore(upto)]).await {
            return tracing::warn!("purging old executions: {e}");
        }
        if upto >= before {
            return;
        }
        // Room for the steps queued behind the slice.
        tokio::task::yield_now().await;
    }
}

/// Fires due timers forever (run it as a task).
pub async fn run(rt: Arc<Runtime>) {
    let mut next_scan = 0;
    let mut next_purge = now_ms() + 60_000;
    loop {
        let now = now_ms();
        if now >= next_scan {
            // With other nodes: only the timers of executions this node may own.
            let due = match rt.db.shared() {
                Some(shared) => {
                    // Leases on the database's clock, timers on this node's.
                    shared.due_timers_for(
                        &rt.cfg.node_id,
                        rt.lease_now(),
                        now + LOOKAHEAD_MS,
                        100_000,
                    )
                }
                None => rt.db.due_timers(now + LOOKAHEAD_MS, 100_000),
            };
            match due {
                Ok(rows) => rows.into_iter().for_each(|t| rt.timers.push(t)),
                Err(e) => tracing::warn!("scanning timers: {e}"),
            }
            next_scan = now + SCAN_EVERY_MS;
        }
        if now >= next_purge {
            purge(&rt.db, now - rt.cfg.retention_ms).await;
            next_purge = now + PURGE_EVERY_MS;
        }
        let (due, next) = rt.timers.pop_due(now);
        for t in due {
            rt.metrics.timer_fired(now - t.fire_at_ms);
            let rt = rt.clone();
            tokio::spawn(async move {
                let ev = Event::TimerFired {
                    timer: t.timer_id as u64,
                };
                let arn = &t.execution_arn;
                match rt
                    .deliver_if(arn, ev, Expect::Timer(t.timer_id as u64))
                    .await
                {
                    // Applied, or another node holds the execution and fires it there.
                    Ok(Delivery::Applied | Delivery::Forwarded) => {}
                    // A timer its execution no longer has (cancelled, or it ended): drop it.
                    Ok(Delivery::Refused | Delivery::NotYet | Delivery::Ended) => {
                        let del = Write::DeleteTimer(arn.clone(), t.timer_id);
                        if let Err(e) = rt.db.write(vec![del]).await {
                            tracing::warn!("dropping a stale timer of {arn}: {e}");
                        }
                    }
                    Err(e) => tracing::warn!("firing a timer of {arn}: {e}"),
                }
            });
        }
        let until = next.unwrap_or(i64::MAX).min(next_scan);
        let wait = (until - now_ms()).clamp(0, SCAN_EVERY_MS) as u64;
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(wait)) => {}
            _ = rt.timers.wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{purge, PURGE_SLICE};
    use passo_store::{Db, DbOptions, ExecutionRow, Write};

    fn ended(i: usize, stop_ms: i64) -> Write {
        Write::InsertExecution(ExecutionRow {
            arn: format!("e{i}"),
            machine_arn: "m".into(),
            revision_id: "r".into(),
            version_arn: None,
            alias_arn: None,
            name: format!("e{i}"),
            status: "SUCCEEDED".into(),
            input: "{}".into(),
            output: Some("{}".into()),
            error: None,
            cause: None,
            start_ms: 0,
            stop_ms: Some(stop_ms),
            params: "{}".into(),
            pending_tasks: 0,
            trace_header: None,
            redrive_count: 0,
            redrive_ms: None,
        })
    }

    #[tokio::test]
    async fn a_purge_goes_in_slices_and_takes_everything_before_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("p.db"), DbOptions::default()).unwrap();
        // More than a slice stopped in one millisecond, more spread out, and some after.
        let n = PURGE_SLICE * 2 + 10;
        let mut w: Vec<Write> = (0..n).map(|i| ended(i, 7)).collect();
        w.extend((n..n + PURGE_SLICE).map(|i| ended(i, 8 + i as i64)));
        w.extend((0..5).map(|i| ended(1_000_000 + i, 1_000_000_000)));
        db.write(w).await.unwrap();
        let commits = db.commits();
        purge(&db, 1_000_000_000).await;
        assert!(db.commits() - commits >= 2, "one commit per slice");
        assert_eq!(db.purge_cutoff(i64::MAX, 0).unwrap(), Some(1_000_000_000));
        assert!(db.execution("e0").unwrap().is_none());
        assert!(db.execution(&format!("e{}", n + 3)).unwrap().is_none());
        assert!(
            db.execution("e1000004").unwrap().is_some(),
            "not before the time: kept"
        );
        db.close();
    }
}
