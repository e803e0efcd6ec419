//! Every AWS service through `arn:aws:states:::aws-sdk:SERVICE:ACTION`, driven by the services'
//! published API models rather than code written per action.
//!
//! - [`models`]: the API models (botocore's, bundled at build time by
//!   `tools/aws-models/bundle.py`), inflated one service at a time when first used;
//! - [`names`]: Step Functions' service names and error names;
//! - [`shapes`]: JSON by the model's shapes (PascalCase members in and out);
//! - [`request`]: one signed HTTP request ([`sign`][sign]: SigV4);
//! - [`json`]: the AWS JSON protocols; [`query`]: the query protocol and EC2's dialect;
//!   [`rest`]: restJson1 and restXml; [`xml`] and [`time`] are shared by them;
//! - [`settings`], [`files`], [`context`]: regions and endpoints (passo.toml, the
//!   environment, the shared config file); [`credentials`]: the standard chain;
//! - [`local`]: the services a host answers itself when no endpoint is configured.
//!
//! smithy-rpc-v2-cbor (CloudWatch, GameLift and 7 more) is not spoken: every service that
//! offers it also offers awsJson (`metadata.protocols`), which is used instead.

pub mod context;
pub mod credentials;
pub mod files;
pub mod json;
pub mod local;
pub mod models;
pub mod names;
pub mod query;
pub mod request;
pub mod rest;
pub mod settings;
pub mod shapes;
pub mod sign;
pub mod time;
pub mod xml;

use credentials::Credentials;
use serde_json::Value;
use settings::Target;

/// `arn:aws:states:::aws-sdk:dynamodb:putItem` -> (`dynamodb`, `putItem`).
pub fn action(resource: &str) -> Option<(&str, &str)> {
    let rest = resource.strip_prefix("arn:aws:states:::aws-sdk:")?;
    let rest = rest.split('.').next().unwrap_or(rest);
    let (service, action) = rest.split_once(':')?;
    (!service.is_empty() && !action.is_empty()).then_some((service, action))
}

/// A service's answer that is not a success, or a call that did not get one.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsError {
    /// The service's error code (`ResourceNotFoundException`); none for a failed call.
    pub code: Option<String>,
    pub message: String,
    pub status: Option<u16>,
    pub request_id: String,
}

impl AwsError {
    fn client(message: &str) -> AwsError {
        AwsError {
            code: None,
            message: message.to_string(),
            status: None,
            request_id: String::new(),
        }
    }

    /// Step Functions' error name and cause (`DynamoDb.ResourceNotFoundException`, and the
    /// SDK's "message (Service: DynamoDb, Status Code: 400, Request ID: ...)").
    pub fn to_task_error(&self, prefix: &str) -> (String, Option<String>) {
        let name = match (&self.code, self.status) {
            (Some(c), _) => format!("{prefix}.{c}"),
            (None, Some(_)) => format!("{prefix}.{prefix}Exception"),
            (None, None) => format!("{prefix}.SdkClientException"),
        };
        let cause = match self.status {
            Some(s) => format!(
                "{} (Service: {prefix}, Status Code: {s}, Request ID: {}){}",
                self.message,
                self.request_id,
                attempt_count(prefix)
            ),
            None => self.message.clone(),
        };
        (name, Some(cause))
    }
}

/// What AWS's SDK client adds after the service's words. Step Functions' own client (for
/// `aws-sdk:sfn:*`) is built with a newer SDK than the other services' and appends the
/// attempt count: every `aws-sdk:sfn` error AWS recorded ends so (8 in the conformance
/// corpus), and no other service's does (DynamoDb, SecretsManager, S3: 26).
fn attempt_count(prefix: &str) -> &'static str {
    if prefix == "Sfn" {
        " (SDK Attempt Count: 1)"
    } else {
        ""
    }
}

/// Where a service is reached, and how requests to it are signed.
pub struct Endpoint<'a> {
    pub url: String,
    /// How long the call may take (the Task's TimeoutSeconds).
    pub deadline: Option<std::time::Duration>,
    pub region: &'a str,
    pub signing_name: &'a str,
    pub credentials: Option<&'a Credentials>,
    pub model: &'a Value,
    /// A configured endpoint (an emulator, a proxy) rather than AWS's own: no host prefixes.
    pub custom: bool,
}

/// The protocols Passo speaks, by botocore's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    RestJson,
    RestXml,
    Query,
    Ec2,
}

/// The protocol to speak to a service: the first of its `metadata.protocols` (else its
/// `protocol`) that Passo speaks, as the AWS SDKs choose.
pub fn protocol(model: &Value) -> Result<Protocol, String> {
    let meta = &model["metadata"];
    let listed: Vec<&str> = match meta["protocols"].as_array() {
        Some(list) => list.iter().filter_map(Value::as_str).collect(),
        None => meta["protocol"].as_str().into_iter().collect(),
    };
    listed
        .iter()
        .find_map(|p| match *p {
            "json" => Some(Protocol::Json),
            "rest-json" => Some(Protocol::RestJson),
            "rest-xml" => Some(Protocol::RestXml),
            "query" => Some(Protocol::Query),
            "ec2" => Some(Protocol::Ec2),
            _ => None,
        })
        .ok_or_else(|| format!("Passo does not speak the protocols {listed:?}"))
}

/// Runs an `aws-sdk:SERVICE:ACTION` Task: the action's result, or Step Functions' error. A
/// call that has not answered by `deadline` (the Task's TimeoutSeconds) is given up.
/// Settings come from [`context::current`]: passo.toml's `[aws]`, the environment, the
/// shared files.
pub async fn call(
    http: &reqwest::Client,
    local: Option<&dyn local::LocalServices>,
    service: &str,
    action: &str,
    input: &Value,
    deadline: Option<std::time::Duration>,
) -> crate::TaskResult {
    call_in(
        &context::current(),
        http,
        local,
        service,
        action,
        input,
        deadline,
    )
    .await
}

/// [`call`] with the given settings.
pub async fn call_in(
    ctx: &context::Context,
    http: &reqwest::Client,
    local: Option<&dyn local::LocalServices>,
    service: &str,
    action: &str,
    input: &Value,
    deadline: Option<std::time::Duration>,
) -> crate::TaskResult {
    let (mut v, model, output) = call_api_named(ctx, http, local, service, action, input, deadline)
        .await
        .map_err(|e| match e {
            CallError::Unusable(what) => ("States.TaskFailed".to_string(), Some(what)),
            CallError::Service { error, prefix, .. } => error.to_task_error(&prefix),
        })?;
    // aws-sdk Tasks see members as the Java 2 SDK names them (`DbInstances`, `Bool`).
    if let Some(shape) = output {
        shapes::rename(&model, &shape, &mut v);
    }
    Ok(v)
}

/// Why a call gave no result: nothing could be called (an unknown service or action, no
/// endpoint), or the service (or the way to it) answered an error.
#[derive(Debug, Clone)]
pub enum CallError {
    Unusable(String),
    /// The service's error: as it came (`raw`), with its code the Java SDK's exception
    /// (`error`), and the aws-sdk error prefix of the service.
    Service {
        raw: AwsError,
        error: AwsError,
        prefix: String,
    },
}

/// What [`call`] does, with the service's error as it came: the optimized integrations
/// (`sqs:sendMessage`, ...) name errors their own way.
pub async fn call_raw(
    http: &reqwest::Client,
    local: Option<&dyn local::LocalServices>,
    service: &str,
    action: &str,
    input: &Value,
    deadline: Option<std::time::Duration>,
) -> Result<Value, CallError> {
    call_raw_in(
        &context::current(),
        http,
        local,
        service,
        action,
        input,
        deadline,
    )
    .await
}

/// [`call_raw`] with the given settings. Its result's members are spelled as the API spells
/// them, first letter capitalised (`MD5OfMessageBody`, as the optimized integrations give).
pub async fn call_raw_in(
    ctx: &context::Context,
    http: &reqwest::Client,
    local: Option<&dyn local::LocalServices>,
    service: &str,
    action: &str,
    input: &Value,
    deadline: Option<std::time::Duration>,
) -> Result<Value, CallError> {
    call_api_named(ctx, http, local, service, action, input, deadline)
        .await
        .map(|(v, _, _)| v)
}

/// The call: its result with the API's member names, the model and the output shape's name.
async fn call_api_named(
    ctx: &context::Context,
    http: &reqwest::Client,
    local: Option<&dyn local::LocalServices>,
    service: &str,
    action: &str,
    input: &Value,
    deadline: Option<std::time::Duration>,
) -> Result<(Value, std::sync::Arc<Value>, Option<String>), CallError> {
    let unknown = CallError::Unusable;
    let (botocore, service_id) = names::service(service).map_err(|e| unknown(e.to_string()))?;
    let model = models::model(botocore).map_err(|e| unknown(e.to_string()))?;
    let prefix = names::error_prefix(service_id);
    // `describeDBInstances` is `DescribeDBInstances`; any other casing is found too.
    let Some(op) = model["operations"].as_object().and_then(|ops| {
        let mut exact = action.to_string();
        if let Some(f) = exact.get_mut(0..1) {
            f.make_ascii_uppercase();
        }
        ops.contains_key(&exact)
            .then_some(exact)
            .or_else(|| ops.keys().find(|k| k.eq_ignore_ascii_case(action)).cloned())
    }) else {
        return Err(unknown(format!(
            "The service '{service}' has no action '{action}'"
        )));
    };
    let protocol = protocol(&model).map_err(|e| unknown(format!("{e} of '{service}'")))?;
    let fail = |e: AwsError| CallError::Service {
        raw: e.clone(),
        error: e.modeled(&model),
        prefix: prefix.clone(),
    };
    let output = model["operations"][&op]["output"]["shape"]
        .as_str()
        .map(str::to_string);
    let route = ctx.route(service_id);
    // An endpoint the user configured wins; then the host's own service (queues, topics, the
    // event bus); then AWS, when there are credentials to call it with.
    if matches!(route.target, Target::Default | Target::Local) {
        if let Some(l) = local.filter(|l| l.serves(service_id)) {
            let v = l.call(service_id, &op, input).await.map_err(fail)?;
            return Ok((v, model.clone(), output));
        }
    }
    let creds = ctx
        .credentials(http)
        .await
        .map_err(|e| fail(AwsError::client(&e.to_string())))?;
    let (url, custom) = match route.target {
        Target::Configured(u) => (u, true),
        Target::Aws | Target::Default if creds.is_some() => {
            (settings::aws_endpoint(&model, &route.region), false)
        }
        Target::Aws => {
            return Err(unknown(format!(
                "passo.toml sends '{service}' to AWS, but no AWS credentials were found (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, web identity, container or instance credentials)"
            )))
        }
        Target::Local => {
            return Err(unknown(format!(
                "'{service}' is sent to Passo's own services (endpoint = \"local\" or a route), but Passo has no local {service_id}: its own services are SQS, SNS, EventBridge and S3 (buckets)"
            )))
        }
        Target::Default => {
            return Err(unknown(format!(
                "No endpoint is configured for the service '{service}': set {} (or AWS_ENDPOINT_URL, or [aws.services.{service}] endpoint in passo.toml) to an AWS-compatible endpoint, or give AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) to call AWS",
                settings::endpoint_var(service_id)
            )))
        }
    };
    // A global endpoint (IAM, Route 53) is signed for us-east-1 whatever the region.
    let region = if !custom && model["metadata"]["globalEndpoint"].is_string() {
        "us-east-1"
    } else {
        route.region.as_str()
    };
    let endpoint = Endpoint {
        url,
        deadline,
        region,
        signing_name: model["metadata"]["signingName"]
            .as_str()
            .or(model["metadata"]["endpointPrefix"].as_str())
            .unwrap_or(botocore),
        credentials: creds.as_deref(),
        model: &model,
        custom,
    };
    let result = match protocol {
        Protocol::Json => json::call(http, &endpoint, &op, input).await,
        Protocol::Query => query::call(http, &endpoint, query::Dialect::Query, &op, input).await,
        Protocol::Ec2 => query::call(http, &endpoint, query::Dialect::Ec2, &op, input).await,
        Protocol::RestJson => rest::call(http, &endpoint, rest::Body::Json, &op, input).await,
        Protocol::RestXml => rest::call(http, &endpoint, rest::Body::Xml, &op, input).await,
    };
    let v = result.map_err(fail)?;
    Ok((v, model.clone(), output))
}

#[cfg(test)]
mod tests {
    #[test]
    fn resources_name_service_and_action() {
        assert_eq!(
            super::action("arn:aws:states:::aws-sdk:dynamodb:putItem"),
            Some(("dynamodb", "putItem"))
        );
        assert_eq!(
            super::action("arn:aws:states:::aws-sdk:sqs:sendMessage.waitForTaskToken"),
            Some(("sqs", "sendMessage"))
        );
        assert_eq!(super::action("arn:aws:states:::lambda:invoke"), None);
    }

    #[test]
    fn services_offering_cbor_are_spoken_to_in_json() {
        use super::{models::model, protocol, Protocol};
        assert_eq!(protocol(&model("cloudwatch").unwrap()), Ok(Protocol::Json));
        assert_eq!(protocol(&model("gamelift").unwrap()), Ok(Protocol::Json));
        assert_eq!(protocol(&model("route53").unwrap()), Ok(Protocol::RestXml));
        assert_eq!(protocol(&model("ec2").unwrap()), Ok(Protocol::Ec2));
        assert!(
            protocol(&serde_json::json!({"metadata": {"protocol": "smithy-rpc-v2-cbor"}})).is_err()
        );
    }
}
