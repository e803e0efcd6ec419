//! The reads, as PostgreSQL queries: the same rows in the same order as SQLite gives them.

use super::{rows, Postgres};
use crate::messaging::{QueueMessageRow, QueueRow, SubscriptionRow, TopicDeliveryRow, TopicRow};
use crate::rows::*;
use crate::{ExecutionFilter, Result};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// A parameter owned by the query (the read runs on the store's runtime, not the caller's
/// stack).
pub(super) type P = Box<dyn ToSql + Send + Sync>;

pub(super) fn p<T: ToSql + Send + Sync + 'static>(v: T) -> P {
    Box::new(v)
}

pub(super) fn text(s: &str) -> P {
    p(s.to_owned())
}

fn opt(s: Option<&str>) -> P {
    p(s.map(str::to_owned))
}

/// A row limit; callers ask for "all" with `usize::MAX` (SQLite reads a negative LIMIT as
/// none, PostgreSQL refuses one).
pub(super) fn limit_param(limit: usize) -> P {
    p(i64::try_from(limit).unwrap_or(i64::MAX))
}

impl Postgres {
    pub(super) fn all<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<P>,
        map: fn(&Row) -> T,
    ) -> Result<Vec<T>> {
        self.run(move |c| async move {
            let st = c.prepare_cached(sql).await?;
            let refs: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                .collect();
            Ok(c.query(&st, &refs).await?.iter().map(map).collect())
        })
    }

    pub(super) fn one<T: Send + 'static>(
        &self,
        sql: &'static str,
        params: Vec<P>,
        map: fn(&Row) -> T,
    ) -> Result<Option<T>> {
        Ok(self.all(sql, params, map)?.into_iter().next())
    }
}

impl crate::Reads for Postgres {
    fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        Postgres::table_counts(self)
    }

    fn revisions_page(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<RevisionRow>> {
        Postgres::revisions_page(self, after, limit)
    }

    fn all_tags(&self) -> Result<Vec<(String, String, String)>> {
        Postgres::all_tags(self)
    }

    fn executions_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<ExecutionRow>> {
        Postgres::executions_page(self, after, limit)
    }

    fn steps_page(&self, after: Option<(&str, i64)>, limit: usize) -> Result<Vec<StepRow>> {
        Postgres::steps_page(self, after, limit)
    }

    fn map_runs_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<MapRunRow>> {
        Postgres::map_runs_page(self, after, limit)
    }

    fn queue_messages_page(
        &self,
        after: Option<(&str, i64)>,
        limit: usize,
    ) -> Result<Vec<QueueMessageRow>> {
        Postgres::queue_messages_page(self, after, limit)
    }

    fn queues(&self) -> Result<Vec<QueueRow>> {
        self.all(
            "SELECT * FROM queues ORDER BY created_ms, name",
            vec![],
            rows::queue,
        )
    }

    fn queue_messages(&self, queue: &str) -> Result<Vec<QueueMessageRow>> {
        self.all(
            "SELECT * FROM queue_messages WHERE queue = $1 ORDER BY seq",
            vec![text(queue)],
            rows::queue_message,
        )
    }

    fn topics(&self) -> Result<Vec<TopicRow>> {
        self.all(
            "SELECT * FROM topics ORDER BY created_ms, arn",
            vec![],
            rows::topic,
        )
    }

    fn subscriptions(&self) -> Result<Vec<SubscriptionRow>> {
        self.all(
            "SELECT * FROM subscriptions ORDER BY created_ms, arn",
            vec![],
            rows::subscription,
        )
    }

    fn topic_deliveries(&self) -> Result<Vec<TopicDeliveryRow>> {
        self.all(
            "SELECT * FROM topic_deliveries ORDER BY next_ms, id",
            vec![],
            rows::topic_delivery,
        )
    }

    fn machine(&self, arn: &str) -> Result<Option<MachineRow>> {
        self.one(
            "SELECT * FROM machines WHERE arn = $1",
            vec![text(arn)],
            rows::machine,
        )
    }

    fn machines(&self) -> Result<Vec<MachineRow>> {
        self.all(
            "SELECT * FROM machines ORDER BY created_ms, arn",
            vec![],
            rows::machine,
        )
    }

    fn revision(&self, machine_arn: &str, revision_id: &str) -> Result<Option<RevisionRow>> {
        self.one(
            "SELECT * FROM revisions WHERE machine_arn = $1 AND revision_id = $2",
            vec![text(machine_arn), text(revision_id)],
            rows::revision,
        )
    }

    fn versions(&self, machine_arn: &str) -> Result<Vec<VersionRow>> {
        self.all(
            "SELECT * FROM versions WHERE machine_arn = $1 ORDER BY version DESC",
            vec![text(machine_arn)],
            rows::version,
        )
    }

    fn all_versions(&self) -> Result<Vec<VersionRow>> {
        self.all("SELECT * FROM versions", vec![], rows::version)
    }

    fn all_aliases(&self) -> Result<Vec<AliasRow>> {
        self.all(
            "SELECT * FROM aliases ORDER BY created_ms, arn",
            vec![],
            rows::alias,
        )
    }

    fn tags(&self, resource_arn: &str) -> Result<Vec<(String, String)>> {
        self.all(
            "SELECT key, value FROM tags WHERE resource_arn = $1 ORDER BY ord",
            vec![text(resource_arn)],
            |r| (r.get(0), r.get(1)),
        )
    }

    fn activity(&self, arn: &str) -> Result<Option<ActivityRow>> {
        self.one(
            "SELECT * FROM activities WHERE arn = $1",
            vec![text(arn)],
            rows::activity,
        )
    }

    fn activities(&self) -> Result<Vec<ActivityRow>> {
        self.all(
            "SELECT * FROM activities ORDER BY created_ms, arn",
            vec![],
            rows::activity,
        )
    }

    fn functions(&self) -> Result<Vec<FunctionRow>> {
        self.all(
            "SELECT * FROM functions ORDER BY created_ms, name",
            vec![],
            rows::function,
        )
    }

    fn execution(&self, arn: &str) -> Result<Option<ExecutionRow>> {
        self.one(
            "SELECT * FROM executions WHERE arn = $1",
            vec![text(arn)],
            rows::execution,
        )
    }

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
        self.all(
            "SELECT * FROM executions WHERE machine_arn = $1
               AND ($2::TEXT IS NULL OR status = $2)
               AND ($3::TEXT IS NULL OR version_arn = $3 OR alias_arn = $3)
               AND (start_ms, arn) < ($4, $5)
               AND ($7::TEXT IS NULL OR revision_id = $7)
             ORDER BY start_ms DESC, arn DESC LIMIT $6",
            vec![
                text(machine_arn),
                opt(status),
                opt(qualifier),
                p(after_ms),
                text(after_arn),
                limit_param(limit),
                opt(revision),
            ],
            rows::execution,
        )
    }

    fn search_executions(
        &self,
        f: &ExecutionFilter<'_>,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<ExecutionRow>> {
        let (after_ms, after_arn) = crate::page_cursor(after);
        self.all(
            "SELECT * FROM executions
             WHERE ($1::TEXT IS NULL OR machine_arn = $1)
               AND ($2::TEXT IS NULL OR status = $2)
               AND ($3::TEXT IS NULL OR strpos(name, $3) > 0)
               AND ($4::BIGINT IS NULL OR start_ms >= $4)
               AND ($5::BIGINT IS NULL OR start_ms < $5)
               AND (start_ms, arn) < ($6, $7)
             ORDER BY start_ms DESC, arn DESC LIMIT $8",
            vec![
                opt(f.machine_arn),
                opt(f.status),
                opt(f.name_contains),
                p(f.started_after_ms),
                p(f.started_before_ms),
                p(after_ms),
                text(after_arn),
                limit_param(limit),
            ],
            rows::execution,
        )
    }

    fn map_run(&self, arn: &str) -> Result<Option<MapRunRow>> {
        self.one(
            "SELECT * FROM map_runs WHERE arn = $1",
            vec![text(arn)],
            rows::map_run,
        )
    }

    fn map_runs_of(&self, execution_arn: &str) -> Result<Vec<MapRunRow>> {
        self.all(
            "SELECT * FROM map_runs WHERE execution_arn = $1 ORDER BY start_ms, arn",
            vec![text(execution_arn)],
            rows::map_run,
        )
    }

    fn running(&self) -> Result<Vec<(String, i64)>> {
        self.all(
            "SELECT arn, pending_tasks FROM executions WHERE status = 'RUNNING'",
            vec![],
            |r| (r.get(0), r.get(1)),
        )
    }

    fn running_with_tasks(&self) -> Result<Vec<String>> {
        self.all(
            "SELECT arn FROM executions WHERE status = 'RUNNING' AND pending_tasks > 0
             ORDER BY start_ms",
            vec![],
            |r| r.get(0),
        )
    }

    fn running_without_timers(&self) -> Result<Vec<String>> {
        self.all(
            "SELECT arn FROM executions e WHERE status = 'RUNNING'
             AND NOT EXISTS (SELECT 1 FROM timers t WHERE t.execution_arn = e.arn)",
            vec![],
            |r| r.get(0),
        )
    }

    fn timers_of(&self, execution_arn: &str) -> Result<Vec<TimerRow>> {
        self.all(
            "SELECT fire_at_ms, execution_arn, timer_id FROM timers WHERE execution_arn = $1",
            vec![text(execution_arn)],
            rows::timer,
        )
    }

    fn steps(&self, execution_arn: &str) -> Result<Vec<StepRow>> {
        self.all(
            "SELECT * FROM steps WHERE execution_arn = $1 ORDER BY seq",
            vec![text(execution_arn)],
            rows::step,
        )
    }

    fn step_events(&self, execution_arn: &str, after_seq: i64) -> Result<Vec<StepRow>> {
        // Without `history`: a long one is never read (nor detoasted).
        self.all(
            "SELECT execution_arn, seq, now_ms, event, ''::text FROM steps
             WHERE execution_arn = $1 AND seq > $2 ORDER BY seq",
            vec![text(execution_arn), p(after_seq)],
            rows::step,
        )
    }

    fn history_steps(&self, execution_arn: &str, first: i64, last: i64) -> Result<Vec<StepRow>> {
        self.all(
            // Searches of the index bounded on both sides (as on SQLite): the steps ending
            // within the page, then the one holding its last event, then old steps.
            "(SELECT * FROM steps WHERE execution_arn = $1 AND last_event >= $2
               AND last_event < $3)
             UNION ALL
             (SELECT * FROM (SELECT * FROM steps WHERE execution_arn = $1 AND last_event >= $3
               ORDER BY last_event, first_event LIMIT 1) s WHERE first_event <= $3)
             UNION ALL
             (SELECT * FROM steps WHERE execution_arn = $1 AND last_event IS NULL)
             ORDER BY seq",
            vec![text(execution_arn), p(first), p(last)],
            rows::step,
        )
    }

    fn last_event_id(&self, execution_arn: &str) -> Result<Option<i64>> {
        Ok(self
            .one(
                "SELECT MAX(last_event) FROM steps WHERE execution_arn = $1",
                vec![text(execution_arn)],
                |r| r.get::<_, Option<i64>>(0),
            )?
            .flatten())
    }

    fn snapshot(&self, execution_arn: &str) -> Result<Option<SnapshotRow>> {
        self.one(
            "SELECT execution_arn, seq, revision_id, format, state FROM snapshots
             WHERE execution_arn = $1",
            vec![text(execution_arn)],
            |r| SnapshotRow {
                execution_arn: r.get(0),
                seq: r.get(1),
                revision_id: r.get(2),
                format: r.get(3),
                state: r.get(4),
            },
        )
    }

    fn event_buses(&self) -> Result<Vec<EventBusRow>> {
        self.all(
            "SELECT * FROM event_buses ORDER BY name",
            vec![],
            rows::event_bus,
        )
    }

    fn rules(&self) -> Result<Vec<RuleRow>> {
        self.all("SELECT * FROM rules ORDER BY bus, name", vec![], rows::rule)
    }

    fn rule_targets(&self) -> Result<Vec<RuleTargetRow>> {
        self.all(
            "SELECT * FROM rule_targets ORDER BY bus, rule, id",
            vec![],
            rows::rule_target,
        )
    }

    fn schedules(&self) -> Result<Vec<ScheduleRow>> {
        self.all(
            "SELECT * FROM schedules ORDER BY grp, name",
            vec![],
            rows::schedule,
        )
    }

    fn schedule_marks(&self) -> Result<Vec<(String, i64)>> {
        self.all("SELECT key, due_ms FROM schedule_marks", vec![], |r| {
            (r.get(0), r.get(1))
        })
    }

    fn webhooks(&self) -> Result<Vec<WebhookRow>> {
        self.all(
            "SELECT * FROM webhooks ORDER BY name",
            vec![],
            rows::webhook,
        )
    }

    fn pending_deliveries(&self) -> Result<Vec<DeliveryRow>> {
        self.all(
            "SELECT * FROM deliveries ORDER BY next_ms, id",
            vec![],
            rows::delivery,
        )
    }

    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetterRow>> {
        self.all(
            "SELECT * FROM dead_letters ORDER BY time_ms DESC, id LIMIT $1",
            vec![limit_param(limit)],
            rows::dead_letter,
        )
    }

    fn purge_cutoff(&self, before_ms: i64, slice: usize) -> Result<Option<i64>> {
        self.one(
            "SELECT stop_ms FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < $1
             ORDER BY stop_ms OFFSET $2 LIMIT 1",
            vec![p(before_ms), limit_param(slice)],
            |r| r.get(0),
        )
    }

    fn due_timers(&self, until_ms: i64, limit: usize) -> Result<Vec<TimerRow>> {
        self.all(
            "SELECT fire_at_ms, execution_arn, timer_id FROM timers
             WHERE fire_at_ms <= $1 ORDER BY fire_at_ms LIMIT $2",
            vec![p(until_ms), limit_param(limit)],
            rows::timer,
        )
    }
}
