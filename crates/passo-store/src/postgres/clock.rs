//! The database's clock, as seen from this node: lease times are kept on it.
//!
//! Nodes judge each other's leases by the expiry times in the `leases` table. Were those
//! the nodes' own clocks, a node whose clock ran ahead would see every other node's lease
//! as run out and take its executions over (sending their tasks again), and one behind
//! would hold on to a lease past its end. So every lease time a node writes or compares is
//! its own clock plus the measured offset of the database's (`Shared::clock_offset_ms`):
//! the nodes then agree with each other to within a round trip, whatever their clocks say.

use super::{no_connection, Postgres};
use crate::Result;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often the offset is measured again (clocks drift and are stepped by NTP).
const REMEASURE_MS: i64 = 10_000;

/// The offset last measured and when (on this node's clock).
#[derive(Default)]
pub(super) struct Offset {
    ms: AtomicI64,
    measured_at_ms: AtomicI64,
}

fn local_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
        * 1000.0
}

/// The database's clock minus this node's (ms), from the reading with the shortest round
/// trip of a few: its error is at most half that round trip.
pub(super) async fn measure(c: &tokio_postgres::Client) -> Result<i64> {
    let mut best: Option<(f64, f64)> = None;
    for _ in 0..3 {
        let before = local_ms();
        let row = c
            .query_one(
                "SELECT EXTRACT(EPOCH FROM clock_timestamp())::FLOAT8 * 1000",
                &[],
            )
            .await?;
        let after = local_ms();
        let db: f64 = row.get(0);
        let trip = after - before;
        let offset = db - (before + after) / 2.0;
        if best.is_none_or(|(t, _)| trip < t) {
            best = Some((trip, offset));
        }
    }
    Ok(best.map_or(0, |(_, o)| o.round() as i64))
}

impl Offset {
    pub(super) fn set(&self, ms: i64) {
        self.ms.store(ms, Ordering::Relaxed);
        self.measured_at_ms
            .store(local_ms() as i64, Ordering::Relaxed);
    }
}

impl Postgres {
    /// The offset as last measured; one older than `REMEASURE_MS` is measured again in the
    /// background (the caller is not held up: the old one is good to a few milliseconds).
    pub(super) fn clock_offset(&self) -> i64 {
        let at = self.offset.measured_at_ms.load(Ordering::Relaxed);
        let now = local_ms() as i64;
        // Marked first (and by one caller only), so that callers meanwhile do not start
        // measurements of their own.
        let stale = now - at > REMEASURE_MS || now < at;
        if stale
            && self
                .offset
                .measured_at_ms
                .compare_exchange(at, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let (pool, offset) = (self.pool.clone(), self.offset.clone());
            self.runtime.spawn(async move {
                let measured = match pool.get().await {
                    Ok(c) => measure(&c).await,
                    Err(e) => Err(no_connection(e)),
                };
                match measured {
                    Ok(ms) => offset.set(ms),
                    Err(e) => tracing::warn!("measuring the database's clock: {e}"),
                }
            });
        }
        self.offset.ms.load(Ordering::Relaxed)
    }
}
