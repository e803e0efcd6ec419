//! `Passo.ListSchedules`: every schedule the server fires, rules with a ScheduleExpression
//! and EventBridge Scheduler's schedules alike, with when each last fired and when it fires
//! next (on the scheduler's clock, which a test may run fast). AWS has no one call for this;
//! `passo schedules list` prints it.

use super::{fire, Scheduler};
use crate::bus::events::iso;
use crate::bus::names::DEFAULT_BUS;
use crate::runtime::Runtime;
use serde_json::{json, Value};

impl Scheduler {
    /// The rows of `Passo.ListSchedules`, rules first, each kind in name order.
    pub fn overview(&self, rt: &Runtime) -> Vec<Value> {
        let at = |ms: Option<i64>| ms.map_or(Value::Null, |t| Value::String(iso(t)));
        let mut out = Vec::new();
        for rule in rt.bus.rules(DEFAULT_BUS) {
            let Some(text) = rule.row.schedule.as_deref() else {
                continue;
            };
            let enabled = rule.row.state != "DISABLED";
            let (anchor, after) = self.rule_cursor(&rule.row);
            let mark = self.mark(&rule.row.arn);
            let next = self
                .parsed(text)
                .filter(|_| enabled)
                .and_then(|s| s.next_after(after, anchor, 1));
            let targets: Vec<&str> = rule.targets.values().map(|t| t.arn.as_str()).collect();
            out.push(json!({
                "kind": "rule",
                "name": rule.row.name,
                "group": DEFAULT_BUS,
                "arn": rule.row.arn,
                "expression": text,
                "timezone": "UTC",
                "state": rule.row.state,
                "targets": targets,
                "lastFired": at(mark),
                "nextFire": at(next),
            }));
        }
        for spec in self.list() {
            let (anchor, after) = self.schedule_cursor(&spec);
            let mark = self.mark(&spec.arn);
            let next = spec
                .schedule
                .next_after(after, anchor, 0)
                .filter(|n| spec.enabled && spec.within(*n))
                .map(|n| n + fire::offset(&spec.arn, n, spec.window_ms));
            let zone = spec.given["ScheduleExpressionTimezone"]
                .as_str()
                .unwrap_or("UTC");
            out.push(json!({
                "kind": "schedule",
                "name": spec.name,
                "group": spec.group,
                "arn": spec.arn,
                "expression": spec.given["ScheduleExpression"],
                "timezone": zone,
                "state": if spec.enabled { "ENABLED" } else { "DISABLED" },
                "targets": [spec.target["Arn"]],
                "lastFired": at(mark),
                "nextFire": at(next),
            }));
        }
        out
    }
}

/// `Passo.ListSchedules`.
pub fn list(rt: &Runtime) -> Value {
    json!({"schedules": rt.scheduler.overview(rt), "now": iso(rt.scheduler.clock.now_ms())})
}
