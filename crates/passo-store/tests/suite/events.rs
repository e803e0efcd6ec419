//! The event bus (buses, rules, targets, deliveries, dead letters), schedules with their
//! marks, and webhooks.

use crate::Fixture;
use passo_store::*;

fn rule(bus: &str, name: &str, state: &str) -> RuleRow {
    RuleRow {
        bus: bus.into(),
        name: name.into(),
        arn: format!("arn:rule/{bus}/{name}"),
        event_pattern: Some("{\"source\":[\"a\"]}".into()),
        schedule: None,
        state: state.into(),
        description: None,
        role_arn: None,
        created_ms: 1,
    }
}

fn target(bus: &str, rule: &str, id: &str) -> RuleTargetRow {
    RuleTargetRow {
        bus: bus.into(),
        rule: rule.into(),
        id: id.into(),
        spec: format!("{{\"Id\":\"{id}\"}}"),
    }
}

pub async fn buses_rules_and_targets(f: &mut Fixture) {
    let bus = |name: &str| EventBusRow {
        name: name.into(),
        arn: format!("arn:bus/{name}"),
        description: Some("d".into()),
        created_ms: 1,
    };
    f.db.write(vec![
        Write::InsertEventBus(bus("b")),
        Write::InsertEventBus(bus("a")),
        Write::PutRule(rule("b", "r2", "ENABLED")),
        Write::PutRule(rule("b", "r1", "ENABLED")),
        Write::PutRule(rule("a", "r1", "ENABLED")),
        Write::PutRuleTarget(target("b", "r1", "t2")),
        Write::PutRuleTarget(target("b", "r1", "t1")),
        Write::PutRuleTarget(target("b", "r2", "t1")),
        Write::PutRuleTarget(target("a", "r1", "t1")),
    ])
    .await
    .unwrap();
    let twice = f.db.write(vec![Write::InsertEventBus(bus("b"))]).await;
    assert!(matches!(twice, Err(StoreError::Conflict)), "{twice:?}");
    assert_eq!(f.db.event_buses().unwrap(), vec![bus("a"), bus("b")]);
    let keys: Vec<(String, String)> =
        f.db.rules()
            .unwrap()
            .into_iter()
            .map(|r| (r.bus, r.name))
            .collect();
    let k = |b: &str, n: &str| (b.to_string(), n.to_string());
    assert_eq!(keys, [k("a", "r1"), k("b", "r1"), k("b", "r2")]);
    // A rule put again is replaced; its targets stay.
    f.db.write(vec![
        Write::PutRule(rule("b", "r1", "DISABLED")),
        Write::PutRuleTarget(RuleTargetRow {
            spec: "{\"Id\":\"t1\",\"Input\":\"x\"}".into(),
            ..target("b", "r1", "t1")
        }),
        Write::DeleteRuleTarget("b".into(), "r1".into(), "t2".into()),
    ])
    .await
    .unwrap();
    assert_eq!(f.db.rules().unwrap()[1].state, "DISABLED");
    let targets = f.db.rule_targets().unwrap();
    assert_eq!(targets.len(), 3);
    assert_eq!(targets[1].spec, "{\"Id\":\"t1\",\"Input\":\"x\"}");
    // Deleting a rule takes its targets; deleting a bus takes its rules and theirs.
    f.db.write(vec![Write::DeleteRule("b".into(), "r2".into())])
        .await
        .unwrap();
    assert_eq!(f.db.rule_targets().unwrap().len(), 2);
    f.db.write(vec![Write::DeleteEventBus("b".into())])
        .await
        .unwrap();
    assert_eq!(f.db.event_buses().unwrap(), vec![bus("a")]);
    assert_eq!(f.db.rules().unwrap(), vec![rule("a", "r1", "ENABLED")]);
    assert_eq!(f.db.rule_targets().unwrap(), vec![target("a", "r1", "t1")]);
}

pub async fn deliveries_are_recorded_once_and_kept_until_finished(f: &mut Fixture) {
    let d = |id: &str, next_ms| DeliveryRow {
        id: id.into(),
        event: "{}".into(),
        rule_arn: "r".into(),
        rule_name: "r".into(),
        target: "{}".into(),
        ingested_ms: 1,
        attempts: 0,
        next_ms,
    };
    let mut again = d("ev1/t", 1);
    again.attempts = 9;
    f.db.write(vec![
        Write::InsertDelivery(d("ev1/t", 1)),
        Write::InsertDelivery(d("ev0/t", 3)),
    ])
    .await
    .unwrap();
    f.db.write(vec![Write::InsertDelivery(again)])
        .await
        .unwrap();
    assert_eq!(
        f.db.pending_deliveries().unwrap(),
        vec![d("ev1/t", 1), d("ev0/t", 3)]
    );
    f.db.write(vec![Write::RetryDelivery("ev1/t".into(), 1, 50)])
        .await
        .unwrap();
    f.reopen();
    let pending = f.db.pending_deliveries().unwrap();
    assert_eq!(pending[0].id, "ev0/t", "soonest due first");
    assert_eq!((pending[1].attempts, pending[1].next_ms), (1, 50));
    f.db.write(vec![
        Write::FinishDelivery("ev1/t".into()),
        Write::FinishDelivery("ev0/t".into()),
    ])
    .await
    .unwrap();
    assert!(f.db.pending_deliveries().unwrap().is_empty());
}

pub async fn dead_letters_newest_first(f: &mut Fixture) {
    let dl = |id: &str, time_ms| DeadLetterRow {
        id: id.into(),
        event: "{}".into(),
        rule_arn: "r".into(),
        target_id: "t".into(),
        target_arn: "arn:t".into(),
        dead_letter_arn: (id == "b").then(|| "arn:sqs:dlq".to_string()),
        error_code: "SDK_CLIENT_ERROR".into(),
        error_message: "refused".into(),
        attempts: 3,
        time_ms,
    };
    f.db.write(vec![
        Write::PutDeadLetter(dl("a", 1)),
        Write::PutDeadLetter(dl("b", 3)),
        Write::PutDeadLetter(dl("c", 2)),
    ])
    .await
    .unwrap();
    assert_eq!(f.db.dead_letters(2).unwrap(), vec![dl("b", 3), dl("c", 2)]);
    f.db.write(vec![Write::PutDeadLetter(dl("a", 9))])
        .await
        .unwrap();
    assert_eq!(f.db.dead_letters(10).unwrap()[0], dl("a", 9));
    assert_eq!(f.db.dead_letters(usize::MAX).unwrap().len(), 3);
}

pub async fn schedules_marks_and_webhooks(f: &mut Fixture) {
    let sched = |group: &str, name: &str, modified_ms| ScheduleRow {
        group: group.into(),
        name: name.into(),
        spec: format!("{{\"ScheduleExpression\":\"rate(1 minute)\",\"m\":{modified_ms}}}"),
        created_ms: 1,
        modified_ms,
    };
    f.db.write(vec![
        Write::PutSchedule(sched("default", "b", 1)),
        Write::PutSchedule(sched("default", "a", 1)),
        Write::PutSchedule(sched("g", "a", 1)),
        Write::MarkSchedule("rule:default/r".into(), 60_000),
        Write::MarkSchedule("sched:default/a".into(), 60_000),
    ])
    .await
    .unwrap();
    f.db.write(vec![
        Write::PutSchedule(sched("default", "b", 7)),
        Write::MarkSchedule("rule:default/r".into(), 120_000),
        Write::DeleteSchedule("g".into(), "a".into()),
        Write::DeleteScheduleMark("sched:default/a".into()),
    ])
    .await
    .unwrap();
    assert_eq!(
        f.db.schedules().unwrap(),
        vec![sched("default", "a", 1), sched("default", "b", 7)]
    );
    assert_eq!(
        f.db.schedule_marks().unwrap(),
        vec![("rule:default/r".to_string(), 120_000)]
    );
    // A firing is claimed once per due time: a second claim of it (another node's), or of
    // an earlier one, is refused with nothing written; a later one moves the mark on.
    let claim = |due| vec![Write::ClaimFiring("rule:default/r".into(), due)];
    assert!(matches!(
        f.db.write(claim(120_000)).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        f.db.write(claim(60_000)).await,
        Err(StoreError::Conflict)
    ));
    f.db.write(claim(180_000)).await.unwrap();
    f.db.write(vec![Write::ClaimFiring("rule:default/new".into(), 5)])
        .await
        .unwrap();
    let mut marks = f.db.schedule_marks().unwrap();
    marks.sort();
    assert_eq!(
        marks,
        vec![
            ("rule:default/new".to_string(), 5),
            ("rule:default/r".to_string(), 180_000)
        ]
    );

    let hook = |name: &str, spec: &str| WebhookRow {
        name: name.into(),
        spec: spec.into(),
        created_ms: 5,
    };
    f.db.write(vec![
        Write::PutWebhook(hook("stripe", "{}")),
        Write::PutWebhook(hook("github", "{}")),
    ])
    .await
    .unwrap();
    f.db.write(vec![
        Write::PutWebhook(hook("github", "{\"auth\":\"hmac\"}")),
        Write::DeleteWebhook("stripe".into()),
    ])
    .await
    .unwrap();
    assert_eq!(
        f.db.webhooks().unwrap(),
        vec![hook("github", "{\"auth\":\"hmac\"}")]
    );
}
