//! The SQLite schema (created if missing when the database is opened).

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS machines (
  arn TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, definition TEXT NOT NULL,
  role_arn TEXT NOT NULL, revision_id TEXT NOT NULL, description TEXT NOT NULL,
  created_ms INTEGER NOT NULL, logging TEXT NOT NULL, tracing TEXT NOT NULL,
  encryption TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revisions (
  machine_arn TEXT NOT NULL, revision_id TEXT NOT NULL, definition TEXT NOT NULL,
  role_arn TEXT NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (machine_arn, revision_id));
CREATE TABLE IF NOT EXISTS versions (
  arn TEXT PRIMARY KEY, machine_arn TEXT NOT NULL, version INTEGER NOT NULL,
  revision_id TEXT NOT NULL, description TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS versions_machine ON versions (machine_arn, version);
CREATE TABLE IF NOT EXISTS aliases (
  arn TEXT PRIMARY KEY, machine_arn TEXT NOT NULL, name TEXT NOT NULL,
  description TEXT NOT NULL, routing TEXT NOT NULL, created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS activities (
  arn TEXT PRIMARY KEY, name TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS functions (
  name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tags (
  resource_arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (resource_arn, key));
CREATE TABLE IF NOT EXISTS executions (
  arn TEXT PRIMARY KEY, machine_arn TEXT NOT NULL, revision_id TEXT NOT NULL,
  version_arn TEXT, alias_arn TEXT, name TEXT NOT NULL, status TEXT NOT NULL,
  input TEXT NOT NULL, output TEXT, error TEXT, cause TEXT, start_ms INTEGER NOT NULL,
  stop_ms INTEGER, params TEXT NOT NULL, pending_tasks INTEGER NOT NULL, trace_header TEXT,
  redrive_count INTEGER NOT NULL DEFAULT 0, redrive_ms INTEGER);
-- Pages of a machine's executions (newest first, by start time then ARN) read one range of
-- this index: without the ARN in it every page scanned the machine's rows down to its
-- cursor (318 ms a page at a million). It replaces the older (machine_arn, start_ms) one.
DROP INDEX IF EXISTS executions_machine;
CREATE INDEX IF NOT EXISTS executions_machine_page ON executions (machine_arn, start_ms, arn);
-- The console's list of every machine's executions, by the same order.
CREATE INDEX IF NOT EXISTS executions_started ON executions (start_ms, arn);
CREATE INDEX IF NOT EXISTS executions_running ON executions (status) WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS executions_stopped ON executions (stop_ms) WHERE stop_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS steps (
  execution_arn TEXT NOT NULL, seq INTEGER NOT NULL, now_ms INTEGER NOT NULL,
  event TEXT NOT NULL, history TEXT NOT NULL, PRIMARY KEY (execution_arn, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS map_runs (
  arn TEXT PRIMARY KEY, execution_arn TEXT NOT NULL, state_machine_arn TEXT NOT NULL,
  status TEXT NOT NULL, start_ms INTEGER NOT NULL, stop_ms INTEGER, config TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS map_runs_execution ON map_runs (execution_arn, start_ms);
CREATE TABLE IF NOT EXISTS timers (
  execution_arn TEXT NOT NULL, timer_id INTEGER NOT NULL, fire_at_ms INTEGER NOT NULL,
  PRIMARY KEY (execution_arn, timer_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS timers_due ON timers (fire_at_ms);
CREATE TABLE IF NOT EXISTS event_buses (
  name TEXT PRIMARY KEY, arn TEXT NOT NULL, description TEXT, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rules (
  bus TEXT NOT NULL, name TEXT NOT NULL, arn TEXT NOT NULL, event_pattern TEXT,
  schedule TEXT, state TEXT NOT NULL, description TEXT, role_arn TEXT,
  created_ms INTEGER NOT NULL, PRIMARY KEY (bus, name));
CREATE TABLE IF NOT EXISTS rule_targets (
  bus TEXT NOT NULL, rule TEXT NOT NULL, id TEXT NOT NULL, spec TEXT NOT NULL,
  PRIMARY KEY (bus, rule, id));
CREATE TABLE IF NOT EXISTS deliveries (
  id TEXT PRIMARY KEY, event TEXT NOT NULL, rule_arn TEXT NOT NULL, rule_name TEXT NOT NULL,
  target TEXT NOT NULL, ingested_ms INTEGER NOT NULL, attempts INTEGER NOT NULL,
  next_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letters (
  id TEXT PRIMARY KEY, event TEXT NOT NULL, rule_arn TEXT NOT NULL, target_id TEXT NOT NULL,
  target_arn TEXT NOT NULL, dead_letter_arn TEXT, error_code TEXT NOT NULL,
  error_message TEXT NOT NULL, attempts INTEGER NOT NULL, time_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS schedules (
  grp TEXT NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL, created_ms INTEGER NOT NULL,
  modified_ms INTEGER NOT NULL, PRIMARY KEY (grp, name));
CREATE TABLE IF NOT EXISTS schedule_marks (key TEXT PRIMARY KEY, due_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS webhooks (
  name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_ms INTEGER NOT NULL);
";

/// Queues and topics.
pub(super) const MESSAGING: &str = "
CREATE TABLE IF NOT EXISTS queues (
  name TEXT PRIMARY KEY, attributes TEXT NOT NULL, tags TEXT NOT NULL,
  created_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS queue_messages (
  queue TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
  attributes TEXT NOT NULL, system TEXT NOT NULL, sent_ms INTEGER NOT NULL,
  visible_ms INTEGER NOT NULL, receive_count INTEGER NOT NULL, first_receive_ms INTEGER,
  PRIMARY KEY (queue, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topics (
  arn TEXT PRIMARY KEY, name TEXT NOT NULL, attributes TEXT NOT NULL, tags TEXT NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
  arn TEXT PRIMARY KEY, topic_arn TEXT NOT NULL, protocol TEXT NOT NULL,
  endpoint TEXT NOT NULL, attributes TEXT NOT NULL, token TEXT, confirmed INTEGER NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS topic_deliveries (
  id TEXT PRIMARY KEY, subscription_arn TEXT NOT NULL, kind TEXT NOT NULL,
  message_id TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL,
  next_ms INTEGER NOT NULL);
";

/// Changes to the tables above, numbered, applied in order at open; `PRAGMA user_version`
/// records the last one applied (a database past the last this Passo knows is refused).
/// Append; never edit one that has shipped.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[(1, V1)];

/// Steps record their events' ids (a page of history reads only its steps; the index
/// holds both ids, so the search never reads a row's history); snapshots of long
/// executions (one per execution, the latest).
const V1: &str = "
ALTER TABLE steps ADD COLUMN first_event INTEGER;
ALTER TABLE steps ADD COLUMN last_event INTEGER;
CREATE INDEX steps_events ON steps (execution_arn, last_event, first_event);
CREATE TABLE snapshots (
  execution_arn TEXT PRIMARY KEY, seq INTEGER NOT NULL, revision_id TEXT NOT NULL,
  format INTEGER NOT NULL, state TEXT NOT NULL);
";
