//! `aws.states` events: every Standard execution's status change (RUNNING, SUCCEEDED,
//! FAILED, TIMED_OUT, ABORTED) on the default bus as a "Step Functions Execution Status
//! Change" event, in the shape AWS sends ("Automating Step Functions event delivery with
//! EventBridge"): the detail is DescribeExecution's fields with epoch-millisecond dates.
//!
//! The deliveries an event makes are committed in the same transaction as the step that
//! changed the status, so a status change and its deliveries happen together or not at
//! all. While the default bus has no enabled rule, nothing is built (one atomic load).

use super::delivery::Received;
use super::events::iso;
use super::names::DEFAULT_BUS;
use crate::runtime::Runtime;
use passo_store::{DeliveryRow, ExecutionRow};
use serde_json::{json, Value};

/// The event of `e`'s current status.
pub fn status_event(rt: &Runtime, e: &ExecutionRow, now_ms: i64) -> Value {
    let included = |v: &Option<String>| v.as_ref().map(|_| json!({"included": true}));
    let redrivable = matches!(e.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED");
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": rt.cfg.realm.account,
        "time": iso(now_ms),
        "region": rt.cfg.realm.region,
        "resources": [e.arn],
        "detail": {
            "executionArn": e.arn,
            "stateMachineArn": e.machine_arn,
            "stateMachineVersionArn": e.version_arn,
            "stateMachineAliasArn": e.alias_arn,
            "name": e.name,
            "status": e.status,
            "startDate": e.start_ms,
            "stopDate": e.stop_ms,
            "input": e.input,
            "output": e.output,
            "inputDetails": {"included": true},
            "outputDetails": included(&e.output),
            "error": e.error,
            "cause": e.cause,
            "redriveCount": e.redrive_count,
            "redriveDate": e.redrive_ms,
            "redriveStatus": if redrivable { "REDRIVABLE" } else { "NOT_REDRIVABLE" },
            "redriveStatusReason": if redrivable {
                String::new()
            } else {
                format!("Execution is {} and cannot be redriven", e.status)
            },
        },
    })
}

impl Runtime {
    /// The deliveries of `e`'s status change, to commit with the step that made it; none
    /// (and no work) while the default bus has no rules.
    pub(crate) fn status_deliveries(&self, e: &ExecutionRow, now_ms: i64) -> Vec<DeliveryRow> {
        if !self.bus.default_bus_has_rules() {
            return Vec::new();
        }
        let event = status_event(self, e, now_ms);
        self.bus
            .deliveries(DEFAULT_BUS, &event, Received::at(self, now_ms))
    }

    /// Whether any status change could be delivered now (callers skip building rows).
    pub(crate) fn wants_status_events(&self) -> bool {
        self.bus.default_bus_has_rules()
    }
}
