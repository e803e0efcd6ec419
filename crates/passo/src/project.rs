//! Finding the project file (`passo.toml`) for `passo run` and `passo server`.

use passo_tasks::Project;
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
