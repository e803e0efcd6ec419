//! The store's tables by name, for what reads a store whole (`passo migrate`): counting
//! their rows to see that a copy is complete.

/// The tables both backends have, in the order `passo migrate` copies them. PostgreSQL
/// also has `leases`, `inbox`, `activity_tasks`, `nodes` and `cluster_settings`
/// ([`NODE_TABLES`]), which belong to the nodes running on it.
pub const TABLES: &[&str] = &[
    "machines",
    "revisions",
    "versions",
    "aliases",
    "tags",
    "activities",
    "functions",
    "executions",
    "steps",
    "timers",
    "map_runs",
    "event_buses",
    "rules",
    "rule_targets",
    "deliveries",
    "dead_letters",
    "schedules",
    "schedule_marks",
    "webhooks",
    "queues",
    "queue_messages",
    "topics",
    "subscriptions",
    "topic_deliveries",
];

/// PostgreSQL's tables of node coordination: never copied (a lease names a node of the
/// old store), but a database where they hold rows has had a server running on it.
pub const NODE_TABLES: &[&str] = &[
    "leases",
    "inbox",
    "activity_tasks",
    "nodes",
    "cluster_settings",
];

/// One query answering (table, rows) for each of `tables`: table names come from the
/// lists above, never from a caller.
pub(crate) fn count_sql(tables: &[&str]) -> String {
    tables
        .iter()
        .map(|t| format!("SELECT '{t}', COUNT(*) FROM {t}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}
