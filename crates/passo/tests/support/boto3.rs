//! boto3 scripts run against the server, from the e2e virtualenv: each test file gives its
//! own prelude (clients and helpers), the script fills `out`, and its JSON comes back.

use super::Server;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The virtualenv, when it has moto's server and boto3 (else the test is skipped).
pub fn venv() -> Option<PathBuf> {
    super::moto::python().map(|p| p.parent().unwrap().parent().unwrap().to_path_buf())
}

/// Runs `script` after `prelude` with `PASSO_ENDPOINT` set to the server; answers its `out`.
pub fn run(venv: &Path, s: &Server, prelude: &str, script: &str) -> Value {
    run_with(
        venv,
        prelude,
        script,
        &[("PASSO_ENDPOINT", format!("http://{}", s.addr))],
    )
}

/// Runs `script` after `prelude` with these environment variables; answers its `out`.
pub fn run_with(venv: &Path, prelude: &str, script: &str, env: &[(&str, String)]) -> Value {
    let out = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            &format!("{prelude}\n{script}\nprint(json.dumps(out, default=str))"),
        ])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "boto3 script failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}
