//! `passo bench --http`'s webhook figures: `POST /webhooks/NAME` signed as GitHub signs
//! (HMAC-SHA256 of the body in X-Hub-Signature-256), starting W1 as an Express machine
//! (answered with its output, as StartSyncExecution) and as a Standard one (answered once
//! the start is committed). The body is the same for every call, so its signature is
//! computed once: the figures are the server's, not the client's hashing.

use crate::bench_http::{create, load_posts, Conn};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

const SECRET: &str = "bench-secret";

fn signature(body: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    m.update(body.as_bytes());
    let hex: String = m
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// Creates the two webhooks and measures each for `seconds` over `connections`.
pub(crate) async fn run(
    addr: &str,
    connections: usize,
    seconds: f64,
    admin: &mut Conn,
    w1: &str,
    tag: u32,
) -> anyhow::Result<()> {
    for kind in ["EXPRESS", "STANDARD"] {
        let name = format!("hook-{}-{tag}", kind.to_ascii_lowercase());
        let machine = create(admin, &name, kind, w1).await?;
        let (status, body) = admin
            .post(
                "/",
                "X-Amz-Target: Passo.CreateWebhook\r\nContent-Type: application/x-amz-json-1.0\r\n",
                &json!({"name": name, "stateMachineArn": machine, "secret": SECRET}).to_string(),
            )
            .await?;
        if status != 200 {
            anyhow::bail!(
                "CreateWebhook answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let path = format!("/webhooks/{name}");
        let payload = r#"{"action":"opened","number":1}"#;
        let headers = format!(
            "Content-Type: application/json\r\nX-Hub-Signature-256: {}\r\n",
            signature(payload)
        );
        // A short warm-up, then the measurement.
        let body = move |_| payload.to_string();
        load_posts(addr, connections, 0.3, None, &path, &headers, body).await?;
        let run = load_posts(addr, connections, seconds, None, &path, &headers, body).await?;
        run.print(&format!(
            "Webhook (HMAC) -> {}, {connections} conns",
            if kind == "EXPRESS" {
                "Express"
            } else {
                "Standard"
            }
        ));
    }
    Ok(())
}
