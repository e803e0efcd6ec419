//! The reads, as SQLite queries.

use super::Sqlite;
use crate::messaging::{QueueMessageRow, QueueRow, SubscriptionRow, TopicRow};
use crate::rows::*;
use crate::{ExecutionFilter, Result};
use rusqlite::{params, OptionalExtension, Row};

impl crate::Reads for Sqlite {
    fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        Sqlite::table_counts(self)
    }

    fn revisions_page(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<RevisionRow>> {
        Sqlite::revisions_page(self, after, limit)
    }

    fn all_tags(&self) -> Result<Vec<(String, String, String)>> {
        Sqlite::all_tags(self)
    }

    fn executions_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<ExecutionRow>> {
        Sqlite::executions_page(self, after, limit)
    }

    fn steps_page(&self, after: Option<(&str, i64)>, limit: usize) -> Result<Vec<StepRow>> {
        Sqlite::steps_page(self, after, limit)
    }

    fn map_runs_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<MapRunRow>> {
        Sqlite::map_runs_page(self, after, limit)
    }

    fn queue_messages_page(
        &self,
        after: Option<(&str, i64)>,
        limit: usize,
    ) -> Result<Vec<QueueMessageRow>> {
        Sqlite::queue_messages_page(self, after, limit)
    }

    fn search_executions(
        &self,
        f: &crate::ExecutionFilter<'_>,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ExecutionRow>> {
        self.search(f, after, limit)
    }

    /// Every queue (loaded once at startup).
    fn queues(&self) -> Result<Vec<QueueRow>> {
        self.read(super::messaging::queues)
    }

    /// A queue's messages in the order they were accepted.
    fn queue_messages(&self, queue: &str) -> Result<Vec<QueueMessageRow>> {
        self.read(|c| super::messaging::messages(c, queue))
    }

    fn topics(&self) -> Result<Vec<TopicRow>> {
        self.read(super::messaging::topics)
    }

    fn subscriptions(&self) -> Result<Vec<SubscriptionRow>> {
        self.read(super::messaging::subscriptions)
    }

    /// SNS deliveries to HTTP endpoints and functions not yet handed over.
    fn topic_deliveries(&self) -> Result<Vec<crate::messaging::TopicDeliveryRow>> {
        self.read(super::messaging::topic_deliveries)
    }

    fn machine(&self, arn: &str) -> Result<Option<MachineRow>> {
        self.read(|c| {
            c.prepare_cached("SELECT * FROM machines WHERE arn = ?1")?
                .query_row([arn], machine_row)
                .optional()
        })
    }

    fn machines(&self) -> Result<Vec<MachineRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT * FROM machines ORDER BY created_ms, arn")?;
            let rows = st.query_map([], machine_row)?;
            rows.collect()
        })
    }

    fn revision(&self, machine_arn: &str, revision_id: &str) -> Result<Option<RevisionRow>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT machine_arn, revision_id, definition, role_arn, kind FROM revisions
                 WHERE machine_arn = ?1 AND revision_id = ?2",
            )?
            .query_row([machine_arn, revision_id], revision_row)
            .optional()
        })
    }

    fn versions(&self, machine_arn: &str) -> Result<Vec<VersionRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT * FROM versions WHERE machine_arn = ?1 ORDER BY version DESC",
            )?;
            let rows = st.query_map([machine_arn], version_row)?;
            rows.collect()
        })
    }

    fn all_versions(&self) -> Result<Vec<VersionRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT * FROM versions")?;
            let rows = st.query_map([], version_row)?;
            rows.collect()
        })
    }

    fn all_aliases(&self) -> Result<Vec<AliasRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT * FROM aliases ORDER BY created_ms, arn")?;
            let rows = st.query_map([], |r| {
                Ok(AliasRow {
                    arn: r.get(0)?,
                    machine_arn: r.get(1)?,
                    name: r.get(2)?,
                    description: r.get(3)?,
                    routing: r.get(4)?,
                    created_ms: r.get(5)?,
                    updated_ms: r.get(6)?,
                })
            })?;
            rows.collect()
        })
    }

    fn tags(&self, resource_arn: &str) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT key, value FROM tags WHERE resource_arn = ?1 ORDER BY rowid",
            )?;
            let rows = st.query_map([resource_arn], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    fn activity(&self, arn: &str) -> Result<Option<ActivityRow>> {
        self.read(|c| {
            c.prepare_cached("SELECT arn, name, created_ms FROM activities WHERE arn = ?1")?
                .query_row([arn], |r| {
                    Ok(ActivityRow {
                        arn: r.get(0)?,
                        name: r.get(1)?,
                        created_ms: r.get(2)?,
                    })
                })
                .optional()
        })
    }

    /// Every activity, oldest first.
    fn activities(&self) -> Result<Vec<ActivityRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT arn, name, created_ms FROM activities ORDER BY created_ms, arn",
            )?;
            let rows = st.query_map([], |r| {
                Ok(ActivityRow {
                    arn: r.get(0)?,
                    name: r.get(1)?,
                    created_ms: r.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Every function created through the API, oldest first.
    fn functions(&self) -> Result<Vec<FunctionRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT name, spec, created_ms FROM functions ORDER BY created_ms, name",
            )?;
            let rows = st.query_map([], |r| {
                Ok(FunctionRow {
                    name: r.get(0)?,
                    spec: r.get(1)?,
                    created_ms: r.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    fn execution(&self, arn: &str) -> Result<Option<ExecutionRow>> {
        self.read(|c| {
            c.prepare_cached("SELECT * FROM executions WHERE arn = ?1")?
                .query_row([arn], execution_row)
                .optional()
        })
    }

    /// Executions of a machine, newest first, optionally of one status, version or alias
    /// (`qualifier`), or revision (a Map Run's children); `after` (start time, ARN) continues
    /// after the last row of the previous page, so rows added or changed meanwhile neither
    /// repeat nor shift the pages.
    fn executions(
        &self,
        machine_arn: &str,
        status: Option<&str>,
        qualifier: Option<&str>,
        revision: Option<&str>,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ExecutionRow>> {
        let (after_ms, after_arn) = crate::page_cursor(after);
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT * FROM executions WHERE machine_arn = ?1
                   AND (?2 IS NULL OR status = ?2)
                   AND (?3 IS NULL OR version_arn = ?3 OR alias_arn = ?3)
                   AND (start_ms, arn) < (?4, ?5)
                   AND (?7 IS NULL OR revision_id = ?7)
                 ORDER BY start_ms DESC, arn DESC LIMIT ?6",
            )?;
            let rows = st.query_map(
                params![
                    machine_arn,
                    status,
                    qualifier,
                    after_ms,
                    after_arn,
                    limit as i64,
                    revision
                ],
                execution_row,
            )?;
            rows.collect()
        })
    }

    fn map_run(&self, arn: &str) -> Result<Option<MapRunRow>> {
        self.read(|c| {
            c.prepare_cached("SELECT * FROM map_runs WHERE arn = ?1")?
                .query_row([arn], map_run_row)
                .optional()
        })
    }

    /// The Map Runs an execution started, in start order.
    fn map_runs_of(&self, execution_arn: &str) -> Result<Vec<MapRunRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT * FROM map_runs WHERE execution_arn = ?1 ORDER BY start_ms, arn",
            )?;
            let rows = st.query_map([execution_arn], map_run_row)?;
            rows.collect()
        })
    }

    /// Every running execution: (ARN, tasks that were out at its last step).
    fn running(&self) -> Result<Vec<(String, i64)>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT arn, pending_tasks FROM executions WHERE status = 'RUNNING'",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    fn running_with_tasks(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT arn FROM executions WHERE status = 'RUNNING' AND pending_tasks > 0
                 ORDER BY start_ms",
            )?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Running executions with no timer in the store (the sweeper's candidates).
    fn running_without_timers(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT arn FROM executions e WHERE status = 'RUNNING'
                 AND NOT EXISTS (SELECT 1 FROM timers t WHERE t.execution_arn = e.arn)",
            )?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// The timers of one execution.
    fn timers_of(&self, execution_arn: &str) -> Result<Vec<TimerRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT fire_at_ms, execution_arn, timer_id FROM timers WHERE execution_arn = ?1",
            )?;
            let rows = st.query_map([execution_arn], timer_row)?;
            rows.collect()
        })
    }

    /// The steps of an execution, in order.
    fn steps(&self, execution_arn: &str) -> Result<Vec<StepRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT execution_arn, seq, now_ms, event, history, first_event, last_event
                 FROM steps WHERE execution_arn = ?1 ORDER BY seq",
            )?;
            let rows = st.query_map([execution_arn], step_row)?;
            rows.collect()
        })
    }

    fn step_events(&self, execution_arn: &str, after_seq: i64) -> Result<Vec<StepRow>> {
        self.read(|c| {
            // `event` comes before `history` in the row: a long history is never read.
            let mut st = c.prepare_cached(
                "SELECT execution_arn, seq, now_ms, event, '' FROM steps
                 WHERE execution_arn = ?1 AND seq > ?2 ORDER BY seq",
            )?;
            let rows = st.query_map(params![execution_arn, after_seq], step_row)?;
            rows.collect()
        })
    }

    fn history_steps(&self, execution_arn: &str, first: i64, last: i64) -> Result<Vec<StepRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                // By the index, bounded on both sides: the steps ending within the page,
                // then the one step holding its last event (the first to end at or past
                // it). Left to itself, the planner walks the primary key and reads every
                // step's row to test the ids; bounded below only, it reads every later one.
                "SELECT execution_arn, seq, now_ms, event, history, first_event, last_event
                 FROM steps INDEXED BY steps_events
                 WHERE execution_arn = ?1 AND last_event >= ?2 AND last_event < ?3
                 UNION ALL
                 SELECT * FROM (
                   SELECT execution_arn, seq, now_ms, event, history, first_event, last_event
                   FROM steps INDEXED BY steps_events
                   WHERE execution_arn = ?1 AND last_event >= ?3
                   ORDER BY last_event, first_event LIMIT 1)
                 WHERE first_event <= ?3
                 UNION ALL
                 SELECT execution_arn, seq, now_ms, event, history, first_event, last_event
                 FROM steps INDEXED BY steps_events
                 WHERE execution_arn = ?1 AND last_event IS NULL
                 ORDER BY seq",
            )?;
            let rows = st.query_map(params![execution_arn, first, last], step_row)?;
            rows.collect()
        })
    }

    fn last_event_id(&self, execution_arn: &str) -> Result<Option<i64>> {
        self.read(|c| {
            c.prepare_cached("SELECT MAX(last_event) FROM steps WHERE execution_arn = ?1")?
                .query_row([execution_arn], |r| r.get(0))
        })
    }

    fn snapshot(&self, execution_arn: &str) -> Result<Option<SnapshotRow>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT execution_arn, seq, revision_id, format, state FROM snapshots
                 WHERE execution_arn = ?1",
            )?
            .query_row([execution_arn], |r| {
                Ok(SnapshotRow {
                    execution_arn: r.get(0)?,
                    seq: r.get(1)?,
                    revision_id: r.get(2)?,
                    format: r.get(3)?,
                    state: r.get(4)?,
                })
            })
            .optional()
        })
    }

    /// Every event bus, by name.
    fn event_buses(&self) -> Result<Vec<EventBusRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT name, arn, description, created_ms FROM event_buses ORDER BY name",
            )?;
            let rows = st.query_map([], |r| {
                Ok(EventBusRow {
                    name: r.get(0)?,
                    arn: r.get(1)?,
                    description: r.get(2)?,
                    created_ms: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Every rule of every bus, by bus and name.
    fn rules(&self) -> Result<Vec<RuleRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT bus, name, arn, event_pattern, schedule, state, description, role_arn,
                 created_ms FROM rules ORDER BY bus, name",
            )?;
            let rows = st.query_map([], |r| {
                Ok(RuleRow {
                    bus: r.get(0)?,
                    name: r.get(1)?,
                    arn: r.get(2)?,
                    event_pattern: r.get(3)?,
                    schedule: r.get(4)?,
                    state: r.get(5)?,
                    description: r.get(6)?,
                    role_arn: r.get(7)?,
                    created_ms: r.get(8)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Every target of every rule, by bus, rule and id.
    fn rule_targets(&self) -> Result<Vec<RuleTargetRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT bus, rule, id, spec FROM rule_targets ORDER BY bus, rule, id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(RuleTargetRow {
                    bus: r.get(0)?,
                    rule: r.get(1)?,
                    id: r.get(2)?,
                    spec: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Deliveries not yet handed over, soonest due first.
    /// EventBridge Scheduler's schedules.
    fn schedules(&self) -> Result<Vec<ScheduleRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT grp, name, spec, created_ms, modified_ms FROM schedules ORDER BY grp, name",
            )?;
            let rows = st.query_map([], |r| {
                Ok(ScheduleRow {
                    group: r.get(0)?,
                    name: r.get(1)?,
                    spec: r.get(2)?,
                    created_ms: r.get(3)?,
                    modified_ms: r.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The last due time each schedule (a rule's or a Scheduler schedule's) fired for.
    fn schedule_marks(&self) -> Result<Vec<(String, i64)>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT key, due_ms FROM schedule_marks")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// Webhooks created through the API.
    fn webhooks(&self) -> Result<Vec<WebhookRow>> {
        self.read(|c| {
            let mut st =
                c.prepare_cached("SELECT name, spec, created_ms FROM webhooks ORDER BY name")?;
            let rows = st.query_map([], |r| {
                Ok(WebhookRow {
                    name: r.get(0)?,
                    spec: r.get(1)?,
                    created_ms: r.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    fn pending_deliveries(&self) -> Result<Vec<DeliveryRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, event, rule_arn, rule_name, target, ingested_ms, attempts, next_ms
                 FROM deliveries ORDER BY next_ms, id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(DeliveryRow {
                    id: r.get(0)?,
                    event: r.get(1)?,
                    rule_arn: r.get(2)?,
                    rule_name: r.get(3)?,
                    target: r.get(4)?,
                    ingested_ms: r.get(5)?,
                    attempts: r.get(6)?,
                    next_ms: r.get(7)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Dead letters, newest first, at most `limit`.
    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetterRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, event, rule_arn, target_id, target_arn, dead_letter_arn, error_code,
                 error_message, attempts, time_ms FROM dead_letters
                 ORDER BY time_ms DESC, id LIMIT ?1",
            )?;
            let rows = st.query_map([limit as i64], |r| {
                Ok(DeadLetterRow {
                    id: r.get(0)?,
                    event: r.get(1)?,
                    rule_arn: r.get(2)?,
                    target_id: r.get(3)?,
                    target_arn: r.get(4)?,
                    dead_letter_arn: r.get(5)?,
                    error_code: r.get(6)?,
                    error_message: r.get(7)?,
                    attempts: r.get(8)?,
                    time_ms: r.get(9)?,
                })
            })?;
            rows.collect()
        })
    }

    fn purge_cutoff(&self, before_ms: i64, slice: usize) -> Result<Option<i64>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT stop_ms FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < ?1
                 ORDER BY stop_ms LIMIT 1 OFFSET ?2",
            )?;
            let mut rows = st.query_map(params![before_ms, slice as i64], |r| r.get(0))?;
            rows.next().transpose()
        })
    }

    /// Timers due at or before `until_ms`, earliest first.
    fn due_timers(&self, until_ms: i64, limit: usize) -> Result<Vec<TimerRow>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT fire_at_ms, execution_arn, timer_id FROM timers
                 WHERE fire_at_ms <= ?1 ORDER BY fire_at_ms LIMIT ?2",
            )?;
            let rows = st.query_map(params![until_ms, limit as i64], timer_row)?;
            rows.collect()
        })
    }
}

pub(super) fn revision_row(r: &Row<'_>) -> rusqlite::Result<RevisionRow> {
    Ok(RevisionRow {
        machine_arn: r.get(0)?,
        revision_id: r.get(1)?,
        definition: r.get(2)?,
        role_arn: r.get(3)?,
        kind: r.get(4)?,
    })
}

pub(super) fn step_row(r: &Row<'_>) -> rusqlite::Result<StepRow> {
    Ok(StepRow {
        execution_arn: r.get(0)?,
        seq: r.get(1)?,
        now_ms: r.get(2)?,
        event: r.get(3)?,
        history: super::history_text::decode(r.get_ref(4)?).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Blob, e.into())
        })?,
        // Queries that leave the ids out have five columns.
        first_event: r.get(5).unwrap_or(None),
        last_event: r.get(6).unwrap_or(None),
    })
}

fn machine_row(r: &Row<'_>) -> rusqlite::Result<MachineRow> {
    Ok(MachineRow {
        arn: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        definition: r.get(3)?,
        role_arn: r.get(4)?,
        revision_id: r.get(5)?,
        description: r.get(6)?,
        created_ms: r.get(7)?,
        logging: r.get(8)?,
        tracing: r.get(9)?,
        encryption: r.get(10)?,
    })
}

fn version_row(r: &Row<'_>) -> rusqlite::Result<VersionRow> {
    Ok(VersionRow {
        arn: r.get(0)?,
        machine_arn: r.get(1)?,
        version: r.get(2)?,
        revision_id: r.get(3)?,
        description: r.get(4)?,
        created_ms: r.get(5)?,
    })
}

pub(super) fn map_run_row(r: &Row<'_>) -> rusqlite::Result<MapRunRow> {
    Ok(MapRunRow {
        arn: r.get(0)?,
        execution_arn: r.get(1)?,
        state_machine_arn: r.get(2)?,
        status: r.get(3)?,
        start_ms: r.get(4)?,
        stop_ms: r.get(5)?,
        config: r.get(6)?,
    })
}

pub(super) fn execution_row(r: &Row<'_>) -> rusqlite::Result<ExecutionRow> {
    Ok(ExecutionRow {
        arn: r.get(0)?,
        machine_arn: r.get(1)?,
        revision_id: r.get(2)?,
        version_arn: r.get(3)?,
        alias_arn: r.get(4)?,
        name: r.get(5)?,
        status: r.get(6)?,
        input: r.get(7)?,
        output: r.get(8)?,
        error: r.get(9)?,
        cause: r.get(10)?,
        start_ms: r.get(11)?,
        stop_ms: r.get(12)?,
        params: r.get(13)?,
        pending_tasks: r.get(14)?,
        trace_header: r.get(15)?,
        redrive_count: r.get(16)?,
        redrive_ms: r.get(17)?,
    })
}

/// A timer row read as `fire_at_ms, execution_arn, timer_id`.
fn timer_row(r: &rusqlite::Row) -> rusqlite::Result<TimerRow> {
    Ok(TimerRow {
        fire_at_ms: r.get(0)?,
        execution_arn: r.get(1)?,
        timer_id: r.get(2)?,
    })
}

/// The search statement over one index, with its machine condition (`?1`); the rest is
/// the same for both.
macro_rules! search_sql {
    ($index:literal, $machine:literal) => {
        concat!(
            "SELECT * FROM executions INDEXED BY ",
            $index,
            " WHERE ",
            $machine,
            " AND (?2 IS NULL OR status = ?2)
               AND (?3 IS NULL OR instr(name, ?3) > 0)
               AND (?4 IS NULL OR start_ms >= ?4)
               AND (?5 IS NULL OR start_ms < ?5)
               AND (start_ms, arn) < (?6, ?7)
             ORDER BY start_ms DESC, arn DESC LIMIT ?8"
        )
    };
}

impl Sqlite {
    /// [`crate::Reads::search_executions`] on SQLite.
    fn search(
        &self,
        f: &ExecutionFilter<'_>,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ExecutionRow>> {
        let (after_ms, after_arn) = crate::page_cursor(after);
        // One statement for a machine's executions and one for all: `?1 IS NULL OR` would
        // keep the planner off the machine's index.
        let sql = if f.machine_arn.is_some() {
            search_sql!("executions_machine_page", "machine_arn = ?1")
        } else {
            search_sql!("executions_started", "?1 IS NULL")
        };
        self.read(|c| {
            let mut st = c.prepare_cached(sql)?;
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
