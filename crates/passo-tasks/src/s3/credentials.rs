//! AWS credentials for an S3-compatible endpoint, found where the AWS SDKs look: the
//! environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), then the
//! shared files (`~/.aws/credentials` and `~/.aws/config`, or `AWS_SHARED_CREDENTIALS_FILE`
//! and `AWS_CONFIG_FILE`) for the profile `AWS_PROFILE` (default `default`).
//!
//! Static keys only: a small reader instead of `aws-config`, whose SSO, STS and instance
//! metadata providers would bring a second HTTP stack for what a local engine rarely needs.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub struct Credentials {
    pub key_id: String,
    pub secret: String,
    pub session_token: Option<String>,
}

/// The sections of an INI file: `[name]` then `key = value` lines.
fn sections(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim().to_string());
            continue;
        }
        if let (Some(section), Some((k, v))) = (&current, line.split_once('=')) {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    out
}

fn home_file(var: &str, name: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")?;
    Some(PathBuf::from(home).join(".aws").join(name))
}

fn profile() -> String {
    std::env::var("AWS_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "default".into())
}

/// The profile's settings from both shared files (the credentials file wins).
fn profile_settings() -> BTreeMap<String, String> {
    let name = profile();
    let mut out = BTreeMap::new();
    // In the config file a profile other than default is `[profile NAME]`.
    if let Some(text) =
        home_file("AWS_CONFIG_FILE", "config").and_then(|p| std::fs::read_to_string(p).ok())
    {
        let mut s = sections(&text);
        let key = if name == "default" {
            "default".to_string()
        } else {
            format!("profile {name}")
        };
        out.extend(s.remove(&key).unwrap_or_default());
    }
    if let Some(text) = home_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
        .and_then(|p| std::fs::read_to_string(p).ok())
    {
        out.extend(sections(&text).remove(&name).unwrap_or_default());
    }
    out
}

/// The credentials to sign with, if any are configured.
pub fn resolve() -> Option<Credentials> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(key_id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        return Some(Credentials {
            key_id,
            secret,
            session_token: var("AWS_SESSION_TOKEN"),
        });
    }
    let mut p = profile_settings();
    Some(Credentials {
        key_id: p.remove("aws_access_key_id")?,
        secret: p.remove("aws_secret_access_key")?,
        session_token: p.remove("aws_session_token"),
    })
}

/// The region when passo.toml names none: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's
/// `region`, else us-east-1.
pub fn default_region() -> String {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .or_else(|| profile_settings().remove("region"))
        .unwrap_or_else(|| "us-east-1".into())
}

#[cfg(test)]
mod tests {
    use super::sections;

    #[test]
    fn reads_ini_sections() {
        let s = sections(
            "# comment\n[default]\naws_access_key_id = AK\naws_secret_access_key=SK\n\n[profile dev]\nregion = eu-west-1\n",
        );
        assert_eq!(s["default"]["aws_access_key_id"], "AK");
        assert_eq!(s["default"]["aws_secret_access_key"], "SK");
        assert_eq!(s["profile dev"]["region"], "eu-west-1");
    }
}
