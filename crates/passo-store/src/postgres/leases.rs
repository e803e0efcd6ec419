//! Leases and the inbox: what lets several Passo nodes share one PostgreSQL database.
//!
//! A lease row says which node owns an execution (its ARN is the key), until when, and
//! under which fencing number. A claim takes a lease that is free (no row, released, or run
//! out) and bumps the fence; every step a node commits runs `passo_hold_lease` in the same
//! transaction, which fails (SQLSTATE PSL01) unless the node still holds the lease under
//! the fence it loaded the execution with. The function also locks the row until the
//! commit, so a claim by another node waits for a step in flight rather than racing it:
//! a node that lost its lease can never commit a step again.
//!
//! Event-bus deliveries a dead node accepted are taken over here too (`take_overdue_deliveries`).
//!
//! Nothing here depends on LISTEN/NOTIFY (CockroachDB and YugabyteDB lack it): nodes poll.

use super::read::{limit_param, p, text};
use super::rows::{delivery, timer};
use super::write::{st, Stmt};
use super::Postgres;
use crate::rows::{Claim, DeliveryRow, InboxRow, LeaseRow, TimerRow, Write};
use crate::Result;
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

/// The SQLSTATE `passo_hold_lease` raises.
const LEASE_LOST: &str = "PSL01";

/// The key of the lease a refused statement found lost, if that is why it was refused.
pub(super) fn lost(e: &tokio_postgres::Error) -> Option<String> {
    if e.code() != Some(&SqlState::from_code(LEASE_LOST)) {
        return None;
    }
    let msg = e.as_db_error().map(|d| d.message().to_string())?;
    Some(msg.strip_prefix("lease lost: ").unwrap_or(&msg).to_string())
}

/// The statements of the lease and inbox writes.
pub(super) fn plan(w: &Write) -> Vec<Stmt<'_>> {
    match w {
        Write::NewLease(l) => vec![st(
            "INSERT INTO leases (key, node, fence, expires_ms) VALUES ($1, $2, $3, $4)",
            vec![&l.key, &l.node, &l.fence, &l.expires_ms],
        )],
        Write::HoldLease(l) => vec![st(
            "SELECT passo_hold_lease($1, $2, $3, $4)",
            vec![&l.key, &l.node, &l.fence, &l.expires_ms],
        )],
        Write::ReleaseLease(l) => vec![st(
            "UPDATE leases SET node = NULL, expires_ms = 0
             WHERE key = $1 AND node = $2 AND fence = $3",
            vec![&l.key, &l.node, &l.fence],
        )],
        Write::PutInbox(i) => vec![st(
            "INSERT INTO inbox (id, execution_arn, event, expect, created_ms)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            vec![&i.id, &i.execution_arn, &i.event, &i.expect, &i.created_ms],
        )],
        Write::DeleteInbox(id) => vec![st("DELETE FROM inbox WHERE id = $1", vec![id])],
        _ => unreachable!("plan() sends only lease and inbox writes here"),
    }
}

fn lease(r: &Row) -> LeaseRow {
    LeaseRow {
        key: r.get(0),
        node: r.get(1),
        fence: r.get(2),
        expires_ms: r.get(3),
    }
}

fn inbox(r: &Row) -> InboxRow {
    InboxRow {
        id: r.get(0),
        execution_arn: r.get(1),
        event: r.get(2),
        expect: r.get(3),
        created_ms: r.get(4),
    }
}

impl crate::Shared for Postgres {
    fn claim(&self, key: &str, node: &str, now_ms: i64, ttl_ms: i64) -> Result<Claim> {
        // `before` is the row as it was: a holder other than this node whose lease ran out
        // is a takeover (its tasks in flight must be sent again). A claim that waited on the
        // row's lock (a commit in flight from a node cut off mid-transaction holds it until
        // that node is back) counts its times from when it got the lock, adding how long it
        // waited (clock_timestamp() - statement_timestamp(): a difference of the database's
        // clock, so nodes' and database's clocks never mix). Otherwise it would take a lease
        // that had already run out when it got it, and a claimer waiting behind it too.
        let taken = self.one(
            "WITH before AS (SELECT node, expires_ms FROM leases WHERE key = $1)
             INSERT INTO leases AS l (key, node, fence, expires_ms) VALUES ($1, $2, 1, $4)
             ON CONFLICT (key) DO UPDATE
               SET node = EXCLUDED.node, fence = l.fence + 1,
                   expires_ms = EXCLUDED.expires_ms + FLOOR(EXTRACT(EPOCH FROM clock_timestamp() - statement_timestamp()) * 1000)::BIGINT
               WHERE l.node IS NULL OR l.node = EXCLUDED.node
                  OR l.expires_ms < $3 + FLOOR(EXTRACT(EPOCH FROM clock_timestamp() - statement_timestamp()) * 1000)::BIGINT
             RETURNING l.fence, (SELECT node FROM before)",
            vec![text(key), text(node), p(now_ms), p(now_ms + ttl_ms)],
            |r| (r.get::<_, i64>(0), r.get::<_, Option<String>>(1)),
        )?;
        if let Some((fence, before)) = taken {
            let from = before.filter(|b| b != node);
            return Ok(Claim::Held { fence, from });
        }
        let holder = self.one(
            "SELECT key, node, fence, expires_ms FROM leases WHERE key = $1",
            vec![text(key)],
            lease,
        )?;
        Ok(match holder {
            Some(LeaseRow {
                node: Some(n),
                expires_ms,
                ..
            }) => Claim::Busy {
                node: n,
                expires_ms,
            },
            // Released between the two statements: claim again.
            _ => return self.claim(key, node, now_ms, ttl_ms),
        })
    }

    fn renew(&self, node: &str, expires_ms: i64) -> Result<u64> {
        let node = node.to_string();
        self.run(move |c| async move {
            let st = c
                .prepare_cached(
                    "UPDATE leases SET expires_ms = $2 WHERE key IN
                       (SELECT key FROM leases WHERE node = $1 FOR UPDATE SKIP LOCKED)",
                )
                .await?;
            Ok(c.execute(&st, &[&node, &expires_ms]).await?)
        })
    }

    fn lease(&self, key: &str) -> Result<Option<LeaseRow>> {
        self.one(
            "SELECT key, node, fence, expires_ms FROM leases WHERE key = $1",
            vec![text(key)],
            lease,
        )
    }

    fn extend(&self, key: &str, node: &str, fence: i64, expires_ms: i64) -> Result<bool> {
        Ok(self
            .one(
                "UPDATE leases SET expires_ms = GREATEST(expires_ms, $4)
                 WHERE key = $1 AND node = $2 AND fence = $3 RETURNING fence",
                vec![text(key), text(node), p(fence), p(expires_ms)],
                |r| r.get::<_, i64>(0),
            )?
            .is_some())
    }

    fn expired_leases(&self, node: &str, now_ms: i64, limit: usize) -> Result<Vec<LeaseRow>> {
        self.all(
            "SELECT key, node, fence, expires_ms FROM leases
             WHERE node IS NOT NULL AND node <> $1 AND expires_ms < $2
             ORDER BY expires_ms LIMIT $3",
            vec![text(node), p(now_ms), limit_param(limit)],
            lease,
        )
    }

    fn inbox(&self, node: &str, now_ms: i64, limit: usize) -> Result<Vec<InboxRow>> {
        self.all(
            "SELECT i.id, i.execution_arn, i.event, i.expect, i.created_ms FROM inbox i
             LEFT JOIN leases l ON l.key = i.execution_arn
             WHERE l.key IS NULL OR l.node IS NULL OR l.node = $1 OR l.expires_ms < $2
             ORDER BY i.created_ms LIMIT $3",
            vec![text(node), p(now_ms), limit_param(limit)],
            inbox,
        )
    }

    fn due_timers_for(
        &self,
        node: &str,
        now_ms: i64,
        until_ms: i64,
        limit: usize,
    ) -> Result<Vec<TimerRow>> {
        self.all(
            "SELECT t.fire_at_ms, t.execution_arn, t.timer_id FROM timers t
             LEFT JOIN leases l ON l.key = t.execution_arn
             WHERE t.fire_at_ms <= $3
               AND (l.key IS NULL OR l.node IS NULL OR l.node = $1 OR l.expires_ms < $2)
             ORDER BY t.fire_at_ms LIMIT $4",
            vec![text(node), p(now_ms), p(until_ms), limit_param(limit)],
            timer,
        )
    }

    fn put_node(&self, node: &crate::NodeRow) -> Result<()> {
        Postgres::put_node(self, node)
    }

    fn node(&self, id: &str) -> Result<Option<crate::NodeRow>> {
        Postgres::node(self, id)
    }

    fn cluster_secret(&self, candidate: &str) -> Result<String> {
        Postgres::cluster_secret(self, candidate)
    }

    fn clock_offset_ms(&self) -> i64 {
        self.clock_offset()
    }

    fn execution_bytes(&self) -> Result<i64> {
        Ok(self
            .one(
                "SELECT (pg_total_relation_size('executions') + pg_total_relation_size('steps')
                   + pg_total_relation_size('timers') + pg_total_relation_size('leases'))::BIGINT",
                vec![],
                |r| r.get::<_, i64>(0),
            )?
            .unwrap_or(0))
    }

    fn take_overdue_deliveries(
        &self,
        overdue_ms: i64,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>> {
        // SKIP LOCKED: two nodes scanning at once split the rows instead of both taking them.
        self.all(
            "UPDATE deliveries d SET next_ms = $2 WHERE d.id IN
               (SELECT id FROM deliveries WHERE next_ms < $1 ORDER BY next_ms LIMIT $3
                FOR UPDATE SKIP LOCKED)
             RETURNING d.*",
            vec![p(overdue_ms), p(now_ms), limit_param(limit)],
            delivery,
        )
    }

    fn sweep_candidates(&self, node: &str, now_ms: i64) -> Result<Vec<String>> {
        self.all(
            "SELECT e.arn FROM executions e LEFT JOIN leases l ON l.key = e.arn
             WHERE e.status = 'RUNNING'
               AND NOT EXISTS (SELECT 1 FROM timers t WHERE t.execution_arn = e.arn)
               AND (l.key IS NULL OR l.node IS NULL OR l.node = $1 OR l.expires_ms < $2)",
            vec![text(node), p(now_ms)],
            |r| r.get(0),
        )
    }
}
