//! What a firing puts out: for a rule, a `Scheduled Event` delivered to each of its
//! targets; for a Scheduler schedule, one delivery to its state machine with the target's
//! Input (context attributes filled in). The event's id is derived from the schedule and
//! its due time, so the execution a firing starts has a name fixed by them: a firing
//! committed twice could only find the execution the first one started.

use super::spec::Spec;
use crate::arn::Realm;
use crate::bus::delivery::Received;
use crate::bus::events::iso;
use crate::bus::Rule;
use passo_store::DeliveryRow;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A UUID-shaped id from the schedule's key, its creation and the due time.
pub fn event_id(key: &str, created_ms: i64, due_ms: i64) -> String {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(created_ms.to_be_bytes());
    h.update(due_ms.to_be_bytes());
    let x: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

/// EventBridge's scheduled event for `rule` at `due`.
pub fn rule_event(realm: &Realm, rule_arn: &str, id: &str, due_ms: i64) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": realm.account,
        "time": iso(due_ms),
        "region": realm.region,
        "resources": [rule_arn],
        "detail": {},
    })
}

/// One delivery per target of the rule.
pub fn rule_rows(rule: &Rule, event: &Value, at: Received) -> Vec<DeliveryRow> {
    let id = event["id"].as_str().unwrap_or_default();
    let text = event.to_string();
    rule.targets
        .values()
        .map(|t| DeliveryRow {
            id: format!("{id}/{}/{}", rule.row.arn, t.id),
            event: text.clone(),
            rule_arn: rule.row.arn.clone(),
            rule_name: rule.row.name.clone(),
            target: t.spec.to_string(),
            ingested_ms: at.ingested_ms,
            attempts: 0,
            next_ms: at.due_ms,
        })
        .collect()
}

/// Scheduler's context attributes in a target's Input.
pub fn context(text: &str, schedule_arn: &str, scheduled_time: &str, execution_id: &str) -> String {
    text.replace("<aws.scheduler.schedule-arn>", schedule_arn)
        .replace("<aws.scheduler.scheduled-time>", scheduled_time)
        .replace("<aws.scheduler.execution-id>", execution_id)
        .replace("<aws.scheduler.attempt-number>", "1")
}

/// The delivery of a Scheduler schedule's firing at `due`: its target as a rule target
/// (the same delivery, retry and dead-letter path as the bus).
pub fn schedule_row(spec: &Spec, due_ms: i64, at: Received) -> DeliveryRow {
    let id = event_id(&spec.arn, spec.created_ms, due_ms);
    let input = spec.target["Input"]
        .as_str()
        .map(|t| context(t, &spec.arn, &iso(due_ms), &id))
        .unwrap_or_else(|| "{}".to_string());
    let mut target = json!({"Id": "scheduler", "Arn": spec.target["Arn"], "Input": input});
    for k in ["RetryPolicy", "DeadLetterConfig", "RoleArn"] {
        if let Some(v) = spec.target.get(k).filter(|v| !v.is_null()) {
            target[k] = v.clone();
        }
    }
    let event = json!({"id": id, "time": iso(due_ms), "resources": [spec.arn]});
    DeliveryRow {
        id: format!("{id}/{}", spec.arn),
        event: event.to_string(),
        rule_arn: spec.arn.clone(),
        rule_name: spec.name.clone(),
        target: target.to_string(),
        ingested_ms: at.ingested_ms,
        attempts: 0,
        next_ms: at.due_ms,
    }
}

/// Where in its flexible window a firing falls: fixed by the schedule and due time, so a
/// restart does not move it.
pub fn offset(key: &str, due_ms: i64, window_ms: i64) -> i64 {
    if window_ms <= 0 {
        return 0;
    }
    let h = Sha256::digest(format!("{key}@{due_ms}").as_bytes());
    let n = u64::from_be_bytes(h[..8].try_into().unwrap_or([0; 8]));
    (n % window_ms as u64) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_firing_has_the_same_id_every_time_and_another_for_another_time() {
        let a = event_id("arn:r", 1, 60_000);
        assert_eq!(a, event_id("arn:r", 1, 60_000));
        assert_ne!(a, event_id("arn:r", 1, 120_000));
        // A schedule deleted and made again under the same name does not meet its
        // predecessor's executions.
        assert_ne!(a, event_id("arn:r", 2, 60_000));
        assert_eq!(a.len(), 36);
        assert!(crate::arn::valid_name(&a));
    }

    #[test]
    fn context_attributes_are_filled_in() {
        let t = r#"{"at": "<aws.scheduler.scheduled-time>", "by": "<aws.scheduler.schedule-arn>"}"#;
        assert_eq!(
            context(t, "arn:s", "2026-12-02T10:00:00Z", "i"),
            r#"{"at": "2026-12-02T10:00:00Z", "by": "arn:s"}"#
        );
    }

    #[test]
    fn a_flexible_offset_stays_in_its_window_and_does_not_move() {
        for due in (0..100).map(|i| i * 60_000) {
            let o = offset("k", due, 15 * 60_000);
            assert!((0..15 * 60_000).contains(&o));
            assert_eq!(o, offset("k", due, 15 * 60_000));
        }
        assert_eq!(offset("k", 5, 0), 0);
    }
}
