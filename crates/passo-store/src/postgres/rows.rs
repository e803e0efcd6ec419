//! Rows read back from PostgreSQL, column by column in the order the schema declares them
//! (the queries select `*` or list the columns in that order).

use crate::messaging::{QueueMessageRow, QueueRow, SubscriptionRow, TopicDeliveryRow, TopicRow};
use crate::rows::*;
use tokio_postgres::Row;

pub(super) fn machine(r: &Row) -> MachineRow {
    MachineRow {
        arn: r.get(0),
        name: r.get(1),
        kind: r.get(2),
        definition: r.get(3),
        role_arn: r.get(4),
        revision_id: r.get(5),
        description: r.get(6),
        created_ms: r.get(7),
        logging: r.get(8),
        tracing: r.get(9),
        encryption: r.get(10),
    }
}

pub(super) fn revision(r: &Row) -> RevisionRow {
    RevisionRow {
        machine_arn: r.get(0),
        revision_id: r.get(1),
        definition: r.get(2),
        role_arn: r.get(3),
        kind: r.get(4),
    }
}

pub(super) fn version(r: &Row) -> VersionRow {
    VersionRow {
        arn: r.get(0),
        machine_arn: r.get(1),
        version: r.get(2),
        revision_id: r.get(3),
        description: r.get(4),
        created_ms: r.get(5),
    }
}

pub(super) fn alias(r: &Row) -> AliasRow {
    AliasRow {
        arn: r.get(0),
        machine_arn: r.get(1),
        name: r.get(2),
        description: r.get(3),
        routing: r.get(4),
        created_ms: r.get(5),
        updated_ms: r.get(6),
    }
}

pub(super) fn activity(r: &Row) -> ActivityRow {
    ActivityRow {
        arn: r.get(0),
        name: r.get(1),
        created_ms: r.get(2),
    }
}

pub(super) fn function(r: &Row) -> FunctionRow {
    FunctionRow {
        name: r.get(0),
        spec: r.get(1),
        created_ms: r.get(2),
    }
}

pub(super) fn execution(r: &Row) -> ExecutionRow {
    ExecutionRow {
        arn: r.get(0),
        machine_arn: r.get(1),
        revision_id: r.get(2),
        version_arn: r.get(3),
        alias_arn: r.get(4),
        name: r.get(5),
        status: r.get(6),
        input: r.get(7),
        output: r.get(8),
        error: r.get(9),
        cause: r.get(10),
        start_ms: r.get(11),
        stop_ms: r.get(12),
        params: r.get(13),
        pending_tasks: r.get(14),
        trace_header: r.get(15),
        redrive_count: r.get(16),
        redrive_ms: r.get(17),
    }
}

pub(super) fn map_run(r: &Row) -> MapRunRow {
    MapRunRow {
        arn: r.get(0),
        execution_arn: r.get(1),
        state_machine_arn: r.get(2),
        status: r.get(3),
        start_ms: r.get(4),
        stop_ms: r.get(5),
        config: r.get(6),
    }
}

/// Read as `fire_at_ms, execution_arn, timer_id`.
pub(super) fn timer(r: &Row) -> TimerRow {
    TimerRow {
        fire_at_ms: r.get(0),
        execution_arn: r.get(1),
        timer_id: r.get(2),
    }
}

pub(super) fn step(r: &Row) -> StepRow {
    StepRow {
        execution_arn: r.get(0),
        seq: r.get(1),
        now_ms: r.get(2),
        event: r.get(3),
        history: r.get(4),
        // Reads that leave the ids out have five columns.
        first_event: r.try_get(5).ok().flatten(),
        last_event: r.try_get(6).ok().flatten(),
    }
}

pub(super) fn event_bus(r: &Row) -> EventBusRow {
    EventBusRow {
        name: r.get(0),
        arn: r.get(1),
        description: r.get(2),
        created_ms: r.get(3),
    }
}

pub(super) fn rule(r: &Row) -> RuleRow {
    RuleRow {
        bus: r.get(0),
        name: r.get(1),
        arn: r.get(2),
        event_pattern: r.get(3),
        schedule: r.get(4),
        state: r.get(5),
        description: r.get(6),
        role_arn: r.get(7),
        created_ms: r.get(8),
    }
}

pub(super) fn rule_target(r: &Row) -> RuleTargetRow {
    RuleTargetRow {
        bus: r.get(0),
        rule: r.get(1),
        id: r.get(2),
        spec: r.get(3),
    }
}

pub(super) fn delivery(r: &Row) -> DeliveryRow {
    DeliveryRow {
        id: r.get(0),
        event: r.get(1),
        rule_arn: r.get(2),
        rule_name: r.get(3),
        target: r.get(4),
        ingested_ms: r.get(5),
        attempts: r.get(6),
        next_ms: r.get(7),
    }
}

pub(super) fn dead_letter(r: &Row) -> DeadLetterRow {
    DeadLetterRow {
        id: r.get(0),
        event: r.get(1),
        rule_arn: r.get(2),
        target_id: r.get(3),
        target_arn: r.get(4),
        dead_letter_arn: r.get(5),
        error_code: r.get(6),
        error_message: r.get(7),
        attempts: r.get(8),
        time_ms: r.get(9),
    }
}

pub(super) fn schedule(r: &Row) -> ScheduleRow {
    ScheduleRow {
        group: r.get(0),
        name: r.get(1),
        spec: r.get(2),
        created_ms: r.get(3),
        modified_ms: r.get(4),
    }
}

pub(super) fn webhook(r: &Row) -> WebhookRow {
    WebhookRow {
        name: r.get(0),
        spec: r.get(1),
        created_ms: r.get(2),
    }
}

pub(super) fn queue(r: &Row) -> QueueRow {
    QueueRow {
        name: r.get(0),
        attributes: r.get(1),
        tags: r.get(2),
        created_ms: r.get(3),
        modified_ms: r.get(4),
    }
}

pub(super) fn queue_message(r: &Row) -> QueueMessageRow {
    QueueMessageRow {
        queue: r.get(0),
        seq: r.get(1),
        id: r.get(2),
        body: r.get(3),
        attributes: r.get(4),
        system: r.get(5),
        sent_ms: r.get(6),
        visible_ms: r.get(7),
        receive_count: r.get(8),
        first_receive_ms: r.get(9),
    }
}

pub(super) fn topic(r: &Row) -> TopicRow {
    TopicRow {
        arn: r.get(0),
        name: r.get(1),
        attributes: r.get(2),
        tags: r.get(3),
        created_ms: r.get(4),
    }
}

pub(super) fn subscription(r: &Row) -> SubscriptionRow {
    SubscriptionRow {
        arn: r.get(0),
        topic_arn: r.get(1),
        protocol: r.get(2),
        endpoint: r.get(3),
        attributes: r.get(4),
        token: r.get(5),
        confirmed: r.get(6),
        created_ms: r.get(7),
    }
}

pub(super) fn topic_delivery(r: &Row) -> TopicDeliveryRow {
    TopicDeliveryRow {
        id: r.get(0),
        subscription_arn: r.get(1),
        kind: r.get(2),
        message_id: r.get(3),
        body: r.get(4),
        attempts: r.get(5),
        next_ms: r.get(6),
    }
}
