//! Targets and dead-letter queues among Passo's own SQS queues and SNS topics: a rule can
//! feed a queue a worker drains, or a topic that fans out, and a delivery that fails for
//! good lands in the target's dead-letter queue as EventBridge puts it there (the event as
//! the body, with RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION
//! and RETRY_ATTEMPTS as message attributes).

use super::delivery::Failure;
use super::targets::Destination;
use crate::runtime::Runtime;
use passo_store::DeliveryRow;
use passo_tasks::aws::AwsError;
use serde_json::{json, Map, Value};

fn failure(e: AwsError) -> Failure {
    // As EventBridge: throttling and the service's own faults are retried, a missing
    // queue or a refused message is not.
    let retriable = e.status.is_none_or(|s| s >= 500 || s == 429);
    Failure {
        code: e.code.unwrap_or_else(|| "InternalFailure".into()),
        message: e.message,
        retriable,
    }
}

async fn call(
    rt: &Runtime,
    service: &str,
    operation: &str,
    input: &Value,
) -> Result<Value, AwsError> {
    let Some(m) = rt.messaging() else {
        return Err(AwsError::service(
            "ResourceNotFoundException",
            "This server has no local queues or topics",
            400,
        ));
    };
    m.call(service, operation, input).await
}

/// The queue URL of a queue ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`): the local queue of that
/// name, whatever the host.
fn queue_url(rt: &Runtime, name: &str) -> String {
    rt.messaging()
        .map(|m| m.queue_url(name))
        .unwrap_or_else(|| name.to_string())
}

/// Hands a target's input to its queue or topic. `dedup` (fixed by the event and the target)
/// is the FIFO deduplication id, so a delivery repeated after a crash is not sent twice.
pub(super) async fn send(
    rt: &Runtime,
    arn: &str,
    dest: &Destination,
    input: &str,
    dedup: &str,
) -> Result<(), Failure> {
    let result = match dest {
        Destination::Queue { name, group_id } => {
            let mut req = json!({"QueueUrl": queue_url(rt, name), "MessageBody": input});
            if name.ends_with(".fifo") {
                req["MessageDeduplicationId"] = dedup.into();
                if let Some(g) = group_id {
                    req["MessageGroupId"] = g.as_str().into();
                }
            }
            call(rt, "SQS", "SendMessage", &req).await
        }
        Destination::Topic => {
            let mut req = json!({"TopicArn": arn, "Message": input});
            if arn.ends_with(".fifo") {
                req["MessageDeduplicationId"] = dedup.into();
                req["MessageGroupId"] = dedup.into();
            }
            call(rt, "SNS", "Publish", &req).await
        }
        Destination::StateMachine => unreachable!("state machines are started by delivery"),
    };
    result.map(|_| ()).map_err(failure)
}

fn attribute(value: &str) -> Value {
    json!({"DataType": "String", "StringValue": value})
}

/// Sends an undeliverable event to the dead-letter queue `queue_arn`.
pub(super) async fn dead_letter(
    rt: &Runtime,
    queue_arn: &str,
    row: &DeliveryRow,
    target: &Value,
    f: &Failure,
) -> Result<(), AwsError> {
    let Some(name) = super::targets::queue_name(queue_arn) else {
        return Err(AwsError::service(
            "ValidationException",
            &format!("{queue_arn} is not an SQS queue ARN"),
            400,
        ));
    };
    let mut attrs = Map::new();
    attrs.insert("RULE_ARN".into(), attribute(&row.rule_arn));
    let target_arn = target["Arn"].as_str().unwrap_or_default();
    attrs.insert("TARGET_ARN".into(), attribute(target_arn));
    attrs.insert("ERROR_CODE".into(), attribute(&f.code));
    if !f.message.is_empty() {
        attrs.insert("ERROR_MESSAGE".into(), attribute(&f.message));
    }
    if f.retriable {
        // Retries ran out: by count or by age (whichever came first).
        let by_count = row.attempts
            > target["RetryPolicy"]["MaximumRetryAttempts"]
                .as_i64()
                .unwrap_or(185);
        let condition = if by_count {
            "MaximumRetryAttempts"
        } else {
            "MaximumEventAgeInSeconds"
        };
        attrs.insert("EXHAUSTED_RETRY_CONDITION".into(), attribute(condition));
    }
    let retries = (row.attempts - 1).max(0).to_string();
    attrs.insert(
        "RETRY_ATTEMPTS".into(),
        json!({"DataType": "Number", "StringValue": retries}),
    );
    let mut req = json!({
        "QueueUrl": queue_url(rt, name),
        "MessageBody": row.event,
        "MessageAttributes": Value::Object(attrs),
    });
    if name.ends_with(".fifo") {
        req["MessageGroupId"] = "dead-letters".into();
        req["MessageDeduplicationId"] = row.id.as_str().into();
    }
    call(rt, "SQS", "SendMessage", &req).await.map(|_| ())
}
