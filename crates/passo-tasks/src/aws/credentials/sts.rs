//! STS's AssumeRole and AssumeRoleWithWebIdentity, through the query protocol layer and STS's
//! own model like any other call; STS is reached where the settings say (so a test's
//! `AWS_ENDPOINT_URL` reaches moto's STS), else `https://sts.<region>.amazonaws.com`.

use super::{Credentials, CredentialsError, Expiring, Sources};
use crate::aws::query::{self, Dialect};
use crate::aws::settings::{self, Target};
use crate::aws::{models, time, Endpoint};
use serde_json::{json, Value};
use std::sync::Arc;

pub struct AssumeRole<'a> {
    pub role_arn: &'a str,
    pub session_name: Option<&'a str>,
    pub external_id: Option<String>,
    pub duration_seconds: Option<u64>,
}

fn session_name(given: Option<&str>) -> String {
    given.map_or_else(
        || format!("passo-{}", chrono::Utc::now().timestamp_millis()),
        str::to_string,
    )
}

/// Calls STS `operation`, signed with `creds` (None: unsigned, as AssumeRoleWithWebIdentity
/// is), and reads the credentials it answers.
async fn call(
    src: &Sources<'_>,
    creds: Option<&Credentials>,
    operation: &str,
    input: Value,
) -> Result<Expiring, CredentialsError> {
    let model = models::model("sts").map_err(|e| CredentialsError::Sts(e.to_string()))?;
    let resolved = settings::resolve(src.project, src.files, src.env, "STS");
    let (url, custom) = match resolved.target {
        Target::Configured(u) => (u, true),
        Target::Aws | Target::Default | Target::Local => {
            (settings::aws_endpoint(&model, &resolved.region), false)
        }
    };
    let endpoint = Endpoint {
        url,
        deadline: Some(std::time::Duration::from_secs(10)),
        region: &resolved.region,
        signing_name: "sts",
        credentials: creds,
        model: &model,
        custom,
    };
    let out = query::call(src.http, &endpoint, Dialect::Query, operation, &input)
        .await
        .map_err(|e| {
            let code = e.code.unwrap_or_else(|| "error".into());
            CredentialsError::Sts(format!("{operation}: {code}: {}", e.message))
        })?;
    let c = &out["Credentials"];
    let field = |k: &str| c[k].as_str().map(str::to_string);
    let (Some(key_id), Some(secret)) = (field("AccessKeyId"), field("SecretAccessKey")) else {
        return Err(CredentialsError::Sts(format!(
            "{operation} answered no credentials"
        )));
    };
    Ok(Expiring {
        credentials: Arc::new(Credentials {
            key_id,
            secret,
            session_token: field("SessionToken"),
        }),
        expires: time::parse(&c["Expiration"]),
    })
}

/// Assumes `role` with `base`'s keys.
pub async fn assume_role(
    src: &Sources<'_>,
    base: &Credentials,
    role: &AssumeRole<'_>,
) -> Result<Expiring, CredentialsError> {
    let mut input = json!({
        "RoleArn": role.role_arn,
        "RoleSessionName": session_name(role.session_name),
    });
    if let Some(x) = &role.external_id {
        input["ExternalId"] = json!(x);
    }
    if let Some(d) = role.duration_seconds {
        input["DurationSeconds"] = json!(d);
    }
    call(src, Some(base), "AssumeRole", input).await
}

/// Exchanges the token in `file` for the role's credentials. The token is read on every
/// exchange: the platforms that write it (EKS, GitHub Actions) rotate it.
pub async fn web_identity(
    src: &Sources<'_>,
    file: &str,
    role_arn: &str,
    session: Option<&str>,
) -> Result<Expiring, CredentialsError> {
    let token =
        std::fs::read_to_string(file).map_err(|_| CredentialsError::TokenFile(file.to_string()))?;
    let input = json!({
        "RoleArn": role_arn,
        "RoleSessionName": session_name(session),
        "WebIdentityToken": token.trim(),
    });
    call(src, None, "AssumeRoleWithWebIdentity", input).await
}
