//! The PostgreSQL schema, as numbered migrations applied at start.
//!
//! `schema_version` records each migration applied. Opening the database takes a
//! transaction-scoped advisory lock first, so several Passo nodes starting together apply
//! each migration once, and a database migrated by a newer Passo is refused rather than
//! misread. Text keys are `COLLATE "C"` (byte order, as SQLite compares), so pages and
//! listings come back in the same order on both backends, whatever the database's locale.
//!
//! Several nodes (V2): `leases` (what is claimed, the node, an expiry and a fencing
//! number) and `inbox` (events forwarded to an execution's owner); V3: `activity_tasks`
//! (activity tasks any node's worker may claim); V4: steps' event ids and `snapshots`; V5:
//! `nodes` (where each node is reached) and `cluster_settings` (the secret nodes
//! authenticate their calls to each other with).

use crate::{Result, StoreError};
use deadpool_postgres::ClientWrapper;

/// Any fixed number: the key of the advisory lock migrations take.
const MIGRATION_LOCK: i64 = 0x7061_7373_6f01;

/// Every migration, in order. Append; never edit one that has shipped.
const MIGRATIONS: &[(i64, &str)] = &[(1, V1), (2, V2), (3, V3), (4, V4), (5, V5)];

/// Where nodes are reached (the holder of Passo's queues and topics is found through its
/// lease and this table), and settings every node of a cluster shares (the secret of their
/// calls to each other).
const V5: &str = r#"
CREATE TABLE nodes (
  id TEXT COLLATE "C" PRIMARY KEY, url TEXT NOT NULL, seen_ms BIGINT NOT NULL);
CREATE TABLE cluster_settings (
  name TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL);
"#;

/// Steps record their events' ids (a page of history reads only its steps, found through
/// the index without reading any row's history); snapshots of long executions (one per
/// execution, the latest).
const V4: &str = r#"
ALTER TABLE steps ADD COLUMN first_event BIGINT, ADD COLUMN last_event BIGINT;
CREATE INDEX steps_events ON steps (execution_arn, last_event, first_event);
CREATE TABLE snapshots (
  execution_arn TEXT COLLATE "C" PRIMARY KEY, seq BIGINT NOT NULL,
  revision_id TEXT NOT NULL, format BIGINT NOT NULL, state TEXT NOT NULL);
"#;

/// Activity tasks waiting for a worker on any node (see `activity_queue.rs`), oldest first
/// per activity; and the inbox by execution, which the sweeper asks about.
const V3: &str = r#"
CREATE TABLE activity_tasks (
  execution_arn TEXT COLLATE "C" NOT NULL, task BIGINT NOT NULL,
  activity TEXT COLLATE "C" NOT NULL, token TEXT NOT NULL, input TEXT NOT NULL,
  created_ms BIGINT NOT NULL, PRIMARY KEY (execution_arn, task));
CREATE INDEX activity_tasks_queue ON activity_tasks (activity, created_ms);
CREATE INDEX inbox_execution ON inbox (execution_arn);
"#;

/// Several nodes: leases (see `leases.rs`) and the inbox of events forwarded to the node
/// that owns their execution.
const V2: &str = r#"
CREATE TABLE leases (
  key TEXT COLLATE "C" PRIMARY KEY, node TEXT COLLATE "C", fence BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL);
CREATE INDEX leases_node ON leases (node) WHERE node IS NOT NULL;
CREATE INDEX leases_expiry ON leases (expires_ms) WHERE node IS NOT NULL;
CREATE TABLE inbox (
  id TEXT COLLATE "C" PRIMARY KEY, execution_arn TEXT COLLATE "C" NOT NULL,
  event TEXT NOT NULL, expect TEXT NOT NULL, created_ms BIGINT NOT NULL);
CREATE INDEX inbox_created ON inbox (created_ms);
-- A step's lease check: an error (not zero rows) when the node lost the lease, so that the
-- writer rolls back that request alone, as it does any refused statement.
CREATE FUNCTION passo_hold_lease(k TEXT, n TEXT, f BIGINT, e BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE leases SET expires_ms = GREATEST(expires_ms, e) WHERE key = k AND node = n AND fence = f;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'lease lost: %', k USING ERRCODE = 'PSL01';
  END IF;
END $$;
-- A schedule's firing for due time d, once across nodes: refused as a taken key (which
-- the store reports as a conflict) when the schedule is marked for d or later.
CREATE FUNCTION passo_claim_firing(k TEXT, d BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO schedule_marks (key, due_ms) VALUES (k, d)
    ON CONFLICT (key) DO UPDATE SET due_ms = EXCLUDED.due_ms
    WHERE schedule_marks.due_ms < EXCLUDED.due_ms;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'schedule % fired for % already', k, d USING ERRCODE = 'unique_violation';
  END IF;
END $$;
"#;

const V1: &str = r#"
CREATE TABLE machines (
  arn TEXT COLLATE "C" PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
  definition TEXT NOT NULL, role_arn TEXT NOT NULL, revision_id TEXT NOT NULL,
  description TEXT NOT NULL, created_ms BIGINT NOT NULL, logging TEXT NOT NULL,
  tracing TEXT NOT NULL, encryption TEXT NOT NULL);
CREATE TABLE revisions (
  machine_arn TEXT COLLATE "C" NOT NULL, revision_id TEXT COLLATE "C" NOT NULL,
  definition TEXT NOT NULL, role_arn TEXT NOT NULL, kind TEXT NOT NULL,
  PRIMARY KEY (machine_arn, revision_id));
CREATE TABLE versions (
  arn TEXT COLLATE "C" PRIMARY KEY, machine_arn TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL, revision_id TEXT NOT NULL, description TEXT NOT NULL,
  created_ms BIGINT NOT NULL);
CREATE INDEX versions_machine ON versions (machine_arn, version);
CREATE TABLE aliases (
  arn TEXT COLLATE "C" PRIMARY KEY, machine_arn TEXT COLLATE "C" NOT NULL, name TEXT NOT NULL,
  description TEXT NOT NULL, routing TEXT NOT NULL, created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL);
CREATE TABLE activities (
  arn TEXT COLLATE "C" PRIMARY KEY, name TEXT NOT NULL, created_ms BIGINT NOT NULL);
CREATE TABLE functions (
  name TEXT COLLATE "C" PRIMARY KEY, spec TEXT NOT NULL, created_ms BIGINT NOT NULL);
-- ord: the order tags were last set in (SQLite's rowid after INSERT OR REPLACE).
CREATE TABLE tags (
  resource_arn TEXT COLLATE "C" NOT NULL, key TEXT COLLATE "C" NOT NULL, value TEXT NOT NULL,
  ord BIGSERIAL NOT NULL, PRIMARY KEY (resource_arn, key));
CREATE TABLE executions (
  arn TEXT COLLATE "C" PRIMARY KEY, machine_arn TEXT COLLATE "C" NOT NULL,
  revision_id TEXT COLLATE "C" NOT NULL, version_arn TEXT COLLATE "C",
  alias_arn TEXT COLLATE "C", name TEXT COLLATE "C" NOT NULL, status TEXT NOT NULL,
  input TEXT NOT NULL, output TEXT, error TEXT, cause TEXT, start_ms BIGINT NOT NULL,
  stop_ms BIGINT, params TEXT NOT NULL, pending_tasks BIGINT NOT NULL, trace_header TEXT,
  redrive_count BIGINT NOT NULL DEFAULT 0, redrive_ms BIGINT);
CREATE INDEX executions_machine ON executions (machine_arn, start_ms, arn);
CREATE INDEX executions_started ON executions (start_ms, arn);
CREATE INDEX executions_running ON executions (arn) WHERE status = 'RUNNING';
CREATE INDEX executions_stopped ON executions (stop_ms) WHERE stop_ms IS NOT NULL;
CREATE TABLE steps (
  execution_arn TEXT COLLATE "C" NOT NULL, seq BIGINT NOT NULL, now_ms BIGINT NOT NULL,
  event TEXT NOT NULL, history TEXT NOT NULL, PRIMARY KEY (execution_arn, seq));
CREATE TABLE map_runs (
  arn TEXT COLLATE "C" PRIMARY KEY, execution_arn TEXT COLLATE "C" NOT NULL,
  state_machine_arn TEXT NOT NULL, status TEXT NOT NULL, start_ms BIGINT NOT NULL,
  stop_ms BIGINT, config TEXT NOT NULL);
CREATE INDEX map_runs_execution ON map_runs (execution_arn, start_ms);
CREATE INDEX map_runs_stopped ON map_runs (stop_ms) WHERE stop_ms IS NOT NULL;
CREATE TABLE timers (
  execution_arn TEXT COLLATE "C" NOT NULL, timer_id BIGINT NOT NULL, fire_at_ms BIGINT NOT NULL,
  PRIMARY KEY (execution_arn, timer_id));
CREATE INDEX timers_due ON timers (fire_at_ms);
CREATE TABLE event_buses (
  name TEXT COLLATE "C" PRIMARY KEY, arn TEXT NOT NULL, description TEXT,
  created_ms BIGINT NOT NULL);
CREATE TABLE rules (
  bus TEXT COLLATE "C" NOT NULL, name TEXT COLLATE "C" NOT NULL, arn TEXT NOT NULL,
  event_pattern TEXT, schedule TEXT, state TEXT NOT NULL, description TEXT, role_arn TEXT,
  created_ms BIGINT NOT NULL, PRIMARY KEY (bus, name));
CREATE TABLE rule_targets (
  bus TEXT COLLATE "C" NOT NULL, rule TEXT COLLATE "C" NOT NULL, id TEXT COLLATE "C" NOT NULL,
  spec TEXT NOT NULL, PRIMARY KEY (bus, rule, id));
CREATE TABLE deliveries (
  id TEXT COLLATE "C" PRIMARY KEY, event TEXT NOT NULL, rule_arn TEXT NOT NULL,
  rule_name TEXT NOT NULL, target TEXT NOT NULL, ingested_ms BIGINT NOT NULL,
  attempts BIGINT NOT NULL, next_ms BIGINT NOT NULL);
CREATE TABLE dead_letters (
  id TEXT COLLATE "C" PRIMARY KEY, event TEXT NOT NULL, rule_arn TEXT NOT NULL,
  target_id TEXT NOT NULL, target_arn TEXT NOT NULL, dead_letter_arn TEXT,
  error_code TEXT NOT NULL, error_message TEXT NOT NULL, attempts BIGINT NOT NULL,
  time_ms BIGINT NOT NULL);
CREATE TABLE schedules (
  grp TEXT COLLATE "C" NOT NULL, name TEXT COLLATE "C" NOT NULL, spec TEXT NOT NULL,
  created_ms BIGINT NOT NULL, modified_ms BIGINT NOT NULL, PRIMARY KEY (grp, name));
CREATE TABLE schedule_marks (key TEXT COLLATE "C" PRIMARY KEY, due_ms BIGINT NOT NULL);
CREATE TABLE webhooks (
  name TEXT COLLATE "C" PRIMARY KEY, spec TEXT NOT NULL, created_ms BIGINT NOT NULL);
CREATE TABLE queues (
  name TEXT COLLATE "C" PRIMARY KEY, attributes TEXT NOT NULL, tags TEXT NOT NULL,
  created_ms BIGINT NOT NULL, modified_ms BIGINT NOT NULL);
CREATE TABLE queue_messages (
  queue TEXT COLLATE "C" NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
  attributes TEXT NOT NULL, system TEXT NOT NULL, sent_ms BIGINT NOT NULL,
  visible_ms BIGINT NOT NULL, receive_count BIGINT NOT NULL, first_receive_ms BIGINT,
  PRIMARY KEY (queue, seq));
CREATE TABLE topics (
  arn TEXT COLLATE "C" PRIMARY KEY, name TEXT NOT NULL, attributes TEXT NOT NULL,
  tags TEXT NOT NULL, created_ms BIGINT NOT NULL);
CREATE TABLE subscriptions (
  arn TEXT COLLATE "C" PRIMARY KEY, topic_arn TEXT COLLATE "C" NOT NULL,
  protocol TEXT NOT NULL, endpoint TEXT NOT NULL, attributes TEXT NOT NULL, token TEXT,
  confirmed BOOLEAN NOT NULL, created_ms BIGINT NOT NULL);
CREATE TABLE topic_deliveries (
  id TEXT COLLATE "C" PRIMARY KEY, subscription_arn TEXT NOT NULL, kind TEXT NOT NULL,
  message_id TEXT NOT NULL, body TEXT NOT NULL, attempts BIGINT NOT NULL,
  next_ms BIGINT NOT NULL);
"#;

/// The newest schema this Passo knows.
pub(super) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Applies the migrations the database lacks, in one transaction; returns the version the
/// database had before.
pub(super) async fn migrate(c: &mut ClientWrapper) -> Result<i64> {
    let tx = c.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
           version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
    )
    .await?;
    let found: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
        .await?
        .get(0);
    if found > latest() {
        return Err(StoreError::SchemaTooNew {
            found,
            known: latest(),
        });
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_ms) VALUES ($1, $2)",
            &[version, &now_ms],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(found)
}
