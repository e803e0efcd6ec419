//! Activity tasks queued for any node's workers (several nodes on one database).
//!
//! A row is one open activity task, keyed by its execution and task id, so a task sent
//! again (after a takeover or a restart) is queued once. A worker's poll claims a row by
//! deleting it: `DELETE ... RETURNING` answers the row to one claimer only, and the oldest
//! of an activity is found with `FOR UPDATE SKIP LOCKED`, so claimers on several nodes
//! pass over each other's rows instead of waiting on them. Nothing here uses LISTEN/NOTIFY:
//! pollers ask again every few hundred milliseconds.

use super::read::{p, text};
use super::write::{st, Stmt};
use super::Postgres;
use crate::rows::{ActivityTaskRow, InboxRow, Write};
use crate::Result;
use tokio_postgres::Row;

/// The statements of the activity queue's writes.
pub(super) fn plan(w: &Write) -> Vec<Stmt<'_>> {
    match w {
        Write::QueueActivityTask(t) => vec![st(
            "INSERT INTO activity_tasks
               (execution_arn, task, activity, token, input, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (execution_arn, task) DO NOTHING",
            vec![
                &t.execution_arn,
                &t.task,
                &t.activity,
                &t.token,
                &t.input,
                &t.created_ms,
            ],
        )],
        Write::DeleteActivityTask(arn, task) => vec![st(
            "DELETE FROM activity_tasks WHERE execution_arn = $1 AND task = $2",
            vec![arn, task],
        )],
        _ => unreachable!("plan() sends only activity queue writes here"),
    }
}

fn row(r: &Row) -> ActivityTaskRow {
    ActivityTaskRow {
        execution_arn: r.get(0),
        task: r.get(1),
        activity: r.get(2),
        token: r.get(3),
        input: r.get(4),
        created_ms: r.get(5),
    }
}

impl crate::ActivityTasks for Postgres {
    fn claim_activity_task(
        &self,
        execution_arn: &str,
        task: i64,
    ) -> Result<Option<ActivityTaskRow>> {
        self.one(
            "DELETE FROM activity_tasks WHERE execution_arn = $1 AND task = $2
             RETURNING execution_arn, task, activity, token, input, created_ms",
            vec![text(execution_arn), p(task)],
            row,
        )
    }

    fn claim_next_activity_task(&self, activity: &str) -> Result<Option<ActivityTaskRow>> {
        // The subquery locks the row it picks (skipping rows others have locked); a row
        // deleted by a claim that committed meanwhile is passed over as well.
        self.one(
            "DELETE FROM activity_tasks WHERE (execution_arn, task) = (
               SELECT execution_arn, task FROM activity_tasks WHERE activity = $1
               ORDER BY created_ms FOR UPDATE SKIP LOCKED LIMIT 1)
             RETURNING execution_arn, task, activity, token, input, created_ms",
            vec![text(activity)],
            row,
        )
    }

    fn activity_task_pending(&self, execution_arn: &str, task: i64) -> Result<bool> {
        Ok(self
            .one(
                "SELECT EXISTS (SELECT 1 FROM activity_tasks
                                WHERE execution_arn = $1 AND task = $2)
                     OR EXISTS (SELECT 1 FROM inbox WHERE execution_arn = $1)",
                vec![text(execution_arn), p(task)],
                |r| r.get::<_, bool>(0),
            )?
            .unwrap_or(false))
    }

    fn inbox_of(&self, execution_arn: &str) -> Result<Vec<InboxRow>> {
        self.all(
            "SELECT id, execution_arn, event, expect, created_ms FROM inbox
             WHERE execution_arn = $1 ORDER BY created_ms",
            vec![text(execution_arn)],
            |r| InboxRow {
                id: r.get(0),
                execution_arn: r.get(1),
                event: r.get(2),
                expect: r.get(3),
                created_ms: r.get(4),
            },
        )
    }
}
