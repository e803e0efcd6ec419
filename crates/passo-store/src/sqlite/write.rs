//! Each [`Write`] applied on an SQLite connection.

use crate::rows::*;
use crate::{Result, StoreError};
use rusqlite::{params, Connection};

pub(super) fn apply_all(c: &Connection, writes: &[Write]) -> Result<()> {
    for w in writes {
        apply(c, w)?;
    }
    Ok(())
}

fn apply(c: &Connection, w: &Write) -> Result<()> {
    match w {
        Write::Messaging(m) => super::messaging::apply(c, m)?,
        Write::PutMachine(m) => {
            c.prepare_cached(
                "INSERT OR REPLACE INTO machines VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
            )?
            .execute(params![
                m.arn,
                m.name,
                m.kind,
                m.definition,
                m.role_arn,
                m.revision_id,
                m.description,
                m.created_ms,
                m.logging,
                m.tracing,
                m.encryption
            ])?;
        }
        Write::DeleteMachine(arn) => {
            c.prepare_cached("DELETE FROM machines WHERE arn = ?1")?
                .execute([arn])?;
            c.prepare_cached("DELETE FROM versions WHERE machine_arn = ?1")?
                .execute([arn])?;
            c.prepare_cached("DELETE FROM aliases WHERE machine_arn = ?1")?
                .execute([arn])?;
            c.prepare_cached("DELETE FROM tags WHERE resource_arn = ?1")?
                .execute([arn])?;
        }
        Write::PutMapRun(m) => {
            c.prepare_cached("INSERT OR IGNORE INTO map_runs VALUES (?1,?2,?3,?4,?5,?6,?7)")?
                .execute(params![
                    m.arn,
                    m.execution_arn,
                    m.state_machine_arn,
                    m.status,
                    m.start_ms,
                    m.stop_ms,
                    m.config
                ])?;
        }
        Write::UpdateMapRun {
            arn,
            status,
            stop_ms,
            config,
        } => {
            c.prepare_cached(
                "UPDATE map_runs SET status = ?2, stop_ms = ?3, config = ?4 WHERE arn = ?1",
            )?
            .execute(params![arn, status, stop_ms, config])?;
        }
        Write::PutRevision(r) => {
            c.prepare_cached("INSERT OR REPLACE INTO revisions VALUES (?1,?2,?3,?4,?5)")?
                .execute(params![
                    r.machine_arn,
                    r.revision_id,
                    r.definition,
                    r.role_arn,
                    r.kind
                ])?;
        }
        Write::PutVersion(v) => {
            c.prepare_cached("INSERT INTO versions VALUES (?1,?2,?3,?4,?5,?6)")?
                .execute(params![
                    v.arn,
                    v.machine_arn,
                    v.version,
                    v.revision_id,
                    v.description,
                    v.created_ms
                ])
                .map_err(conflict)?;
        }
        Write::DeleteVersion(arn) => {
            c.prepare_cached("DELETE FROM versions WHERE arn = ?1")?
                .execute([arn])?;
        }
        Write::PutAlias(a) => {
            c.prepare_cached("INSERT OR REPLACE INTO aliases VALUES (?1,?2,?3,?4,?5,?6,?7)")?
                .execute(params![
                    a.arn,
                    a.machine_arn,
                    a.name,
                    a.description,
                    a.routing,
                    a.created_ms,
                    a.updated_ms
                ])?;
        }
        Write::DeleteAlias(arn) => {
            c.prepare_cached("DELETE FROM aliases WHERE arn = ?1")?
                .execute([arn])?;
        }
        Write::PutTags(arn, tags) => {
            let mut st = c.prepare_cached("INSERT OR REPLACE INTO tags VALUES (?1,?2,?3)")?;
            for (k, v) in tags {
                st.execute(params![arn, k, v])?;
            }
        }
        Write::PutActivity(a) => {
            c.prepare_cached("INSERT OR IGNORE INTO activities VALUES (?1,?2,?3)")?
                .execute(params![a.arn, a.name, a.created_ms])?;
        }
        Write::PutFunction(f) => {
            c.prepare_cached("INSERT OR REPLACE INTO functions VALUES (?1,?2,?3)")?
                .execute(params![f.name, f.spec, f.created_ms])?;
        }
        Write::DeleteFunction(name) => {
            c.prepare_cached("DELETE FROM functions WHERE name = ?1")?
                .execute([name])?;
        }
        Write::DeleteActivity(arn) => {
            c.prepare_cached("DELETE FROM activities WHERE arn = ?1")?
                .execute([arn])?;
            c.prepare_cached("DELETE FROM tags WHERE resource_arn = ?1")?
                .execute([arn])?;
        }
        Write::RemoveTags(arn, keys) => {
            let mut st =
                c.prepare_cached("DELETE FROM tags WHERE resource_arn = ?1 AND key = ?2")?;
            for k in keys {
                st.execute(params![arn, k])?;
            }
        }
        Write::InsertExecution(e) => {
            c.prepare_cached(
                "INSERT INTO executions VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)",
            )?
            .execute(params![
                e.arn,
                e.machine_arn,
                e.revision_id,
                e.version_arn,
                e.alias_arn,
                e.name,
                e.status,
                e.input,
                e.output,
                e.error,
                e.cause,
                e.start_ms,
                e.stop_ms,
                e.params,
                e.pending_tasks,
                e.trace_header,
                e.redrive_count,
                e.redrive_ms
            ])
            .map_err(conflict)?;
        }
        Write::UpdateExecution(u) => {
            c.prepare_cached(
                "UPDATE executions SET status = ?2, output = ?3, error = ?4, cause = ?5,
                 stop_ms = ?6, pending_tasks = ?7, redrive_count = ?8,
                 redrive_ms = COALESCE(?9, redrive_ms) WHERE arn = ?1",
            )?
            .execute(params![
                u.arn,
                u.status,
                u.output,
                u.error,
                u.cause,
                u.stop_ms,
                u.pending_tasks,
                u.redrive_count,
                u.redrive_ms
            ])?;
        }
        Write::AppendStep(s) => {
            c.prepare_cached(
                "INSERT INTO steps (execution_arn, seq, now_ms, event, history, first_event,
                 last_event) VALUES (?1,?2,?3,?4,?5,?6,?7)",
            )?
            .execute(params![
                s.execution_arn,
                s.seq,
                s.now_ms,
                s.event,
                super::history_text::encode(&s.history),
                s.first_event,
                s.last_event
            ])
            .map_err(conflict)?;
        }
        Write::PutSnapshot(s) => {
            c.prepare_cached("INSERT OR REPLACE INTO snapshots VALUES (?1,?2,?3,?4,?5)")?
                .execute(params![
                    s.execution_arn,
                    s.seq,
                    s.revision_id,
                    s.format,
                    s.state
                ])?;
        }
        Write::DeleteSnapshot(arn) => {
            c.prepare_cached("DELETE FROM snapshots WHERE execution_arn = ?1")?
                .execute([arn])?;
        }
        Write::PutTimer(t) => {
            c.prepare_cached("INSERT OR REPLACE INTO timers VALUES (?1,?2,?3)")?
                .execute(params![t.execution_arn, t.timer_id, t.fire_at_ms])?;
        }
        Write::DeleteTimer(arn, id) => {
            c.prepare_cached("DELETE FROM timers WHERE execution_arn = ?1 AND timer_id = ?2")?
                .execute(params![arn, id])?;
        }
        Write::DeleteTimers(arn) => {
            c.prepare_cached("DELETE FROM timers WHERE execution_arn = ?1")?
                .execute([arn])?;
        }
        Write::PurgeStoppedBefore(ms) => {
            c.prepare_cached(
                "DELETE FROM steps WHERE execution_arn IN
                 (SELECT arn FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < ?1)",
            )?
            .execute([ms])?;
            c.prepare_cached(
                "DELETE FROM snapshots WHERE execution_arn IN
                 (SELECT arn FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < ?1)",
            )?
            .execute([ms])?;
            c.prepare_cached("DELETE FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < ?1")?
                .execute([ms])?;
            c.prepare_cached("DELETE FROM map_runs WHERE stop_ms IS NOT NULL AND stop_ms < ?1")?
                .execute([ms])?;
        }
        Write::InsertEventBus(b) => {
            c.prepare_cached("INSERT INTO event_buses VALUES (?1,?2,?3,?4)")?
                .execute(params![b.name, b.arn, b.description, b.created_ms])
                .map_err(conflict)?;
        }
        Write::DeleteEventBus(name) => {
            for sql in [
                "DELETE FROM event_buses WHERE name = ?1",
                "DELETE FROM rules WHERE bus = ?1",
                "DELETE FROM rule_targets WHERE bus = ?1",
            ] {
                c.prepare_cached(sql)?.execute([name])?;
            }
        }
        Write::PutRule(r) => {
            c.prepare_cached("INSERT OR REPLACE INTO rules VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")?
                .execute(params![
                    r.bus,
                    r.name,
                    r.arn,
                    r.event_pattern,
                    r.schedule,
                    r.state,
                    r.description,
                    r.role_arn,
                    r.created_ms
                ])?;
        }
        Write::DeleteRule(bus, name) => {
            c.prepare_cached("DELETE FROM rules WHERE bus = ?1 AND name = ?2")?
                .execute([bus, name])?;
            c.prepare_cached("DELETE FROM rule_targets WHERE bus = ?1 AND rule = ?2")?
                .execute([bus, name])?;
        }
        Write::PutRuleTarget(t) => {
            c.prepare_cached("INSERT OR REPLACE INTO rule_targets VALUES (?1,?2,?3,?4)")?
                .execute(params![t.bus, t.rule, t.id, t.spec])?;
        }
        Write::DeleteRuleTarget(bus, rule, id) => {
            c.prepare_cached("DELETE FROM rule_targets WHERE bus = ?1 AND rule = ?2 AND id = ?3")?
                .execute([bus, rule, id])?;
        }
        Write::InsertDelivery(d) => {
            c.prepare_cached("INSERT OR IGNORE INTO deliveries VALUES (?1,?2,?3,?4,?5,?6,?7,?8)")?
                .execute(params![
                    d.id,
                    d.event,
                    d.rule_arn,
                    d.rule_name,
                    d.target,
                    d.ingested_ms,
                    d.attempts,
                    d.next_ms
                ])?;
        }
        Write::FinishDelivery(id) => {
            c.prepare_cached("DELETE FROM deliveries WHERE id = ?1")?
                .execute([id])?;
        }
        Write::RetryDelivery(id, attempts, next_ms) => {
            c.prepare_cached("UPDATE deliveries SET attempts = ?2, next_ms = ?3 WHERE id = ?1")?
                .execute(params![id, attempts, next_ms])?;
        }
        Write::PutDeadLetter(d) => {
            c.prepare_cached(
                "INSERT OR REPLACE INTO dead_letters VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
            )?
            .execute(params![
                d.id,
                d.event,
                d.rule_arn,
                d.target_id,
                d.target_arn,
                d.dead_letter_arn,
                d.error_code,
                d.error_message,
                d.attempts,
                d.time_ms
            ])?;
        }
        Write::PutSchedule(r) => {
            c.prepare_cached("INSERT OR REPLACE INTO schedules VALUES (?1,?2,?3,?4,?5)")?
                .execute(params![
                    r.group,
                    r.name,
                    r.spec,
                    r.created_ms,
                    r.modified_ms
                ])?;
        }
        Write::DeleteSchedule(group, name) => {
            c.prepare_cached("DELETE FROM schedules WHERE grp = ?1 AND name = ?2")?
                .execute([group, name])?;
        }
        Write::MarkSchedule(key, due_ms) => {
            c.prepare_cached("INSERT OR REPLACE INTO schedule_marks VALUES (?1,?2)")?
                .execute(params![key, due_ms])?;
        }
        Write::ClaimFiring(key, due_ms) => {
            let advanced = c
                .prepare_cached(
                    "INSERT INTO schedule_marks VALUES (?1,?2) ON CONFLICT (key)
                     DO UPDATE SET due_ms = excluded.due_ms WHERE due_ms < excluded.due_ms",
                )?
                .execute(params![key, due_ms])?;
            if advanced == 0 {
                return Err(StoreError::Conflict);
            }
        }
        Write::DeleteScheduleMark(key) => {
            c.prepare_cached("DELETE FROM schedule_marks WHERE key = ?1")?
                .execute([key])?;
        }
        Write::PutWebhook(w) => {
            c.prepare_cached("INSERT OR REPLACE INTO webhooks VALUES (?1,?2,?3)")?
                .execute(params![w.name, w.spec, w.created_ms])?;
        }
        Write::DeleteWebhook(name) => {
            c.prepare_cached("DELETE FROM webhooks WHERE name = ?1")?
                .execute([name])?;
        }
        // An SQLite file belongs to one process: the runtime runs alone on it and never
        // asks for leases or forwards events (`Store::shared` is None). Loud if it ever did.
        Write::NewLease(_)
        | Write::HoldLease(_)
        | Write::ReleaseLease(_)
        | Write::PutInbox(_)
        | Write::DeleteInbox(_)
        | Write::QueueActivityTask(_)
        | Write::DeleteActivityTask(..) => {
            return Err(StoreError::Commit(
                "leases, forwarded events and shared activity queues need a shared database (PostgreSQL)".into(),
            ))
        }
    }
    Ok(())
}

fn conflict(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict
        }
        _ => StoreError::Sqlite(e),
    }
}
