//! `passo bench --http --database postgres://... --nodes N`: durable Standard W1 run to
//! completion by 1, 2, ... N `passo server` nodes sharing one PostgreSQL database (the load
//! spread round-robin over them), the database's bytes per state transition, and how many
//! parked executions a gigabyte of database holds.
//!
//! W1's ten Pass states end in the start's own step, so a StartExecution's latency is also
//! the execution's time to completion.

use crate::bench_http::{
    count_executions, create, free_port, load_spread, Conn, Server, W1_TRANSITIONS,
};
use passo_store::{Database, Db, DbOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub struct ClusterArgs {
    pub database: String,
    pub nodes: usize,
    pub connections: usize,
    pub seconds: f64,
    pub parked: usize,
    /// Finished executions to add to the database before one node's round is run again.
    pub finished: usize,
    pub w1: PathBuf,
}

const START: &str =
    "X-Amz-Target: AWSStepFunctions.StartExecution\r\nContent-Type: application/x-amz-json-1.0\r\n";

/// `n` nodes on the database, each with a data directory of its own under `dir` and the
/// first one's task-token keys (any node must accept another's tokens).
fn start_nodes(dir: &Path, database: &str, n: usize, tag: &str) -> anyhow::Result<Vec<Server>> {
    let mut nodes: Vec<Server> = Vec::new();
    for i in 0..n {
        let data = dir.join(format!("node{i}"));
        std::fs::create_dir_all(&data)?;
        if let Some(first) = nodes.first() {
            std::fs::copy(first.data.join("token.keys"), data.join("token.keys"))?;
        }
        let id = format!("bench-{tag}-{i}");
        let extra = ["--database", database, "--node-id", &id];
        nodes.push(Server::start_with(data, free_port(), &extra)?);
    }
    Ok(nodes)
}

async fn run(a: &ClusterArgs) -> anyhow::Result<()> {
    let w1 = std::fs::read_to_string(&a.w1)?;
    let db = Db::connect(
        &Database::Postgres(a.database.clone()),
        DbOptions::default(),
    )?;
    let Some(shared) = db.shared() else {
        anyhow::bail!("--nodes needs a PostgreSQL --database");
    };
    let tmp = std::env::temp_dir().join(format!("passo-bench-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    outln!(
        "{:<40} {:>9} {:>9} {:>12} {:>9} {:>9} {:>9}",
        "Standard W1 to completion, PostgreSQL",
        "done",
        "exec/s",
        "transit./s",
        "p50 ms",
        "p99 ms",
        "B/trans."
    );
    let mut first_machine = None;
    for k in 1..=a.nodes {
        let label = format!(
            "{k} node{}, {} conns",
            if k == 1 { "" } else { "s" },
            a.connections
        );
        let machine = round(a, &w1, shared, &tmp, k, &format!("{k}"), &label).await?;
        first_machine.get_or_insert(machine);
    }
    if let (true, Some(machine)) = (a.finished > 0, first_machine) {
        // The same round again, one node, once the database holds `finished` more finished
        // executions: new ones must not be slowed by old ones.
        use passo_store::seed;
        let template = seed::one_succeeded(&a.database, &machine).map_err(anyhow::Error::msg)?;
        let t0 = Instant::now();
        let mut made = 0;
        while made < a.finished {
            let n = (a.finished - made).min(500_000);
            seed::copy_finished(&a.database, &template, made, n).map_err(anyhow::Error::msg)?;
            made += n;
            eprint!(
                "\r  adding finished executions: {made} of {} ({:.0} s)",
                a.finished,
                t0.elapsed().as_secs_f64()
            );
        }
        eprintln!();
        seed::analyze(&a.database).map_err(anyhow::Error::msg)?;
        let label = format!("1 node, {} more finished", a.finished);
        round(a, &w1, shared, &tmp, 1, "after", &label).await?;
    }
    if a.parked > 0 {
        let tag = format!("{}-parked", std::process::id());
        let nodes = start_nodes(&tmp.join("parked"), &a.database, 1, &tag)?;
        let addrs = vec![nodes[0].addr.clone()];
        let mut admin = Conn::open(&addrs[0]).await?;
        let wait = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"Next":"P"},"P":{"Type":"Pass","End":true}}}"#;
        let machine = create(&mut admin, &format!("parked-{tag}"), "STANDARD", wait).await?;
        let before = shared.execution_bytes()?;
        let sm = machine.clone();
        load_spread(
            &addrs,
            a.connections,
            0.0,
            Some(a.parked),
            "/",
            START,
            move |i| format!(r#"{{"stateMachineArn":"{sm}","name":"p{i}","input":"{{}}"}}"#),
        )
        .await?;
        let bytes = (shared.execution_bytes()? - before).max(1) as f64;
        let per = bytes / a.parked as f64;
        outln!(
            "Parked in a Wait: {} executions take {:.1} MB ({per:.0} B each): {:.1} million per GB",
            a.parked,
            bytes / 1e6,
            1e9 / per / 1e6
        );
    }
    db.close();
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

/// One round: `k` nodes started on the database, W1 started through them for the
/// benchmark's time and run to completion; prints its row and answers W1's machine.
async fn round(
    a: &ClusterArgs,
    w1: &str,
    shared: &dyn passo_store::Shared,
    tmp: &Path,
    k: usize,
    name: &str,
    label: &str,
) -> anyhow::Result<String> {
    let tag = format!("{}-{name}", std::process::id());
    let nodes = start_nodes(&tmp.join(format!("n{name}")), &a.database, k, &tag)?;
    let addrs: Vec<String> = nodes.iter().map(|s| s.addr.clone()).collect();
    let mut admin = Conn::open(&addrs[0]).await?;
    let machine = create(&mut admin, &format!("w1-{tag}"), "STANDARD", w1).await?;
    let before = shared.execution_bytes()?;
    let t0 = Instant::now();
    let sm = machine.clone();
    let run = load_spread(
        &addrs,
        a.connections,
        a.seconds,
        None,
        "/",
        START,
        move |i| format!(r#"{{"stateMachineArn":"{sm}","name":"e{i}","input":"{{}}"}}"#),
    )
    .await?;
    let mut done = 0;
    while t0.elapsed() < Duration::from_secs(300) {
        done = count_executions(&mut admin, &machine, "SUCCEEDED").await?;
        if done >= run.count - run.errors {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    let bytes = (shared.execution_bytes()? - before).max(0) as f64;
    outln!(
        "{label:<40} {:>9} {:>9.0} {:>12.0} {:>9.2} {:>9.2} {:>9.0}",
        done,
        done as f64 / secs,
        done as f64 * W1_TRANSITIONS / secs,
        run.pct(0.5),
        run.pct(0.99),
        bytes / (done.max(1) as f64 * W1_TRANSITIONS)
    );
    if run.errors > 0 {
        outln!("  {} starts were refused", run.errors);
    }
    Ok(machine)
}

pub fn main(a: ClusterArgs) -> ExitCode {
    crate::bench_http::load_generator(run(&a))
}
