//! Where a service is reached and in which region: passo.toml's `[aws]` table, the AWS SDKs'
//! environment variables and the shared config file, in that order.
//!
//! passo.toml stands where code configuration stands for an AWS SDK client, so it wins over
//! the environment and the files: `[aws.services.<name>]`, then `[aws]`. Then, unless
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (or the profile's
//! `ignore_configured_endpoint_urls = true`): `AWS_ENDPOINT_URL_<SERVICE>`,
//! `AWS_ENDPOINT_URL`, the profile's `services` section, the profile's `endpoint_url`. With
//! none of them the host's own service answers if it has one, else AWS itself.
//! `endpoint = "aws"` asks for AWS even where the host has a local service.
//!
//! Region: `[aws.services.<name>] region`, `[aws] region`, `AWS_REGION`,
//! `AWS_DEFAULT_REGION`, the profile's `region`, else us-east-1. Profile: `[aws] profile`,
//! `AWS_PROFILE`, else `default`.

use super::files::SharedFiles;
use std::collections::BTreeMap;

/// Reads an environment variable (empty counts as unset); a function so tests can give one.
pub type Env<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// The process's environment.
pub fn process_env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// An endpoint setting in passo.toml: AWS itself, Passo's own service, or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointSetting {
    Aws,
    /// The host's own service, and nothing else (no AWS even with credentials).
    Local,
    Url(String),
}

impl EndpointSetting {
    fn parse(what: &str, s: &str) -> Result<EndpointSetting, String> {
        if s == "aws" {
            return Ok(EndpointSetting::Aws);
        }
        if s == "local" {
            return Ok(EndpointSetting::Local);
        }
        match url::Url::parse(s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                Ok(EndpointSetting::Url(s.trim_end_matches('/').to_string()))
            }
            _ => Err(format!(
                "{what} must be \"aws\", \"local\" or an http:// or https:// URL, not '{s}'"
            )),
        }
    }
}

/// One service's settings in passo.toml.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSettings {
    pub endpoint: Option<EndpointSetting>,
    pub region: Option<String>,
}

/// passo.toml's `[aws]` table, validated: services keyed by serviceId (`DynamoDB`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectAws {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint: Option<EndpointSetting>,
    pub services: BTreeMap<String, ServiceSettings>,
}

/// `[aws]` as written in passo.toml.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectAwsFile {
    region: Option<String>,
    profile: Option<String>,
    endpoint: Option<String>,
    #[serde(default)]
    services: BTreeMap<String, ServiceFile>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceFile {
    endpoint: Option<String>,
    region: Option<String>,
}

impl ProjectAwsFile {
    /// Checks the table: known service names (as Step Functions names them), URLs.
    pub fn validate(self) -> Result<ProjectAws, String> {
        let mut services = BTreeMap::new();
        for (name, s) in self.services {
            let (_, id) = super::names::service(&name)
                .map_err(|_| format!("aws.services.{name}: no AWS service is named '{name}'"))?;
            let endpoint = s
                .endpoint
                .map(|e| EndpointSetting::parse(&format!("aws.services.{name}.endpoint"), &e))
                .transpose()?;
            services.insert(
                id.to_string(),
                ServiceSettings {
                    endpoint,
                    region: s.region,
                },
            );
        }
        Ok(ProjectAws {
            region: self.region,
            profile: self.profile,
            endpoint: self
                .endpoint
                .map(|e| EndpointSetting::parse("aws.endpoint", &e))
                .transpose()?,
            services,
        })
    }
}

/// Where one service's calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A configured endpoint (passo.toml, the environment or the shared config file).
    Configured(String),
    /// AWS itself, asked for by `endpoint = "aws"`: no local service.
    Aws,
    /// The host's own service only, asked for by `endpoint = "local"` (or a route).
    Local,
    /// Nothing configured: the host's own service, else AWS when there are credentials.
    Default,
}

/// A service's settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub region: String,
    pub target: Target,
}

/// The variable naming one service's endpoint, as the AWS SDKs read it.
pub fn endpoint_var(service_id: &str) -> String {
    format!(
        "AWS_ENDPOINT_URL_{}",
        service_id.to_ascii_uppercase().replace([' ', '-'], "_")
    )
}

/// The profile in use.
pub fn profile(project: &ProjectAws, env: Env<'_>) -> String {
    project
        .profile
        .clone()
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into())
}

/// The region and target of the service `service_id`.
pub fn resolve(
    project: &ProjectAws,
    files: &SharedFiles,
    env: Env<'_>,
    service_id: &str,
) -> Resolved {
    let own = project.services.get(service_id);
    let profile = profile(project, env);
    let region = own
        .and_then(|s| s.region.clone())
        .or_else(|| project.region.clone())
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or_else(|| files.get(&profile, "region").map(str::to_string))
        .unwrap_or_else(|| "us-east-1".into());
    let configured = own
        .and_then(|s| s.endpoint.clone())
        .or_else(|| project.endpoint.clone());
    let target = match configured {
        Some(EndpointSetting::Aws) => Target::Aws,
        Some(EndpointSetting::Local) => Target::Local,
        Some(EndpointSetting::Url(u)) => Target::Configured(u),
        None => {
            let truthy = |v: Option<String>| v.is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let ignore = truthy(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
                || truthy(
                    files
                        .get(&profile, "ignore_configured_endpoint_urls")
                        .map(str::to_string),
                );
            let key = service_id.to_ascii_lowercase().replace([' ', '-'], "_");
            let found = (!ignore)
                .then(|| {
                    env(&endpoint_var(service_id))
                        .or_else(|| env("AWS_ENDPOINT_URL"))
                        .or_else(|| files.service_endpoint(&profile, &key).map(str::to_string))
                        .or_else(|| files.get(&profile, "endpoint_url").map(str::to_string))
                })
                .flatten();
            found.map_or(Target::Default, |u| {
                Target::Configured(u.trim_end_matches('/').to_string())
            })
        }
    };
    Resolved { region, target }
}

/// AWS's own endpoint for a service: its global endpoint if it has one (IAM, Route 53),
/// else `https://<endpointPrefix>.<region>.amazonaws.com` (`.com.cn` in China).
pub fn aws_endpoint(model: &serde_json::Value, region: &str) -> String {
    if let Some(g) = model["metadata"]["globalEndpoint"].as_str() {
        return format!("https://{g}");
    }
    let prefix = model["metadata"]["endpointPrefix"]
        .as_str()
        .unwrap_or("unknown");
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{prefix}.{region}.{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Sync {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| m.get(k).cloned()
    }

    fn project(toml_text: &str) -> ProjectAws {
        let f: ProjectAwsFile = toml::from_str(toml_text).unwrap();
        f.validate().unwrap()
    }

    #[test]
    fn passo_toml_wins_then_the_environment_then_the_files() {
        let files = SharedFiles::parse(
            "[default]\nregion = eu-north-1\nservices = s\nendpoint_url = http://profile:1\n[services s]\ndynamodb =\n  endpoint_url = http://files-ddb:1\n",
            "",
        );
        let none = ProjectAws::default();
        let e = env(&[]);
        let r = resolve(&none, &files, &e, "DynamoDB");
        assert_eq!(r.region, "eu-north-1");
        assert_eq!(r.target, Target::Configured("http://files-ddb:1".into()));
        assert_eq!(
            resolve(&none, &files, &e, "SQS").target,
            Target::Configured("http://profile:1".into())
        );
        let e = env(&[
            ("AWS_ENDPOINT_URL", "http://env:1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://env-ddb:1/"),
            ("AWS_REGION", "ap-south-1"),
        ]);
        let r = resolve(&none, &files, &e, "DynamoDB");
        assert_eq!(
            (r.region.as_str(), r.target),
            ("ap-south-1", Target::Configured("http://env-ddb:1".into()))
        );
        assert_eq!(
            resolve(&none, &files, &e, "SQS").target,
            Target::Configured("http://env:1".into())
        );
        let p = project("region = \"us-west-1\"\nendpoint = \"http://toml:1\"\n[services.dynamodb]\nendpoint = \"http://toml-ddb:1\"\nregion = \"eu-west-3\"\n[services.sqs]\nendpoint = \"aws\"\n");
        let r = resolve(&p, &files, &e, "DynamoDB");
        assert_eq!(
            (r.region.as_str(), r.target),
            ("eu-west-3", Target::Configured("http://toml-ddb:1".into()))
        );
        assert_eq!(resolve(&p, &files, &e, "SQS").target, Target::Aws);
        let r = resolve(&p, &files, &e, "SNS");
        assert_eq!(
            (r.region.as_str(), r.target),
            ("us-west-1", Target::Configured("http://toml:1".into()))
        );
    }

    #[test]
    fn configured_endpoints_can_be_ignored_but_passo_toml_still_counts() {
        let files = SharedFiles::parse("[default]\nendpoint_url = http://profile:1\n", "");
        let e = env(&[
            ("AWS_ENDPOINT_URL", "http://env:1"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ("AWS_DEFAULT_REGION", "sa-east-1"),
        ]);
        let none = ProjectAws::default();
        let r = resolve(&none, &files, &e, "DynamoDB");
        assert_eq!(
            (r.region.as_str(), r.target),
            ("sa-east-1", Target::Default)
        );
        let p = project("[services.dynamodb]\nendpoint = \"http://toml:1\"\n");
        assert_eq!(
            resolve(&p, &files, &e, "DynamoDB").target,
            Target::Configured("http://toml:1".into())
        );
        assert_eq!(endpoint_var("API Gateway"), "AWS_ENDPOINT_URL_API_GATEWAY");
    }

    #[test]
    fn the_table_is_checked() {
        let bad = |t: &str| {
            toml::from_str::<ProjectAwsFile>(t)
                .map_err(|e| e.to_string())
                .and_then(|f| f.validate())
                .unwrap_err()
        };
        assert!(bad("[services.nonesuch]\nendpoint = \"aws\"\n").contains("nonesuch"));
        assert!(bad("endpoint = \"ftp://x\"\n").contains("aws.endpoint"));
        assert!(bad("regoin = \"x\"\n").contains("unknown field"));
        let p = project("profile = \"dev\"\n[services.eventbridge]\nendpoint = \"http://h:1/\"\n");
        assert_eq!(
            p.services["EventBridge"].endpoint,
            Some(EndpointSetting::Url("http://h:1".into()))
        );
        assert_eq!(profile(&p, &env(&[("AWS_PROFILE", "x")])), "dev");
    }

    #[test]
    fn aws_endpoints_by_region_and_global_ones() {
        let ddb = crate::aws::models::model("dynamodb").unwrap();
        assert_eq!(
            aws_endpoint(&ddb, "eu-west-1"),
            "https://dynamodb.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            aws_endpoint(&ddb, "cn-north-1"),
            "https://dynamodb.cn-north-1.amazonaws.com.cn"
        );
        let r53 = crate::aws::models::model("route53").unwrap();
        assert_eq!(
            aws_endpoint(&r53, "eu-west-1"),
            "https://route53.amazonaws.com"
        );
    }
}
