//! Finding the project file (`passo.toml`) for `passo run` and `passo server`.

use passo_tasks::{Integrations, Project};
use std::path::{Path, PathBuf};

/// The project named with `--project`, else `./passo.toml` when there is one, else an empty
/// project (no functions).
pub fn load(explicit: Option<&Path>) -> Result<Project, String> {
    let path: PathBuf = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let default = PathBuf::from("passo.toml");
            if !default.exists() {
                return Ok(Project::default());
            }
            default
        }
    };
    Project::load(&path).map_err(|e| e.to_string())
}

/// What `passo run` and `passo test` answer Task states with, in process: the project's
/// integrations (on the local site's account and region) and the I/O runtime that drives them.
pub fn local_integrations(
    project: Project,
) -> Result<(Integrations, tokio::runtime::Runtime), String> {
    let site = passo_tasks::lambda::Site {
        region: "us-east-1".into(),
        account: "123456789012".into(),
        payload_limit: 262_144,
    };
    // One worker thread of its own: a Map Run's items stream from a bucket while the
    // interpreter (on this thread) blocks reading them, so the runtime must run by itself.
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    Ok((Integrations::new(project, site), io))
}

/// Where buckets live: `--buckets-dir`, else passo.toml's `[buckets]`, else
/// `<data_dir>/buckets` (so `passo run` and `passo server` share `./passo-data/buckets`).
pub fn choose_buckets(project: &mut Project, flag: Option<PathBuf>, data_dir: &Path) {
    if let Some(dir) = flag {
        project.buckets = Some(passo_tasks::s3::Config::Local { dir });
    } else if project.buckets.is_none() {
        project.buckets = Some(passo_tasks::s3::Config::Local {
            dir: data_dir.join("buckets"),
        });
    }
}
