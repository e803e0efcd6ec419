//! The end-to-end suite in tests/e2e: the real binary driven by boto3 and the aws CLI
//! (installed from PyPI into a virtualenv by `.ci/run`, which sets `PASSO_REQUIRE_E2E=1`).
//! Without Python clients installed the suite is skipped locally, never in CI.

use std::process::Command;

#[test]
fn boto3_and_aws_cli_drive_the_server() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let required = std::env::var("PASSO_REQUIRE_E2E").is_ok_and(|v| v == "1");
    let venv = std::env::var("PASSO_VENV").unwrap_or_else(|_| "/tmp/passo-venv".into());
    if !required && !std::path::Path::new(&venv).join("bin/python").exists() {
        eprintln!("skipped: no virtualenv at {venv} (run tests/e2e/run.sh once, or .ci/run)");
        return;
    }
    let out = Command::new("bash")
        .arg(format!("{root}/tests/e2e/run.sh"))
        .env("PASSO_BIN", env!("CARGO_BIN_EXE_passo"))
        .env("PASSO_VENV", &venv)
        .output()
        .expect("tests/e2e/run.sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The summary lines (pass counts, the API errors conformance rate).
    for line in stdout.lines().chain(stderr.lines()) {
        if line.starts_with("e2e:") || line.starts_with("API errors conformance") {
            println!("{line}");
        }
    }
    // The failing tests' names first: CI keeps only the head and tail of a long log.
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("FAILED "))
        .collect();
    assert!(
        out.status.success(),
        "e2e suite failed:\n{}\n\n{stdout}\n{stderr}",
        failed.join("\n")
    );
}
