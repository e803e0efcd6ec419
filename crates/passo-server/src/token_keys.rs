//! The data directory's task-token keys: `token.keys`, one key a line in hex, newest first.
//!
//! Tokens are minted with the first key and accepted under any, so rotating (putting a new
//! key first, [`rotate`], `passo server --rotate-token-key`) leaves the tokens already handed
//! out working. A key can be deleted by hand once no execution that started before it was
//! replaced is still running; tokens minted under it then stop working.
//!
//! The file is written aside and renamed (a crash never leaves half a ring) with mode 0600:
//! whoever reads it can mint tokens. A data directory of an earlier version has a single raw
//! key in `token.key`; it becomes the ring's only key, so its tokens keep working.

use anyhow::Context;
use passo_engine::token::KeyRing;
use std::io::Write;
use std::path::Path;

const RING: &str = "token.keys";
const LEGACY: &str = "token.key";
const KEY_LEN: usize = 32;

fn fresh_key() -> Vec<u8> {
    let mut key = Vec::with_capacity(KEY_LEN);
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(line: &str) -> Option<Vec<u8>> {
    if !line.len().is_multiple_of(2) {
        return None;
    }
    (0..line.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(line.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The ring in `dir`, made (from `token.key`, or a fresh key) when there is none.
pub fn load(dir: &Path) -> anyhow::Result<KeyRing> {
    if let Some(keys) = read(dir)? {
        return Ok(KeyRing::new(keys));
    }
    let keys = match std::fs::read(dir.join(LEGACY)) {
        Ok(k) if k.len() >= KEY_LEN => vec![k],
        _ => vec![fresh_key()],
    };
    write(dir, &keys)?;
    Ok(KeyRing::new(keys))
}

/// Puts a fresh key first in `dir`'s ring, keeping the others; returns how many it holds.
pub fn rotate(dir: &Path) -> anyhow::Result<usize> {
    let old = load(dir)?;
    let mut keys = vec![fresh_key()];
    keys.extend(old.keys().iter().map(|k| k.to_vec()));
    write(dir, &keys)?;
    Ok(keys.len())
}

/// The keys in `dir`'s ring, or None when it has no ring file. A ring that holds no valid
/// key is an error, not a reason to make a new one: that would void every token out.
fn read(dir: &Path) -> anyhow::Result<Option<Vec<Vec<u8>>>> {
    let path = dir.join(RING);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match unhex(line) {
            Some(k) if k.len() >= KEY_LEN => keys.push(k),
            _ => anyhow::bail!(
                "{} line {}: not a key (at least {KEY_LEN} bytes in hex)",
                path.display(),
                n + 1
            ),
        }
    }
    anyhow::ensure!(!keys.is_empty(), "{} holds no key", path.display());
    Ok(Some(keys))
}

fn write(dir: &Path, keys: &[Vec<u8>]) -> anyhow::Result<()> {
    let tmp = dir.join(format!("{RING}.tmp"));
    // A leftover from a crash may have other permissions: start from nothing.
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let mut text =
        String::from("# Passo task-token keys, newest first (tokens are minted with the first).\n");
    for k in keys {
        text.push_str(&hex(k));
        text.push('\n');
    }
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(RING))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = load(dir.path()).unwrap();
        let b = load(dir.path()).unwrap();
        assert_eq!(a.keys().len(), 1);
        assert_eq!(a.newest(), b.newest());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(RING))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn rotation_puts_a_new_key_first_and_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let before = load(dir.path()).unwrap();
        assert_eq!(rotate(dir.path()).unwrap(), 2);
        let after = load(dir.path()).unwrap();
        assert_ne!(after.newest(), before.newest());
        assert_eq!(after.keys()[1], before.newest());
    }

    #[test]
    fn an_earlier_single_key_becomes_the_ring() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = vec![7u8; 32];
        std::fs::write(dir.path().join(LEGACY), &legacy).unwrap();
        assert_eq!(&*load(dir.path()).unwrap().newest(), &legacy[..]);
    }

    #[test]
    fn a_damaged_ring_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(RING), "zz\n").unwrap();
        assert!(load(dir.path()).is_err());
        std::fs::write(dir.path().join(RING), "# nothing\n").unwrap();
        assert!(load(dir.path()).is_err());
    }
}
