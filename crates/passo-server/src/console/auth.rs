//! Who may use the console.
//!
//! - Always: the Host must be an IP address, localhost or a configured name (the API's own
//!   check, `api::guard::check_host`), which keeps DNS-rebinding pages out; and every action
//!   (a POST) must carry the CSRF token in `X-Passo-Csrf` with a JSON body. A page of another
//!   origin can neither read the token nor send that header without a CORS preflight, which
//!   the console never grants.
//! - When access keys are configured: signing in with one (its id and secret) opens a
//!   session, held in memory and named by an HttpOnly, SameSite=Strict cookie; every other
//!   console request needs it. Without keys the server listens on loopback only unless it
//!   was started with `--insecure-no-auth` (as for the API), and the CSRF token is one per
//!   server start.

use super::{body_object, fail, ok, Console, Ctx};
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;

pub const COOKIE: &str = "passo_console";
const SESSION_MS: i64 = 12 * 3600 * 1000;
const MAX_SESSIONS: usize = 1000;

struct Session {
    key_id: String,
    csrf: String,
    expires_ms: i64,
}

pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    /// The CSRF token when no keys are configured.
    open_csrf: String,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            map: Mutex::default(),
            open_csrf: random(),
        }
    }
}

/// 244 random bits (two v4 UUIDs, from the operating system's generator), as hex.
fn random() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Whoever a request comes from.
pub struct Caller {
    pub csrf: String,
    pub key_id: Option<String>,
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

impl Console {
    fn keys_required(&self) -> bool {
        !self.rt.cfg.access_keys.is_empty()
    }

    pub(super) fn host(&self, headers: &HeaderMap) -> Result<(), Response> {
        crate::api::guard::check_host(headers, &self.rt.cfg.allowed_hosts)
            .map_err(|e| fail(StatusCode::FORBIDDEN, e.code(), &e.message()))
    }

    /// The caller of a read: a valid Host, and a session when keys are configured.
    pub(super) fn caller(&self, headers: &HeaderMap) -> Result<Caller, Response> {
        self.host(headers)?;
        if !self.keys_required() {
            return Ok(Caller {
                csrf: self.sessions.open_csrf.clone(),
                key_id: None,
            });
        }
        let now = crate::runtime::now_ms();
        let id = cookie(headers).unwrap_or("");
        let map = self.sessions.map.lock().unwrap();
        match map.get(id) {
            Some(s) if s.expires_ms > now => Ok(Caller {
                csrf: s.csrf.clone(),
                key_id: Some(s.key_id.clone()),
            }),
            _ => Err(fail(
                StatusCode::UNAUTHORIZED,
                "SignInRequired",
                "Sign in with an access key to use the console",
            )),
        }
    }

    /// The caller of an action: as a read, plus a JSON body and the CSRF token.
    pub(super) fn actor(&self, headers: &HeaderMap) -> Result<Caller, Response> {
        let c = self.caller(headers)?;
        json_body(headers)?;
        let sent = headers
            .get("x-passo-csrf")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !same(sent, &c.csrf) {
            return Err(fail(
                StatusCode::FORBIDDEN,
                "InvalidCsrfToken",
                "The request lacks the console's CSRF token",
            ));
        }
        Ok(c)
    }
}

fn json_body(headers: &HeaderMap) -> Result<(), Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.split(';').next().unwrap_or("").trim() == "application/json" {
        return Ok(());
    }
    Err(fail(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaType",
        "Console actions take application/json",
    ))
}

/// Whether sign-in is needed, and the CSRF token once it is not.
pub async fn session(c: Ctx, headers: HeaderMap) -> Response {
    match c.caller(&headers) {
        Ok(who) => ok(json!({
            "signInRequired": c.keys_required(),
            "signedIn": who.key_id.is_some(),
            "accessKeyId": who.key_id,
            "csrf": who.csrf,
            "region": c.rt.cfg.realm.region,
            "account": c.rt.cfg.realm.account,
        })),
        Err(r) => r,
    }
}

/// Signs in with an access key's id and secret; answers the session cookie.
pub async fn login(c: Ctx, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = c.host(&headers).and_then(|_| json_body(&headers)) {
        return r;
    }
    let req = match body_object(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id = req["accessKeyId"].as_str().unwrap_or("");
    let secret = req["secretAccessKey"].as_str().unwrap_or("");
    let known =
        c.rt.cfg
            .access_keys
            .iter()
            .any(|(k, s)| same(k, id) && same(s, secret));
    if !known {
        return fail(
            StatusCode::UNAUTHORIZED,
            "InvalidCredentials",
            "The access key id or secret is not one this server accepts",
        );
    }
    let sid = random();
    let csrf = random();
    {
        let now = crate::runtime::now_ms();
        let mut map = c.sessions.map.lock().unwrap();
        map.retain(|_, s| s.expires_ms > now);
        if map.len() >= MAX_SESSIONS {
            // The one closest to expiring makes room.
            if let Some(k) = map
                .iter()
                .min_by_key(|(_, s)| s.expires_ms)
                .map(|(k, _)| k.clone())
            {
                map.remove(&k);
            }
        }
        map.insert(
            sid.clone(),
            Session {
                key_id: id.to_string(),
                csrf: csrf.clone(),
                expires_ms: now + SESSION_MS,
            },
        );
    }
    let mut r = ok(json!({"signedIn": true, "accessKeyId": id, "csrf": csrf}));
    let set = format!(
        "{COOKIE}={sid}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_MS / 1000
    );
    if let Ok(v) = HeaderValue::from_str(&set) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

pub async fn logout(c: Ctx, headers: HeaderMap) -> Response {
    if let Err(r) = c.actor(&headers) {
        return r;
    }
    if let Some(id) = cookie(&headers) {
        c.sessions.map.lock().unwrap().remove(id);
    }
    let mut r = ok(json!({"signedIn": false}));
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "passo_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}
