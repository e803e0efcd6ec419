//! An EventBridge Scheduler schedule as CreateSchedule/UpdateSchedule take it, validated:
//! its expression in its zone, start and end dates, state, flexible window, target (a state
//! machine, with Input, RetryPolicy and DeadLetterConfig) and what happens after its last
//! firing.

use super::error::SchedulerError;
use super::expr::{Dialect, Schedule};
use crate::arn::Realm;
use serde_json::{json, Value};

pub const DEFAULT_GROUP: &str = "default";

/// A validated schedule.
#[derive(Debug, Clone)]
pub struct Spec {
    pub group: String,
    pub name: String,
    pub arn: String,
    pub schedule: Schedule,
    pub enabled: bool,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// 0 when the window is OFF.
    pub window_ms: i64,
    pub delete_after: bool,
    /// The Target as given.
    pub target: Value,
    /// Every member as given (GetSchedule answers with them).
    pub given: Value,
    pub created_ms: i64,
    pub modified_ms: i64,
}

pub fn arn(realm: &Realm, group: &str, name: &str) -> String {
    format!(
        "arn:aws:scheduler:{}:{}:schedule/{group}/{name}",
        realm.region, realm.account
    )
}

fn invalid(msg: impl Into<String>) -> SchedulerError {
    SchedulerError::Validation(msg.into())
}

/// A name as Scheduler takes them: 1 to 64 of letters, digits, `-_.`.
pub fn check_name(name: &str, what: &str) -> Result<(), SchedulerError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "1 validation error detected: Value '{name}' at '{what}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$"
        )))
    }
}

/// Epoch seconds (the JSON timestamp) as ms.
fn date(v: &Value, field: &str) -> Result<Option<i64>, SchedulerError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64().map(|s| (s * 1000.0) as i64)),
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.timestamp_millis()))
            .map_err(|_| invalid(format!("{field} is not a timestamp"))),
        Some(_) => Err(invalid(format!("{field} is not a timestamp"))),
    }
}

impl Spec {
    /// Checks `given` (the request's members) for the schedule `group/name`.
    pub fn parse(
        realm: &Realm,
        group: &str,
        name: &str,
        given: &Value,
        created_ms: i64,
        modified_ms: i64,
    ) -> Result<Spec, SchedulerError> {
        check_name(name, "name")?;
        check_name(group, "groupName")?;
        let text = given["ScheduleExpression"]
            .as_str()
            .ok_or_else(|| invalid("ScheduleExpression is required."))?;
        let zone = given["ScheduleExpressionTimezone"].as_str();
        let schedule = Schedule::parse(text, zone, Dialect::Scheduler).map_err(|e| match e {
            super::expr::ExprError::Zone(z) => invalid(format!("Invalid time zone {z}.")),
            e => invalid(format!("Invalid Schedule Expression {text}: {e}.")),
        })?;
        let window = &given["FlexibleTimeWindow"];
        let window_ms =
            match window["Mode"].as_str() {
                Some("OFF") => {
                    if window
                        .get("MaximumWindowInMinutes")
                        .is_some_and(|v| !v.is_null())
                    {
                        return Err(invalid(
                            "MaximumWindowInMinutes is only allowed when Mode is FLEXIBLE.",
                        ));
                    }
                    0
                }
                Some("FLEXIBLE") => match window["MaximumWindowInMinutes"].as_i64() {
                    Some(m) if (1..=1440).contains(&m) => m * 60_000,
                    _ => return Err(invalid(
                        "MaximumWindowInMinutes must be between 1 and 1440 when Mode is FLEXIBLE.",
                    )),
                },
                _ => return Err(invalid("FlexibleTimeWindow.Mode must be OFF or FLEXIBLE.")),
            };
        let enabled = match given["State"].as_str() {
            None | Some("ENABLED") => true,
            Some("DISABLED") => false,
            Some(s) => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{s}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]"
                )))
            }
        };
        let delete_after = match given["ActionAfterCompletion"].as_str() {
            None | Some("NONE") => false,
            Some("DELETE") => true,
            Some(s) => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{s}' at 'actionAfterCompletion' failed to satisfy constraint: Member must satisfy enum value set: [NONE, DELETE]"
                )))
            }
        };
        let start_ms = date(given, "StartDate")?;
        let end_ms = date(given, "EndDate")?;
        if let (Some(s), Some(e)) = (start_ms, end_ms) {
            if e <= s {
                return Err(invalid("The EndDate must be after the StartDate."));
            }
        }
        let target = given["Target"].clone();
        check_target(&target)?;
        Ok(Spec {
            group: group.to_string(),
            name: name.to_string(),
            arn: arn(realm, group, name),
            schedule,
            enabled,
            start_ms,
            end_ms,
            window_ms,
            delete_after,
            target,
            given: given.clone(),
            created_ms,
            modified_ms,
        })
    }

    /// The rate's anchor and first multiple, and the mark before the first firing: a
    /// schedule fires from its start (or creation) on, never for times before it.
    pub fn anchor(&self, created_virtual_ms: i64) -> i64 {
        self.start_ms
            .unwrap_or(created_virtual_ms)
            .max(created_virtual_ms)
    }

    /// Whether `due` is inside the schedule's dates (one-off schedules ignore EndDate).
    pub fn within(&self, due: i64) -> bool {
        self.schedule.one_off() || self.end_ms.is_none_or(|e| due < e)
    }

    /// GetSchedule's answer.
    pub fn describe(&self) -> Value {
        let mut v = self.given.clone();
        if !v.is_object() {
            v = json!({});
        }
        v["Arn"] = json!(self.arn);
        v["Name"] = json!(self.name);
        v["GroupName"] = json!(self.group);
        v["State"] = json!(if self.enabled { "ENABLED" } else { "DISABLED" });
        v["CreationDate"] = json!(self.created_ms as f64 / 1000.0);
        v["LastModificationDate"] = json!(self.modified_ms as f64 / 1000.0);
        if v.get("ActionAfterCompletion").is_none() {
            v["ActionAfterCompletion"] = json!("NONE");
        }
        if let Some(o) = v.as_object_mut() {
            o.remove("ClientToken");
        }
        v
    }

    /// ListSchedules' summary.
    pub fn summary(&self) -> Value {
        json!({
            "Arn": self.arn,
            "Name": self.name,
            "GroupName": self.group,
            "State": if self.enabled { "ENABLED" } else { "DISABLED" },
            "CreationDate": self.created_ms as f64 / 1000.0,
            "LastModificationDate": self.modified_ms as f64 / 1000.0,
            "Target": {"Arn": self.target["Arn"]},
        })
    }
}

/// A target Passo can invoke: a state machine (StartExecution), with JSON Input.
fn check_target(t: &Value) -> Result<(), SchedulerError> {
    let arn = t["Arn"]
        .as_str()
        .ok_or_else(|| invalid("Target.Arn is required."))?;
    if t["RoleArn"].as_str().is_none() {
        return Err(invalid("Target.RoleArn is required."));
    }
    if !arn.contains(":states:") || !arn.contains(":stateMachine:") {
        return Err(invalid(format!(
            "Passo's scheduler invokes state machines only; the target {arn} is not one."
        )));
    }
    if let Some(input) = t.get("Input").filter(|v| !v.is_null()) {
        let text = input.as_str().unwrap_or("");
        // Context attributes (<aws.scheduler.scheduled-time>) are replaced by strings at
        // each firing: check the JSON with them as such.
        let probe = super::fire::context(text, "x", "x", "x");
        if serde_json::from_str::<Value>(&probe).is_err() {
            return Err(invalid(
                "Target.Input must be valid JSON for a Step Functions target.",
            ));
        }
    }
    let retry = &t["RetryPolicy"];
    if let Some(n) = retry.get("MaximumRetryAttempts").and_then(Value::as_i64) {
        if !(0..=185).contains(&n) {
            return Err(invalid("MaximumRetryAttempts must be between 0 and 185."));
        }
    }
    if let Some(n) = retry
        .get("MaximumEventAgeInSeconds")
        .and_then(Value::as_i64)
    {
        if !(60..=86_400).contains(&n) {
            return Err(invalid(
                "MaximumEventAgeInSeconds must be between 60 and 86400.",
            ));
        }
    }
    Ok(())
}
