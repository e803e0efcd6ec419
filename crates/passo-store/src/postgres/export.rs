//! Reading a PostgreSQL store whole, a page at a time in primary-key order (`passo
//! migrate`): each page continues after the last key of the one before (an index range
//! scan however large the table). The first page has a query of its own: `$1 IS NULL OR
//! key > $1` would let a generic plan scan from the start every time.

use super::read::{limit_param, p, text, P};
use super::{rows, Postgres};
use crate::messaging::QueueMessageRow;
use crate::rows::*;
use crate::Result;
use std::sync::LazyLock;
use tokio_postgres::Row;

impl Postgres {
    /// One page: `first` (taking the limit as $1) without a previous key, else `next`
    /// (the key's parts, then the limit).
    fn page<T: Send + 'static>(
        &self,
        first: &'static str,
        next: &'static str,
        key: Option<Vec<P>>,
        n: usize,
        map: fn(&Row) -> T,
    ) -> Result<Vec<T>> {
        match key {
            None => self.all(first, vec![limit_param(n)], map),
            Some(mut key) => {
                key.push(limit_param(n));
                self.all(next, key, map)
            }
        }
    }

    pub(super) fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            let all: Vec<&str> = crate::TABLES
                .iter()
                .chain(crate::NODE_TABLES)
                .copied()
                .collect();
            crate::tables::count_sql(&all)
        });
        self.all(SQL.as_str(), vec![], |r| (r.get(0), r.get(1)))
    }

    pub(super) fn revisions_page(
        &self,
        after: Option<(&str, &str)>,
        n: usize,
    ) -> Result<Vec<RevisionRow>> {
        self.page(
            "SELECT * FROM revisions ORDER BY machine_arn, revision_id LIMIT $1",
            "SELECT * FROM revisions WHERE (machine_arn, revision_id) > ($1, $2)
             ORDER BY machine_arn, revision_id LIMIT $3",
            after.map(|(m, r)| vec![text(m), text(r)]),
            n,
            rows::revision,
        )
    }

    pub(super) fn all_tags(&self) -> Result<Vec<(String, String, String)>> {
        self.all(
            "SELECT resource_arn, key, value FROM tags ORDER BY ord",
            vec![],
            |r| (r.get(0), r.get(1), r.get(2)),
        )
    }

    pub(super) fn executions_page(
        &self,
        after: Option<&str>,
        n: usize,
    ) -> Result<Vec<ExecutionRow>> {
        self.page(
            "SELECT * FROM executions ORDER BY arn LIMIT $1",
            "SELECT * FROM executions WHERE arn > $1 ORDER BY arn LIMIT $2",
            after.map(|a| vec![text(a)]),
            n,
            rows::execution,
        )
    }

    pub(super) fn steps_page(&self, after: Option<(&str, i64)>, n: usize) -> Result<Vec<StepRow>> {
        self.page(
            "SELECT * FROM steps ORDER BY execution_arn, seq LIMIT $1",
            "SELECT * FROM steps WHERE (execution_arn, seq) > ($1, $2)
             ORDER BY execution_arn, seq LIMIT $3",
            after.map(|(a, s)| vec![text(a), p(s)]),
            n,
            rows::step,
        )
    }

    pub(super) fn map_runs_page(&self, after: Option<&str>, n: usize) -> Result<Vec<MapRunRow>> {
        self.page(
            "SELECT * FROM map_runs ORDER BY arn LIMIT $1",
            "SELECT * FROM map_runs WHERE arn > $1 ORDER BY arn LIMIT $2",
            after.map(|a| vec![text(a)]),
            n,
            rows::map_run,
        )
    }

    pub(super) fn queue_messages_page(
        &self,
        after: Option<(&str, i64)>,
        n: usize,
    ) -> Result<Vec<QueueMessageRow>> {
        self.page(
            "SELECT * FROM queue_messages ORDER BY queue, seq LIMIT $1",
            "SELECT * FROM queue_messages WHERE (queue, seq) > ($1, $2)
             ORDER BY queue, seq LIMIT $3",
            after.map(|(q, s)| vec![text(q), p(s)]),
            n,
            rows::queue_message,
        )
    }
}
