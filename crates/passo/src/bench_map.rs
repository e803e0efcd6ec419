//! `passo bench --map-rows N`: a Distributed Map over an N-row CSV (or N JSONL lines) in a
//! local bucket, each child a Pass state, MaxConcurrency 1,000, results written back to the
//! bucket. Measured in process (as `passo run` runs it) and, with `--http`, in `passo server`
//! (EXPRESS children, then `--standard-children` durable STANDARD children with the store's
//! growth per child). Prints the wall time, children per second and the peak resident memory.

use crate::bench_http::{create, free_port, Conn, Server};
use passo_engine::driver::{self, RunOptions, TaskResult};
use passo_engine::{ExecutionInfo, Status};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct MapArgs {
    pub rows: usize,
    pub jsonl: bool,
    pub http: bool,
    pub standard_children: usize,
}

/// The benchmark's machine: the data file's rows, EXPRESS or STANDARD Pass children.
fn machine(key: &str, jsonl: bool, execution_type: &str) -> Value {
    let reader = if jsonl {
        json!({"InputType": "JSONL"})
    } else {
        json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})
    };
    json!({
        "StartAt": "Rows",
        "States": {"Rows": {
            "Type": "Map",
            "MaxConcurrency": 1000,
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": reader,
                "Parameters": {"Bucket": "bench", "Key": key}
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
                "StartAt": "P",
                "States": {"P": {"Type": "Pass", "End": true}}
            },
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "bench", "Prefix": "results"},
                "WriterConfig": {"OutputType": "JSONL", "Transformation": "COMPACT"}
            },
            "End": true
        }}
    })
}

/// Writes the data file (once per size) and answers its key.
fn data_file(buckets: &Path, rows: usize, jsonl: bool) -> std::io::Result<String> {
    let key = format!("rows-{rows}.{}", if jsonl { "jsonl" } else { "csv" });
    let dir = buckets.join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(&key);
    if path.exists() {
        return Ok(key);
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
    if !jsonl {
        writeln!(f, "id,name,amount")?;
    }
    for i in 0..rows {
        if jsonl {
            writeln!(
                f,
                "{{\"id\":{i},\"name\":\"n{}\",\"amount\":{}.{:02}}}",
                i % 977,
                i % 1000,
                i % 100
            )?;
        } else {
            writeln!(f, "{i},n{},{}.{:02}", i % 977, i % 1000, i % 100)?;
        }
    }
    f.flush()?;
    Ok(key)
}

/// The peak resident memory of a process (VmHWM), in MB.
fn peak_mb(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn report(what: &str, children: usize, took: Duration, peak: f64) {
    outln!(
        "{what:<44} {children:>10} children {:>8.2} s {:>10.0} children/s  peak RSS {peak:.0} MB",
        took.as_secs_f64(),
        children as f64 / took.as_secs_f64()
    );
}

pub fn main(a: MapArgs) -> ExitCode {
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: &MapArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join("passo-bench-map");
    let buckets = dir.join("buckets");
    let key = data_file(&buckets, a.rows, a.jsonl)?;
    let r = if a.http {
        rt()?.block_on(http(a, &dir, &buckets, &key))
    } else {
        in_process(a, &buckets, &key)
    };
    // The results written back (tens of MB a run) are not kept; the data files are.
    let _ = std::fs::remove_dir_all(buckets.join("bench").join("results"));
    r
}

fn rt() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn in_process(a: &MapArgs, buckets: &Path, key: &str) -> anyhow::Result<()> {
    let mut project = passo_tasks::project::Project::default();
    crate::project::choose_buckets(&mut project, Some(buckets.to_path_buf()), Path::new("."));
    let (integrations, io) =
        crate::project::local_integrations(project).map_err(|e| anyhow::anyhow!(e))?;
    let m = passo_asl::parse(&machine(key, a.jsonl, "EXPRESS"))
        .map_err(|d| anyhow::anyhow!("{:?}", d.first()))?;
    let mut host = crate::map_host::RunHost::new(&integrations, &io, true);
    let info = ExecutionInfo::local("bench-map", chrono::Utc::now().timestamp_millis(), 1);
    let opts = RunOptions {
        record_history: true,
        ..RunOptions::default()
    };
    let start = Instant::now();
    let run = driver::run_hosted(
        Arc::new(m),
        info,
        json!({}),
        &opts,
        &mut |_| TaskResult::Success(Value::Null),
        &mut host,
    );
    let took = start.elapsed();
    if run.outcome.status != Status::Succeeded {
        anyhow::bail!("the Map Run did not succeed: {:?}", run.outcome);
    }
    report("passo run, EXPRESS children", a.rows, took, peak_mb("self"));
    Ok(())
}

/// Runs the machine once on the server and answers the time it took.
async fn once(
    conn: &mut Conn,
    s: &Server,
    name: &str,
    def: &Value,
) -> anyhow::Result<(Duration, f64)> {
    let arn = create(conn, name, "STANDARD", &def.to_string()).await?;
    let start = Instant::now();
    let ex = conn
        .json("StartExecution", &json!({"stateMachineArn": arn}))
        .await?["executionArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut peak: f64 = 0.0;
    loop {
        let d = conn
            .json("DescribeExecution", &json!({"executionArn": ex}))
            .await?;
        peak = peak.max(s.rss_mb());
        match d["status"].as_str() {
            Some("RUNNING") => tokio::time::sleep(Duration::from_millis(50)).await,
            Some("SUCCEEDED") => return Ok((start.elapsed(), peak)),
            other => anyhow::bail!("the Map Run's execution ended {other:?}: {d}"),
        }
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

async fn http(a: &MapArgs, dir: &Path, buckets: &Path, key: &str) -> anyhow::Result<()> {
    let data: PathBuf = dir.join(format!("server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let b = buckets.to_string_lossy().to_string();
    let s = Server::start_with(data.clone(), free_port(), &["--buckets-dir", &b])?;
    let mut conn = Conn::open(&s.addr).await?;
    let (took, peak) = once(
        &mut conn,
        &s,
        "map-express",
        &machine(key, a.jsonl, "EXPRESS"),
    )
    .await?;
    report("passo server, EXPRESS children", a.rows, took, peak);
    if a.standard_children > 0 {
        let small = data_file(buckets, a.standard_children, a.jsonl)?;
        let before = dir_bytes(&data);
        let def = machine(&small, a.jsonl, "STANDARD");
        let (took, peak) = once(&mut conn, &s, "map-standard", &def).await?;
        report(
            "passo server, STANDARD children (durable)",
            a.standard_children,
            took,
            peak,
        );
        let grown = dir_bytes(&data).saturating_sub(before);
        outln!(
            "store growth: {:.0} bytes per STANDARD child ({:.1} MB for {})",
            grown as f64 / a.standard_children as f64,
            grown as f64 / 1e6,
            a.standard_children
        );
    }
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
