//! CreateStateMachine, DescribeStateMachine, UpdateStateMachine, DeleteStateMachine,
//! ListStateMachines and ValidateStateMachineDefinition.

use super::{opt_str, page, paged, req_str, ts};
use crate::arn::{self, Resource};
use crate::catalog::machine_type;
use crate::error::ApiError;
use crate::runtime::{now_ms, Runtime};
use passo_asl::Diagnostic;
use passo_store::{MachineRow, RevisionRow, VersionRow, Write};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Checks a definition for a machine type; the AWS InvalidDefinition error on failure.
/// Validation is linear in the definition's size, but a large one still takes a while:
/// it runs on the blocking pool, so other requests are not held up behind it.
async fn check_definition(text: &str, kind: &str) -> Result<(), ApiError> {
    let diags = off_thread(text, kind).await?;
    if diags.is_empty() {
        Ok(())
    } else {
        Err(ApiError::InvalidDefinition(
            passo_asl::invalid_definition_message(&diags),
        ))
    }
}

/// The API takes JSON only (YAML is a convenience of the CLI), and words JSON errors as
/// AWS's parser does.
fn diagnostics(text: &str, kind: &str) -> Vec<Diagnostic> {
    if text.trim().is_empty() {
        return vec![Diagnostic::new(
            passo_asl::Code::SchemaValidationFailed,
            "",
            "Definition must be a valid JSON object",
        )];
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) if v.is_object() => passo_asl::validate_for(&v, machine_type(kind)),
        Ok(_) => vec![Diagnostic::new(
            passo_asl::Code::SchemaValidationFailed,
            "",
            "Definition must be a valid JSON object",
        )],
        Err(e) => {
            let (msg, column) = super::json_error(text, &e);
            let source = format!(
                "[Source: (String)\"{}\"; line: {}, column: {column}]",
                text.replace('"', "\\\""),
                e.line()
            );
            vec![Diagnostic::new(
                passo_asl::Code::InvalidJsonDescription,
                source.clone(),
                format!("{msg}\n at {source}"),
            )]
        }
    }
}

/// The definition's problems, found on the blocking pool.
async fn off_thread(text: &str, kind: &str) -> Result<Vec<Diagnostic>, ApiError> {
    let (text, kind) = (text.to_string(), kind.to_string());
    tokio::task::spawn_blocking(move || diagnostics(&text, &kind))
        .await
        .map_err(|e| ApiError::Internal(format!("validating the definition: {e}")))
}

fn check_type(kind: &str) -> Result<(), ApiError> {
    match kind {
        "STANDARD" | "EXPRESS" => Ok(()),
        other => Err(ApiError::constraint(
            other,
            "type",
            "Member must satisfy enum value set: [STANDARD, EXPRESS]",
        )),
    }
}

/// AWS requires exactly one destination for any logging level but OFF.
fn check_logging(l: &Value) -> Result<(), ApiError> {
    let level = l.get("level").and_then(Value::as_str).unwrap_or("OFF");
    let n = l
        .get("destinations")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if level != "OFF" && n != 1 {
        return Err(ApiError::InvalidLoggingConfiguration(
            "Invalid Logging Configuration: Must specify exactly one Log Destination.".into(),
        ));
    }
    Ok(())
}

fn default_logging() -> String {
    json!({"level": "OFF", "includeExecutionData": false}).to_string()
}

fn default_tracing() -> String {
    json!({"enabled": false}).to_string()
}

/// AWS accepts `versionDescription` only together with `publish: true`.
fn check_version_description(req: &Value) -> Result<(), ApiError> {
    let publish = req.get("publish").and_then(Value::as_bool) == Some(true);
    if opt_str(req, "versionDescription").is_some() && !publish {
        return Err(ApiError::ValidationException(
            "Version description can only be set when publish is true".into(),
        ));
    }
    Ok(())
}

pub(crate) fn new_revision() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub async fn create(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let name = req_str(req, "name")?;
    arn::check_name(name)?;
    let definition = req_str(req, "definition")?;
    let role = opt_str(req, "roleArn").unwrap_or("arn:aws:iam::123456789012:role/passo");
    let kind = opt_str(req, "type").unwrap_or("STANDARD");
    check_type(kind)?;
    check_definition(definition, kind).await?;
    if let Some(l) = req.get("loggingConfiguration") {
        check_logging(l)?;
    }
    check_version_description(req)?;
    let machine_arn = rt.cfg.realm.machine_arn(name);
    let _g = rt.catalog.changes.lock().await;
    let logging = req
        .get("loggingConfiguration")
        .map_or_else(default_logging, Value::to_string);
    let tracing = req
        .get("tracingConfiguration")
        .map_or_else(default_tracing, Value::to_string);
    if let Some(m) = rt.catalog.machine(&machine_arn) {
        // The same request again answers the existing machine, as AWS.
        if m.definition == definition && m.role_arn == role && m.kind == kind {
            return Ok(json!({"stateMachineArn": m.arn, "creationDate": ts(m.created_ms)}));
        }
        return Err(ApiError::StateMachineAlreadyExists(format!(
            "State Machine Already Exists: '{machine_arn}'"
        )));
    }
    let now = now_ms();
    let row = MachineRow {
        arn: machine_arn.clone(),
        name: name.to_string(),
        kind: kind.to_string(),
        definition: definition.to_string(),
        role_arn: role.to_string(),
        revision_id: new_revision(),
        description: String::new(),
        created_ms: now,
        logging,
        tracing,
        encryption: req
            .get("encryptionConfiguration")
            .map_or_else(String::new, Value::to_string),
    };
    let mut writes = vec![
        Write::PutRevision(revision_of(&row)),
        Write::PutMachine(row.clone()),
    ];
    let tags = super::versions::tags_of(req)?;
    if !tags.is_empty() {
        writes.push(Write::PutTags(machine_arn.clone(), tags));
    }
    let version = if req.get("publish").and_then(Value::as_bool) == Some(true) {
        let v = VersionRow {
            arn: format!("{machine_arn}:1"),
            machine_arn: machine_arn.clone(),
            version: 1,
            revision_id: row.revision_id.clone(),
            description: opt_str(req, "versionDescription").unwrap_or("").to_string(),
            created_ms: now,
        };
        writes.push(Write::PutVersion(v.clone()));
        Some(v)
    } else {
        None
    };
    rt.db.write(writes).await?;
    rt.catalog.put_machine(row);
    let mut out = json!({"stateMachineArn": machine_arn, "creationDate": ts(now)});
    if let Some(v) = version {
        out["stateMachineVersionArn"] = json!(v.arn);
        rt.catalog.put_version(v);
    }
    Ok(out)
}

pub(crate) fn revision_of(m: &MachineRow) -> RevisionRow {
    RevisionRow {
        machine_arn: m.arn.clone(),
        revision_id: m.revision_id.clone(),
        definition: m.definition.clone(),
        role_arn: m.role_arn.clone(),
        kind: m.kind.clone(),
    }
}

/// The machine an ARN names (a version ARN names its machine).
pub(crate) fn machine_of(rt: &Runtime, machine_arn: &str) -> Result<MachineRow, ApiError> {
    match arn::parse(machine_arn)? {
        Resource::Machine { .. } => rt
            .catalog
            .machine(machine_arn)
            .ok_or_else(|| ApiError::machine_missing(machine_arn)),
        // A version or alias ARN where a machine's is expected: AWS says it does not exist.
        Resource::Version { .. } | Resource::Alias { .. } => {
            Err(ApiError::machine_missing(machine_arn))
        }
        other => Err(arn::wrong_kind(&other)),
    }
}

fn json_text(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| json!({}))
}

pub fn describe(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let target = req_str(req, "stateMachineArn")?;
    let (m, shown_arn, revision, description) = match arn::parse(target)? {
        Resource::Machine { .. } => {
            let m = machine_of(rt, target)?;
            let r = m.revision_id.clone();
            let d = m.description.clone();
            (m, target.to_string(), r, d)
        }
        Resource::Version { .. } => {
            let v = rt
                .catalog
                .version(target)
                .ok_or_else(|| ApiError::machine_missing(target))?;
            let m = machine_of(rt, &v.machine_arn)?;
            (m, v.arn, v.revision_id, v.description)
        }
        Resource::Alias { .. } => {
            let a = rt
                .catalog
                .alias(target)
                .ok_or_else(|| ApiError::machine_missing(target))?;
            let m = machine_of(rt, &a.machine_arn)?;
            let r = m.revision_id.clone();
            (m, a.arn, r, a.description)
        }
        other => return Err(arn::wrong_kind(&other)),
    };
    let (definition, role) = if revision == m.revision_id {
        (m.definition.clone(), m.role_arn.clone())
    } else {
        let r = rt
            .db
            .revision(&m.arn, &revision)?
            .ok_or_else(|| ApiError::machine_missing(target))?;
        (r.definition, r.role_arn)
    };
    let mut out = json!({
        "stateMachineArn": shown_arn,
        "name": m.name,
        "status": "ACTIVE",
        "definition": definition,
        "roleArn": role,
        "type": m.kind,
        "creationDate": ts(m.created_ms),
        "loggingConfiguration": json_text(&m.logging),
        "tracingConfiguration": json_text(&m.tracing),
        "revisionId": revision,
    });
    if !description.is_empty() {
        out["description"] = json!(description);
    }
    if !m.encryption.is_empty() {
        out["encryptionConfiguration"] = json_text(&m.encryption);
    }
    Ok(out)
}

pub async fn update(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let target = req_str(req, "stateMachineArn")?;
    let definition = opt_str(req, "definition");
    let role = opt_str(req, "roleArn");
    let logging = req.get("loggingConfiguration").filter(|v| !v.is_null());
    let tracing = req.get("tracingConfiguration").filter(|v| !v.is_null());
    check_version_description(req)?;
    let _g = rt.catalog.changes.lock().await;
    let mut m = machine_of(rt, target)?;
    if definition.is_none() && role.is_none() && logging.is_none() && tracing.is_none() {
        return Err(ApiError::MissingRequiredParameter(
            "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified".into(),
        ));
    }
    if let Some(d) = definition {
        check_definition(d, &m.kind).await?;
    }
    if let Some(l) = logging {
        check_logging(l)?;
        m.logging = l.to_string();
    }
    if let Some(t) = tracing {
        m.tracing = t.to_string();
    }
    let changed =
        definition.is_some_and(|d| d != m.definition) || role.is_some_and(|r| r != m.role_arn);
    if let Some(d) = definition {
        m.definition = d.to_string();
    }
    if let Some(r) = role {
        m.role_arn = r.to_string();
    }
    let now = now_ms();
    let mut writes = Vec::new();
    if changed {
        m.revision_id = new_revision();
        writes.push(Write::PutRevision(revision_of(&m)));
    }
    writes.push(Write::PutMachine(m.clone()));
    let mut out = json!({"updateDate": ts(now), "revisionId": m.revision_id});
    let mut version = None;
    if req.get("publish").and_then(Value::as_bool) == Some(true) {
        let v = super::versions::next_version(rt, &m, opt_str(req, "versionDescription"), now);
        if let Some(v) = v {
            writes.push(Write::PutVersion(v.clone()));
            out["stateMachineVersionArn"] = json!(v.arn);
            version = Some(v);
        } else if let Some(latest) = rt.catalog.versions_of(&m.arn).into_iter().next() {
            out["stateMachineVersionArn"] = json!(latest.arn);
        }
    }
    rt.db.write(writes).await?;
    rt.catalog.put_machine(m);
    if let Some(v) = version {
        rt.catalog.put_version(v);
    }
    Ok(out)
}

pub async fn delete(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let target = req_str(req, "stateMachineArn")?;
    let _g = rt.catalog.changes.lock().await;
    match arn::parse(target)? {
        Resource::Machine { .. } => {
            if rt.catalog.machine(target).is_some() {
                rt.db.write(vec![Write::DeleteMachine(target.to_string())]).await?;
                rt.catalog.remove_machine(target);
            }
            Ok(json!({}))
        }
        Resource::Version { .. } | Resource::Alias { .. } => Err(ApiError::ValidationException(
            format!("Invalid Arn: 'Unsupported ARN: {target}; use DeleteStateMachineVersion or DeleteStateMachineAlias'"),
        )),
        other => Err(arn::wrong_kind(&other)),
    }
}

pub fn list(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let (limit, offset) = page(req, 100)?;
    let items = rt
        .catalog
        .machines()
        .into_iter()
        .map(|m| {
            json!({
                "stateMachineArn": m.arn,
                "name": m.name,
                "type": m.kind,
                "creationDate": ts(m.created_ms),
            })
        })
        .collect();
    Ok(paged(items, "stateMachines", offset, limit))
}

/// ValidateStateMachineDefinition on the blocking pool (see [`check_definition`]).
pub async fn validate_off_thread(req: &Value) -> Result<Value, ApiError> {
    let req = req.clone();
    tokio::task::spawn_blocking(move || validate(&req))
        .await
        .map_err(|e| ApiError::Internal(format!("validating the definition: {e}")))?
}

pub fn validate(req: &Value) -> Result<Value, ApiError> {
    let definition = req_str(req, "definition")?;
    let kind = opt_str(req, "type").unwrap_or("STANDARD");
    check_type(kind)?;
    let max = req
        .get("maxResults")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .unwrap_or(100) as usize;
    let diags = diagnostics(definition, kind);
    let truncated = diags.len() > max;
    let list: Vec<Value> = diags
        .iter()
        .take(max)
        .map(|d| {
            let mut m = Map::new();
            m.insert("severity".into(), json!("ERROR"));
            m.insert("code".into(), json!(d.code.as_str()));
            m.insert("message".into(), json!(d.message));
            if !d.location.is_empty() {
                m.insert("location".into(), json!(d.location));
            }
            Value::Object(m)
        })
        .collect();
    Ok(json!({
        "result": if diags.is_empty() { "OK" } else { "FAIL" },
        "diagnostics": list,
        "truncated": truncated,
    }))
}
