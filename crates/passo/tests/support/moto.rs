//! moto's server mode (from PyPI, in the e2e virtualenv): a real AWS-compatible server for
//! S3, DynamoDB, SQS, SNS, EventBridge and more, started by the test that needs it.

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
