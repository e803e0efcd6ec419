//! The project file (`passo.toml`): the functions Task states can call, and where to forward
//! the ones it does not declare.
//!
//! ```toml
//! [functions.check-name]
//! command = ["python3", "functions/check_name.py"]   # input JSON on stdin, result on stdout
//! timeout_seconds = 10                                # the process is killed after this
//! concurrency = 4                                     # at most 4 at once; more wait their turn
//! env = { GREETING = "hello" }
//!
//! [functions.score]
//! url = "http://127.0.0.1:9000/score"                 # POST of the payload
//!
//! [lambda]
//! endpoint = "http://127.0.0.1:3001"                  # any Lambda-compatible Invoke API
//!
//! [state_machines.send-invoice]                       # what startExecution can start in
//! definition = "send-invoice.asl.json"                # `passo run` (by name)
//! type = "EXPRESS"                                    # STANDARD (default) or EXPRESS
//!
//! [buckets]                                          # where aws-sdk:s3 Tasks read and write:
//! dir = "data/buckets"                                # one folder per bucket (default:
//!                                                     # <data-dir>/buckets), or
//! # endpoint = "http://127.0.0.1:9000"                # any S3-compatible endpoint, with
//! # region = "us-east-1"                              # credentials from AWS_ACCESS_KEY_ID...
//! # path_style = true                                 # or ~/.aws/credentials (AWS_PROFILE)
//!
//! [aws]                                               # aws-sdk:* Tasks (aws::settings):
//! region = "eu-west-1"                                # else AWS_REGION, the profile's...
//! profile = "dev"                                     # else AWS_PROFILE, else default
//! endpoint = "http://127.0.0.1:4566"                  # every service (LocalStack, moto)
//! [aws.services.dynamodb]                             # one service, by Step Functions' name
//! endpoint = "http://127.0.0.1:8000"                  # (DynamoDB Local), or "aws": AWS
//! region = "us-east-1"                                # itself even with a local service
//!
//! [connections.stripe]                                # what HTTP tasks authenticate with:
//! auth = "api_key"                                    # none, api_key, basic or
//! api_key_name = "Authorization"                      # oauth_client_credentials
//! api_key_value = "Bearer ${STRIPE_KEY}"              # ${VAR}: from the environment
//! query = { limit = "10" }                            # added to every request (also
//!                                                     # headers = {...}, body = {...})
//!
//! [[routes]]                                          # hybrid runs (`routes`): this state
//! state = "Save order"                                # goes to that endpoint, whatever
//! to = "http://127.0.0.1:4566"                        # [aws] says ("mock" with result =
//!                                                     # {...}, "local", "aws" also)
//!
//! [webhooks.github-push]                              # POST /webhooks/github-push on
//! state_machine = "deploy"                            # `passo server` starts "deploy"
//! secret = "${GITHUB_WEBHOOK_SECRET}"                 # HMAC-signed as GitHub signs
//! signature = "github"                                # (or "stripe"); token = "..." for a
//!                                                     # bearer token instead
//! ```

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What a function is.
#[derive(Debug, Clone, PartialEq)]
pub enum Handler {
    /// A local command: the payload on stdin, the result on stdout.
    Command {
        argv: Vec<String>,
        env: BTreeMap<String, String>,
        /// Where it runs (the project file's directory unless set).
        cwd: PathBuf,
    },
    /// An HTTP endpoint: a POST of the payload; the response body is the result.
    Http { url: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub name: String,
    pub handler: Handler,
    pub timeout_seconds: u64,
    /// Most invocations running at once (None: no limit).
    pub concurrency: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Project {
    pub functions: BTreeMap<String, Function>,
    /// Where functions not declared here are forwarded (a Lambda-compatible Invoke API).
    pub lambda_endpoint: Option<String>,
    /// State machines that nested executions (`states:startExecution`) can start in
    /// `passo run`, by name: their definition files.
    pub state_machines: BTreeMap<String, PathBuf>,
    /// The names among `state_machines` declared `type = "EXPRESS"`: they are validated with
    /// the Express rules and their executions get Express ARNs.
    pub express_machines: BTreeSet<String>,
    /// Connections HTTP tasks authenticate with, by name (the role of EventBridge
    /// connections).
    pub connections: BTreeMap<String, Connection>,
    /// `[server] allow_function_api = true`: `passo server` lets the API create command
    /// functions (it then needs access keys).
    pub allow_function_api: bool,
    /// `[server] database = "postgres://..."`: where `passo server` keeps executions
    /// (`--database` wins).
    pub server_database: Option<String>,
    /// `[buckets]`: where `aws-sdk:s3` Tasks read and write (None: the default directory).
    pub buckets: Option<crate::s3::Config>,
    /// `[aws]`: region, profile and endpoints of `aws-sdk:*` Tasks (see `aws::settings`).
    pub aws: crate::aws::settings::ProjectAws,
    /// `[webhooks.NAME]`: webhooks `passo server` serves from its start, each as
    /// `Passo.CreateWebhook`'s request (secrets read from the environment already).
    pub webhooks: Vec<serde_json::Value>,
    /// `[[routes]]`: Tasks sent to a mock, Passo's own services, AWS or an endpoint, by state,
    /// resource or function (see `crate::routes`).
    pub routes: crate::routes::Routes,
}

/// How a connection authenticates its requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    None,
    ApiKey {
        name: String,
        value: String,
    },
    Basic {
        username: String,
        password: String,
    },
    OAuthClientCredentials {
        endpoint: String,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
    },
}

/// A connection: its authentication and the parameters it adds to every request.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub name: String,
    /// The ARN tasks name it by (default: any `...:connection/NAME[/ID]`).
    pub arn: Option<String>,
    pub auth: Auth,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: Vec<(String, String)>,
}

/// A project file that cannot be used, with the place of the fault.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    functions: BTreeMap<String, FunctionFile>,
    lambda: Option<LambdaFile>,
    #[serde(default)]
    state_machines: BTreeMap<String, StateMachineFile>,
    #[serde(default)]
    connections: BTreeMap<String, ConnectionFile>,
    server: Option<ServerFile>,
    buckets: Option<BucketsFile>,
    aws: Option<crate::aws::settings::ProjectAwsFile>,
    #[serde(default)]
    webhooks: BTreeMap<String, WebhookFile>,
    routes: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookFile {
    /// A state machine's name or ARN.
    state_machine: String,
    secret: Option<String>,
    /// "github" (the default) or "stripe".
    signature: Option<String>,
    /// The header a GitHub-style sender signs in (default X-Hub-Signature-256).
    signature_header: Option<String>,
    token: Option<String>,
}

impl WebhookFile {
    /// `Passo.CreateWebhook`'s members; the server checks them as it checks the API's.
    fn into_request(self, name: &str) -> Result<serde_json::Value, String> {
        let at = format!("webhooks.{name}");
        let mut req = serde_json::json!({"name": name, "stateMachineArn": self.state_machine});
        match (self.secret, self.token) {
            (Some(secret), None) => {
                req["secret"] = expand_env(&secret, &format!("{at}.secret"))?.into();
            }
            (None, Some(token)) => {
                req["token"] = expand_env(&token, &format!("{at}.token"))?.into();
            }
            _ => return Err(format!("{at} needs exactly one of secret or token")),
        }
        if let Some(s) = self.signature {
            req["signature"] = s.into();
        }
        if let Some(h) = self.signature_header {
            req["signatureHeader"] = h.into();
        }
        Ok(req)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BucketsFile {
    dir: Option<PathBuf>,
    endpoint: Option<String>,
    region: Option<String>,
    path_style: Option<bool>,
}

impl BucketsFile {
    fn into_config(self, base: &Path) -> Result<crate::s3::Config, String> {
        match (self.dir, self.endpoint) {
            (Some(_), Some(_)) => Err("buckets has both dir and endpoint: choose one".into()),
            (Some(dir), None) => {
                if self.region.is_some() || self.path_style.is_some() {
                    return Err("buckets.region and buckets.path_style go with an endpoint".into());
                }
                Ok(crate::s3::Config::Local {
                    dir: base.join(dir),
                })
            }
            (None, endpoint) => {
                if let Some(e) = &endpoint {
                    if !(e.starts_with("http://") || e.starts_with("https://")) {
                        return Err("buckets.endpoint must be an http:// or https:// URL".into());
                    }
                }
                if endpoint.is_none() && self.region.is_none() && self.path_style.is_none() {
                    return Err("buckets needs a dir or an endpoint".into());
                }
                Ok(crate::s3::Config::Remote(crate::s3::remote::RemoteConfig {
                    endpoint,
                    region: self.region,
                    path_style: self.path_style.unwrap_or(false),
                }))
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    #[serde(default)]
    allow_function_api: bool,
    database: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionFile {
    arn: Option<String>,
    /// "api_key", "basic", "oauth_client_credentials" or "none".
    auth: Option<String>,
    api_key_name: Option<String>,
    api_key_value: Option<String>,
    username: Option<String>,
    password: Option<String>,
    token_endpoint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    query: BTreeMap<String, String>,
    #[serde(default)]
    body: BTreeMap<String, String>,
}

/// `${NAME}` in a secret is the environment variable NAME, so secrets stay out of the file.
fn expand_env(s: &str, what: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("{what}: unclosed ${{ in '{s}'"))?;
        let var = &after[..end];
        let v = std::env::var(var)
            .map_err(|_| format!("{what}: the environment variable {var} is not set"))?;
        out.push_str(&v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl ConnectionFile {
    fn into_connection(self, name: &str) -> Result<Connection, String> {
        let at = format!("connections.{name}");
        let need = |v: Option<String>, field: &str| -> Result<String, String> {
            let v = v.ok_or_else(|| format!("{at}.{field} is required for this auth"))?;
            expand_env(&v, &format!("{at}.{field}"))
        };
        let auth = match self.auth.as_deref().unwrap_or("none") {
            "none" => Auth::None,
            "api_key" => Auth::ApiKey {
                name: need(self.api_key_name, "api_key_name")?,
                value: need(self.api_key_value, "api_key_value")?,
            },
            "basic" => Auth::Basic {
                username: need(self.username, "username")?,
                password: need(self.password, "password")?,
            },
            "oauth_client_credentials" => Auth::OAuthClientCredentials {
                endpoint: need(self.token_endpoint, "token_endpoint")?,
                client_id: need(self.client_id, "client_id")?,
                client_secret: need(self.client_secret, "client_secret")?,
                scope: self.scope,
            },
            other => {
                return Err(format!(
                "{at}.auth '{other}' is not one of none, api_key, basic, oauth_client_credentials"
            ))
            }
        };
        let expand = |m: BTreeMap<String, String>, part: &str| {
            m.into_iter()
                .map(|(k, v)| Ok((k.clone(), expand_env(&v, &format!("{at}.{part}.{k}"))?)))
                .collect::<Result<Vec<_>, String>>()
        };
        Ok(Connection {
            name: name.to_string(),
            arn: self.arn,
            auth,
            headers: expand(self.headers, "headers")?,
            query: expand(self.query, "query")?,
            body: expand(self.body, "body")?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateMachineFile {
    definition: PathBuf,
    /// CreateStateMachine's `type`: "STANDARD" (the default) or "EXPRESS".
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionFile {
    command: Option<CommandLine>,
    url: Option<String>,
    timeout_seconds: Option<u64>,
    concurrency: Option<usize>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
}

impl FunctionFile {
    fn into_function(self, name: &str, base: &Path) -> Result<Function, String> {
        check_function_name(name)?;
        let f = self;
        let handler = match (f.command, f.url) {
            (Some(c), None) => {
                let argv = match c {
                    CommandLine::Argv(a) => a,
                    CommandLine::Line(l) => l.split_whitespace().map(String::from).collect(),
                };
                if argv.is_empty() {
                    return Err(format!("functions.{name}.command is empty"));
                }
                Handler::Command {
                    argv,
                    env: f.env,
                    cwd: f
                        .cwd
                        .map(|c| base.join(c))
                        .unwrap_or_else(|| base.to_path_buf()),
                }
            }
            (None, Some(url)) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!(
                        "functions.{name}.url must be an http:// or https:// URL"
                    ));
                }
                Handler::Http { url }
            }
            (Some(_), Some(_)) => {
                return Err(format!(
                    "functions.{name} has both command and url: choose one"
                ))
            }
            (None, None) => return Err(format!("functions.{name} needs a command or a url")),
        };
        if f.concurrency == Some(0) {
            return Err(format!("functions.{name}.concurrency must be at least 1"));
        }
        Ok(Function {
            name: name.to_string(),
            handler,
            timeout_seconds: f.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS).max(1),
            concurrency: f.concurrency,
        })
    }
}

impl Function {
    /// A function from the JSON form of a passo.toml function table (`command` or `url`,
    /// `timeout_seconds`, `concurrency`, `env`, `cwd`), as the API creates them; relative
    /// paths are taken from `base`.
    pub fn from_spec(
        name: &str,
        spec: &serde_json::Value,
        base: &Path,
    ) -> Result<Function, String> {
        let f: FunctionFile =
            serde_json::from_value(spec.clone()).map_err(|e| format!("functions.{name}: {e}"))?;
        f.into_function(name, base)
    }

    /// The function as a spec [`Function::from_spec`] reads back.
    pub fn spec(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        match &self.handler {
            Handler::Command { argv, env, cwd } => {
                m.insert("command".into(), serde_json::json!(argv));
                if !env.is_empty() {
                    m.insert("env".into(), serde_json::json!(env));
                }
                m.insert("cwd".into(), serde_json::json!(cwd));
            }
            Handler::Http { url } => {
                m.insert("url".into(), serde_json::json!(url));
            }
        }
        m.insert(
            "timeout_seconds".into(),
            serde_json::json!(self.timeout_seconds),
        );
        if let Some(c) = self.concurrency {
            m.insert("concurrency".into(), serde_json::json!(c));
        }
        serde_json::Value::Object(m)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CommandLine {
    Argv(Vec<String>),
    /// One string, split on whitespace (no shell: quote-free commands only).
    Line(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LambdaFile {
    endpoint: String,
}

/// Lambda's default timeout is 3 s; local commands often start an interpreter, so Passo's
/// default is longer.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 60;

impl Project {
    pub fn load(path: &Path) -> Result<Project, ProjectError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProjectError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        // Commands run from the project file's directory ("passo.toml" alone: this one).
        let base = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Project::parse(&text, &base).map_err(|message| ProjectError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses a project file's text; relative paths are taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Project, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut functions = BTreeMap::new();
        for (name, f) in file.functions {
            let function = f.into_function(&name, base)?;
            functions.insert(name, function);
        }
        let mut state_machines = BTreeMap::new();
        let mut express_machines = BTreeSet::new();
        for (name, m) in file.state_machines {
            if name.is_empty() || name.len() > 80 || name.contains([':', '/', ' ']) {
                return Err(format!(
                    "state machine name '{name}' must be 1-80 characters without ':', '/' or spaces"
                ));
            }
            match m.kind.as_deref() {
                None | Some("STANDARD") => {}
                Some("EXPRESS") => {
                    express_machines.insert(name.clone());
                }
                Some(other) => {
                    return Err(format!(
                        "state_machines.{name}.type '{other}' is not STANDARD or EXPRESS"
                    ))
                }
            }
            state_machines.insert(name, base.join(m.definition));
        }
        let mut connections = BTreeMap::new();
        for (name, c) in file.connections {
            connections.insert(name.clone(), c.into_connection(&name)?);
        }
        let webhooks = file
            .webhooks
            .into_iter()
            .map(|(name, w)| w.into_request(&name))
            .collect::<Result<_, _>>()?;
        let routes = match &file.routes {
            Some(r) => crate::routes::Routes::parse(r, "routes")?,
            None => crate::routes::Routes::default(),
        };
        Ok(Project {
            routes,
            webhooks,
            functions,
            connections,
            lambda_endpoint: file
                .lambda
                .map(|l| l.endpoint.trim_end_matches('/').to_string()),
            state_machines,
            express_machines,
            allow_function_api: file.server.as_ref().is_some_and(|s| s.allow_function_api),
            server_database: file.server.and_then(|s| s.database),
            buckets: file.buckets.map(|b| b.into_config(base)).transpose()?,
            aws: file.aws.unwrap_or_default().validate()?,
        })
    }
}

/// Lambda's rule for function names: 1-64 letters, digits, hyphens and underscores.
fn check_function_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "function name '{name}' must be 1-64 letters, digits, hyphens or underscores"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_become_create_webhook_requests_with_secrets_from_the_environment() {
        std::env::set_var("PASSO_TEST_HOOK_SECRET", "s3cr3t");
        let p = Project::parse(
            r#"
[webhooks.push]
state_machine = "deploy"
secret = "${PASSO_TEST_HOOK_SECRET}"
signature_header = "X-Signature"

[webhooks.pay]
state_machine = "arn:aws:states:us-east-1:123456789012:stateMachine:pay"
token = "t0ken"
"#,
            Path::new("."),
        )
        .unwrap();
        let by_name = |n: &str| p.webhooks.iter().find(|w| w["name"] == n).unwrap().clone();
        assert_eq!(
            by_name("push"),
            serde_json::json!({"name": "push", "stateMachineArn": "deploy",
                "secret": "s3cr3t", "signatureHeader": "X-Signature"})
        );
        assert_eq!(by_name("pay")["token"], "t0ken");
        let both = Project::parse(
            "[webhooks.x]\nstate_machine = \"m\"\nsecret = \"a\"\ntoken = \"b\"\n",
            Path::new("."),
        );
        assert_eq!(
            both.unwrap_err(),
            "webhooks.x needs exactly one of secret or token"
        );
        let unset = Project::parse(
            "[webhooks.x]\nstate_machine = \"m\"\nsecret = \"${PASSO_TEST_NOT_SET_42}\"\n",
            Path::new("."),
        );
        assert!(unset
            .unwrap_err()
            .contains("PASSO_TEST_NOT_SET_42 is not set"));
    }

    #[test]
    fn parses_commands_urls_and_the_lambda_endpoint() {
        let p = Project::parse(
            r#"
            [functions.a]
            command = ["python3", "a.py"]
            timeout_seconds = 5
            concurrency = 2
            env = { X = "1" }
            [functions.b]
            command = "node b.js"
            [functions.c]
            url = "http://127.0.0.1:9/c"
            [lambda]
            endpoint = "http://127.0.0.1:3001/"
            "#,
            Path::new("/proj"),
        )
        .unwrap();
        let a = &p.functions["a"];
        assert_eq!(a.timeout_seconds, 5);
        assert_eq!(a.concurrency, Some(2));
        assert!(matches!(&a.handler, Handler::Command { argv, cwd, env }
            if argv == &["python3", "a.py"] && cwd == Path::new("/proj") && env["X"] == "1"));
        assert!(
            matches!(&p.functions["b"].handler, Handler::Command { argv, .. } if argv == &["node", "b.js"])
        );
        assert_eq!(p.functions["b"].timeout_seconds, DEFAULT_TIMEOUT_SECONDS);
        assert!(
            matches!(&p.functions["c"].handler, Handler::Http { url } if url == "http://127.0.0.1:9/c")
        );
        assert_eq!(p.lambda_endpoint.as_deref(), Some("http://127.0.0.1:3001"));
    }

    #[test]
    fn state_machines_have_a_type() {
        let p = Project::parse(
            "[state_machines.a]\ndefinition = \"a.json\"\ntype = \"EXPRESS\"\n\
             [state_machines.b]\ndefinition = \"b.json\"\ntype = \"STANDARD\"\n\
             [state_machines.c]\ndefinition = \"c.json\"\n",
            Path::new("/proj"),
        )
        .unwrap();
        assert_eq!(p.state_machines["a"], Path::new("/proj/a.json"));
        assert_eq!(p.express_machines, BTreeSet::from(["a".to_string()]));
        let e = Project::parse(
            "[state_machines.a]\ndefinition = \"a.json\"\ntype = \"express\"\n",
            Path::new("."),
        )
        .unwrap_err();
        assert!(e.contains("not STANDARD or EXPRESS"), "{e}");
    }

    #[test]
    fn buckets_are_a_directory_or_an_endpoint() {
        let base = Path::new("/proj");
        let p = Project::parse("[buckets]\ndir = \"b\"\n", base).unwrap();
        assert_eq!(
            p.buckets,
            Some(crate::s3::Config::Local {
                dir: PathBuf::from("/proj/b")
            })
        );
        let p = Project::parse(
            "[buckets]\nendpoint = \"http://127.0.0.1:9000\"\nregion = \"eu-west-1\"\npath_style = true\n",
            base,
        )
        .unwrap();
        assert_eq!(
            p.buckets,
            Some(crate::s3::Config::Remote(crate::s3::remote::RemoteConfig {
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: Some("eu-west-1".into()),
                path_style: true,
            }))
        );
        for (text, says) in [
            ("[buckets]\ndir = \"b\"\nendpoint = \"http://h\"\n", "both"),
            ("[buckets]\nendpoint = \"ftp://h\"\n", "http://"),
            ("[buckets]\n", "needs a dir or an endpoint"),
            ("[buckets]\ndir = \"b\"\nbucket = \"x\"\n", "unknown field"),
        ] {
            let e = Project::parse(text, base).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }

    #[test]
    fn refuses_what_cannot_run() {
        let base = Path::new(".");
        for (text, says) in [
            ("[functions.a]\n", "needs a command or a url"),
            ("[functions.a]\ncommand = []\n", "is empty"),
            (
                "[functions.a]\ncommand = \"x\"\nurl = \"http://h\"\n",
                "both",
            ),
            ("[functions.a]\nurl = \"ftp://h\"\n", "http://"),
            ("[functions.\"a b\"]\ncommand = \"x\"\n", "must be 1-64"),
            (
                "[functions.a]\ncommand = \"x\"\nconcurrency = 0\n",
                "at least 1",
            ),
            (
                "[functions.a]\ncommand = \"x\"\ntimeout = 3\n",
                "unknown field",
            ),
        ] {
            let e = Project::parse(text, base).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
