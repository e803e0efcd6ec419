//! The web console at `/console/`: state machines drawn as graphs, executions followed live,
//! tasks that wait for a person answered from an inbox.
//!
//! The pages are one static HTML shell, a style sheet and a single-page app in hand-written
//! JavaScript modules (`assets/`, embedded with `include_str!`, served at `/console/js/NAME`).
//! The script reads JSON from `/console/api/...`, whose handlers answer through the same
//! functions the AWS API's handlers use (`crate::api::*`), so the console shows and does
//! exactly what the API does. Graphs are laid out and drawn in Rust ([`graph`], [`svg`]); the
//! script only colours them.
//!
//! Why no front-end build (no Vite, TypeScript, npm): what the script does is small (about
//! 1,400 lines, 63 kB, 18 kB gzipped, measured), because the heavy part (graph layout) is
//! Rust. Plain ES modules run in every current browser as written, so `cargo build` alone
//! makes a complete console on a machine without Node, there is no committed bundle that can
//! go stale (nothing for CI to rebuild and compare), and no npm dependency tree to keep up
//! to date. Every value from user data enters the page as text (`textContent` through
//! `core.js`'s `h()`; never `innerHTML`); the SVG is parsed as XML and filtered to the
//! elements `svg.rs` writes. The CSP allows no inline script or style.
//!
//! - [`auth`]: who may use it (sign-in with an access key when keys are configured, Host
//!   checks, CSRF tokens on every action).
//! - [`machines`], [`executions`], [`execution`] (one execution's page), [`live`] (its
//!   server-sent updates), [`steps`] (a state's input/output processing, step by step),
//!   [`approvals`], [`map_runs`], [`lists`] (activities, functions).

// The handlers' refusals are the HTTP answers themselves, handed straight back to axum.
#![allow(clippy::result_large_err)]

mod approvals;
mod auth;
pub mod dot;
mod execution;
mod executions;
pub mod graph;
mod lists;
mod live;
mod machines;
mod map_runs;
pub mod mermaid;
pub mod progress;
mod steps;
pub mod svg;

use crate::error::ApiError;
use crate::runtime::Runtime;
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub struct Console {
    rt: Arc<Runtime>,
    sessions: auth::Sessions,
}

type Ctx = axum::extract::State<Arc<Console>>;

/// The console's routes, with full paths (merged into the API's router, whatever its state).
pub fn router<S: Clone + Send + Sync + 'static>(rt: Arc<Runtime>) -> Router<S> {
    let c = Arc::new(Console {
        rt,
        sessions: auth::Sessions::default(),
    });
    Router::new()
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/app.css", get(style))
        .route("/console/js/{file}", get(script))
        .route("/console/api/session", get(auth::session))
        .route("/console/api/login", post(auth::login))
        .route("/console/api/logout", post(auth::logout))
        .route("/console/api/machines", get(machines::list))
        .route("/console/api/machine", get(machines::detail))
        .route("/console/api/start", post(machines::start))
        .route("/console/api/executions", get(executions::list))
        .route("/console/api/execution", get(execution::page))
        .route("/console/api/execution/live", get(live::updates))
        .route("/console/api/execution/steps", get(steps::steps))
        .route("/console/api/stop", post(execution::stop))
        .route("/console/api/redrive", post(execution::redrive))
        .route("/console/api/approvals", get(approvals::inbox))
        .route("/console/api/approve", post(approvals::approve))
        .route("/console/api/reject", post(approvals::reject))
        .route("/console/api/map-run", get(map_runs::detail))
        .route("/console/api/activities", get(lists::activities))
        .route("/console/api/functions", get(lists::functions))
        .with_state(c)
}

const INDEX: &str = include_str!("assets/index.html");
const STYLE: &str = include_str!("assets/app.css");
/// The script's modules (`app.js` imports the rest), by file name.
const SCRIPTS: &[(&str, &str)] = &[
    ("app.js", include_str!("assets/app.js")),
    ("core.js", include_str!("assets/core.js")),
    ("machines.js", include_str!("assets/machines.js")),
    ("executions.js", include_str!("assets/executions.js")),
    ("execution.js", include_str!("assets/execution.js")),
    ("approvals.js", include_str!("assets/approvals.js")),
    ("lists.js", include_str!("assets/lists.js")),
];

async fn index(c: Ctx, headers: HeaderMap) -> Response {
    // The shell holds no data; the Host check still keeps rebound names out.
    if let Err(r) = c.host(&headers) {
        return r;
    }
    asset(INDEX, "text/html; charset=utf-8")
}

async fn script(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match SCRIPTS.iter().find(|(name, _)| *name == file) {
        Some((_, body)) => asset(body, "text/javascript; charset=utf-8"),
        None => fail(StatusCode::NOT_FOUND, "NotFound", "No such console file"),
    }
}

async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    secure(r)
}

/// Headers on every console answer: no script but the console's own, no framing, no
/// sniffing, nothing cached (answers hold execution data).
fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A JSON answer.
fn ok(v: Value) -> Response {
    let mut r = (StatusCode::OK, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    secure(r)
}

/// A refusal: `{"error": CODE, "message": ...}`.
fn fail(status: StatusCode, code: &str, message: &str) -> Response {
    let mut r = (
        status,
        json!({"error": code, "message": message}).to_string(),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    secure(r)
}

/// An API error as the console shows it (AWS's error name and message).
fn api_fail(e: ApiError) -> Response {
    fail(
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
        e.code(),
        &e.message(),
    )
}

/// The answer of an API function.
fn answer(r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => ok(v),
        Err(e) => api_fail(e),
    }
}

/// A request body that must be a JSON object.
fn body_object(body: &Bytes) -> Result<Value, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(fail(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "The request body must be a JSON object",
        )),
    }
}

/// The query string's parameters (percent-decoded; `+` is a space).
fn query(uri: &Uri) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(decode(k), decode(v));
    }
    out
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("x"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A required query parameter.
fn param<'a>(q: &'a HashMap<String, String>, key: &str) -> Result<&'a str, Response> {
    q.get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            fail(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                &format!("The parameter '{key}' is required"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_scripts_import_is_served() {
        for (file, body) in SCRIPTS {
            for part in body.split("from \"./").skip(1) {
                let name = part.split('"').next().unwrap_or("");
                assert!(
                    SCRIPTS.iter().any(|(n, _)| *n == name),
                    "{file} imports {name}, which /console/js/ does not serve"
                );
            }
        }
        assert!(INDEX.contains("src=\"/console/js/app.js\""));
    }

    #[test]
    fn query_strings_are_decoded() {
        let uri: Uri = "/x?arn=arn%3Aaws%3Astates%3A%3Aa&name=a+b&bad=%zz&end=%4"
            .parse()
            .unwrap();
        let q = query(&uri);
        assert_eq!(q["arn"], "arn:aws:states::a");
        assert_eq!(q["name"], "a b");
        assert_eq!(q["bad"], "%zz");
        assert_eq!(q["end"], "%4");
    }
}
