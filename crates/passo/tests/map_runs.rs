//! Distributed Maps in the real `passo server`: items read from a CSV in a local bucket,
//! STANDARD children as durable executions (listed by their Map Run, described with it),
//! the Map Run as a resource (DescribeMapRun, ListMapRuns, UpdateMapRun), results written
//! back to the bucket, and a SIGKILL in the middle of the run after which no child runs
//! twice and none is lost.

mod support;

use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{create, Server};

const ROWS: usize = 300;

fn write_csv(buckets: &Path) {
    let dir = buckets.join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::from("id,amount\n");
    for i in 0..ROWS {
        text.push_str(&format!("{i},{}\n", i * 3));
    }
    std::fs::write(dir.join("rows.csv"), text).unwrap();
}

/// Each row's child waits a second (so the run is still going when the server is killed)
/// and passes its row on.
fn machine() -> Value {
    json!({
        "StartAt": "Rows",
        "States": {
            "Rows": {
                "Type": "Map",
                "Label": "rows",
                "MaxConcurrency": 40,
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                    "Parameters": {"Bucket": "data", "Key": "rows.csv"}
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Wait",
                    "States": {
                        "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
                        "Done": {"Type": "Pass", "End": true}
                    }
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "data", "Prefix": "out"}
                },
                "End": true
            }
        }
    })
}

fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn map_run_of(s: &Server, execution: &str) -> Option<String> {
    let runs = s.call("ListMapRuns", json!({"executionArn": execution}));
    runs["mapRuns"][0]["mapRunArn"].as_str().map(String::from)
}

/// Every child of the run, following the pages.
fn children(s: &Server, run: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = json!({"mapRunArn": run, "maxResults": 100});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let page = s.call("ListExecutions", req);
        out.extend(page["executions"].as_array().cloned().unwrap_or_default());
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => return out,
        }
    }
}

#[test]
fn a_csv_fans_out_to_durable_children_that_survive_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let buckets = dir.path().join("buckets");
    write_csv(&buckets);
    let data = dir.path().join("data");
    let args = ["--buckets-dir", buckets.to_str().unwrap()];
    let mut s = Server::start(&data, &args);
    let m = create(&s, "rows", "STANDARD", machine());
    let ex = s.call("StartExecution", json!({"stateMachineArn": m}))["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("the Map Run to start", 20, || map_run_of(&s, &ex).is_some());
    let run = map_run_of(&s, &ex).unwrap();
    assert!(run.contains(":mapRun:rows/rows:"), "{run}");
    // While it runs: at most MaxConcurrency children at once, counts that add up.
    wait_until("some children to end", 30, || {
        let d = s.call("DescribeMapRun", json!({"mapRunArn": run}));
        d["itemCounts"]["succeeded"].as_u64().unwrap_or(0) >= 60
    });
    let d = s.call("DescribeMapRun", json!({"mapRunArn": run}));
    assert_eq!(d["status"], "RUNNING", "{d}");
    assert!(d["itemCounts"]["running"].as_u64().unwrap() <= 40, "{d}");
    assert_eq!(d["maxConcurrency"], 40);
    s.call(
        "UpdateMapRun",
        json!({"mapRunArn": run, "maxConcurrency": 80}),
    );
    assert_eq!(
        s.call("DescribeMapRun", json!({"mapRunArn": run}))["maxConcurrency"],
        80
    );
    let before = children(&s, &run).len();
    assert!(
        (60..ROWS).contains(&before),
        "{before} children before the kill"
    );
    s.kill();
    let s = Server::start(&data, &args);
    wait_until("the execution to end after the restart", 90, || {
        s.call("DescribeExecution", json!({"executionArn": ex}))["status"] != "RUNNING"
    });
    let e = s.call("DescribeExecution", json!({"executionArn": ex}));
    assert_eq!(e["status"], "SUCCEEDED", "{e}");
    let out: Value = serde_json::from_str(e["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["MapRunArn"], json!(run));
    // Every row ran exactly once: one child per row, by name, each SUCCEEDED.
    let kids = children(&s, &run);
    assert_eq!(kids.len(), ROWS, "one child per row");
    let names: HashSet<&str> = kids.iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), ROWS, "no child started twice");
    assert!(kids.iter().all(|k| k["status"] == "SUCCEEDED"));
    assert!(kids.iter().all(|k| k["mapRunArn"] == json!(run)));
    let child = s.call(
        "DescribeExecution",
        json!({"executionArn": kids[0]["executionArn"]}),
    );
    assert_eq!(child["mapRunArn"], json!(run), "{child}");
    // The run is recorded as ended, with its counts.
    let d = s.call("DescribeMapRun", json!({"mapRunArn": run}));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["itemCounts"]["succeeded"], ROWS);
    assert_eq!(d["itemCounts"]["total"], ROWS);
    // The results are in the bucket: the manifest, and one entry per row.
    let key = out["ResultWriterDetails"]["Key"].as_str().unwrap();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(buckets.join("data").join(key)).unwrap())
            .unwrap();
    let files = manifest["ResultFiles"]["SUCCEEDED"].as_array().unwrap();
    let mut entries = 0;
    let mut rows = HashSet::new();
    for f in files {
        let text =
            std::fs::read_to_string(buckets.join("data").join(f["Key"].as_str().unwrap())).unwrap();
        let list: Vec<Value> = serde_json::from_str(&text).unwrap();
        entries += list.len();
        for r in list {
            let input: Value = serde_json::from_str(r["Input"].as_str().unwrap()).unwrap();
            rows.insert(input["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(entries, ROWS, "one result per row");
    assert_eq!(rows.len(), ROWS, "every row's result");
}

#[test]
fn failures_beyond_the_tolerance_and_missing_objects_fail_the_map_as_aws_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let buckets = dir.path().join("buckets");
    std::fs::create_dir_all(buckets.join("data")).unwrap();
    let s = Server::start(
        &dir.path().join("data"),
        &["--buckets-dir", buckets.to_str().unwrap()],
    );
    let failing = json!({
        "StartAt": "Map",
        "States": {"Map": {
            "Type": "Map",
            "ToleratedFailureCount": 1,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Check",
                "States": {
                    "Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "Bad"}], "Default": "Good"},
                    "Bad": {"Type": "Fail", "Error": "Too.Big", "Cause": "over two"},
                    "Good": {"Type": "Pass", "End": true}
                }
            },
            "End": true
        }}
    });
    let m = create(&s, "tolerance", "STANDARD", failing);
    let end = |input: &str| {
        let ex = s.call(
            "StartExecution",
            json!({"stateMachineArn": m, "input": input}),
        )["executionArn"]
            .as_str()
            .unwrap()
            .to_string();
        wait_until("the execution to end", 30, || {
            s.call("DescribeExecution", json!({"executionArn": ex}))["status"] != "RUNNING"
        });
        s.call("DescribeExecution", json!({"executionArn": ex}))
    };
    // One failure is tolerated: its error output takes its place in the result.
    let e = end("[1, 2, 3]");
    assert_eq!(e["status"], "SUCCEEDED", "{e}");
    let out: Value = serde_json::from_str(e["output"].as_str().unwrap()).unwrap();
    assert_eq!(out[0], 1);
    assert_eq!(out[2]["Error"], "Too.Big");
    // Two are not.
    let e = end("[1, 3, 4]");
    assert_eq!(e["status"], "FAILED");
    assert_eq!(e["error"], "States.ExceedToleratedFailureThreshold", "{e}");
    // A missing object: States.ItemReaderFailed, which a Catch takes.
    let reader = json!({
        "StartAt": "Map",
        "States": {
            "Map": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": "data", "Key": "missing.json"}
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": true}}
                },
                "Catch": [{"ErrorEquals": ["States.ItemReaderFailed"], "Next": "Caught"}],
                "End": true
            },
            "Caught": {"Type": "Pass", "End": true}
        }
    });
    let m2 = create(&s, "reader", "STANDARD", reader);
    let ex = s.call("StartExecution", json!({"stateMachineArn": m2}))["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("the reader execution to end", 30, || {
        s.call("DescribeExecution", json!({"executionArn": ex}))["status"] != "RUNNING"
    });
    let e = s.call("DescribeExecution", json!({"executionArn": ex}));
    assert_eq!(e["status"], "SUCCEEDED", "{e}");
    let out: Value = serde_json::from_str(e["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["Error"], "States.ItemReaderFailed", "{out}");
    assert!(
        out["Cause"].as_str().unwrap().contains("does not exist"),
        "{out}"
    );
}

/// A function that fails odd items (after a second, so that the even ones have succeeded by
/// then) until `marker` exists.
fn flaky_project(dir: &Path, marker: &Path) -> std::path::PathBuf {
    let p = dir.join("passo.toml");
    let script = format!(
        "read -r x || true; case \"$x\" in *'\"n\":1'*|*'\"n\":3'*|*'\"n\":5'*) [ -f {} ] || {{ sleep 1; exit 1; }};; esac; printf '%s' \"$x\"",
        marker.display()
    );
    let toml = format!(
        "[functions.flaky]\ncommand = [\"sh\", \"-c\", {}]\n",
        serde_json::to_string(&script).unwrap()
    );
    std::fs::write(&p, toml).unwrap();
    p
}

#[test]
fn redriving_a_failed_map_run_reruns_only_its_unsuccessful_children() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("fixed");
    let proj = flaky_project(dir.path(), &marker);
    let s = Server::start(
        &dir.path().join("data"),
        &["--project", proj.to_str().unwrap()],
    );
    let def = json!({
        "StartAt": "Map",
        "States": {"Map": {
            "Type": "Map",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Call",
                "States": {"Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "flaky", "Payload.$": "$"},
                    "OutputPath": "$.Payload",
                    "End": true
                }}
            },
            "End": true
        }}
    });
    let m = create(&s, "flaky", "STANDARD", def);
    let input = json!([{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}, {"n": 5}, {"n": 6}]).to_string();
    let ex = s.call(
        "StartExecution",
        json!({"stateMachineArn": m, "input": input}),
    )["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let status = |s: &Server| {
        s.call("DescribeExecution", json!({"executionArn": ex}))["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    wait_until("the first attempt to fail", 30, || status(&s) != "RUNNING");
    let e = s.call("DescribeExecution", json!({"executionArn": ex}));
    assert_eq!(e["status"], "FAILED", "{e}");
    assert_eq!(e["error"], "States.ExceedToleratedFailureThreshold", "{e}");
    let run = map_run_of(&s, &ex).unwrap();
    wait_until("the first attempt's children to end", 30, || {
        children(&s, &run).iter().all(|k| k["status"] != "RUNNING")
    });
    let first: Vec<Value> = children(&s, &run);
    assert!(
        first.iter().any(|k| k["status"] == "SUCCEEDED"),
        "{first:?}"
    );
    std::fs::write(&marker, "").unwrap();
    s.call("RedriveExecution", json!({"executionArn": ex}));
    wait_until("the redriven execution to end", 30, || {
        status(&s) != "RUNNING"
    });
    let e = s.call("DescribeExecution", json!({"executionArn": ex}));
    assert_eq!(e["status"], "SUCCEEDED", "{e}");
    let out: Value = serde_json::from_str(e["output"].as_str().unwrap()).unwrap();
    let ns: Vec<u64> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["n"].as_u64().unwrap())
        .collect();
    assert_eq!(ns, vec![1, 2, 3, 4, 5, 6], "{out}");
    // The same Map Run, redriven: the same six children, the unsuccessful ones redriven once,
    // the ones that had succeeded not run again.
    assert_eq!(map_run_of(&s, &ex).as_deref(), Some(run.as_str()));
    let kids = children(&s, &run);
    assert_eq!(kids.len(), 6, "{kids:?}");
    for k in &kids {
        assert_eq!(k["status"], "SUCCEEDED", "{k}");
        let before = first.iter().find(|f| f["name"] == k["name"]).unwrap();
        let expected = if before["status"] == "SUCCEEDED" {
            0
        } else {
            1
        };
        assert_eq!(k["redriveCount"], expected, "{k} was {before}");
    }
    let d = s.call("DescribeMapRun", json!({"mapRunArn": run}));
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["redriveCount"], 1, "{d}");
    let h = support::history(&s, &ex);
    let redriven: Vec<&Value> = h.iter().filter(|e| e["type"] == "MapRunRedriven").collect();
    assert_eq!(redriven.len(), 1, "{h:?}");
    assert_eq!(
        redriven[0]["mapRunRedrivenEventDetails"]["mapRunArn"],
        json!(run)
    );
}
