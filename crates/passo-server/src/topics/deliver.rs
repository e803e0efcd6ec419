//! Deliveries that leave the server: HTTP/HTTPS endpoints (notifications and subscription
//! confirmations, POSTed as SNS does with its `x-amz-sns-*` headers, retried under the
//! delivery policy) and Passo's functions (a Lambda SNS event).

use super::publish::{encode, Notification};
use super::{Protocol, Subscription, Topics};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// (retries, seconds between them): the subscription's `healthyRetryPolicy`, else the
/// topic's `http.defaultHealthyRetryPolicy`, else SNS's default for HTTP (3 retries, 20 s).
fn retry_policy(ts: &Topics, s: &Subscription) -> (u64, u64) {
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
    let num = |k: &str, d: u64| policy.as_ref().and_then(|p| p[k].as_u64()).unwrap_or(d);
    (
        num("numRetries", 3).min(100),
        num("minDelayTarget", 20).min(3600),
    )
}

async fn post(ts: &Topics, s: &Subscription, kind: &str, id: &str, body: String) -> bool {
    let req = ts
        .http
        .post(&s.endpoint)
        .header("content-type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", kind)
        .header("x-amz-sns-message-id", id)
        .header("x-amz-sns-topic-arn", &s.topic_arn)
        .header("user-agent", "Amazon Simple Notification Service Agent");
    let req = if kind == "Notification" {
        req.header("x-amz-sns-subscription-arn", &s.arn)
    } else {
        req
    };
    if s.raw() {
        return matches!(req.header("x-amz-sns-rawdelivery", "true").body(body).send().await, Ok(r) if r.status().is_success());
    }
    matches!(req.body(body).send().await, Ok(r) if r.status().is_success())
}

/// POSTs `body` until the endpoint answers 2xx or the retries run out.
async fn with_retries(
    ts: Arc<Topics>,
    s: Subscription,
    kind: &'static str,
    id: String,
    body: String,
) {
    let (retries, delay) = retry_policy(&ts, &s);
    for attempt in 0..=retries {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(delay)).await;
        }
        if post(&ts, &s, kind, &id, body.clone()).await {
            return;
        }
    }
    tracing::warn!(
        "SNS gave up delivering {id} to {} after {retries} retries",
        s.endpoint
    );
}

pub fn notification(ts: Arc<Topics>, s: Subscription, n: Notification) {
    let body = if s.raw() {
        n.text(s.protocol)
    } else {
        n.envelope(s.protocol, &ts.base_url(), &s.arn).to_string()
    };
    tokio::spawn(with_retries(ts, s, "Notification", n.id, body));
}

/// Sends an HTTP subscription its SubscriptionConfirmation (the endpoint confirms by
/// visiting SubscribeURL, or by calling ConfirmSubscription with the token).
pub fn confirmation(ts: Arc<Topics>, s: Subscription) {
    let Some(token) = s.token.clone() else {
        return;
    };
    let id = uuid::Uuid::new_v4().to_string();
    let base = ts.base_url();
    let body = json!({
        "Type": "SubscriptionConfirmation",
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
    let mut s = s;
    // The confirmation is the envelope even for a raw subscription.
    s.attributes.remove("RawMessageDelivery");
    tokio::spawn(with_retries(ts, s, "SubscriptionConfirmation", id, body));
}

/// Invokes the function a `lambda` subscription names with SNS's Lambda event, as Lambda's
/// asynchronous invocation does: retried twice when it fails.
pub fn function(ts: Arc<Topics>, s: Subscription, n: Notification) {
    tokio::spawn(async move {
        let Some(functions) = ts.functions() else {
            tracing::warn!("SNS: no functions to deliver {} to {}", n.id, s.endpoint);
            return;
        };
        let Some((name, qualifier)) = passo_tasks::lambda::bare_function(&s.endpoint) else {
            return;
        };
        let event = json!({"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": s.arn,
            "Sns": n.envelope(Protocol::Lambda, &ts.base_url(), &s.arn),
        }]});
        let payload = event.to_string().into_bytes();
        for attempt in 0..3u64 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(attempt)).await;
            }
            let r = functions
                .call(&name, qualifier.as_deref(), &payload, None)
                .await;
            if matches!(r, Ok(passo_tasks::functions::Reply::Ok(_))) {
                return;
            }
        }
        tracing::warn!("SNS gave up invoking {name} for {}", n.id);
    });
}
