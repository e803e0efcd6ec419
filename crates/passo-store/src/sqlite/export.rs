//! Reading an SQLite store whole, a page at a time in primary-key order (`passo migrate`):
//! each page continues after the last key of the one before, so every page is an index
//! range scan however large the table. (The first page has a query of its own: `?1 IS
//! NULL OR key > ?1` would keep the planner from the range scan.)

use super::read::{execution_row, map_run_row, revision_row, step_row};
use super::Sqlite;
use crate::messaging::QueueMessageRow;
use crate::rows::*;
use crate::Result;
use rusqlite::{params, Row};
use std::sync::LazyLock;

/// SQLite reads a negative LIMIT as none.
fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(-1)
}

impl Sqlite {
    /// One page: `first` (taking the limit as ?1) without a previous key, else `next`
    /// (the key's parts, then the limit).
    fn page<T>(
        &self,
        first: &str,
        next: &str,
        key: Option<(&str, Option<i64>)>,
        n: usize,
        map: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        self.read(|c| match key {
            None => c
                .prepare_cached(first)?
                .query_map([limit(n)], map)?
                .collect(),
            Some((k, None)) => c
                .prepare_cached(next)?
                .query_map(params![k, limit(n)], map)?
                .collect(),
            Some((k, Some(i))) => c
                .prepare_cached(next)?
                .query_map(params![k, i, limit(n)], map)?
                .collect(),
        })
    }

    pub(super) fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        static SQL: LazyLock<String> = LazyLock::new(|| crate::tables::count_sql(crate::TABLES));
        self.read(|c| {
            let mut st = c.prepare_cached(&SQL)?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    pub(super) fn revisions_page(
        &self,
        after: Option<(&str, &str)>,
        n: usize,
    ) -> Result<Vec<RevisionRow>> {
        const COLS: &str = "SELECT machine_arn, revision_id, definition, role_arn, kind";
        self.read(|c| match after {
            None => c
                .prepare_cached(&format!(
                    "{COLS} FROM revisions ORDER BY machine_arn, revision_id LIMIT ?1"
                ))?
                .query_map([limit(n)], revision_row)?
                .collect(),
            Some((m, r)) => c
                .prepare_cached(&format!(
                    "{COLS} FROM revisions WHERE (machine_arn, revision_id) > (?1, ?2)
                     ORDER BY machine_arn, revision_id LIMIT ?3"
                ))?
                .query_map(params![m, r, limit(n)], revision_row)?
                .collect(),
        })
    }

    pub(super) fn all_tags(&self) -> Result<Vec<(String, String, String)>> {
        self.read(|c| {
            let mut st =
                c.prepare_cached("SELECT resource_arn, key, value FROM tags ORDER BY rowid")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        })
    }

    pub(super) fn executions_page(
        &self,
        after: Option<&str>,
        n: usize,
    ) -> Result<Vec<ExecutionRow>> {
        self.page(
            "SELECT * FROM executions ORDER BY arn LIMIT ?1",
            "SELECT * FROM executions WHERE arn > ?1 ORDER BY arn LIMIT ?2",
            after.map(|a| (a, None)),
            n,
            execution_row,
        )
    }

    pub(super) fn steps_page(&self, after: Option<(&str, i64)>, n: usize) -> Result<Vec<StepRow>> {
        self.page(
            "SELECT execution_arn, seq, now_ms, event, history, first_event, last_event
             FROM steps ORDER BY execution_arn, seq LIMIT ?1",
            "SELECT execution_arn, seq, now_ms, event, history, first_event, last_event
             FROM steps WHERE (execution_arn, seq) > (?1, ?2) ORDER BY execution_arn, seq LIMIT ?3",
            after.map(|(a, s)| (a, Some(s))),
            n,
            step_row,
        )
    }

    pub(super) fn map_runs_page(&self, after: Option<&str>, n: usize) -> Result<Vec<MapRunRow>> {
        self.page(
            "SELECT * FROM map_runs ORDER BY arn LIMIT ?1",
            "SELECT * FROM map_runs WHERE arn > ?1 ORDER BY arn LIMIT ?2",
            after.map(|a| (a, None)),
            n,
            map_run_row,
        )
    }

    pub(super) fn queue_messages_page(
        &self,
        after: Option<(&str, i64)>,
        n: usize,
    ) -> Result<Vec<QueueMessageRow>> {
        self.page(
            "SELECT * FROM queue_messages ORDER BY queue, seq LIMIT ?1",
            "SELECT * FROM queue_messages WHERE (queue, seq) > (?1, ?2)
             ORDER BY queue, seq LIMIT ?3",
            after.map(|(q, s)| (q, Some(s))),
            n,
            super::messaging::message_row,
        )
    }
}
