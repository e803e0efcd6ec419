//! Objects created and deleted in Passo's local buckets as events on the default bus, in
//! the shape S3 sends to EventBridge (source `aws.s3`, detail-type `Object Created` /
//! `Object Deleted`), so a rule can start a workflow when a file lands. The deliveries are
//! committed before the write that made them answers, as PutEvents commits its own.

use super::delivery::Received;
use super::events::iso;
use super::names::DEFAULT_BUS;
use crate::runtime::{now_ms, Runtime};
use passo_store::Write;
use passo_tasks::s3::observe::{ObjectChange, ObjectObserver, ObserveFuture};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

pub struct BucketEvents {
    rt: Weak<Runtime>,
    /// S3's `sequencer`: grows with every change (hex, fixed width, so text order is order).
    sequence: AtomicU64,
}

impl BucketEvents {
    pub fn new(rt: &Arc<Runtime>) -> Arc<BucketEvents> {
        Arc::new(BucketEvents {
            rt: Arc::downgrade(rt),
            sequence: AtomicU64::new((now_ms() as u64) << 16),
        })
    }
}

/// The event S3 would send for `change`.
pub fn event_of(
    change: &ObjectChange,
    realm: &crate::arn::Realm,
    sequencer: &str,
    now: i64,
) -> Value {
    let (detail_type, bucket, object, reason) = match change {
        ObjectChange::Created {
            bucket,
            key,
            size,
            etag,
            reason,
        } => (
            "Object Created",
            bucket,
            json!({"key": key, "size": size, "etag": etag, "sequencer": sequencer}),
            *reason,
        ),
        ObjectChange::Deleted {
            bucket,
            key,
            reason,
        } => (
            "Object Deleted",
            bucket,
            json!({"key": key, "sequencer": sequencer}),
            *reason,
        ),
    };
    let mut detail = json!({
        "version": "0",
        "bucket": {"name": bucket},
        "object": object,
        "request-id": uuid::Uuid::new_v4().simple().to_string().to_uppercase()[..16].to_string(),
        "requester": realm.account,
        "source-ip-address": "127.0.0.1",
        "reason": reason,
    });
    if matches!(change, ObjectChange::Deleted { .. }) {
        detail["deletion-type"] = json!("Permanently Deleted");
    }
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": realm.account,
        "time": iso(now),
        "region": realm.region,
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": detail,
    })
}

impl ObjectObserver for BucketEvents {
    fn changed(&self, change: ObjectChange) -> ObserveFuture<'_> {
        Box::pin(async move {
            let Some(rt) = self.rt.upgrade() else { return };
            if !rt.bus.default_bus_has_rules() {
                return;
            }
            let seq = format!("{:016X}", self.sequence.fetch_add(1, Ordering::Relaxed));
            let now = now_ms();
            let event = event_of(&change, &rt.cfg.realm, &seq, now);
            let rows = rt
                .bus
                .deliveries(DEFAULT_BUS, &event, Received::at(&rt, now));
            if rows.is_empty() {
                return;
            }
            let writes = rows.iter().cloned().map(Write::InsertDelivery).collect();
            match rt.db.write(writes).await {
                Ok(()) => rt.dispatch(rows),
                // The object is written; its event is lost, and said so.
                Err(e) => tracing::warn!("the event of {change:?} was not recorded: {e}"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_shape_s3_sends_to_eventbridge() {
        let realm = crate::arn::Realm {
            account: "123456789012".into(),
            region: "us-east-1".into(),
        };
        let c = ObjectChange::Created {
            bucket: "sales".into(),
            key: "in/2026-12-02.csv".into(),
            size: 42,
            etag: "abc".into(),
            reason: "PutObject",
        };
        let e = event_of(&c, &realm, "0000000000000001", 0);
        assert_eq!(e["source"], "aws.s3");
        assert_eq!(e["detail-type"], "Object Created");
        assert_eq!(e["resources"], json!(["arn:aws:s3:::sales"]));
        assert_eq!(e["detail"]["bucket"]["name"], "sales");
        assert_eq!(
            e["detail"]["object"],
            json!({"key": "in/2026-12-02.csv", "size": 42, "etag": "abc", "sequencer": "0000000000000001"})
        );
        assert_eq!(e["detail"]["reason"], "PutObject");
        let d = ObjectChange::Deleted {
            bucket: "sales".into(),
            key: "k".into(),
            reason: "DeleteObject",
        };
        let e = event_of(&d, &realm, "2", 0);
        assert_eq!(e["detail-type"], "Object Deleted");
        assert_eq!(e["detail"]["deletion-type"], "Permanently Deleted");
        assert!(e["detail"]["object"].get("size").is_none());
    }
}
