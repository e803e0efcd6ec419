//! `passo bench --aws`: the CPU the aws-sdk integration layer spends per call beyond the
//! network round trip. A DynamoDB GetItem endpoint is served in process (axum) and both
//! loops run on one thread of a current-thread runtime, so the thread's CPU time covers the
//! client, the server and the loopback I/O: the same in both loops except for what the
//! integration adds (model lookup, settings, credentials, shape mapping, SigV4, the answer's
//! reading). Loop 1 is `aws::call_in`; loop 2 a bare reqwest POST of the same bytes.

use passo_tasks::aws::{context::Context, credentials::Credentials, settings};
use serde_json::json;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// This thread's CPU time: /proc/thread-self/schedstat's first field (ns), else None.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

const ANSWER: &str = r#"{"Item":{"id":{"S":"order-1"},"total":{"N":"42"},"status":{"S":"PAID"}}}"#;

struct Measured {
    calls: u64,
    wall: Duration,
    cpu: Option<Duration>,
}

impl Measured {
    fn per_call(d: Duration, n: u64) -> f64 {
        d.as_secs_f64() * 1e6 / n.max(1) as f64
    }
}

async fn measure<F, Fut>(seconds: f64, mut one: F) -> Measured
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..500 {
        one().await;
    }
    let (start, cpu0) = (Instant::now(), thread_cpu());
    let mut calls = 0;
    while start.elapsed().as_secs_f64() < seconds {
        if !one().await {
            eprintln!("error: a call failed");
            break;
        }
        calls += 1;
    }
    Measured {
        calls,
        wall: start.elapsed(),
        cpu: cpu0.and_then(|c0| Some(thread_cpu()? - c0)),
    }
}

pub fn main(seconds: f64) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
        let url = format!("http://{}", listener.local_addr().map(|a| a.to_string()).unwrap_or_default());
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(|| async {
                (
                    [
                        ("content-type", "application/x-amz-json-1.0"),
                        ("x-amzn-requestid", "bench"),
                    ],
                    ANSWER,
                )
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let http = reqwest::Client::new();
        let ctx = Context::with_credentials(
            settings::ProjectAws {
                endpoint: Some(settings::EndpointSetting::Url(url.clone())),
                ..Default::default()
            },
            Credentials {
                key_id: "AKIABENCH".into(),
                secret: "bench-secret".into(),
                session_token: None,
            },
        );
        let input = json!({"TableName": "orders", "Key": {"id": {"S": "order-1"}}});
        let sdk = measure(seconds, || async {
            passo_tasks::aws::call_in(&ctx, &http, None, "dynamodb", "getItem", &input, None)
                .await
                .is_ok()
        })
        .await;
        let body = serde_json::to_vec(&input).unwrap_or_default();
        let bare = measure(seconds, || async {
            let r = http
                .post(&url)
                .header("content-type", "application/x-amz-json-1.0")
                .header("x-amz-target", "DynamoDB_20120810.GetItem")
                .body(body.clone())
                .send()
                .await;
            match r {
                Ok(r) => r.bytes().await.is_ok(),
                Err(_) => false,
            }
        })
        .await;
        println!("{:<28} {:>10} {:>14} {:>14}", "loop", "calls", "wall us/call", "cpu us/call");
        for (name, m) in [("aws-sdk:dynamodb:getItem", &sdk), ("bare reqwest POST", &bare)] {
            println!(
                "{name:<28} {:>10} {:>14.1} {:>14}",
                m.calls,
                Measured::per_call(m.wall, m.calls),
                m.cpu.map_or("n/a".into(), |c| format!("{:.1}", Measured::per_call(c, m.calls)))
            );
        }
        if let (Some(a), Some(b)) = (sdk.cpu, bare.cpu) {
            let extra = Measured::per_call(a, sdk.calls) - Measured::per_call(b, bare.calls);
            println!("integration layer: {extra:.1} us of CPU per call beyond the bare POST (goal: < 50)");
        }
        ExitCode::SUCCESS
    })
}
