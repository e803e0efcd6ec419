//! The data directory is its owner's alone: 0700, its files 0600, whatever the umask the
//! server was started with. An existing directory or file that was wider is narrowed, with a
//! warning (it may have been read already: the database holds execution inputs and outputs,
//! `token.key` signs task tokens).

use std::path::Path;

/// New files and directories the process makes are the owner's only (SQLite's WAL and
/// shared-memory files, task-token keys, buckets).
pub fn restrict_umask() {
    #[cfg(unix)]
    {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    }
}

/// Makes the data directory (0700), and narrows it and the files in it if they are wider.
pub fn data_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        narrow(dir, 0o700)?;
        for entry in std::fs::read_dir(dir)?.flatten() {
            let meta = entry.metadata()?;
            if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
                narrow(&entry.path(), 0o600)?;
            }
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Makes `path` an empty file of mode 0600 if it does not exist (SQLite then gives its
/// journal files the same mode), or narrows it.
pub fn file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?;
        }
        narrow(path, 0o600)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

#[cfg(unix)]
fn narrow(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let now = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if now & !mode != 0 {
        tracing::warn!(
            "{} was readable by others (mode {now:o}); narrowed to {mode:o}",
            path.display()
        );
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_wide_directory_and_its_files_are_narrowed() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("data");
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        let f = d.join("passo.db-wal");
        std::fs::write(&f, b"x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        data_dir(&d).unwrap();
        assert_eq!((mode(&d), mode(&f)), (0o700, 0o600));
        let db = d.join("passo.db");
        file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        let fresh = t.path().join("new/deeper");
        data_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
    }
}
