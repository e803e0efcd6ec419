//! The AWS shared files as the SDKs read them: `~/.aws/config` (or `AWS_CONFIG_FILE`) with
//! `[default]`, `[profile NAME]` and `[services NAME]` sections, and `~/.aws/credentials` (or
//! `AWS_SHARED_CREDENTIALS_FILE`) with `[NAME]` sections, whose keys win over the config
//! file's. A key with an empty value followed by indented lines holds sub-keys (`dynamodb =`
//! then `  endpoint_url = ...`), kept here as `dynamodb.endpoint_url`.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One section's settings.
pub type Section = BTreeMap<String, String>;

/// Both files, read once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SharedFiles {
    /// Profiles by name (`default`, `dev`), both files merged.
    pub profiles: BTreeMap<String, Section>,
    /// `[services NAME]` sections of the config file.
    pub services: BTreeMap<String, Section>,
}

/// The sections of an INI-style file, in the AWS shared files' dialect.
fn sections(text: &str) -> BTreeMap<String, Section> {
    let mut out: BTreeMap<String, Section> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut parent: Option<String> = None;
    for raw in text.lines() {
        let indented = raw.starts_with([' ', '\t']);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.split_whitespace().collect::<Vec<_>>().join(" "));
            parent = None;
            continue;
        }
        let (Some(section), Some((k, v))) = (&current, line.split_once('=')) else {
            continue;
        };
        let (k, v) = (k.trim().to_string(), v.trim().to_string());
        let entry = out.entry(section.clone()).or_default();
        match (&parent, indented) {
            (Some(p), true) => {
                entry.insert(format!("{p}.{k}"), v);
            }
            _ => {
                parent = v.is_empty().then(|| k.clone());
                entry.insert(k, v);
            }
        }
    }
    out
}

impl SharedFiles {
    /// Both files' texts parsed.
    pub fn parse(config: &str, credentials: &str) -> SharedFiles {
        let mut files = SharedFiles::default();
        for (name, section) in sections(config) {
            if name == "default" {
                files.profiles.entry(name).or_default().extend(section);
            } else if let Some(p) = name.strip_prefix("profile ") {
                files
                    .profiles
                    .entry(p.to_string())
                    .or_default()
                    .extend(section);
            } else if let Some(s) = name.strip_prefix("services ") {
                files.services.insert(s.to_string(), section);
            }
        }
        for (name, section) in sections(credentials) {
            files.profiles.entry(name).or_default().extend(section);
        }
        files
    }

    /// The files where `env` says they are (default: `~/.aws/`); a missing file is empty.
    pub fn load(env: super::settings::Env<'_>) -> SharedFiles {
        let path = |var: &str, name: &str| -> Option<PathBuf> {
            env(var)
                .map(PathBuf::from)
                .or_else(|| Some(PathBuf::from(env("HOME")?).join(".aws").join(name)))
        };
        let read = |p: Option<PathBuf>| p.and_then(|p| std::fs::read_to_string(p).ok());
        SharedFiles::parse(
            &read(path("AWS_CONFIG_FILE", "config")).unwrap_or_default(),
            &read(path("AWS_SHARED_CREDENTIALS_FILE", "credentials")).unwrap_or_default(),
        )
    }

    /// A profile's setting.
    pub fn get(&self, profile: &str, key: &str) -> Option<&str> {
        self.profiles
            .get(profile)?
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The endpoint a profile's `services` section names for a service (its config key:
    /// the serviceId lower-cased, spaces as underscores).
    pub fn service_endpoint(&self, profile: &str, service_key: &str) -> Option<&str> {
        let section = self.services.get(self.get(profile, "services")?)?;
        section
            .get(&format!("{service_key}.endpoint_url"))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_services_and_sub_keys() {
        let f = SharedFiles::parse(
            "# comment\n[default]\nregion = eu-west-1\n\n[profile dev]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\nservices = local\n\n[services local]\ndynamodb =\n  endpoint_url = http://127.0.0.1:8000\nelastic_beanstalk =\n  endpoint_url = http://127.0.0.1:9000\n",
            "[default]\naws_access_key_id = AK\naws_secret_access_key=SK\n[dev]\nregion = us-west-2\n",
        );
        assert_eq!(f.get("default", "aws_access_key_id"), Some("AK"));
        assert_eq!(f.get("default", "region"), Some("eu-west-1"));
        assert_eq!(f.get("dev", "source_profile"), Some("default"));
        assert_eq!(f.get("dev", "region"), Some("us-west-2"));
        assert_eq!(
            f.service_endpoint("dev", "dynamodb"),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(f.service_endpoint("dev", "sqs"), None);
        assert_eq!(f.service_endpoint("default", "dynamodb"), None);
    }
}
