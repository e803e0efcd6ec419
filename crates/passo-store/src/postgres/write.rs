//! Each [`Write`] as the PostgreSQL statements that apply it.
//!
//! SQLite's `INSERT OR REPLACE` becomes `ON CONFLICT ... DO UPDATE` of every column,
//! `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING`, and a plain `INSERT` whose key is
//! taken fails with a unique violation, which the writer reports as `StoreError::Conflict`.

use crate::messaging::MessagingWrite;
use crate::rows::Write;
use std::borrow::Cow;
use tokio_postgres::types::ToSql;

pub(super) type Param<'a> = &'a (dyn ToSql + Sync);

/// One statement and its parameters (borrowed from the write).
pub(super) struct Stmt<'a> {
    pub sql: Cow<'static, str>,
    pub params: Vec<Param<'a>>,
}

pub(super) fn st<'a>(sql: &'static str, params: Vec<Param<'a>>) -> Stmt<'a> {
    Stmt {
        sql: Cow::Borrowed(sql),
        params,
    }
}

/// `INSERT ... ON CONFLICT (keys) DO UPDATE SET` every other column: SQLite's `INSERT OR
/// REPLACE` for a table whose columns are `cols`, in order.
fn upsert<'a>(table: &str, cols: &[&str], keys: &[&str], params: Vec<Param<'a>>) -> Stmt<'a> {
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
    let sets: Vec<String> = cols
        .iter()
        .filter(|c| !keys.contains(c))
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    Stmt {
        sql: Cow::Owned(format!(
            "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
            cols.join(", "),
            marks.join(", "),
            keys.join(", "),
            sets.join(", ")
        )),
        params,
    }
}

/// The statements that apply `w`, in order.
pub(super) fn plan(w: &Write) -> Vec<Stmt<'_>> {
    match w {
        Write::Messaging(m) => messaging(m),
        Write::PutMachine(m) => vec![upsert(
            "machines",
            &[
                "arn",
                "name",
                "kind",
                "definition",
                "role_arn",
                "revision_id",
                "description",
                "created_ms",
                "logging",
                "tracing",
                "encryption",
            ],
            &["arn"],
            vec![
                &m.arn,
                &m.name,
                &m.kind,
                &m.definition,
                &m.role_arn,
                &m.revision_id,
                &m.description,
                &m.created_ms,
                &m.logging,
                &m.tracing,
                &m.encryption,
            ],
        )],
        Write::DeleteMachine(arn) => vec![
            st("DELETE FROM machines WHERE arn = $1", vec![arn]),
            st("DELETE FROM versions WHERE machine_arn = $1", vec![arn]),
            st("DELETE FROM aliases WHERE machine_arn = $1", vec![arn]),
            st("DELETE FROM tags WHERE resource_arn = $1", vec![arn]),
        ],
        Write::PutRevision(r) => vec![upsert(
            "revisions",
            &[
                "machine_arn",
                "revision_id",
                "definition",
                "role_arn",
                "kind",
            ],
            &["machine_arn", "revision_id"],
            vec![
                &r.machine_arn,
                &r.revision_id,
                &r.definition,
                &r.role_arn,
                &r.kind,
            ],
        )],
        Write::PutVersion(v) => vec![st(
            "INSERT INTO versions (arn, machine_arn, version, revision_id, description, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                &v.arn,
                &v.machine_arn,
                &v.version,
                &v.revision_id,
                &v.description,
                &v.created_ms,
            ],
        )],
        Write::DeleteVersion(arn) => vec![st("DELETE FROM versions WHERE arn = $1", vec![arn])],
        Write::PutAlias(a) => vec![upsert(
            "aliases",
            &[
                "arn",
                "machine_arn",
                "name",
                "description",
                "routing",
                "created_ms",
                "updated_ms",
            ],
            &["arn"],
            vec![
                &a.arn,
                &a.machine_arn,
                &a.name,
                &a.description,
                &a.routing,
                &a.created_ms,
                &a.updated_ms,
            ],
        )],
        Write::DeleteAlias(arn) => vec![st("DELETE FROM aliases WHERE arn = $1", vec![arn])],
        Write::PutTags(arn, tags) => tags
            .iter()
            .map(|(k, v)| {
                // A tag set again moves to the end, as SQLite's REPLACE gives it a new rowid.
                st(
                    "INSERT INTO tags (resource_arn, key, value) VALUES ($1, $2, $3)
                     ON CONFLICT (resource_arn, key)
                     DO UPDATE SET value = EXCLUDED.value, ord = EXCLUDED.ord",
                    vec![arn, k, v],
                )
            })
            .collect(),
        Write::RemoveTags(arn, keys) => keys
            .iter()
            .map(|k| {
                st(
                    "DELETE FROM tags WHERE resource_arn = $1 AND key = $2",
                    vec![arn, k],
                )
            })
            .collect(),
        Write::PutActivity(a) => vec![st(
            "INSERT INTO activities (arn, name, created_ms) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            vec![&a.arn, &a.name, &a.created_ms],
        )],
        Write::DeleteActivity(arn) => vec![
            st("DELETE FROM activities WHERE arn = $1", vec![arn]),
            st("DELETE FROM tags WHERE resource_arn = $1", vec![arn]),
        ],
        Write::PutFunction(f) => vec![upsert(
            "functions",
            &["name", "spec", "created_ms"],
            &["name"],
            vec![&f.name, &f.spec, &f.created_ms],
        )],
        Write::DeleteFunction(name) => {
            vec![st("DELETE FROM functions WHERE name = $1", vec![name])]
        }
        Write::InsertExecution(e) => vec![st(
            "INSERT INTO executions (arn, machine_arn, revision_id, version_arn, alias_arn, name,
               status, input, output, error, cause, start_ms, stop_ms, params, pending_tasks,
               trace_header, redrive_count, redrive_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
               $18)",
            vec![
                &e.arn,
                &e.machine_arn,
                &e.revision_id,
                &e.version_arn,
                &e.alias_arn,
                &e.name,
                &e.status,
                &e.input,
                &e.output,
                &e.error,
                &e.cause,
                &e.start_ms,
                &e.stop_ms,
                &e.params,
                &e.pending_tasks,
                &e.trace_header,
                &e.redrive_count,
                &e.redrive_ms,
            ],
        )],
        Write::UpdateExecution(u) => vec![st(
            "UPDATE executions SET status = $2, output = $3, error = $4, cause = $5,
               stop_ms = $6, pending_tasks = $7, redrive_count = $8,
               redrive_ms = COALESCE($9, redrive_ms) WHERE arn = $1",
            vec![
                &u.arn,
                &u.status,
                &u.output,
                &u.error,
                &u.cause,
                &u.stop_ms,
                &u.pending_tasks,
                &u.redrive_count,
                &u.redrive_ms,
            ],
        )],
        Write::AppendStep(s) => vec![st(
            "INSERT INTO steps (execution_arn, seq, now_ms, event, history, first_event,
               last_event) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                &s.execution_arn,
                &s.seq,
                &s.now_ms,
                &s.event,
                &s.history,
                &s.first_event,
                &s.last_event,
            ],
        )],
        Write::PutSnapshot(s) => vec![st(
            "INSERT INTO snapshots (execution_arn, seq, revision_id, format, state)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (execution_arn) DO UPDATE SET
             seq = EXCLUDED.seq, revision_id = EXCLUDED.revision_id,
             format = EXCLUDED.format, state = EXCLUDED.state",
            vec![
                &s.execution_arn,
                &s.seq,
                &s.revision_id,
                &s.format,
                &s.state,
            ],
        )],
        Write::DeleteSnapshot(arn) => vec![st(
            "DELETE FROM snapshots WHERE execution_arn = $1",
            vec![arn],
        )],
        Write::PutTimer(t) => vec![st(
            "INSERT INTO timers (execution_arn, timer_id, fire_at_ms) VALUES ($1, $2, $3)
             ON CONFLICT (execution_arn, timer_id) DO UPDATE SET fire_at_ms = EXCLUDED.fire_at_ms",
            vec![&t.execution_arn, &t.timer_id, &t.fire_at_ms],
        )],
        Write::DeleteTimer(arn, id) => vec![st(
            "DELETE FROM timers WHERE execution_arn = $1 AND timer_id = $2",
            vec![arn, id],
        )],
        Write::DeleteTimers(arn) => {
            vec![st("DELETE FROM timers WHERE execution_arn = $1", vec![arn])]
        }
        Write::PutMapRun(m) => vec![st(
            "INSERT INTO map_runs (arn, execution_arn, state_machine_arn, status, start_ms, stop_ms,
               config) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            vec![
                &m.arn,
                &m.execution_arn,
                &m.state_machine_arn,
                &m.status,
                &m.start_ms,
                &m.stop_ms,
                &m.config,
            ],
        )],
        Write::UpdateMapRun {
            arn,
            status,
            stop_ms,
            config,
        } => vec![st(
            "UPDATE map_runs SET status = $2, stop_ms = $3, config = $4 WHERE arn = $1",
            vec![arn, status, stop_ms, config],
        )],
        Write::PurgeStoppedBefore(ms) => vec![
            st(
                "DELETE FROM leases WHERE key IN
                   (SELECT arn FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < $1)",
                vec![ms],
            ),
            st(
                "DELETE FROM inbox WHERE execution_arn IN
                   (SELECT arn FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < $1)",
                vec![ms],
            ),
            st(
                "DELETE FROM activity_tasks WHERE execution_arn IN
                   (SELECT arn FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < $1)",
                vec![ms],
            ),
            st(
                "DELETE FROM steps WHERE execution_arn IN
                   (SELECT arn FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < $1)",
                vec![ms],
            ),
            st(
                "DELETE FROM snapshots WHERE execution_arn IN
                   (SELECT arn FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < $1)",
                vec![ms],
            ),
            st(
                "DELETE FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < $1",
                vec![ms],
            ),
            st(
                "DELETE FROM map_runs WHERE stop_ms IS NOT NULL AND stop_ms < $1",
                vec![ms],
            ),
        ],
        Write::InsertEventBus(_)
        | Write::DeleteEventBus(_)
        | Write::PutRule(_)
        | Write::DeleteRule(..)
        | Write::PutRuleTarget(_)
        | Write::DeleteRuleTarget(..)
        | Write::InsertDelivery(_)
        | Write::FinishDelivery(_)
        | Write::RetryDelivery(..)
        | Write::PutDeadLetter(_)
        | Write::PutSchedule(_)
        | Write::DeleteSchedule(..)
        | Write::MarkSchedule(..)
        | Write::ClaimFiring(..)
        | Write::DeleteScheduleMark(_)
        | Write::PutWebhook(_)
        | Write::DeleteWebhook(_) => events(w),
        Write::NewLease(_)
        | Write::HoldLease(_)
        | Write::ReleaseLease(_)
        | Write::PutInbox(_)
        | Write::DeleteInbox(_) => super::leases::plan(w),
        Write::QueueActivityTask(_) | Write::DeleteActivityTask(..) => {
            super::activity_queue::plan(w)
        }
    }
}

/// The event bus, schedules and webhooks.
fn events(w: &Write) -> Vec<Stmt<'_>> {
    match w {
        Write::InsertEventBus(b) => vec![st(
            "INSERT INTO event_buses (name, arn, description, created_ms) VALUES ($1, $2, $3, $4)",
            vec![&b.name, &b.arn, &b.description, &b.created_ms],
        )],
        Write::DeleteEventBus(name) => vec![
            st("DELETE FROM event_buses WHERE name = $1", vec![name]),
            st("DELETE FROM rules WHERE bus = $1", vec![name]),
            st("DELETE FROM rule_targets WHERE bus = $1", vec![name]),
        ],
        Write::PutRule(r) => vec![upsert(
            "rules",
            &[
                "bus",
                "name",
                "arn",
                "event_pattern",
                "schedule",
                "state",
                "description",
                "role_arn",
                "created_ms",
            ],
            &["bus", "name"],
            vec![
                &r.bus,
                &r.name,
                &r.arn,
                &r.event_pattern,
                &r.schedule,
                &r.state,
                &r.description,
                &r.role_arn,
                &r.created_ms,
            ],
        )],
        Write::DeleteRule(bus, name) => vec![
            st(
                "DELETE FROM rules WHERE bus = $1 AND name = $2",
                vec![bus, name],
            ),
            st(
                "DELETE FROM rule_targets WHERE bus = $1 AND rule = $2",
                vec![bus, name],
            ),
        ],
        Write::PutRuleTarget(t) => vec![upsert(
            "rule_targets",
            &["bus", "rule", "id", "spec"],
            &["bus", "rule", "id"],
            vec![&t.bus, &t.rule, &t.id, &t.spec],
        )],
        Write::DeleteRuleTarget(bus, rule, id) => vec![st(
            "DELETE FROM rule_targets WHERE bus = $1 AND rule = $2 AND id = $3",
            vec![bus, rule, id],
        )],
        Write::InsertDelivery(d) => vec![st(
            "INSERT INTO deliveries (id, event, rule_arn, rule_name, target, ingested_ms, attempts,
               next_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            vec![
                &d.id,
                &d.event,
                &d.rule_arn,
                &d.rule_name,
                &d.target,
                &d.ingested_ms,
                &d.attempts,
                &d.next_ms,
            ],
        )],
        Write::FinishDelivery(id) => vec![st("DELETE FROM deliveries WHERE id = $1", vec![id])],
        Write::RetryDelivery(id, attempts, next_ms) => vec![st(
            "UPDATE deliveries SET attempts = $2, next_ms = $3 WHERE id = $1",
            vec![id, attempts, next_ms],
        )],
        Write::PutDeadLetter(d) => vec![upsert(
            "dead_letters",
            &[
                "id",
                "event",
                "rule_arn",
                "target_id",
                "target_arn",
                "dead_letter_arn",
                "error_code",
                "error_message",
                "attempts",
                "time_ms",
            ],
            &["id"],
            vec![
                &d.id,
                &d.event,
                &d.rule_arn,
                &d.target_id,
                &d.target_arn,
                &d.dead_letter_arn,
                &d.error_code,
                &d.error_message,
                &d.attempts,
                &d.time_ms,
            ],
        )],
        Write::PutSchedule(r) => vec![upsert(
            "schedules",
            &["grp", "name", "spec", "created_ms", "modified_ms"],
            &["grp", "name"],
            vec![&r.group, &r.name, &r.spec, &r.created_ms, &r.modified_ms],
        )],
        Write::DeleteSchedule(group, name) => vec![st(
            "DELETE FROM schedules WHERE grp = $1 AND name = $2",
            vec![group, name],
        )],
        Write::MarkSchedule(key, due_ms) => vec![upsert(
            "schedule_marks",
            &["key", "due_ms"],
            &["key"],
            vec![key, due_ms],
        )],
        Write::ClaimFiring(key, due_ms) => {
            vec![st("SELECT passo_claim_firing($1, $2)", vec![key, due_ms])]
        }
        Write::DeleteScheduleMark(key) => {
            vec![st("DELETE FROM schedule_marks WHERE key = $1", vec![key])]
        }
        Write::PutWebhook(h) => vec![upsert(
            "webhooks",
            &["name", "spec", "created_ms"],
            &["name"],
            vec![&h.name, &h.spec, &h.created_ms],
        )],
        Write::DeleteWebhook(name) => vec![st("DELETE FROM webhooks WHERE name = $1", vec![name])],
        _ => unreachable!("plan() sends only these here"),
    }
}

/// Queues and topics.
fn messaging(w: &MessagingWrite) -> Vec<Stmt<'_>> {
    use MessagingWrite as W;
    match w {
        W::PutQueue(q) => vec![upsert(
            "queues",
            &["name", "attributes", "tags", "created_ms", "modified_ms"],
            &["name"],
            vec![
                &q.name,
                &q.attributes,
                &q.tags,
                &q.created_ms,
                &q.modified_ms,
            ],
        )],
        W::DeleteQueue(name) => vec![
            st("DELETE FROM queues WHERE name = $1", vec![name]),
            st("DELETE FROM queue_messages WHERE queue = $1", vec![name]),
        ],
        W::PutMessage(m) => vec![upsert(
            "queue_messages",
            &[
                "queue",
                "seq",
                "id",
                "body",
                "attributes",
                "system",
                "sent_ms",
                "visible_ms",
                "receive_count",
                "first_receive_ms",
            ],
            &["queue", "seq"],
            vec![
                &m.queue,
                &m.seq,
                &m.id,
                &m.body,
                &m.attributes,
                &m.system,
                &m.sent_ms,
                &m.visible_ms,
                &m.receive_count,
                &m.first_receive_ms,
            ],
        )],
        W::MessageVisibility {
            queue,
            seq,
            visible_ms,
            receive_count,
            first_receive_ms,
        } => vec![st(
            "UPDATE queue_messages SET visible_ms = $3, receive_count = $4, first_receive_ms = $5
             WHERE queue = $1 AND seq = $2",
            vec![queue, seq, visible_ms, receive_count, first_receive_ms],
        )],
        W::DeleteMessage { queue, seq } => vec![st(
            "DELETE FROM queue_messages WHERE queue = $1 AND seq = $2",
            vec![queue, seq],
        )],
        W::PurgeQueue(name) => vec![st(
            "DELETE FROM queue_messages WHERE queue = $1",
            vec![name],
        )],
        W::PutTopic(t) => vec![upsert(
            "topics",
            &["arn", "name", "attributes", "tags", "created_ms"],
            &["arn"],
            vec![&t.arn, &t.name, &t.attributes, &t.tags, &t.created_ms],
        )],
        W::DeleteTopic(arn) => vec![
            st("DELETE FROM topics WHERE arn = $1", vec![arn]),
            st("DELETE FROM subscriptions WHERE topic_arn = $1", vec![arn]),
        ],
        W::PutSubscription(s) => vec![upsert(
            "subscriptions",
            &[
                "arn",
                "topic_arn",
                "protocol",
                "endpoint",
                "attributes",
                "token",
                "confirmed",
                "created_ms",
            ],
            &["arn"],
            vec![
                &s.arn,
                &s.topic_arn,
                &s.protocol,
                &s.endpoint,
                &s.attributes,
                &s.token,
                &s.confirmed,
                &s.created_ms,
            ],
        )],
        W::DeleteSubscription(arn) => {
            vec![st("DELETE FROM subscriptions WHERE arn = $1", vec![arn])]
        }
        W::PutTopicDelivery(d) => vec![upsert(
            "topic_deliveries",
            &[
                "id",
                "subscription_arn",
                "kind",
                "message_id",
                "body",
                "attempts",
                "next_ms",
            ],
            &["id"],
            vec![
                &d.id,
                &d.subscription_arn,
                &d.kind,
                &d.message_id,
                &d.body,
                &d.attempts,
                &d.next_ms,
            ],
        )],
        W::DeleteTopicDelivery(id) => {
            vec![st("DELETE FROM topic_deliveries WHERE id = $1", vec![id])]
        }
        W::RetryTopicDelivery(id, attempts, next_ms) => vec![st(
            "UPDATE topic_deliveries SET attempts = $2, next_ms = $3 WHERE id = $1",
            vec![id, attempts, next_ms],
        )],
    }
}
