//! `arn:aws:states:::sqs:sendMessage[.waitForTaskToken]`: Amazon SQS's SendMessage with the
//! parameters Step Functions documents for it. A `MessageBody` that is not a string is sent
//! as its JSON text (how a `.waitForTaskToken` message carries `$$.Task.Token`); the result
//! is SQS's answer (`MD5OfMessageBody`, `MessageId`, ...) with the SDK's metadata.

use super::sdk::{self, Service};
use super::Context;
use serde_json::Value;

pub const SQS: Service = Service {
    sdk_name: "sqs",
    model: "sqs",
    prefix: "SQS",
    service_name: "AmazonSQS",
    base_exception: "AmazonSQSException",
    content_type: "application/x-amz-json-1.0",
    extra_headers: &[],
    request_id_header: "x-amzn-RequestId",
    connection_header: "connection",
};

/// SendMessage's parameters as Step Functions takes them.
const SEND_MESSAGE: [&str; 6] = [
    "QueueUrl",
    "MessageBody",
    "DelaySeconds",
    "MessageAttributes",
    "MessageDeduplicationId",
    "MessageGroupId",
];

pub async fn run(cx: &Context<'_>, action: &str, input: &Value) -> crate::TaskResult {
    match action {
        "sendMessage" => send_message(cx, input).await,
        other => Err(sdk::runtime_error(
            cx,
            &format!("The action 'sqs:{other}' is not supported by Step Functions; use arn:aws:states:::aws-sdk:sqs:{other}"),
        )),
    }
}

/// The host of a QueueUrl that cannot be reached because its name does not resolve.
///
/// Step Functions' SQS client sends each call to the QueueUrl's own host, so a QueueUrl
/// naming a host that does not exist fails there as the SDK fails, before any service
/// answers. Passo sends to the configured endpoint or its own queues instead (which find
/// the queue by name); it looks the host up (once per host) to fail the same way. IP
/// addresses, `localhost` and AWS's own hosts (which resolve wherever AWS is reachable)
/// are not looked up, so offline runs with AWS-style QueueUrls keep working.
async fn unresolvable_host(url: &str) -> Option<String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    let u = url::Url::parse(url).ok()?;
    let host = match u.host()? {
        url::Host::Domain(d) => d.to_string(),
        _ => return None,
    };
    let aws = host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn");
    if aws || host == "localhost" {
        return None;
    }
    let seen = SEEN.get_or_init(Default::default);
    if let Some(ok) = seen.lock().unwrap_or_else(|e| e.into_inner()).get(&host) {
        return (!ok).then_some(host);
    }
    let port = u.port_or_known_default().unwrap_or(443);
    let lookup = tokio::net::lookup_host((host.as_str(), port));
    let ok = match tokio::time::timeout(std::time::Duration::from_secs(5), lookup).await {
        Ok(Ok(mut addrs)) => addrs.next().is_some(),
        _ => false,
    };
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(host.clone(), ok);
    (!ok).then_some(host)
}

async fn send_message(cx: &Context<'_>, input: &Value) -> crate::TaskResult {
    sdk::check_parameters(cx, input, &SEND_MESSAGE)?;
    if let Some(host) = unresolvable_host(input["QueueUrl"].as_str().unwrap_or_default()).await {
        return Err((
            format!("{}.SdkClientException", SQS.prefix),
            Some(format!(
                "Unable to execute HTTP request: {host}: Name or service not known"
            )),
        ));
    }
    let mut params = sdk::without_nulls(input);
    if let Some(body) = params.get_mut("MessageBody") {
        *body = sdk::as_text(body);
    }
    let answer = sdk::without_nulls(&sdk::call(cx, &SQS, "sendMessage", &params).await?);
    let len = sdk::json_len(&answer);
    Ok(sdk::with_metadata(&SQS, answer, len))
}
