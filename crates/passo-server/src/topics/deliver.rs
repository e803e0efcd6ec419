//! Deliveries that leave the server: HTTP/HTTPS endpoints (notifications and subscription
//! confirmations, POSTed as SNS does with its `x-amz-sns-*` headers, retried under the
//! delivery policy) and Passo's functions (a Lambda SNS event, retried twice as Lambda's
//! asynchronous invocations are).
//!
//! Each delivery is a row (`topic_deliveries`) committed before Publish or Subscribe
//! answers, updated after a failed attempt and deleted once handed over or given up, so
//! a crash delays a delivery instead of losing it; the server resumes the rows at start.

use super::publish::{encode, Notification};
use super::{Protocol, Subscription, Topics};
use crate::runtime::now_ms;
use passo_store::{MessagingWrite, TopicDeliveryRow};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const NOTIFICATION: &str = "Notification";
const CONFIRMATION: &str = "SubscriptionConfirmation";

/// (retries, seconds between them). HTTP: the subscription's `healthyRetryPolicy`, else the
/// topic's `http.defaultHealthyRetryPolicy`, else SNS's default (3 retries, 20 s apart).
/// Functions: two retries, a second apart.
fn retry_policy(ts: &Topics, s: &Subscription) -> (i64, i64) {
    if s.protocol == Protocol::Lambda {
        return (2, 1);
    }
    let parse = |text: Option<&String>, path: &[&str]| -> Option<Value> {
        let mut v: Value = serde_json::from_str(text?).ok()?;
        for p in path {
            v = v.get(*p)?.clone();
        }
        Some(v)
    };
    let topic_policy = ts
        .lock()
        .topics
        .get(&s.topic_arn)
        .and_then(|t| t.attributes.get("DeliveryPolicy").cloned());
    let policy = parse(s.attributes.get("DeliveryPolicy"), &["healthyRetryPolicy"]).or_else(|| {
        parse(
            topic_policy.as_ref(),
            &["http", "defaultHealthyRetryPolicy"],
        )
    });
    let num = |k: &str, d: i64| policy.as_ref().and_then(|p| p[k].as_i64()).unwrap_or(d);
    (
        num("numRetries", 3).clamp(0, 100),
        num("minDelayTarget", 20).clamp(0, 3600),
    )
}

fn row(s: &Subscription, kind: &str, message_id: &str, body: String) -> TopicDeliveryRow {
    TopicDeliveryRow {
        id: uuid::Uuid::new_v4().to_string(),
        subscription_arn: s.arn.clone(),
        kind: kind.to_string(),
        message_id: message_id.to_string(),
        body,
        attempts: 0,
        next_ms: now_ms(),
    }
}

/// The delivery of notification `n` to an HTTP endpoint or function subscription.
pub fn notification(ts: &Topics, s: &Subscription, n: &Notification) -> TopicDeliveryRow {
    let base = ts.base_url();
    let body = match s.protocol {
        Protocol::Lambda => json!({"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": s.arn,
            "Sns": n.envelope(Protocol::Lambda, &base, &s.arn),
        }]})
        .to_string(),
        _ if s.raw() => n.text(s.protocol),
        _ => n.envelope(s.protocol, &base, &s.arn).to_string(),
    };
    row(s, NOTIFICATION, &n.id, body)
}

/// An HTTP subscription's SubscriptionConfirmation (the endpoint confirms by visiting
/// SubscribeURL, or by calling ConfirmSubscription with the token).
pub fn confirmation(ts: &Topics, s: &Subscription) -> Option<TopicDeliveryRow> {
    let token = s.token.as_deref()?;
    let id = uuid::Uuid::new_v4().to_string();
    let base = ts.base_url();
    let body = json!({
        "Type": CONFIRMATION,
        "MessageId": id,
        "Token": token,
        "TopicArn": s.topic_arn,
        "Message": format!("You have chosen to subscribe to the topic {}.\nTo confirm the subscription, visit the SubscribeURL included in this message.", s.topic_arn),
        "SubscribeURL": format!("{base}/?Action=ConfirmSubscription&TopicArn={}&Token={token}", encode(&s.topic_arn)),
        "Timestamp": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "SignatureVersion": "1",
        "Signature": "",
        "SigningCertURL": "",
    })
    .to_string();
    Some(row(s, CONFIRMATION, &id, body))
}

/// Starts making a delivery whose row is committed.
pub fn start(ts: &Arc<Topics>, row: TopicDeliveryRow) {
    tokio::spawn(run(ts.clone(), row));
}

/// Starts every delivery the store holds (at server start): those accepted before a crash.
pub fn resume(ts: &Arc<Topics>) -> Result<usize, super::error::SnsError> {
    let rows = ts.db().topic_deliveries()?;
    let n = rows.len();
    for r in rows {
        start(ts, r);
    }
    Ok(n)
}

async fn commit(ts: &Topics, w: MessagingWrite) {
    if let Err(e) = ts.submit(vec![w]).await {
        tracing::warn!("SNS delivery bookkeeping failed: {e}");
    }
}

async fn run(ts: Arc<Topics>, mut row: TopicDeliveryRow) {
    loop {
        let wait = row.next_ms - now_ms();
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        if ts.tenure.ended() {
            // This node no longer serves the topics: the holder now resumes the row.
            return;
        }
        let sub = ts.lock().subscriptions.get(&row.subscription_arn).cloned();
        let Some(sub) = sub else {
            // Unsubscribed (or its topic deleted) since: nothing to deliver to.
            return commit(&ts, MessagingWrite::DeleteTopicDelivery(row.id)).await;
        };
        let delivered = match sub.protocol {
            Protocol::Lambda => invoke(&ts, &sub, &row).await,
            _ => post(&ts, &sub, &row).await,
        };
        if delivered {
            return commit(&ts, MessagingWrite::DeleteTopicDelivery(row.id)).await;
        }
        row.attempts += 1;
        let (retries, delay) = retry_policy(&ts, &sub);
        if row.attempts > retries {
            tracing::warn!(
                "SNS gave up delivering {} to {} after {retries} retries",
                row.message_id,
                sub.endpoint
            );
            return commit(&ts, MessagingWrite::DeleteTopicDelivery(row.id)).await;
        }
        row.next_ms = now_ms() + delay * 1000;
        commit(
            &ts,
            MessagingWrite::RetryTopicDelivery(row.id.clone(), row.attempts, row.next_ms),
        )
        .await;
    }
}

async fn post(ts: &Topics, s: &Subscription, row: &TopicDeliveryRow) -> bool {
    let mut req = ts
        .http
        .post(&s.endpoint)
        .header("content-type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", &row.kind)
        .header("x-amz-sns-message-id", &row.message_id)
        .header("x-amz-sns-topic-arn", &s.topic_arn)
        .header("user-agent", "Amazon Simple Notification Service Agent");
    if row.kind == NOTIFICATION {
        req = req.header("x-amz-sns-subscription-arn", &s.arn);
        if s.raw() {
            req = req.header("x-amz-sns-rawdelivery", "true");
        }
    }
    matches!(req.body(row.body.clone()).send().await, Ok(r) if r.status().is_success())
}

async fn invoke(ts: &Topics, s: &Subscription, row: &TopicDeliveryRow) -> bool {
    let Some(functions) = ts.functions() else {
        return false;
    };
    let Some((name, qualifier)) = passo_tasks::lambda::bare_function(&s.endpoint) else {
        return false;
    };
    let r = functions
        .call(&name, qualifier.as_deref(), row.body.as_bytes(), None)
        .await;
    matches!(r, Ok(passo_tasks::functions::Reply::Ok(_)))
}
