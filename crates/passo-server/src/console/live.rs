//! Live updates of one execution as server-sent events: `change` each time its status or
//! number of history events moves (the script then reloads the page's data), `end` once it
//! has stopped. Read by polling the store (or the recent list) every few hundred
//! milliseconds: one cheap read per open page, and nothing in the runtime's hot path.

use super::execution::is_express;
use super::{param, query, Ctx};
use axum::http::{HeaderMap, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

const EVERY: Duration = Duration::from_millis(250);
/// A page left open on a forgotten tab stops being fed after this long (it reconnects).
const MAX_OPEN: Duration = Duration::from_secs(3600);

/// (status, events) now; None when the execution is gone.
fn progress(c: &super::Console, arn: &str) -> Option<(String, usize)> {
    if is_express(arn) {
        let e = c.rt.recent_express.get(arn)?;
        return Some((e.status.to_string(), e.history.len() + e.history_dropped));
    }
    let row = c.rt.db.execution(arn).ok()??;
    let n = c.rt.db.steps(arn).ok()?.len();
    Some((row.status, n))
}

struct Watch {
    c: Arc<super::Console>,
    arn: String,
    last: Option<(String, usize)>,
    ended: bool,
    since: tokio::time::Instant,
}

pub async fn updates(c: Ctx, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = c.caller(&headers) {
        return r;
    }
    let q = query(&uri);
    let arn = match param(&q, "arn") {
        Ok(a) => a.to_string(),
        Err(r) => return r,
    };
    let w = Watch {
        c: c.0.clone(),
        arn,
        last: None,
        ended: false,
        since: tokio::time::Instant::now(),
    };
    let s = stream::unfold(w, |mut w| async move {
        if w.ended || w.since.elapsed() > MAX_OPEN {
            return None;
        }
        loop {
            let now = progress(&w.c, &w.arn);
            let Some((status, n)) = now.clone() else {
                w.ended = true;
                let ev = Event::default().event("end").data("{\"status\":null}");
                return Some((Ok::<_, Infallible>(ev), w));
            };
            if now != w.last {
                w.last = now;
                let data = serde_json::json!({"status": status, "events": n}).to_string();
                let running = status == "RUNNING";
                w.ended = !running;
                let kind = if running { "change" } else { "end" };
                return Some((Ok(Event::default().event(kind).data(data)), w));
            }
            tokio::time::sleep(EVERY).await;
        }
    });
    super::secure(Sse::new(s).keep_alive(KeepAlive::default()).into_response())
}
