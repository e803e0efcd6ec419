//! Executions across machines, filtered the way a person looks for them (the console's
//! list): by machine, status, part of the name and start time, newest first.

use crate::sqlite::{execution_row, Sqlite};
use crate::{ExecutionRow, Result};
use rusqlite::params;

/// What to look for; every field is optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecutionFilter<'a> {
    pub machine_arn: Option<&'a str>,
    pub status: Option<&'a str>,
    /// A part of the name (case-sensitive, as AWS's names).
    pub name_contains: Option<&'a str>,
    /// Started at or after this time.
    pub started_after_ms: Option<i64>,
    /// Started before this time.
    pub started_before_ms: Option<i64>,
}

impl Sqlite {
    /// [`crate::Reads::search_executions`] on SQLite.
    pub(crate) fn search(
        &self,
        f: &ExecutionFilter<'_>,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ExecutionRow>> {
        let (after_ms, after_arn) = match after {
            Some((ms, arn)) => (Some(ms), Some(arn)),
            None => (None, None),
        };
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT * FROM executions
                 WHERE (?1 IS NULL OR machine_arn = ?1)
                   AND (?2 IS NULL OR status = ?2)
                   AND (?3 IS NULL OR instr(name, ?3) > 0)
                   AND (?4 IS NULL OR start_ms >= ?4)
                   AND (?5 IS NULL OR start_ms < ?5)
                   AND (?6 IS NULL OR start_ms < ?6 OR (start_ms = ?6 AND arn < ?7))
                 ORDER BY start_ms DESC, arn DESC LIMIT ?8",
            )?;
            let rows = st.query_map(
                params![
                    f.machine_arn,
                    f.status,
                    f.name_contains,
                    f.started_after_ms,
                    f.started_before_ms,
                    after_ms,
                    after_arn,
                    limit as i64
                ],
                execution_row,
            )?;
            rows.collect()
        })
    }
}
