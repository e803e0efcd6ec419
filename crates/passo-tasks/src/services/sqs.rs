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

async fn send_message(cx: &Context<'_>, input: &Value) -> crate::TaskResult {
    sdk::check_parameters(cx, input, &SEND_MESSAGE)?;
    let mut params = sdk::without_nulls(input);
    if let Some(body) = params.get_mut("MessageBody") {
        *body = sdk::as_text(body);
    }
    let answer = sdk::without_nulls(&sdk::call(cx, &SQS, "sendMessage", &params).await?);
    let len = sdk::json_len(&answer);
    Ok(sdk::with_metadata(&SQS, answer, len))
}
