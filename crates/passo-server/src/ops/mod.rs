//! What operators watch: `GET /healthz/live` (the process answers), `GET /healthz/ready`
//! (the store answers a read: send traffic here), and `GET /metrics` in Prometheus's text
//! format ([`metrics`]). They are outside `POST /`, so they need no signature; like the API
//! they answer loopback only unless the server was told to listen wider.

pub mod metrics;

use crate::runtime::Runtime;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

pub fn routes() -> Router<Arc<Runtime>> {
    Router::new()
        .route("/healthz/live", get(live))
        .route("/healthz/ready", get(ready))
        .route("/metrics", get(scrape))
}

fn refused_host(rt: &Runtime, headers: &HeaderMap) -> Option<Response> {
    crate::api::guard::check_host(headers, &rt.cfg.allowed_hosts)
        .err()
        .map(|e| (StatusCode::FORBIDDEN, e.message()).into_response())
}

async fn live(State(rt): State<Arc<Runtime>>, headers: HeaderMap) -> Response {
    refused_host(&rt, &headers).unwrap_or_else(|| (StatusCode::OK, "live\n").into_response())
}

/// Ready when the store answers a read (a cheap one: the machines' catalog).
async fn ready(State(rt): State<Arc<Runtime>>, headers: HeaderMap) -> Response {
    if let Some(r) = refused_host(&rt, &headers) {
        return r;
    }
    let db = rt.db.clone();
    match tokio::task::spawn_blocking(move || db.machine("arn:passo:readiness-probe")).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready\n").into_response(),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n")).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

async fn scrape(State(rt): State<Arc<Runtime>>, headers: HeaderMap) -> Response {
    if let Some(r) = refused_host(&rt, &headers) {
        return r;
    }
    let mut r = rt.metrics.render(&rt).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    );
    r
}
