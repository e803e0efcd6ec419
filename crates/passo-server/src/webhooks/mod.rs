//! Webhooks: `POST /webhooks/NAME` starts an execution of the webhook's state machine with
//! `{body, headers, query}` as input (the body parsed when it is JSON, else text). A
//! Standard machine answers at once with the execution's ARN; an Express machine runs
//! synchronously and answers its output, as StartSyncExecution does. Each webhook checks
//! its caller ([`auth`]: an HMAC signature as GitHub or Stripe sign, or a bearer token).
//!
//! Webhooks are declared in passo.toml (`[webhooks.NAME]`, served from the start, changed
//! only by editing the file) or made through `Passo.CreateWebhook` (kept in the store),
//! listed with `Passo.ListWebhooks`, removed with `Passo.DeleteWebhook`. The route is outside `POST /`,
//! so the AWS API's Content-Type rule does not apply; its Host check and body limit do.
//! Refusals are JSON `{"error": CODE, "message": ...}` with a 4xx status.

pub mod auth;

use crate::error::ApiError;
use crate::runtime::{now_ms, Runtime};
use auth::Auth;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use passo_store::{Db, WebhookRow, Write};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// A webhook: where it starts executions and how it checks callers.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub name: String,
    pub machine_arn: String,
    pub auth: Auth,
    pub created_ms: i64,
    /// Declared in the project file: the API may not replace or delete it.
    pub declared: bool,
}

impl Webhook {
    /// From `Passo.CreateWebhook`'s members: `name`, `stateMachineArn` (or a name), and one
    /// of `secret` (with `signature`: `github`, the default, or `stripe`; `signatureHeader`
    /// for GitHub-style senders with another header) or `token`.
    pub fn parse(
        realm: &crate::arn::Realm,
        req: &Value,
        created_ms: i64,
    ) -> Result<Webhook, ApiError> {
        let bad = |m: &str| ApiError::ValidationException(m.to_string());
        let name = crate::api::req_str(req, "name")?;
        if !crate::arn::valid_name(name) {
            return Err(bad(
                "Invalid webhook name: use letters, digits, - and _ (at most 80)",
            ));
        }
        let machine = crate::api::req_str(req, "stateMachineArn")?;
        let machine_arn = if machine.starts_with("arn:") {
            machine.to_string()
        } else {
            format!(
                "arn:aws:states:{}:{}:stateMachine:{machine}",
                realm.region, realm.account
            )
        };
        let text = |k: &str| req.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        let auth = match (text("secret"), text("token")) {
            (Some(secret), None) => match text("signature").unwrap_or("github") {
                "github" => Auth::Hub {
                    secret: secret.to_string(),
                    header: text("signatureHeader")
                        .unwrap_or("x-hub-signature-256")
                        .to_ascii_lowercase(),
                },
                "stripe" => Auth::Stripe {
                    secret: secret.to_string(),
                },
                other => {
                    return Err(bad(&format!(
                        "Unknown signature scheme {other}: github or stripe"
                    )))
                }
            },
            (None, Some(token)) => Auth::Bearer {
                token: token.to_string(),
            },
            _ => {
                return Err(bad(
                    "A webhook needs exactly one of secret (signed requests) or token (bearer)",
                ))
            }
        };
        Ok(Webhook {
            name: name.to_string(),
            machine_arn,
            auth,
            created_ms,
            declared: false,
        })
    }

    /// What ListWebhooks shows (never the secret or token).
    fn describe(&self) -> Value {
        let auth = match &self.auth {
            Auth::Hub { header, .. } => json!({"type": "hmac-sha256", "header": header}),
            Auth::Stripe { .. } => json!({"type": "stripe-signature"}),
            Auth::Bearer { .. } => json!({"type": "bearer"}),
        };
        json!({"name": self.name, "stateMachineArn": self.machine_arn, "auth": auth,
               "path": format!("/webhooks/{}", self.name), "creationDate": self.created_ms as f64 / 1000.0,
               "source": if self.declared { "project" } else { "api" }})
    }
}

/// The server's webhooks, by name.
#[derive(Default)]
pub struct Webhooks(RwLock<BTreeMap<String, (Webhook, Value)>>);

impl Webhooks {
    pub fn load(db: &Db, realm: &crate::arn::Realm) -> Result<Webhooks, passo_store::StoreError> {
        Ok(Webhooks(RwLock::new(Webhooks::stored(db, realm, true)?)))
    }

    /// The webhooks created through the API, by name, with the request each was made from;
    /// one that no longer parses is left out (and said so when `warn`).
    fn stored(
        db: &Db,
        realm: &crate::arn::Realm,
        warn: bool,
    ) -> Result<BTreeMap<String, (Webhook, Value)>, passo_store::StoreError> {
        let mut hooks = BTreeMap::new();
        for row in db.webhooks()? {
            let spec: Value = serde_json::from_str(&row.spec).unwrap_or_default();
            match Webhook::parse(realm, &spec, row.created_ms) {
                Ok(h) => {
                    hooks.insert(row.name, (h, spec));
                }
                Err(e) if warn => {
                    tracing::warn!("webhook {} no longer parses: {}", row.name, e.message())
                }
                Err(_) => {}
            }
        }
        Ok(hooks)
    }

    /// Reads again the webhooks created through the API (another node sharing the database
    /// may have created, replaced or deleted some); the project file's stay as declared.
    /// Quiet: it runs every second, and one that no longer parses was warned of at start.
    pub fn reload(
        &self,
        db: &Db,
        realm: &crate::arn::Realm,
    ) -> Result<(), passo_store::StoreError> {
        let fresh = Webhooks::stored(db, realm, false)?;
        let mut hooks = self.0.write().unwrap();
        hooks.retain(|_, (w, _)| w.declared);
        for (name, hook) in fresh {
            hooks.entry(name).or_insert(hook);
        }
        Ok(())
    }

    /// Adds the project file's webhooks (over stored ones of the same names).
    pub fn declare(&self, realm: &crate::arn::Realm, requests: &[Value]) -> Result<(), String> {
        for req in requests {
            let mut hook = Webhook::parse(realm, req, now_ms()).map_err(|e| {
                format!(
                    "webhooks.{}: {}",
                    req["name"].as_str().unwrap_or_default(),
                    e.message()
                )
            })?;
            hook.declared = true;
            self.0
                .write()
                .unwrap()
                .insert(hook.name.clone(), (hook, req.clone()));
        }
        Ok(())
    }

    fn declared(&self, name: &str) -> bool {
        self.0
            .read()
            .unwrap()
            .get(name)
            .is_some_and(|(w, _)| w.declared)
    }

    fn get(&self, name: &str) -> Option<Webhook> {
        self.0.read().unwrap().get(name).map(|(w, _)| w.clone())
    }
}

/// `Passo.CreateWebhook` (replaces one of the same name).
pub async fn create(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let hook = Webhook::parse(&rt.cfg.realm, req, now_ms())?;
    refuse_declared(rt, &hook.name)?;
    let row = WebhookRow {
        name: hook.name.clone(),
        spec: req.to_string(),
        created_ms: hook.created_ms,
    };
    rt.db.write(vec![Write::PutWebhook(row)]).await?;
    let out = hook.describe();
    rt.webhooks
        .0
        .write()
        .unwrap()
        .insert(hook.name.clone(), (hook, req.clone()));
    Ok(out)
}

pub fn list(rt: &Runtime) -> Value {
    let all: Vec<Value> = rt
        .webhooks
        .0
        .read()
        .unwrap()
        .values()
        .map(|(w, _)| w.describe())
        .collect();
    json!({"webhooks": all})
}

fn refuse_declared(rt: &Runtime, name: &str) -> Result<(), ApiError> {
    if rt.webhooks.declared(name) {
        return Err(ApiError::ValidationException(format!(
            "The webhook {name} is declared in the project file: change it there"
        )));
    }
    Ok(())
}

pub async fn delete(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let name = crate::api::req_str(req, "name")?;
    refuse_declared(rt, name)?;
    rt.db
        .write(vec![Write::DeleteWebhook(name.to_string())])
        .await?;
    rt.webhooks.0.write().unwrap().remove(name);
    Ok(json!({}))
}

pub fn routes() -> Router<Arc<Runtime>> {
    Router::new().route("/webhooks/{name}", post(handle))
}

fn refuse(status: u16, code: &str, message: &str) -> Response {
    let s = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = (s, json!({"error": code, "message": message}).to_string()).into_response();
    r.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json"),
    );
    r
}

/// The execution's input: the body (JSON when it parses), the headers (lower-case names;
/// `Authorization` left out, so a token never lands in a history) and the query.
fn input_of(headers: &HeaderMap, uri: &Uri, body: &[u8]) -> Value {
    let body = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v,
        Err(_) => Value::String(String::from_utf8_lossy(body).into_owned()),
    };
    let mut h = Map::new();
    for (k, v) in headers {
        if k.as_str() != "authorization" {
            if let Ok(v) = v.to_str() {
                h.insert(k.as_str().to_string(), json!(v));
            }
        }
    }
    let mut q = Map::new();
    for p in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        q.insert(
            crate::sigv4::percent_decode(k),
            json!(crate::sigv4::percent_decode(v)),
        );
    }
    json!({"body": body, "headers": h, "query": q})
}

async fn handle(
    State(rt): State<Arc<Runtime>>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let api = |e: ApiError| refuse(e.status(), e.code(), &e.message());
    if let Err(e) = crate::api::guard::check_host(&headers, &rt.cfg.allowed_hosts)
        .and_then(|()| crate::api::guard::check_header_size(&headers))
    {
        return api(e);
    }
    let Some(hook) = rt.webhooks.get(&name) else {
        return refuse(
            404,
            "UnknownWebhook",
            &format!("No webhook is named {name}"),
        );
    };
    let timeout = std::time::Duration::from_millis(rt.cfg.body_timeout_ms);
    let body = match crate::api::guard::read_body(body, rt.cfg.max_request_bytes, timeout).await {
        Ok(b) => b,
        Err(e) => return api(e),
    };
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if let Err(r) = hook.auth.check(header, &body) {
        return refuse(401, "Unauthorized", &r.to_string());
    }
    let input = input_of(&headers, &uri, &body).to_string();
    let req = json!({"stateMachineArn": hook.machine_arn, "input": input});
    let express = rt
        .catalog
        .machine(&hook.machine_arn)
        .is_some_and(|m| m.kind == "EXPRESS");
    let result = if express {
        crate::api::start_sync_execution(&rt, &req).await
    } else {
        crate::api::start_execution(&rt, &req).await
    };
    match result {
        Ok(v) => {
            let mut r = (StatusCode::OK, v.to_string()).into_response();
            r.headers_mut().insert(
                "content-type",
                axum::http::HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(e) => api(e),
    }
}
