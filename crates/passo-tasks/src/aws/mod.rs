//! Every AWS service through `arn:aws:states:::aws-sdk:SERVICE:ACTION`, driven by the services'
//! published API models rather than code written per action.
//!
//! - [`models`]: the API models (botocore's, bundled at build time by
//!   `tools/aws-models/bundle.py`), inflated one service at a time when first used;
//! - [`names`]: Step Functions' service names and error prefixes;
//! - [`sign`][sign]: SigV4 signing;
//! - [`json`]: the AWS JSON protocols;
//! - [`query`]: the AWS query protocol (form in, XML out);
//! - [`local`]: the services a host answers itself when no endpoint is configured.
//!
//! Still to come (issue 15): restJson1, restXml and ec2Query; credentials beyond
//! static keys; per-service endpoints in passo.toml.

pub mod json;
pub mod local;
pub mod models;
pub mod names;
pub mod query;
pub mod sign;

use crate::s3::credentials::{self, Credentials};
use serde_json::Value;

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
                "{} (Service: {prefix}, Status Code: {s}, Request ID: {})",
                self.message, self.request_id
            ),
            None => self.message.clone(),
        };
        (name, Some(cause))
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
}

/// A signed `POST` of `body` to the endpoint, bounded by its deadline: the answer.
pub(crate) async fn post(
    http: &reqwest::Client,
    endpoint: &Endpoint<'_>,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<reqwest::Response, AwsError> {
    let mut b = ::http::Request::builder()
        .method("POST")
        .uri(endpoint.url.as_str());
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    let mut req = b.body(body).map_err(|e| AwsError::client(&e.to_string()))?;
    sign::sign(
        &mut req,
        endpoint.credentials,
        endpoint.region,
        endpoint.signing_name,
    )
    .map_err(|e| AwsError::client(&e))?;
    let mut req = reqwest::Request::try_from(req).map_err(|e| AwsError::client(&e.to_string()))?;
    *req.timeout_mut() = endpoint.deadline;
    http.execute(req)
        .await
        .map_err(|e| AwsError::client(&format!("Unable to execute HTTP request: {e}")))
}

/// The variable naming one service's endpoint, as the AWS SDKs read it.
fn endpoint_var(service_id: &str) -> String {
    format!(
        "AWS_ENDPOINT_URL_{}",
        service_id.to_ascii_uppercase().replace([' ', '-'], "_")
    )
}

/// The endpoint of a service as the AWS SDKs find it: `AWS_ENDPOINT_URL_<SERVICE_ID>`, then
/// `AWS_ENDPOINT_URL`, then, when there are credentials to call AWS with, AWS's own
/// `https://<prefix>.<region>.amazonaws.com`. Without any of them there is no endpoint: a
/// local engine does not call AWS unless asked to.
fn endpoint_url(
    service_id: &str,
    model: &Value,
    region: &str,
    creds: Option<&Credentials>,
) -> Option<String> {
    let set = |v: &str| std::env::var(v).ok().filter(|u| !u.is_empty());
    set(&endpoint_var(service_id))
        .or_else(|| set("AWS_ENDPOINT_URL"))
        .or_else(|| {
            creds?;
            let prefix = model["metadata"]["endpointPrefix"]
                .as_str()
                .unwrap_or("unknown");
            Some(format!("https://{prefix}.{region}.amazonaws.com"))
        })
}

/// Runs an `aws-sdk:SERVICE:ACTION` Task: the action's result, or Step Functions' error. A
/// call that has not answered by `deadline` (the Task's TimeoutSeconds) is given up.
pub async fn call(
    http: &reqwest::Client,
    local: Option<&dyn local::LocalServices>,
    service: &str,
    action: &str,
    input: &Value,
    deadline: Option<std::time::Duration>,
) -> crate::TaskResult {
    call_raw(http, local, service, action, input, deadline)
        .await
        .map_err(|e| match e {
            CallError::Unusable(what) => ("States.TaskFailed".to_string(), Some(what)),
            CallError::Service { error, prefix } => error.to_task_error(&prefix),
        })
}

/// Why a call gave no result: nothing could be called (an unknown service or action, no
/// endpoint), or the service (or the way to it) answered an error.
#[derive(Debug, Clone)]
pub enum CallError {
    Unusable(String),
    /// The service's error, and the aws-sdk error prefix of the service.
    Service {
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
    let unknown = CallError::Unusable;
    let (botocore, service_id) = names::service(service).map_err(|e| unknown(e.to_string()))?;
    let model = models::model(botocore).map_err(|e| unknown(e.to_string()))?;
    let prefix = names::error_prefix(service_id);
    let mut op = action.to_string();
    if let Some(f) = op.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    if model["operations"].get(&op).is_none() {
        return Err(unknown(format!(
            "The service '{service}' has no action '{action}'"
        )));
    }
    let region = credentials::default_region();
    let creds = credentials::resolve();
    // An endpoint the user configured wins; then the host's own service (queues, topics, the
    // event bus); then AWS, when there are credentials to call it with.
    let explicit = endpoint_url(service_id, &model, &region, None);
    if explicit.is_none() {
        if let Some(l) = local.filter(|l| l.serves(service_id)) {
            return l
                .call(service_id, &op, input)
                .await
                .map_err(|error| CallError::Service {
                    error,
                    prefix: prefix.clone(),
                });
        }
    }
    let Some(url) = explicit.or_else(|| endpoint_url(service_id, &model, &region, creds.as_ref()))
    else {
        return Err(unknown(format!(
            "No endpoint is configured for the service '{service}': set {} (or AWS_ENDPOINT_URL) to an AWS-compatible endpoint, or give AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) to call AWS",
            endpoint_var(service_id)
        )));
    };
    let endpoint = Endpoint {
        url,
        deadline,
        region: &region,
        signing_name: model["metadata"]["signingName"]
            .as_str()
            .or(model["metadata"]["endpointPrefix"].as_str())
            .unwrap_or(botocore),
        credentials: creds.as_ref(),
        model: &model,
    };
    match model["metadata"]["protocol"].as_str() {
        Some("json") => json::call(http, &endpoint, &op, input)
            .await
            .map_err(|error| CallError::Service {
                error,
                prefix: prefix.clone(),
            }),
        Some("query") => query::call(http, &endpoint, &op, input)
            .await
            .map_err(|error| CallError::Service {
                error,
                prefix: prefix.clone(),
            }),
        Some(other) => Err(unknown(format!(
            "Passo does not speak the {other} protocol of '{service}' yet"
        ))),
        None => Err(unknown(format!(
            "The model of '{service}' names no protocol"
        ))),
    }
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
}
