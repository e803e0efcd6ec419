//! AWS credentials for `aws-sdk:*` Tasks, found as the AWS SDKs' default chain finds them
//! (AWS SDKs and Tools reference guide, "standardized credential providers"; the Java SDK's
//! order, which Step Functions' own integrations use):
//!
//! 1. the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
//! 2. web identity from the environment: `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`
//!    (and `AWS_ROLE_SESSION_NAME`), exchanged with STS AssumeRoleWithWebIdentity;
//! 3. the profile (passo.toml's `[aws] profile`, `AWS_PROFILE`, else `default`) of the shared
//!    files: `role_arn` with `source_profile` (STS AssumeRole signed with the source's keys)
//!    or with `web_identity_token_file`, else static keys;
//! 4. container credentials: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` on 169.254.170.2, or
//!    `AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`;
//! 5. instance metadata (IMDSv2), unless `AWS_EC2_METADATA_DISABLED=true`.
//!
//! Temporary credentials are kept until five minutes before they expire, then fetched again;
//! finding none is remembered for a minute, so a laptop does not wait on instance metadata on
//! every call. No secret, token or signature is ever part of an error's text.
//!
//! Not `aws-config`: it brings its own HTTP client stack (hyper 1 through smithy's runtime,
//! ~100 crates) next to reqwest, for providers that are a few requests each; SSO and
//! `credential_process` are what it has that this chain has not.

mod metadata;
mod sts;

pub use crate::s3::credentials::Credentials;

use super::files::SharedFiles;
use super::settings::{Env, ProjectAws};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why credentials could not be had. The texts name where they were looked for, never what
/// they hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CredentialsError {
    #[error("Unable to load credentials from the profile '{profile}': {why}")]
    Profile { profile: String, why: String },
    #[error("Unable to assume the role with STS: {0}")]
    Sts(String),
    #[error("Unable to read the web identity token file '{0}'")]
    TokenFile(String),
    #[error("Unable to load credentials from the container credentials endpoint: {0}")]
    Container(String),
    #[error("Unable to load credentials from the instance metadata service: {0}")]
    Imds(String),
}

/// Credentials and when they stop working (None: never).
#[derive(Debug, Clone)]
pub struct Expiring {
    pub credentials: Arc<Credentials>,
    pub expires: Option<DateTime<Utc>>,
}

impl Expiring {
    fn fixed(c: Credentials) -> Expiring {
        Expiring {
            credentials: Arc::new(c),
            expires: None,
        }
    }

    /// Whether these are still good for a call: five minutes of margin before expiry.
    fn fresh(&self, now: DateTime<Utc>) -> bool {
        self.expires
            .is_none_or(|e| e - chrono::Duration::minutes(5) > now)
    }
}

/// What the chain needs to look: the settings, the files, the environment, an HTTP client.
pub struct Sources<'a> {
    pub project: &'a ProjectAws,
    pub files: &'a SharedFiles,
    pub env: Env<'a>,
    pub http: &'a reqwest::Client,
}

/// The chain, run: credentials, or None when nothing is configured anywhere.
pub async fn chain(src: &Sources<'_>) -> Result<Option<Expiring>, CredentialsError> {
    let env = src.env;
    if let (Some(key_id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        return Ok(Some(Expiring::fixed(Credentials {
            key_id,
            secret,
            session_token: env("AWS_SESSION_TOKEN"),
        })));
    }
    if let (Some(file), Some(role)) = (env("AWS_WEB_IDENTITY_TOKEN_FILE"), env("AWS_ROLE_ARN")) {
        let session = env("AWS_ROLE_SESSION_NAME");
        return sts::web_identity(src, &file, &role, session.as_deref())
            .await
            .map(Some);
    }
    let profile = super::settings::profile(src.project, env);
    if let Some(c) = from_profile(src, &profile, 0).await? {
        return Ok(Some(c));
    }
    if let Some(c) = metadata::container(src).await? {
        return Ok(Some(c));
    }
    let disabled = env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if disabled {
        return Ok(None);
    }
    metadata::instance(src).await
}

/// A profile's credentials: an assumed role, or static keys; None when it has neither.
fn from_profile<'a>(
    src: &'a Sources<'a>,
    profile: &'a str,
    depth: usize,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<Expiring>, CredentialsError>> + Send + 'a>,
> {
    Box::pin(async move {
        let fail = |why: &str| CredentialsError::Profile {
            profile: profile.to_string(),
            why: why.to_string(),
        };
        if depth > 4 {
            return Err(fail("its source_profile chain is a loop or longer than 4"));
        }
        let files = src.files;
        let get = |k: &str| files.get(profile, k).map(str::to_string);
        if let Some(role) = get("role_arn") {
            let session = get("role_session_name");
            if let Some(file) = get("web_identity_token_file") {
                return sts::web_identity(src, &file, &role, session.as_deref())
                    .await
                    .map(Some);
            }
            let Some(source) = get("source_profile") else {
                return Err(fail("role_arn needs source_profile or web_identity_token_file (credential_source is not supported)"));
            };
            // A profile that names itself as its source holds the keys to assume with.
            let base = if source == profile {
                static_keys(files, profile)
            } else {
                from_profile(src, &source, depth + 1).await?
            };
            let Some(base) = base else {
                return Err(fail(&format!(
                    "its source_profile '{source}' has no credentials"
                )));
            };
            let assume = sts::AssumeRole {
                role_arn: &role,
                session_name: session.as_deref(),
                external_id: get("external_id"),
                duration_seconds: get("duration_seconds").and_then(|d| d.parse().ok()),
            };
            return sts::assume_role(src, &base.credentials, &assume)
                .await
                .map(Some);
        }
        Ok(static_keys(files, profile))
    })
}

fn static_keys(files: &SharedFiles, profile: &str) -> Option<Expiring> {
    Some(Expiring::fixed(Credentials {
        key_id: files.get(profile, "aws_access_key_id")?.to_string(),
        secret: files.get(profile, "aws_secret_access_key")?.to_string(),
        session_token: files.get(profile, "aws_session_token").map(str::to_string),
    }))
}

/// The chain's last answer, kept while it is good.
#[derive(Default)]
pub struct Cache {
    slot: tokio::sync::Mutex<Option<(Option<Expiring>, Instant)>>,
}

/// How long "no credentials anywhere" is believed before the chain is asked again.
const NONE_FOR: Duration = Duration::from_secs(60);

impl Cache {
    /// Credentials to sign with: the kept ones while fresh, else the chain's. One caller
    /// runs the chain at a time; the others wait for its answer.
    pub async fn get(
        &self,
        src: &Sources<'_>,
    ) -> Result<Option<Arc<Credentials>>, CredentialsError> {
        let mut slot = self.slot.lock().await;
        let now = Utc::now();
        match &*slot {
            Some((Some(c), _)) if c.fresh(now) => return Ok(Some(c.credentials.clone())),
            Some((None, at)) if at.elapsed() < NONE_FOR => return Ok(None),
            _ => {}
        }
        let found = chain(src).await?;
        let out = found.as_ref().map(|c| c.credentials.clone());
        *slot = Some((found, Instant::now()));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn sources<'a>(
        project: &'a ProjectAws,
        files: &'a SharedFiles,
        env: &'a (dyn Fn(&str) -> Option<String> + Sync),
        http: &'a reqwest::Client,
    ) -> Sources<'a> {
        Sources {
            project,
            files,
            env,
            http,
        }
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Sync {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| m.get(k).cloned()
    }

    #[tokio::test]
    async fn the_environment_comes_first_then_the_profile() {
        let http = reqwest::Client::new();
        let files = SharedFiles::parse(
            "[profile dev]\nregion = eu-west-1\n",
            "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n[dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = DEVSECRET\naws_session_token = T\n",
        );
        let p = ProjectAws::default();
        let e = env(&[
            ("AWS_ACCESS_KEY_ID", "ENVKEY"),
            ("AWS_SECRET_ACCESS_KEY", "ENVSECRET"),
            ("AWS_PROFILE", "dev"),
        ]);
        let c = chain(&sources(&p, &files, &e, &http))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.credentials.key_id, "ENVKEY");
        let e = env(&[("AWS_PROFILE", "dev")]);
        let c = chain(&sources(&p, &files, &e, &http))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                c.credentials.key_id.as_str(),
                c.credentials.session_token.as_deref()
            ),
            ("DEVKEY", Some("T"))
        );
        let e = env(&[("AWS_EC2_METADATA_DISABLED", "true")]);
        let c = chain(&sources(&p, &files, &e, &http))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.credentials.key_id, "FILEKEY");
        let empty = SharedFiles::default();
        assert!(chain(&sources(&p, &empty, &e, &http))
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn a_role_without_a_source_is_an_error_that_names_the_profile() {
        let http = reqwest::Client::new();
        let files = SharedFiles::parse("[profile r]\nrole_arn = arn:aws:iam::1:role/x\n", "");
        let p = ProjectAws {
            profile: Some("r".into()),
            ..ProjectAws::default()
        };
        let e = env(&[]);
        let err = chain(&sources(&p, &files, &e, &http)).await.unwrap_err();
        assert!(err.to_string().contains("profile 'r'"), "{err}");
        let files = SharedFiles::parse("[profile r]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = s\n[profile s]\nrole_arn = arn:aws:iam::1:role/y\nsource_profile = r\n", "");
        let err = chain(&sources(&p, &files, &e, &http)).await.unwrap_err();
        assert!(err.to_string().contains("loop"), "{err}");
    }

    #[test]
    fn credentials_are_fresh_until_five_minutes_before_expiry() {
        let now = Utc::now();
        let c = |mins: i64| Expiring {
            credentials: Arc::new(Credentials {
                key_id: "k".into(),
                secret: "s".into(),
                session_token: None,
            }),
            expires: Some(now + chrono::Duration::minutes(mins)),
        };
        assert!(c(10).fresh(now));
        assert!(!c(4).fresh(now));
        assert!(Expiring::fixed(Credentials {
            key_id: "k".into(),
            secret: "s".into(),
            session_token: None
        })
        .fresh(now));
    }
}
