//! Finished executions made in bulk on PostgreSQL, for the benchmark that shows old
//! executions do not slow new ones (`passo bench --http --database ... --finished N`):
//! copies of one real finished execution (its row, its steps, any lease row), under new
//! names and at earlier times (one every 250 ms back from now, within the retention
//! window), made by the database itself (`generate_series`) rather than one by one through
//! the API, which would take hours for ten million.

use crate::scratch::{execute, query};

/// A finished (SUCCEEDED) execution of `machine_arn` to copy.
pub fn one_succeeded(url: &str, machine_arn: &str) -> Result<String, String> {
    let sql = format!(
        "SELECT arn FROM executions WHERE machine_arn = {} AND status = 'SUCCEEDED' LIMIT 1",
        quote(machine_arn)
    );
    query(url, sql)?.ok_or_else(|| format!("{machine_arn} has no SUCCEEDED execution to copy"))
}

/// Copies `template` as executions `seed{from}` .. `seed{from + count - 1}` of its machine,
/// in one transaction.
pub fn copy_finished(url: &str, template: &str, from: usize, count: usize) -> Result<(), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let (t, lo, hi) = (quote(template), from as i64, (from + count) as i64 - 1);
    // The copy's ARN, and the times it is shifted by (its start at `base - g * 250`).
    let arn = "replace(e.machine_arn, ':stateMachine:', ':execution:') || ':seed' || g";
    let base = now - 60_000;
    let shift = format!("{base} - g * 250 - e.start_ms");
    let series = format!("generate_series({lo}::BIGINT, {hi}::BIGINT) g");
    execute(
        url,
        format!(
            "SET synchronous_commit = off;
             BEGIN;
             INSERT INTO executions (arn, machine_arn, revision_id, version_arn, alias_arn, name,
               status, input, output, error, cause, start_ms, stop_ms, params, pending_tasks,
               trace_header, redrive_count, redrive_ms)
             SELECT {arn}, e.machine_arn, e.revision_id, e.version_arn, e.alias_arn, 'seed' || g,
               e.status, e.input, e.output, e.error, e.cause, e.start_ms + {shift},
               e.stop_ms + {shift}, e.params, e.pending_tasks, e.trace_header, e.redrive_count,
               e.redrive_ms
             FROM executions e, {series} WHERE e.arn = {t};
             INSERT INTO steps (execution_arn, seq, now_ms, event, history, first_event, last_event)
             SELECT {arn}, s.seq, s.now_ms + {shift}, s.event, s.history, s.first_event,
               s.last_event
             FROM executions e JOIN steps s ON s.execution_arn = e.arn, {series}
             WHERE e.arn = {t};
             INSERT INTO leases (key, node, fence, expires_ms)
             SELECT {arn}, l.node, l.fence, l.expires_ms
             FROM executions e JOIN leases l ON l.key = e.arn, {series} WHERE e.arn = {t};
             COMMIT;"
        ),
    )
}

/// Brings the planner's statistics up to date after the copies (as autovacuum would).
pub fn analyze(url: &str) -> Result<(), String> {
    execute(
        url,
        "ANALYZE executions; ANALYZE steps; ANALYZE leases".into(),
    )
}

/// `s` as an SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
