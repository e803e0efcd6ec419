//! `passo bench --long-history` (with `--database URL` on PostgreSQL): what a long history
//! costs a server. Executions loop over a Task (an HTTP function echoing its payload, served
//! by this process) and a Choice, one step per round, until they hold ~20,000 history
//! events, then park in a one-hour Wait, so they leave memory. Then:
//! 1. GetExecutionHistory over one execution of 25,000 events, in pages of 1,000;
//! 2. the server is restarted (SIGKILL), and each long execution is stopped
//!    (StopExecution rebuilds it from the store, steps it and commits): its latency is the
//!    resume's, next to the same call on an execution of one step.

use crate::bench_http::{create, free_port, Conn, Server};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub struct HistoryArgs {
    /// PostgreSQL (`postgres://...`) instead of SQLite in a data directory.
    pub database: Option<String>,
    /// History events of each long execution (about).
    pub events: usize,
    /// Long executions to resume.
    pub executions: usize,
}

/// Events one round of the loop writes: TaskStateEntered, LambdaFunctionScheduled, Started,
/// Succeeded, TaskStateExited, ChoiceStateEntered, ChoiceStateExited.
const EVENTS_PER_ROUND: usize = 7;

fn looping(resource: &str) -> String {
    json!({"StartAt": "Count", "States": {
        "Count": {"Type": "Task", "Resource": resource,
                  "Parameters": {"i.$": "States.MathAdd($.i, 1)", "n.$": "$.n"},
                  "Next": "More"},
        "More": {"Type": "Choice",
                 "Choices": [{"Variable": "$.i", "NumericLessThanPath": "$.n", "Next": "Count"}],
                 "Default": "Park"},
        "Park": {"Type": "Wait", "Seconds": 3600, "End": true}}})
    .to_string()
}

fn start_server(
    a: &HistoryArgs,
    data: std::path::PathBuf,
    project: &str,
) -> anyhow::Result<Server> {
    let mut extra = vec!["--project", project];
    if let Some(db) = &a.database {
        extra.extend(["--database", db.as_str(), "--node-id", "bench-history"]);
    }
    Server::start_with(data, free_port(), &extra)
}

/// The last event of an execution (None while it has none).
async fn last_event(conn: &mut Conn, arn: &str) -> anyhow::Result<Value> {
    let v = conn
        .json(
            "GetExecutionHistory",
            &json!({"executionArn": arn, "maxResults": 1, "reverseOrder": true}),
        )
        .await?;
    Ok(v["events"][0].clone())
}

/// StopExecution's latency (ms).
async fn stop(conn: &mut Conn, arn: &str) -> anyhow::Result<f64> {
    let t = Instant::now();
    conn.json("StopExecution", &json!({"executionArn": arn}))
        .await?;
    Ok(ms(t.elapsed()))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return "no samples".into();
    }
    let p50 = v[(v.len() - 1) / 2];
    format!(
        "p50 {p50:.2} ms, min {:.2}, max {:.2} ({} samples)",
        v[0],
        v[v.len() - 1],
        v.len()
    )
}

async fn run(a: &HistoryArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let app = axum::Router::new().route("/", axum::routing::post(|body: String| async { body }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let tmp = std::env::temp_dir().join(format!("passo-bench-history-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let project = tmp.join("passo.toml");
    std::fs::write(
        &project,
        format!("[functions.echo]\nurl = \"http://127.0.0.1:{port}/\"\ntimeout_seconds = 10\n"),
    )?;
    let project = project.to_string_lossy().to_string();
    let data = tmp.join("data");
    let mut server = start_server(a, data.clone(), &project)?;
    let mut admin = Conn::open(&server.addr).await?;
    let tag = std::process::id();
    let resource = "arn:aws:lambda:us-east-1:123456789012:function:echo";
    let machine = create(
        &mut admin,
        &format!("long-{tag}"),
        "STANDARD",
        &looping(resource),
    )
    .await?;
    let short = create(
        &mut admin,
        &format!("short-{tag}"),
        "STANDARD",
        r#"{"StartAt":"Park","States":{"Park":{"Type":"Wait","Seconds":3600,"End":true}}}"#,
    )
    .await?;
    let backend = if a.database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    outln!(
        "long histories, {backend}: {} executions of ~{} events, one of 25,000",
        a.executions,
        a.events
    );
    let rounds = a.events.div_ceil(EVENTS_PER_ROUND);
    let t0 = Instant::now();
    let mut long = Vec::new();
    for i in 0..a.executions {
        let v = admin
            .json(
                "StartExecution",
                &json!({"stateMachineArn": machine, "name": format!("long{i}"),
                        "input": json!({"i": 0, "n": rounds}).to_string()}),
            )
            .await?;
        long.push(v["executionArn"].as_str().unwrap_or_default().to_string());
    }
    // Past the 25,000-event limit: it fails there, with 25,001 events.
    let v = admin
        .json(
            "StartExecution",
            &json!({"stateMachineArn": machine, "name": "full",
                    "input": json!({"i": 0, "n": 25_000 / EVENTS_PER_ROUND + 10}).to_string()}),
        )
        .await?;
    let full = v["executionArn"].as_str().unwrap_or_default().to_string();
    let mut shorts = Vec::new();
    for i in 0..a.executions {
        let v = admin
            .json(
                "StartExecution",
                &json!({"stateMachineArn": short, "name": format!("short{i}"), "input": "{}"}),
            )
            .await?;
        shorts.push(v["executionArn"].as_str().unwrap_or_default().to_string());
    }
    let mut pending: Vec<String> = long.iter().chain([&full]).cloned().collect();
    while !pending.is_empty() {
        if t0.elapsed() > Duration::from_secs(900) {
            anyhow::bail!("the long executions did not park within 15 minutes");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut left = Vec::new();
        for arn in pending {
            let ev = last_event(&mut admin, &arn).await?;
            let t = ev["type"].as_str().unwrap_or_default();
            if t != "WaitStateEntered" && t != "ExecutionFailed" {
                left.push(arn);
            }
        }
        pending = left;
    }
    let last = last_event(&mut admin, &long[0]).await?;
    let events = last["id"].as_u64().unwrap_or(0);
    let total = last_event(&mut admin, &full).await?["id"]
        .as_u64()
        .unwrap_or(0);
    outln!(
        "  built in {:.1} s: {events} events each ({rounds} rounds), and {total}",
        t0.elapsed().as_secs_f64()
    );

    // History pages of 1,000 over the execution of 25,000 events (one warm-up pass).
    let mut pages = Vec::new();
    for pass in 0..2 {
        let mut token: Option<String> = None;
        let mut seen = 0;
        loop {
            let mut req = json!({"executionArn": full, "maxResults": 1000});
            if let Some(t) = &token {
                req["nextToken"] = json!(t);
            }
            let t = Instant::now();
            let v = admin.json("GetExecutionHistory", &req).await?;
            if pass == 1 {
                pages.push(ms(t.elapsed()));
            }
            seen += v["events"].as_array().map_or(0, Vec::len);
            match v["nextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        if seen as u64 != total {
            anyhow::bail!("GetExecutionHistory handed out {seen} events of {total}");
        }
    }
    outln!(
        "  GetExecutionHistory, pages of 1,000 over {total} events: {}",
        summary(pages)
    );

    // Out of memory for sure: a restart, then each execution is rebuilt by its first event.
    drop(admin);
    drop(server);
    server = start_server(a, data, &project)?;
    let mut conn = Conn::open(&server.addr).await?;
    // Alternated, so both see the same machine: short, long, short, long, ...
    let mut short_ms = Vec::new();
    let mut long_ms = Vec::new();
    for (s, l) in shorts.into_iter().zip(long) {
        short_ms.push(stop(&mut conn, &s).await?);
        long_ms.push(stop(&mut conn, &l).await?);
    }
    outln!(
        "  StopExecution after a restart, {events} events (the resume): {}",
        summary(long_ms)
    );
    outln!(
        "  StopExecution after a restart, 1 step (no replay to speak of): {}",
        summary(short_ms)
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

pub fn main(a: HistoryArgs) -> ExitCode {
    crate::bench_http::load_generator(run(&a))
}
