//! The rules' and targets' actions: PutRule, DescribeRule, ListRules, DeleteRule,
//! EnableRule, DisableRule, PutTargets, RemoveTargets, ListTargetsByRule.

use super::api::{opt, page, required};
use super::error::EventsError;
use super::names::{self, DEFAULT_BUS};
use super::targets::Target;
use super::Rule;
use crate::runtime::{now_ms, Runtime};
use passo_events::Pattern;
use passo_store::{RuleRow, RuleTargetRow, Write};
use serde_json::{json, Value};
use std::sync::Arc;

/// Most targets a rule may have (AWS's quota).
const MAX_TARGETS: usize = 5;

/// The bus a request names, which must exist.
fn bus(rt: &Runtime, req: &Value) -> Result<String, EventsError> {
    let bus = names::bus_of(&rt.cfg.realm, opt(req, "EventBusName"))?;
    match rt.bus.bus(&bus) {
        Some(_) => Ok(bus),
        None => Err(EventsError::bus_missing(&bus)),
    }
}

/// The rule a request names (`Name` or `Rule`), which must exist.
fn rule(rt: &Runtime, req: &Value, key: &str, field: &str) -> Result<Rule, EventsError> {
    let bus = bus(rt, req)?;
    let name = required(req, key, field)?;
    names::check_rule(name, field)?;
    rt.bus
        .rule(&bus, name)
        .ok_or_else(|| EventsError::rule_missing(name, &bus))
}

/// AWS's two schedule forms; the expression itself is checked by the scheduler (to come).
fn check_schedule(s: &str) -> Result<(), EventsError> {
    let ok = (s.starts_with("rate(") || s.starts_with("cron(")) && s.ends_with(')');
    if ok {
        Ok(())
    } else {
        Err(EventsError::Validation(
            "Parameter ScheduleExpression is not valid.".into(),
        ))
    }
}

pub async fn put_rule(rt: &Arc<Runtime>, req: &Value) -> Result<Value, EventsError> {
    let name = required(req, "Name", "name")?;
    names::check_rule(name, "name")?;
    let bus = bus(rt, req)?;
    let pattern_text = opt(req, "EventPattern").filter(|p| !p.is_empty());
    let schedule = opt(req, "ScheduleExpression").filter(|s| !s.is_empty());
    if pattern_text.is_none() && schedule.is_none() {
        return Err(EventsError::Validation(
            "Parameter(s) EventPattern or ScheduleExpression must be specified.".into(),
        ));
    }
    if let Some(s) = schedule {
        if bus != DEFAULT_BUS {
            return Err(EventsError::Validation(
                "ScheduleExpression is supported only on the default event bus.".into(),
            ));
        }
        check_schedule(s)?;
    }
    let pattern = match pattern_text {
        Some(p) => {
            Some(Pattern::parse(p).map_err(|e| EventsError::InvalidEventPattern(e.to_string()))?)
        }
        None => None,
    };
    let state = match opt(req, "State") {
        None => "ENABLED",
        Some(s @ ("ENABLED" | "DISABLED" | "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")) => s,
        Some(other) => {
            return Err(EventsError::constraint(
                other,
                "state",
                "Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]",
            ))
        }
    };
    let _change = rt.bus.changes.lock().await;
    let created_ms = rt
        .bus
        .rule(&bus, name)
        .map_or_else(now_ms, |r| r.row.created_ms);
    let row = RuleRow {
        bus: bus.clone(),
        name: name.to_string(),
        arn: names::rule_arn(&rt.cfg.realm, &bus, name),
        event_pattern: pattern_text.map(String::from),
        schedule: schedule.map(String::from),
        state: state.to_string(),
        description: opt(req, "Description").map(String::from),
        role_arn: opt(req, "RoleArn").map(String::from),
        created_ms,
    };
    rt.db.write(vec![Write::PutRule(row.clone())]).await?;
    let arn = row.arn.clone();
    rt.bus.put_rule(row, pattern);
    Ok(json!({"RuleArn": arn}))
}

fn rule_json(rt: &Runtime, r: &RuleRow) -> Value {
    let mut v = json!({
        "Name": r.name,
        "Arn": r.arn,
        "State": r.state,
        "EventBusName": r.bus,
        "CreatedBy": rt.cfg.realm.account,
    });
    let mut put = |k: &str, x: &Option<String>| {
        if let Some(x) = x {
            v[k] = json!(x);
        }
    };
    put("EventPattern", &r.event_pattern);
    put("ScheduleExpression", &r.schedule);
    put("Description", &r.description);
    put("RoleArn", &r.role_arn);
    v
}

pub fn describe_rule(rt: &Arc<Runtime>, req: &Value) -> Result<Value, EventsError> {
    let r = rule(rt, req, "Name", "name")?;
    Ok(rule_json(rt, &r.row))
}

pub fn list_rules(rt: &Arc<Runtime>, req: &Value) -> Result<Value, EventsError> {
    let bus = bus(rt, req)?;
    let prefix = opt(req, "NamePrefix").unwrap_or("");
    let items = rt
        .bus
        .rules(&bus)
        .iter()
        .filter(|r| r.row.name.starts_with(prefix))
        .map(|r| rule_json(rt, &r.row))
        .collect();
    page(items, "Rules", req)
}

pub async fn delete_rule(rt: &Arc<Runtime>, req: &Value) -> Result<Value, EventsError> {
    let bus = bus(rt, req)?;
    let name = required(req, "Name", "name")?;
    names::check_rule(name, "name")?;
    let _change = rt.bus.changes.lock().await;
    // Deleting a rule that is not there succeeds, as AWS documents.
    let Some(r) = rt.bus.rule(&bus, name) else {
        return Ok(json!({}));
    };
    if !r.targets.is_empty() {
        return Err(EventsError::Validation(
            "Rule can't be deleted since it has targets.".into(),
        ));
    }
    rt.db
        .write(vec![Write::DeleteRule(bus.clone(), name.to_string())])
        .await?;
    rt.bus.remove_rule(&bus, name);
    Ok(json!({}))
}

pub async fn set_state(rt: &Arc<Runtime>, req: &Value, state: &str) -> Result<Value, EventsError> {
    let _change = rt.bus.changes.lock().await;
    let r = rule(rt, req, "Name", "name")?;
    let mut row = r.row;
    row.state = state.to_string();
    rt.db.write(vec![Write::PutRule(row.clone())]).await?;
    rt.bus.put_rule(row, r.pattern);
    Ok(json!({}))
}

pub async fn put_targets(rt: &Arc<Runtime>, req: &Value) -> Result<Value, EventsError> {
    let given = match req.get("Targets") {
        Some(Value::Array(t)) => t,
        Some(_) => return Err(EventsError::Validation("Targets must be a list".into())),
        None => return Err(EventsError::missing("targets")),
    };
    if given.is_empty() || given.len() > 100 {
        return Err(EventsError::constraint(
            "[Target]",
            "targets",
            "Member must have length between 1 and 100",
        ));
    }
    let targets = given
        .iter()
        .map(Target::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let _change = rt.bus.changes.lock().await;
    let r = rule(rt, req, "Rule", "rule")?;
    let new_ids = targets
        .iter()
        .filter(|t| !r.targets.contains_key(&t.id))
        .count();
    if r.targets.len() + new_ids > MAX_TARGETS {
        return Err(EventsError::LimitExceeded(format!(
            "The requested resource exceeds the maximum number allowed: a rule has at most {MAX_TARGETS} targets."
        )));
    }
    let mut failed = Vec::new();
    let mut accepted = Vec::new();
    for t in targets {
        match t.unsupported() {
            Some(why) => failed.push(json!({
                "TargetId": t.id, "ErrorCode": "ValidationException", "ErrorMessage": why,
            })),
            None => accepted.push(t),
        }
    }
    let writes = accepted
        .iter()
        .map(|t| {
            Write::PutRuleTarget(RuleTargetRow {
                bus: r.row.bus.clone(),
                rule: r.row.name.clone(),
                id: t.id.clone(),
                spec: t.spec.to_string(),
            })
        })
        .collect::<Vec<_>>();
    if !writes.is_empty() {
        rt.db.write(writes).await?;
    }
    for t in accepted {
        rt.bus.put_target(&r.row.bus, &r.row.name, t);
    }
    Ok(json!({"FailedEntryCount": failed.len(), "FailedEntries": failed}))
}

pub async fn remove_targets(rt: &Arc<Runtime>, req: &Value) -> Result<Value, EventsError> {
    let ids: Vec<&str> = match req.get("Ids") {
        Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).collect(),
        _ => return Err(EventsError::missing("ids")),
    };
    if ids.is_empty() || ids.len() > 100 {
        return Err(EventsError::constraint(
            "[]",
            "ids",
            "Member must have length between 1 and 100",
        ));
    }
    let _change = rt.bus.changes.lock().await;
    let r = rule(rt, req, "Rule", "rule")?;
    let writes: Vec<Write> = ids
        .iter()
        .filter(|id| r.targets.contains_key(**id))
        .map(|id| Write::DeleteRuleTarget(r.row.bus.clone(), r.row.name.clone(), id.to_string()))
        .collect();
    if !writes.is_empty() {
        rt.db.write(writes).await?;
    }
    for id in ids {
        rt.bus.remove_target(&r.row.bus, &r.row.name, id);
    }
    Ok(json!({"FailedEntryCount": 0, "FailedEntries": []}))
}

pub fn list_targets(rt: &Arc<Runtime>, req: &Value) -> Result<Value, EventsError> {
    let r = rule(rt, req, "Rule", "rule")?;
    let items = r.targets.values().map(|t| t.spec.clone()).collect();
    page(items, "Targets", req)
}
