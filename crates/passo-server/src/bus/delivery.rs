//! Handing matched events to their targets, at least once and durably.
//!
//! A delivery row is committed before PutEvents answers (or with the execution step whose
//! status event matched). Then it is attempted: the target's input is made from the event,
//! and an execution is started with a name fixed by the event and the target, so that a
//! delivery made twice (the server stopped after starting the execution but before
//! forgetting the row) finds the execution the first attempt started: a Standard target
//! starts exactly one execution per delivery. (An Express machine keeps no names, so a
//! delivery repeated after a crash starts a second Express execution: at least once.)
//!
//! Failures that another attempt could mend (the store busy, throttling) are retried with
//! exponential back-off within the target's RetryPolicy; others (the machine is gone, the
//! input is not JSON) are not. A delivery that fails for good is recorded as a dead letter
//! (`Passo.ListDeadLetters`), naming the target's DeadLetterConfig Arn when it has one:
//! nothing is dropped silently.

use super::events::iso;
use super::targets::{Destination, Input, Target};
use super::transform::Predefined;
use crate::error::ApiError;
use crate::runtime::{lease_offset, now_ms, Runtime};
use passo_store::{DeadLetterRow, DeliveryRow, Write};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

const FIRST_BACKOFF_MS: i64 = 1_000;
const MAX_BACKOFF_MS: i64 = 5 * 60_000;

/// When a delivery was received, on the two clocks it needs: the node's, which the
/// target's input shows (`<aws.events.event.ingestion-time>`), and the leases' (the
/// database's when nodes share one: see `runtime::lease_now`), on which its attempts are
/// due and by which another node decides it is overdue. Rows written by nodes whose
/// clocks disagree are then compared on one clock.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    pub ingested_ms: i64,
    pub due_ms: i64,
}

impl Received {
    pub fn now(rt: &Runtime) -> Received {
        Received::at(rt, now_ms())
    }

    /// Received at `ingested_ms` on this node's clock.
    pub fn at(rt: &Runtime, ingested_ms: i64) -> Received {
        Received {
            ingested_ms,
            due_ms: ingested_ms + lease_offset(&rt.db),
        }
    }
}

/// Why an attempt failed.
pub(super) struct Failure {
    pub(super) code: String,
    pub(super) message: String,
    /// Whether another attempt could succeed.
    pub(super) retriable: bool,
}

impl Failure {
    fn of(e: &ApiError) -> Failure {
        let retriable = matches!(
            e,
            ApiError::ServiceUnavailable(_) | ApiError::Throttling(_) | ApiError::Internal(_)
        );
        Failure {
            code: e.code().to_string(),
            message: e.message(),
            retriable,
        }
    }
}

/// The execution name of one delivery: the event's id and a digest of the rule and the
/// target, within AWS's 80 characters (an event id is a UUID, 36).
pub fn execution_name(row: &DeliveryRow, event_id: &str, target_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(row.rule_arn.as_bytes());
    h.update([0]);
    h.update(target_id.as_bytes());
    let digest: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let id: String = event_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(63)
        .collect();
    format!("{id}_{digest}")
}

/// The target's input for the event, as JSON text.
pub fn input_for(target: &Target, event: &Value, row: &DeliveryRow) -> String {
    match &target.input {
        Input::Event => event.to_string(),
        Input::Constant(text) => text.clone(),
        Input::Path(path) => passo_expr::jsonpath::select_in(path, event)
            .map_or_else(|_| "null".to_string(), |v| v.to_string()),
        Input::Transform(t) => {
            let time = iso(row.ingested_ms);
            t.apply(
                event,
                &Predefined {
                    rule_name: &row.rule_name,
                    rule_arn: &row.rule_arn,
                    ingestion_time: &time,
                },
            )
        }
    }
}

fn backoff_ms(attempts: i64) -> i64 {
    let shift = attempts.clamp(1, 20) - 1;
    (FIRST_BACKOFF_MS << shift).min(MAX_BACKOFF_MS)
}

impl Runtime {
    /// Attempts committed deliveries, each in a task of its own.
    pub(crate) fn dispatch(self: &Arc<Self>, rows: Vec<DeliveryRow>) {
        for row in rows {
            let rt = self.clone();
            tokio::spawn(async move { rt.deliver_row(row).await });
        }
    }

    /// Delivers what the store still holds (after a restart); answers how many. With other
    /// nodes on the database, some rows may be their deliveries in progress: those are
    /// attempted twice, which a delivery allows (a Standard target's execution is named by
    /// the delivery, so the second attempt finds the first's).
    pub fn resume_deliveries(self: &Arc<Self>) -> Result<usize, ApiError> {
        let rows = self.db.pending_deliveries()?;
        let n = rows.len();
        self.dispatch(rows);
        Ok(n)
    }

    /// Takes over deliveries that were due long ago and never attempted since: the node
    /// that accepted them died (or is stuck). Overdue means three leases' time: a node
    /// that lives attempts a delivery when it is due, then deletes or reschedules its row.
    /// A stuck node that wakes up may attempt it too: at least once, as a delivery is.
    pub(crate) fn take_over_deliveries(self: &Arc<Self>) {
        let Some(shared) = self.db.shared() else {
            return;
        };
        let now = self.lease_now();
        let overdue = now - 3 * self.cfg.lease_ms.max(1_000);
        match shared.take_overdue_deliveries(overdue, now, 500) {
            Ok(rows) if rows.is_empty() => {}
            Ok(rows) => {
                tracing::info!("taking over {} overdue event deliveries", rows.len());
                let n = rows.len() as u64;
                self.metrics.cluster.deliveries_taken_over.inc_by(n);
                self.dispatch(rows);
            }
            Err(e) => tracing::warn!("looking for overdue event deliveries: {e}"),
        }
    }

    async fn deliver_row(self: Arc<Self>, mut row: DeliveryRow) {
        let event: Value = serde_json::from_str(&row.event).unwrap_or(Value::Null);
        let spec: Value = serde_json::from_str(&row.target).unwrap_or(Value::Null);
        let target = match Target::parse(&spec) {
            Ok(t) => t,
            Err(e) => {
                let f = Failure {
                    code: "InvalidTarget".into(),
                    message: e.to_string(),
                    retriable: false,
                };
                return self.dead_letter(&row, &spec, &f).await;
            }
        };
        loop {
            let wait = row.next_ms - self.lease_now();
            if wait > 0 {
                tokio::time::sleep(Duration::from_millis(wait as u64)).await;
            }
            let failure = match self.attempt(&target, &event, &row).await {
                Ok(()) => {
                    return self
                        .commit_until_done(vec![Write::FinishDelivery(row.id.clone())])
                        .await
                }
                Err(f) => f,
            };
            row.attempts += 1;
            let now = now_ms();
            let too_old = now - row.ingested_ms > i64::from(target.retry.max_age_seconds) * 1000;
            // MaximumRetryAttempts counts retries: the first attempt is not one.
            let spent = row.attempts > i64::from(target.retry.max_attempts);
            if !failure.retriable || spent || too_old {
                return self.dead_letter(&row, &spec, &failure).await;
            }
            tracing::info!(
                "delivery {} to {}: {} ({}); retrying",
                row.id,
                target.arn,
                failure.code,
                failure.message
            );
            row.next_ms = self.lease_now() + backoff_ms(row.attempts);
            self.commit_until_done(vec![Write::RetryDelivery(
                row.id.clone(),
                row.attempts,
                row.next_ms,
            )])
            .await;
        }
    }

    /// One attempt: start the target's execution (found, when an earlier attempt made it),
    /// or hand the input to a local queue or topic.
    async fn attempt(
        self: &Arc<Self>,
        target: &Target,
        event: &Value,
        row: &DeliveryRow,
    ) -> Result<(), Failure> {
        let event_id = event["id"].as_str().unwrap_or(&row.id);
        let input = input_for(target, event, row);
        match target.destination() {
            Some(Destination::StateMachine) => {}
            Some(dest) => {
                let dedup = execution_name(row, event_id, &target.id);
                return super::local_targets::send(self, &target.arn, &dest, &input, &dedup).await;
            }
            None => {
                return Err(Failure {
                    code: "InvalidTarget".into(),
                    message: target.unsupported().unwrap_or_default(),
                    retriable: false,
                })
            }
        }
        let name = execution_name(row, event_id, &target.id);
        let req = json!({"stateMachineArn": target.arn, "name": name, "input": input});
        match crate::api::start_execution(self, &req).await {
            Ok(_) => Ok(()),
            // The name is this delivery's own: the execution exists because an earlier
            // attempt started it, and it has ended since.
            Err(ApiError::ExecutionAlreadyExists(_)) => Ok(()),
            Err(e) => Err(Failure::of(&e)),
        }
    }

    async fn dead_letter(&self, row: &DeliveryRow, spec: &Value, f: &Failure) {
        tracing::warn!(
            "delivery {} failed for good after {} attempts: {}: {}",
            row.id,
            row.attempts,
            f.code,
            f.message
        );
        if let Some(queue) = spec["DeadLetterConfig"]["Arn"].as_str() {
            // The queue gets the event itself with AWS's attributes; the row below is
            // kept whatever the queue says, so a missing queue loses nothing.
            if let Err(e) = super::local_targets::dead_letter(self, queue, row, spec, f).await {
                tracing::warn!(
                    "dead-letter queue {queue} refused delivery {}: {}",
                    row.id,
                    e.message
                );
            }
        }
        let letter = DeadLetterRow {
            id: row.id.clone(),
            event: row.event.clone(),
            rule_arn: row.rule_arn.clone(),
            target_id: spec["Id"].as_str().unwrap_or_default().to_string(),
            target_arn: spec["Arn"].as_str().unwrap_or_default().to_string(),
            dead_letter_arn: spec["DeadLetterConfig"]["Arn"].as_str().map(String::from),
            error_code: f.code.clone(),
            error_message: f.message.clone(),
            attempts: row.attempts,
            time_ms: now_ms(),
        };
        self.commit_until_done(vec![
            Write::PutDeadLetter(letter),
            Write::FinishDelivery(row.id.clone()),
        ])
        .await;
    }

    /// The server's own bookkeeping: retried until the store takes it (a row left behind
    /// only means one more, harmless, attempt after a restart).
    async fn commit_until_done(&self, writes: Vec<Write>) {
        let mut wait = Duration::from_millis(10);
        loop {
            match self.db.write(writes.clone()).await {
                Ok(()) => return,
                Err(passo_store::StoreError::Closed) => return,
                Err(e) => {
                    tracing::warn!("recording a delivery: {e}; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}

/// `Passo.ListDeadLetters`: the newest dead letters (`maxResults`, default 100).
pub fn list_dead_letters(rt: &Runtime, req: &Value) -> Result<Value, ApiError> {
    let limit = req["maxResults"].as_u64().unwrap_or(100).clamp(1, 1000) as usize;
    let letters: Vec<Value> = rt
        .db
        .dead_letters(limit)?
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id,
                "event": d.event,
                "ruleArn": d.rule_arn,
                "targetId": d.target_id,
                "targetArn": d.target_arn,
                "deadLetterArn": d.dead_letter_arn,
                "errorCode": d.error_code,
                "errorMessage": d.error_message,
                "attempts": d.attempts,
                "time": d.time_ms as f64 / 1000.0,
            })
        })
        .collect();
    Ok(json!({ "deadLetters": letters }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> DeliveryRow {
        DeliveryRow {
            id: "x".into(),
            event: "{}".into(),
            rule_arn: "arn:aws:events:us-east-1:123456789012:rule/r".into(),
            rule_name: "r".into(),
            target: "{}".into(),
            ingested_ms: 0,
            attempts: 0,
            next_ms: 0,
        }
    }

    #[test]
    fn a_delivery_names_its_execution_the_same_way_every_time() {
        let id = "7bf73129-1428-4cd3-a780-95db273d1602";
        let a = execution_name(&row(), id, "t1");
        assert_eq!(a, execution_name(&row(), id, "t1"));
        assert_ne!(a, execution_name(&row(), id, "t2"));
        assert!(crate::arn::valid_name(&a), "{a}");
        assert!(a.starts_with(id));
        // An id that is no UUID still gives a name AWS accepts.
        let odd = execution_name(&row(), &"é:/x".repeat(40), "t");
        assert!(crate::arn::valid_name(&odd), "{odd}");
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff_ms(1), 1_000);
        assert_eq!(backoff_ms(2), 2_000);
        assert_eq!(backoff_ms(40), MAX_BACKOFF_MS);
    }
}
