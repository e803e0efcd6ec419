//! `aws-sdk:s3` Tasks through the real binary: the example workflow (put, list, copy, delete,
//! get, and a NoSuchKey caught by Catch) against the default local buckets, a
//! `--buckets-dir`, and a real S3-compatible server (moto, from the e2e virtualenv; skipped
//! with a note when there is none, never in CI where PASSO_REQUIRE_E2E=1).

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn example(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/s3-copy")
        .join(file)
}

fn run(cwd: &Path, extra: &[&str], env: &[(&str, &str)]) -> Value {
    let def = example("s3-copy.asl.json");
    let input = example("input.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passo"));
    cmd.current_dir(cwd)
        .args([
            "run",
            def.to_str().unwrap(),
            "--input-file",
            input.to_str().unwrap(),
            "--json",
        ])
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("passo runs");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// What the example gives wherever its buckets are.
fn assert_example_output(v: &Value) {
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let out = &v["output"];
    // md5 of the report as Step Functions serializes the Body: compact JSON.
    let etag = "\"17f1955e341ece76c647b98bd97d6499\"";
    assert_eq!(out["put"]["etag"], etag);
    assert_eq!(
        out["inbox"]["keys"],
        serde_json::json!(["inbox/report.json"])
    );
    assert_eq!(out["inbox"]["count"], 1);
    assert_eq!(out["archive"]["etag"], etag);
    assert_eq!(out["archived"]["report"], out["report"]);
    assert_eq!(out["archived"]["type"], "application/json");
    assert_eq!(out["archived"]["length"], 34);
    assert_eq!(out["original"]["Error"], "S3.NoSuchKeyException");
    let cause = out["original"]["Cause"].as_str().unwrap();
    assert!(
        cause.starts_with(
            "The specified key does not exist. (Service: S3, Status Code: 404, Request ID: "
        ),
        "{cause}"
    );
}

#[test]
fn the_example_runs_on_the_default_local_buckets_twice() {
    let dir = tempfile::tempdir().unwrap();
    assert_example_output(&run(dir.path(), &[], &[]));
    let archived = dir
        .path()
        .join("passo-data/buckets/reports/archive/report.json");
    assert_eq!(
        std::fs::read_to_string(archived).unwrap(),
        r#"{"month":"2026-01","total":1234.5}"#
    );
    assert!(!dir
        .path()
        .join("passo-data/buckets/reports/inbox/report.json")
        .exists());
    // The bucket is there now: createBucket's BucketAlreadyOwnedByYou is caught.
    assert_example_output(&run(dir.path(), &[], &[]));
}

#[test]
fn buckets_dir_chooses_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let buckets = dir.path().join("elsewhere");
    assert_example_output(&run(
        dir.path(),
        &["--buckets-dir", buckets.to_str().unwrap()],
        &[],
    ));
    assert!(buckets.join("reports/archive/report.json").exists());
    assert!(!dir.path().join("passo-data").exists());
}

#[test]
fn the_example_runs_against_an_s3_compatible_server() {
    let Some(python) = support::moto::python() else {
        return;
    };
    let (_moto, port) = support::moto::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    std::fs::write(
        dir.path().join("passo.toml"),
        format!(
            "[buckets]\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\npath_style = true\n"
        ),
    )
    .unwrap();
    let creds = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];
    assert_example_output(&run(dir.path(), &["--project", "passo.toml"], &creds));
    // Nothing was written locally; the server holds the archived copy.
    assert!(!dir.path().join("passo-data").exists());
    let check = Command::new(&python)
        .args([
            "-c",
            "import boto3,sys; s3=boto3.client('s3',endpoint_url=sys.argv[1],region_name='us-east-1',aws_access_key_id='test',aws_secret_access_key='test'); \
             print(s3.get_object(Bucket='reports',Key='archive/report.json')['Body'].read().decode()); \
             print([b['Name'] for b in s3.list_buckets()['Buckets']])",
            &endpoint,
        ])
        .output()
        .unwrap();
    let seen = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(
        seen.lines().collect::<Vec<_>>(),
        [r#"{"month":"2026-01","total":1234.5}"#, "['reports']"]
    );
    // A second run: the bucket exists (moto answers as us-east-1 S3 does) and all goes again.
    assert_example_output(&run(dir.path(), &["--project", "passo.toml"], &creds));

    // listBuckets and headObject through passo, against the same server.
    let def = dir.path().join("list.asl.json");
    std::fs::write(
        &def,
        r#"{"StartAt":"L","States":{
            "L":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:listBuckets","ResultSelector":{"names.$":"$.Buckets[*].Name"},"ResultPath":"$.buckets","Next":"H"},
            "H":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:headObject","Parameters":{"Bucket":"reports","Key":"archive/report.json"},"ResultSelector":{"size.$":"$.ContentLength","etag.$":"$.ETag"},"ResultPath":"$.head","Next":"M"},
            "M":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:s3:getObject","Parameters":{"Bucket":"nobucket","Key":"k"},"Catch":[{"ErrorEquals":["S3.NoSuchBucketException"],"ResultPath":"$.missing","Next":"E"}],"End":true},
            "E":{"Type":"Succeed"}}}"#,
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_passo"))
        .current_dir(dir.path())
        .args([
            "run",
            def.to_str().unwrap(),
            "--project",
            "passo.toml",
            "--json",
        ])
        .envs(creds)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert_eq!(
        v["output"]["buckets"]["names"],
        serde_json::json!(["reports"])
    );
    assert_eq!(v["output"]["head"]["size"], 34);
    assert_eq!(
        v["output"]["head"]["etag"],
        "\"17f1955e341ece76c647b98bd97d6499\""
    );
    assert_eq!(v["output"]["missing"]["Error"], "S3.NoSuchBucketException");
}
