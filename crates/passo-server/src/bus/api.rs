//! `X-Amz-Target: AWSEvents.<Action>`: the dispatcher, the buses' actions (CreateEventBus,
//! DeleteEventBus, DescribeEventBus, ListEventBuses) and paging as EventBridge pages
//! (`Limit`, `NextToken`).

use super::api_rules as rules;
use super::error::EventsError;
use super::events;
use super::names::{self, DEFAULT_BUS};
use crate::runtime::{now_ms, Runtime};
use passo_store::{EventBusRow, StoreError, Write};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Runs one EventBridge action (from the API or from a workflow's Task).
pub async fn dispatch(rt: &Arc<Runtime>, action: &str, req: &Value) -> Result<Value, EventsError> {
    match action {
        "PutEvents" => events::put_events(rt, req).await,
        "TestEventPattern" => events::test_event_pattern(req),
        "CreateEventBus" => create_bus(rt, req).await,
        "DeleteEventBus" => delete_bus(rt, req).await,
        "DescribeEventBus" => describe_bus(rt, req),
        "ListEventBuses" => list_buses(rt, req),
        "PutRule" => rules::put_rule(rt, req).await,
        "DescribeRule" => rules::describe_rule(rt, req),
        "ListRules" => rules::list_rules(rt, req),
        "DeleteRule" => rules::delete_rule(rt, req).await,
        "EnableRule" => rules::set_state(rt, req, "ENABLED").await,
        "DisableRule" => rules::set_state(rt, req, "DISABLED").await,
        "PutTargets" => rules::put_targets(rt, req).await,
        "RemoveTargets" => rules::remove_targets(rt, req).await,
        "ListTargetsByRule" => rules::list_targets(rt, req),
        other => Err(EventsError::Validation(format!(
            "The action {other} is not supported by Passo's event bus yet"
        ))),
    }
}

/// An optional string member.
pub(crate) fn opt<'a>(req: &'a Value, key: &str) -> Option<&'a str> {
    req.get(key).and_then(Value::as_str)
}

/// A required string member (`field` is how AWS's messages name it).
pub(crate) fn required<'a>(req: &'a Value, key: &str, field: &str) -> Result<&'a str, EventsError> {
    match req.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(Value::Null) | None => Err(EventsError::missing(field)),
        Some(_) => Err(EventsError::Validation(format!("{key} must be a string"))),
    }
}

/// Epoch seconds, as the JSON protocols carry timestamps.
pub(crate) fn ts(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// One page of `items` after `NextToken`, at most `Limit` (1 to 100) long.
pub(crate) fn page(items: Vec<Value>, key: &str, req: &Value) -> Result<Value, EventsError> {
    let limit = match req.get("Limit") {
        None | Some(Value::Null) => 100,
        Some(v) => match v.as_i64() {
            Some(n) if (1..=100).contains(&n) => n as usize,
            _ => {
                return Err(EventsError::constraint(
                    &v.to_string(),
                    "limit",
                    "Member must have value between 1 and 100",
                ))
            }
        },
    };
    let offset = match opt(req, "NextToken") {
        None => 0,
        Some(t) => crate::api::decode_offset(t)
            .ok_or_else(|| EventsError::Validation("The NextToken is not valid.".into()))?,
    };
    let total = items.len();
    let mut out = Map::new();
    out.insert(
        key.into(),
        Value::Array(items.into_iter().skip(offset).take(limit).collect()),
    );
    if offset + limit < total {
        out.insert(
            "NextToken".into(),
            json!(crate::api::encode_token(offset + limit)),
        );
    }
    Ok(Value::Object(out))
}

fn bus_json(b: &EventBusRow) -> Value {
    let mut v = json!({
        "Name": b.name,
        "Arn": b.arn,
        "CreationTime": ts(b.created_ms),
        "LastModifiedTime": ts(b.created_ms),
    });
    if let Some(d) = &b.description {
        v["Description"] = json!(d);
    }
    v
}

async fn create_bus(rt: &Arc<Runtime>, req: &Value) -> Result<Value, EventsError> {
    let name = required(req, "Name", "name")?;
    names::check_bus(name, "name")?;
    if name == DEFAULT_BUS {
        return Err(EventsError::ResourceAlreadyExists(format!(
            "Event bus {name} already exists."
        )));
    }
    if name.starts_with("aws.") && opt(req, "EventSourceName").is_none() {
        return Err(EventsError::Validation(
            "Event bus name must not start with 'aws.'.".into(),
        ));
    }
    let description = opt(req, "Description").map(String::from);
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 512)
    {
        return Err(EventsError::constraint(
            "...",
            "description",
            "Member must have length less than or equal to 512",
        ));
    }
    let row = EventBusRow {
        name: name.to_string(),
        arn: names::bus_arn(&rt.cfg.realm, name),
        description,
        created_ms: now_ms(),
    };
    let _change = rt.bus.changes.lock().await;
    match rt.db.write(vec![Write::InsertEventBus(row.clone())]).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(EventsError::ResourceAlreadyExists(format!(
                "Event bus {name} already exists."
            )))
        }
        Err(e) => return Err(e.into()),
    }
    rt.bus.put_bus(row.clone());
    let mut out = json!({"EventBusArn": row.arn});
    if let Some(d) = &row.description {
        out["Description"] = json!(d);
    }
    Ok(out)
}

async fn delete_bus(rt: &Arc<Runtime>, req: &Value) -> Result<Value, EventsError> {
    let name = required(req, "Name", "name")?;
    if name == DEFAULT_BUS {
        return Err(EventsError::Validation(
            "Cannot delete event bus default.".into(),
        ));
    }
    let _change = rt.bus.changes.lock().await;
    // Deleting a bus that is not there succeeds, as in AWS.
    if rt.bus.bus(name).is_some() {
        rt.db
            .write(vec![Write::DeleteEventBus(name.to_string())])
            .await?;
        rt.bus.remove_bus(name);
    }
    Ok(json!({}))
}

fn describe_bus(rt: &Arc<Runtime>, req: &Value) -> Result<Value, EventsError> {
    let name = names::bus_of(&rt.cfg.realm, opt(req, "Name"))?;
    let b = rt
        .bus
        .bus(&name)
        .ok_or_else(|| EventsError::bus_missing(&name))?;
    Ok(bus_json(&b))
}

fn list_buses(rt: &Arc<Runtime>, req: &Value) -> Result<Value, EventsError> {
    let prefix = opt(req, "NamePrefix").unwrap_or("");
    let items = rt
        .bus
        .buses()
        .iter()
        .filter(|b| b.name.starts_with(prefix))
        .map(bus_json)
        .collect();
    page(items, "EventBuses", req)
}
