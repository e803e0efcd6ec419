//! Accepting connections with limits, so that slow or idle clients cannot hold the server:
//! a header-read timeout (which hyper also applies while a keep-alive connection waits for
//! its next request, so it is the idle timeout too), a body-read timeout (in the request
//! handler), and a cap on open connections. A connection over the cap is answered at once
//! with a JSON `ServiceUnavailable` and closed, so the file descriptors it would take stay
//! free and clients (the SDKs retry it) hear why.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The limits on connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time a client has to send a request's headers, and a kept-alive connection to start
    /// its next request.
    pub header_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

/// The connection cap that fits the process's file descriptor limit: half of it, leaving
/// the rest for the database, outgoing calls and command functions.
pub fn default_max_connections() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(8192);
    ((soft / 2) as usize).clamp(64, 4096)
}

/// Serves `app` on `listener` until `shutdown` resolves; then lets the open requests finish
/// (10 s at most).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                // Out of file descriptors, or a connection reset before it was taken:
                // wait a moment rather than spin.
                Err(e) => {
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Errors here are the client's (a reset, a timeout): nothing to report.
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => {}
    }
    Ok(())
}

/// Answers a connection over the cap and closes it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let body = r#"{"__type":"ServiceUnavailable","message":"Too many open connections; retry later (passo server --max-connections)"}"#;
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        uuid::Uuid::new_v4(),
        body.len()
    );
    let write = async {
        // The request is read first (what has arrived of it): closing a socket with unread
        // bytes resets it, and the client would lose the answer.
        let mut buf = [0u8; 16 * 1024];
        let _ = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await;
        stream.write_all(resp.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), write).await;
}
