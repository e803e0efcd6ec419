//! Passo's own actions (`X-Amz-Target: Passo.<Action>`): functions made at run time, as the
//! project file's `[functions.NAME]` tables are (a local command or an HTTP endpoint). They
//! are kept in the database, so they outlive a restart. `passo function ...` calls these.

use crate::error::ApiError;
use crate::runtime::{now_ms, Runtime};
use passo_store::{FunctionRow, Write};
use passo_tasks::functions::{Functions, RegistryError, Source};
use passo_tasks::project::Function;
use serde_json::{json, Map, Value};
use std::sync::Arc;

fn registry(rt: &Runtime) -> Result<&Functions, ApiError> {
    rt.functions()
        .ok_or_else(|| ApiError::ValidationException("This server has no function registry".into()))
}

fn name_of(req: &Value) -> Result<&str, ApiError> {
    req.get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::ValidationException("The field 'name' is required".into()))
}

fn describe(f: &Function, source: Source) -> Value {
    json!({
        "name": f.name,
        "source": match source { Source::Project => "PROJECT", Source::Created => "API" },
        "spec": f.spec(),
    })
}

fn refused(e: RegistryError) -> ApiError {
    match e {
        RegistryError::Exists(_) => ApiError::ConflictException(e.to_string()),
        RegistryError::NotFound(_) => ApiError::ResourceNotFound(e.to_string()),
        RegistryError::InProject(_) => ApiError::ValidationException(e.to_string()),
    }
}

/// CreateFunction: `{"name", "command" | "url", "timeout_seconds", "concurrency", "env",
/// "cwd"}` (a relative `cwd` is taken from the server's working directory).
pub async fn create(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    // A function is a command the server runs: whoever may create one may run anything as
    // the server's user. Off unless asked for, and then only with signed requests.
    if !rt.cfg.allow_function_api {
        return Err(ApiError::AccessDenied(
            "Creating functions through the API is off: declare them in passo.toml, or start the server with --allow-function-api (which needs --access-key)".into(),
        ));
    }
    let fns = registry(rt)?;
    let name = name_of(req)?;
    let mut spec: Map<String, Value> = req.as_object().cloned().unwrap_or_default();
    spec.remove("name");
    let base = std::env::current_dir().map_err(|e| ApiError::Internal(e.to_string()))?;
    let f = Function::from_spec(name, &Value::Object(spec), &base)
        .map_err(ApiError::ValidationException)?;
    let row = FunctionRow {
        name: f.name.clone(),
        spec: f.spec().to_string(),
        created_ms: now_ms(),
    };
    fns.create(f.clone()).map_err(refused)?;
    // Kept before the answer: a created function is there after a restart.
    if let Err(e) = rt.db.write(vec![Write::PutFunction(row)]).await {
        let _ = fns.delete(name);
        return Err(e.into());
    }
    Ok(describe(&f, Source::Created))
}

pub fn get(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let name = name_of(req)?;
    let (f, source) = registry(rt)?
        .get(name)
        .ok_or_else(|| ApiError::ResourceNotFound(format!("Function not found: {name}")))?;
    Ok(describe(&f, source))
}

pub fn list(rt: &Arc<Runtime>) -> Result<Value, ApiError> {
    let list: Vec<Value> = registry(rt)?
        .list()
        .iter()
        .map(|(f, s)| describe(f, *s))
        .collect();
    Ok(json!({ "functions": list }))
}

/// The latest calls of every function, newest first (the console's functions page).
pub fn recent_calls(rt: &Arc<Runtime>) -> Result<Value, ApiError> {
    use passo_tasks::recent_calls::Outcome;
    let calls: Vec<Value> = registry(rt)?
        .recent_calls(None)
        .into_iter()
        .map(|c| {
            let (status, detail) = match c.outcome {
                Outcome::Succeeded => ("SUCCEEDED", None),
                Outcome::Failed { error } => ("FAILED", Some(error)),
                Outcome::Unreachable { message } => ("UNREACHABLE", Some(message)),
            };
            json!({"function": c.function, "started": c.started_ms as f64 / 1000.0,
                   "durationMs": c.duration_ms, "status": status, "error": detail})
        })
        .collect();
    Ok(json!({ "recentCalls": calls }))
}

pub async fn delete(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let name = name_of(req)?;
    registry(rt)?.delete(name).map_err(refused)?;
    rt.db
        .write(vec![Write::DeleteFunction(name.to_string())])
        .await?;
    Ok(json!({}))
}

/// A function created through the API, by name: made ready, or why it cannot be.
type Stored = (String, Result<Function, String>);

/// The functions created through the API, as the database holds them.
fn stored(db: &passo_store::Db) -> Result<Vec<Stored>, ApiError> {
    let base = std::env::current_dir().map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(db
        .functions()?
        .into_iter()
        .map(|row| {
            let spec: Value = serde_json::from_str(&row.spec).unwrap_or(Value::Null);
            let f = Function::from_spec(&row.name, &spec, &base);
            (row.name, f)
        })
        .collect())
}

/// Reads the functions created through the API again into `fns`: another node sharing
/// the database may have created or deleted some. (One that does not parse was warned
/// of at start; it is left out quietly here, every second.)
pub fn refresh(db: &passo_store::Db, fns: &Functions) -> Result<(), ApiError> {
    let wanted = stored(db)?
        .into_iter()
        .filter_map(|(_, f)| f.ok())
        .collect();
    fns.sync_created(wanted);
    Ok(())
}

/// Loads the functions created through the API into `fns` (at start). One that a project
/// function now shadows is skipped with a warning.
pub fn load(db: &passo_store::Db, fns: &Functions) -> Result<usize, ApiError> {
    let mut n = 0;
    for (name, f) in stored(db)? {
        match f.and_then(|f| fns.create(f).map_err(|e| e.to_string())) {
            Ok(()) => n += 1,
            Err(e) => tracing::warn!("function {name} not loaded: {e}"),
        }
    }
    Ok(n)
}
