//! Versions (PublishStateMachineVersion, ListStateMachineVersions,
//! DeleteStateMachineVersion), aliases (Create/Describe/Update/Delete/ListStateMachineAlias)
//! and tags (TagResource, UntagResource, ListTagsForResource).

use super::machines::machine_of;
use super::{opt_str, page, paged, req_str, ts};
use crate::arn::{self, Resource};
use crate::error::ApiError;
use crate::runtime::{now_ms, Runtime};
use passo_store::{AliasRow, MachineRow, VersionRow, Write};
use serde_json::{json, Value};
use std::sync::Arc;

/// The next version of a machine, or None when the newest version already has its current
/// revision (publishing again answers that one, as AWS).
pub(crate) fn next_version(
    rt: &Runtime,
    m: &MachineRow,
    description: Option<&str>,
    now: i64,
) -> Option<VersionRow> {
    let versions = rt.catalog.versions_of(&m.arn);
    if versions
        .first()
        .is_some_and(|v| v.revision_id == m.revision_id)
    {
        return None;
    }
    // Numbers are never reused, even after a delete: the store keeps the highest.
    let n = versions
        .iter()
        .map(|v| v.version)
        .max()
        .unwrap_or(0)
        .max(rt.catalog.max_version(&m.arn))
        + 1;
    rt.catalog.note_version(&m.arn, n);
    Some(VersionRow {
        arn: format!("{}:{n}", m.arn),
        machine_arn: m.arn.clone(),
        version: n,
        revision_id: m.revision_id.clone(),
        description: description.unwrap_or("").to_string(),
        created_ms: now,
    })
}

pub async fn publish(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let target = req_str(req, "stateMachineArn")?;
    let _g = rt.catalog.changes.lock().await;
    let m = machine_of(rt, target)?;
    if let Some(r) = opt_str(req, "revisionId") {
        if r != m.revision_id {
            return Err(ApiError::ConflictException(format!(
                "Failed to publish the State Machine version for revision {r}. The current State Machine revision is {}.",
                m.revision_id
            )));
        }
    }
    let now = now_ms();
    match next_version(rt, &m, opt_str(req, "description"), now) {
        Some(v) => {
            rt.db.write(vec![Write::PutVersion(v.clone())]).await?;
            let out = json!({"stateMachineVersionArn": v.arn, "creationDate": ts(v.created_ms)});
            rt.catalog.put_version(v);
            Ok(out)
        }
        None => {
            let v = rt.catalog.versions_of(&m.arn).remove(0);
            Ok(json!({"stateMachineVersionArn": v.arn, "creationDate": ts(v.created_ms)}))
        }
    }
}

pub fn list(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let target = req_str(req, "stateMachineArn")?;
    let (limit, offset) = page(req, 100)?;
    let m = machine_of(rt, target)?;
    let items = rt
        .catalog
        .versions_of(&m.arn)
        .into_iter()
        .map(|v| json!({"stateMachineVersionArn": v.arn, "creationDate": ts(v.created_ms)}))
        .collect();
    Ok(paged(items, "stateMachineVersions", offset, limit))
}

pub async fn delete(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let target = req_str(req, "stateMachineVersionArn")?;
    match arn::parse(target)? {
        Resource::Version { .. } => {}
        other => return Err(arn::wrong_kind(&other)),
    }
    let _g = rt.catalog.changes.lock().await;
    let Some(v) = rt.catalog.version(target) else {
        return Ok(json!({}));
    };
    let referencing: Vec<String> = rt
        .catalog
        .aliases_of(&v.machine_arn)
        .into_iter()
        .filter(|a| a.routing.contains(&format!("\"{target}\"")))
        .map(|a| a.name)
        .collect();
    if !referencing.is_empty() {
        return Err(ApiError::ConflictException(format!(
            "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
            referencing.join(", ")
        )));
    }
    rt.db
        .write(vec![Write::DeleteVersion(target.to_string())])
        .await?;
    rt.catalog.remove_version(target);
    Ok(json!({}))
}

fn alias_name_ok(name: &str) -> Result<(), ApiError> {
    if name.chars().count() > 80 {
        return Err(ApiError::constraint(
            name,
            "name",
            "Member must have length less than or equal to 80",
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
    let has_non_digit = name
        .chars()
        .any(|c| c.is_ascii_alphabetic() || "_-.".contains(c));
    if name.is_empty() || !name.chars().all(allowed) || !has_non_digit {
        return Err(ApiError::constraint(
            name,
            "name",
            r"Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\-\.])[a-zA-Z0-9_\-\.]+$",
        ));
    }
    Ok(())
}

/// Checks a routing configuration; answers the machine it routes to.
fn check_routing(rt: &Runtime, routing: &Value) -> Result<String, ApiError> {
    let items = routing.as_array().ok_or_else(|| {
        ApiError::SerializationException("routingConfiguration must be a list".into())
    })?;
    if items.is_empty() {
        return Err(ApiError::constraint(
            "[]",
            "routingConfiguration",
            "Member must have length greater than or equal to 1",
        ));
    }
    let mut arns = Vec::new();
    let mut weights = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let a = it
            .get("stateMachineVersionArn")
            .and_then(Value::as_str)
            .unwrap_or("");
        let w = it.get("weight").and_then(Value::as_i64).unwrap_or(-1);
        if w > 100 {
            return Err(ApiError::constraint(
                &w.to_string(),
                &format!("routingConfiguration.{}.member.weight", i + 1),
                "Member must have value less than or equal to 100",
            ));
        }
        if w < 0 {
            return Err(ApiError::constraint(
                &w.to_string(),
                &format!("routingConfiguration.{}.member.weight", i + 1),
                "Member must have value greater than or equal to 0",
            ));
        }
        arns.push(a.to_string());
        weights.push(w);
    }
    if items.len() > 2 {
        let shown: Vec<String> = arns
            .iter()
            .zip(&weights)
            .map(|(a, w)| {
                format!("RoutingConfigurationListItem(stateMachineVersionArn={a}, weight={w})")
            })
            .collect();
        return Err(ApiError::constraint(
            &format!("[{}]", shown.join(", ")),
            "routingConfiguration",
            "Member must have length less than or equal to 2",
        ));
    }
    if arns
        .iter()
        .any(|a| !matches!(arn::parse(a), Ok(Resource::Version { .. })))
    {
        return Err(ApiError::ValidationException(format!(
            "Routing configuration must contain state machine version ARNs. Received: [{}]",
            arns.join(", ")
        )));
    }
    if arns.len() == 2 && arns[0] == arns[1] {
        return Err(ApiError::ValidationException(format!(
            "Routing configuration must contain distinct state machine version ARNs. Received: [{}]",
            arns.join(", ")
        )));
    }
    if weights.iter().sum::<i64>() != 100 {
        let shown: Vec<String> = weights.iter().map(i64::to_string).collect();
        return Err(ApiError::ValidationException(format!(
            "Sum of routing configuration weights must equal 100. Received: [{}]",
            shown.join(", ")
        )));
    }
    let mut machine = None;
    for a in &arns {
        let v = rt
            .catalog
            .version(a)
            .ok_or_else(|| ApiError::ResourceNotFound(format!("Resource not found: '{a}'")))?;
        if machine.as_ref().is_some_and(|m| m != &v.machine_arn) {
            return Err(ApiError::ValidationException(
                "Routing configuration must contain versions of the same state machine".into(),
            ));
        }
        machine = Some(v.machine_arn);
    }
    machine.ok_or_else(|| ApiError::ValidationException("empty routing".into()))
}

fn routing_text(routing: &Value) -> String {
    let items: Vec<Value> = routing
        .as_array()
        .map(|a| {
            a.iter()
                .map(|it| {
                    json!({
                        "stateMachineVersionArn": it.get("stateMachineVersionArn"),
                        "weight": it.get("weight"),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Value::Array(items).to_string()
}

pub async fn create_alias(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let name = req_str(req, "name")?;
    alias_name_ok(name)?;
    let routing = req.get("routingConfiguration").ok_or_else(|| {
        ApiError::constraint("null", "routingConfiguration", "Member must not be null")
    })?;
    let _g = rt.catalog.changes.lock().await;
    let machine_arn = check_routing(rt, routing)?;
    let arn = format!("{machine_arn}:{name}");
    let description = opt_str(req, "description").unwrap_or("");
    let routing = routing_text(routing);
    if let Some(a) = rt.catalog.alias(&arn) {
        if a.routing == routing && a.description == description {
            return Ok(json!({"stateMachineAliasArn": a.arn, "creationDate": ts(a.created_ms)}));
        }
        return Err(ApiError::ConflictException(
            "Failed to create alias because an alias with the same name and a different routing configuration already exists.".into(),
        ));
    }
    let now = now_ms();
    let a = AliasRow {
        arn: arn.clone(),
        machine_arn,
        name: name.to_string(),
        description: description.to_string(),
        routing,
        created_ms: now,
        updated_ms: now,
    };
    rt.db.write(vec![Write::PutAlias(a.clone())]).await?;
    rt.catalog.put_alias(a);
    Ok(json!({"stateMachineAliasArn": arn, "creationDate": ts(now)}))
}

fn alias_of(rt: &Runtime, arn: &str) -> Result<AliasRow, ApiError> {
    match arn::parse(arn)? {
        Resource::Alias { .. } => rt.catalog.alias(arn).ok_or_else(|| {
            ApiError::ResourceNotFound("Request references a resource that does not exist.".into())
        }),
        other => Err(arn::wrong_kind(&other)),
    }
}

pub fn describe_alias(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let a = alias_of(rt, req_str(req, "stateMachineAliasArn")?)?;
    let mut out = json!({
        "stateMachineAliasArn": a.arn,
        "name": a.name,
        "routingConfiguration": serde_json::from_str::<Value>(&a.routing).unwrap_or(Value::Null),
        "creationDate": ts(a.created_ms),
        "updateDate": ts(a.updated_ms),
    });
    if !a.description.is_empty() {
        out["description"] = json!(a.description);
    }
    Ok(out)
}

pub async fn update_alias(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let arn = req_str(req, "stateMachineAliasArn")?;
    let _g = rt.catalog.changes.lock().await;
    let mut a = alias_of(rt, arn)?;
    if let Some(r) = req.get("routingConfiguration").filter(|v| !v.is_null()) {
        let m = check_routing(rt, r)?;
        if m != a.machine_arn {
            return Err(ApiError::ValidationException(
                "Routing configuration must contain versions of the alias's state machine".into(),
            ));
        }
        a.routing = routing_text(r);
    }
    if let Some(d) = opt_str(req, "description") {
        a.description = d.to_string();
    }
    a.updated_ms = now_ms();
    rt.db.write(vec![Write::PutAlias(a.clone())]).await?;
    let out = json!({"updateDate": ts(a.updated_ms)});
    rt.catalog.put_alias(a);
    Ok(out)
}

pub async fn delete_alias(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let arn = req_str(req, "stateMachineAliasArn")?;
    match arn::parse(arn)? {
        Resource::Alias { .. } => {}
        other => return Err(arn::wrong_kind(&other)),
    }
    let _g = rt.catalog.changes.lock().await;
    if rt.catalog.alias(arn).is_some() {
        rt.db
            .write(vec![Write::DeleteAlias(arn.to_string())])
            .await?;
        rt.catalog.remove_alias(arn);
    }
    Ok(json!({}))
}

pub fn list_aliases(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let target = req_str(req, "stateMachineArn")?;
    let (limit, offset) = page(req, 100)?;
    let m = machine_of(rt, target)?;
    let items = rt
        .catalog
        .aliases_of(&m.arn)
        .into_iter()
        .map(|a| json!({"stateMachineAliasArn": a.arn, "creationDate": ts(a.created_ms)}))
        .collect();
    Ok(paged(items, "stateMachineAliases", offset, limit))
}

/// The `tags` of a request as (key, value) pairs.
pub(crate) fn tags_of(req: &Value) -> Result<Vec<(String, String)>, ApiError> {
    let Some(tags) = req.get("tags").filter(|t| !t.is_null()) else {
        return Ok(Vec::new());
    };
    let items = tags
        .as_array()
        .ok_or_else(|| ApiError::SerializationException("tags must be a list".into()))?;
    let mut out = Vec::new();
    for t in items {
        let k = t.get("key").and_then(Value::as_str).unwrap_or("");
        let v = t.get("value").and_then(Value::as_str).unwrap_or("");
        if k.is_empty() || k.chars().count() > 128 {
            return Err(ApiError::constraint(
                k,
                "tags.member.key",
                "Member must have length between 1 and 128",
            ));
        }
        out.push((k.to_string(), v.to_string()));
    }
    if out.len() > 50 {
        return Err(ApiError::TooManyTags(
            "Too many tags: a resource can have at most 50".into(),
        ));
    }
    Ok(out)
}

/// Tags live on state machines and activities (not on versions, aliases or executions).
fn taggable(rt: &Runtime, arn: &str) -> Result<(), ApiError> {
    let not_found = || ApiError::ResourceNotFound(format!("Resource not found: '{arn}'"));
    match arn::parse(arn)? {
        Resource::Machine { .. } if rt.catalog.machine(arn).is_some() => Ok(()),
        Resource::Activity { .. } if rt.db.activity(arn)?.is_some() => Ok(()),
        _ => Err(not_found()),
    }
}

pub async fn tag(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let arn = req_str(req, "resourceArn")?;
    let tags = tags_of(req)?;
    taggable(rt, arn)?;
    let existing = rt.db.tags(arn)?;
    let mut keys: std::collections::HashSet<&str> =
        existing.iter().map(|(k, _)| k.as_str()).collect();
    keys.extend(tags.iter().map(|(k, _)| k.as_str()));
    if keys.len() > 50 {
        return Err(ApiError::TooManyTags(format!(
            "Too many tags: '{arn}' can have at most 50"
        )));
    }
    rt.db
        .write(vec![Write::PutTags(arn.to_string(), tags)])
        .await?;
    Ok(json!({}))
}

pub async fn untag(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let arn = req_str(req, "resourceArn")?;
    taggable(rt, arn)?;
    let keys: Vec<String> = req
        .get("tagKeys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    rt.db
        .write(vec![Write::RemoveTags(arn.to_string(), keys)])
        .await?;
    Ok(json!({}))
}

pub fn list_tags(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let arn = req_str(req, "resourceArn")?;
    taggable(rt, arn)?;
    let tags: Vec<Value> = rt
        .db
        .tags(arn)?
        .into_iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    Ok(json!({ "tags": tags }))
}
