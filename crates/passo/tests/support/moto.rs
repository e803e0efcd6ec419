//! moto's server mode (from PyPI, in the e2e virtualenv): a real AWS-compatible server for
//! S3, DynamoDB, SQS, SNS, EventBridge and more, started by the test that needs it.
// Shared by test crates that each use a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// moto's server, stopped when dropped.
pub struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The virtualenv's python when it has moto's server; None (and a note) to skip the test,
/// unless `PASSO_REQUIRE_E2E=1` (CI), which fails it.
pub fn python() -> Option<PathBuf> {
    let required = std::env::var("PASSO_REQUIRE_E2E").is_ok_and(|v| v == "1");
    let venv = std::env::var("PASSO_VENV").unwrap_or_else(|_| "/tmp/passo-venv".into());
    let python = Path::new(&venv).join("bin/python");
    let has_moto = Command::new(&python)
        .args(["-c", "import moto.server"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_moto {
        assert!(
            !required,
            "PASSO_REQUIRE_E2E=1 but {venv} has no moto[server]"
        );
        eprintln!("skipped: no moto[server] in the virtualenv at {venv} (pip install -r tests/e2e/requirements.txt)");
        return None;
    }
    Some(python)
}

/// Starts moto's server on a free port; answers it and the port.
pub fn start(python: &Path) -> (Moto, u16) {
    let addr = super::free_addr();
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let child = Command::new(python)
        .args(["-m", "moto.server", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto's server starts");
    let moto = Moto(child);
    // Waiting for an outside server to listen: poll its port, for at most 30 s.
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (moto, port);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("moto did not listen on port {port} within 30 s");
}

/// The variables that point AWS clients (Passo's and boto3) at moto on `port`.
pub fn env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
    ]
}

/// Runs a Python snippet with boto3 pointed at moto on `port` (`boto3` imported, a
/// `client(name)` helper defined); answers what it prints. A failing snippet fails the test.
pub fn py(python: &Path, port: u16, code: &str) -> String {
    let script =
        format!("import boto3, json\ndef client(n):\n    return boto3.client(n)\n{code}\n");
    let out = Command::new(python)
        .args(["-c", &script])
        .envs(env(port))
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Sets how moto moves a model's jobs through their states (its `moto-api` state manager):
/// `{"progression": "immediate"}`, or `{"progression": "manual", "times": N}` (a job moves
/// on after N descriptions).
pub fn set_transition(python: &Path, port: u16, model: &str, transition: &str) {
    py(
        python,
        port,
        &format!(
            "import urllib.request\nurllib.request.urlopen(urllib.request.Request('http://127.0.0.1:{port}/moto-api/state-manager/set-transition', data=json.dumps({{'model_name': '{model}', 'transition': {transition}}}).encode(), method='POST')).read()"
        ),
    );
}
