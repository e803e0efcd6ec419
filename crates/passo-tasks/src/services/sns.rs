//! `arn:aws:states:::sns:publish[.waitForTaskToken]`: Amazon SNS's Publish with the
//! parameters Step Functions documents for it. A `Message` that is not a string is sent as
//! its JSON text; the result is SNS's answer (`MessageId`, and `SequenceNumber` for FIFO
//! topics) with the SDK's metadata of SNS's XML answer.

use super::sdk::{self, Service};
use super::Context;
use serde_json::Value;

pub const SNS: Service = Service {
    sdk_name: "sns",
    model: "sns",
    prefix: "SNS",
    service_name: "AmazonSNS",
    base_exception: "AmazonSNSException",
    content_type: "text/xml",
    extra_headers: &[],
    request_id_header: "x-amzn-RequestId",
    connection_header: "connection",
};

/// Publish's parameters as Step Functions takes them.
const PUBLISH: [&str; 9] = [
    "Message",
    "MessageAttributes",
    "MessageDeduplicationId",
    "MessageGroupId",
    "MessageStructure",
    "PhoneNumber",
    "Subject",
    "TargetArn",
    "TopicArn",
];

pub async fn run(cx: &Context<'_>, action: &str, input: &Value) -> crate::TaskResult {
    match action {
        "publish" => publish(cx, input).await,
        other => Err(sdk::runtime_error(
            cx,
            &format!("The action 'sns:{other}' is not supported by Step Functions; use arn:aws:states:::aws-sdk:sns:{other}"),
        )),
    }
}

async fn publish(cx: &Context<'_>, input: &Value) -> crate::TaskResult {
    sdk::check_parameters(cx, input, &PUBLISH)?;
    let mut params = sdk::without_nulls(input);
    if let Some(m) = params.get_mut("Message") {
        *m = sdk::as_text(m);
    }
    let answer = sdk::without_nulls(&sdk::call(cx, &SNS, "publish", &params).await?);
    let len = xml_len(&answer);
    Ok(sdk::with_metadata(&SNS, answer, len))
}

/// The length of SNS's XML answer to Publish (AWS's layout: two-space indents, a request id
/// of 36 characters).
fn xml_len(answer: &Value) -> usize {
    let members: String = answer
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            format!("    <{k}>{v}</{k}>\n")
        })
        .collect();
    let rid = "00000000-0000-0000-0000-000000000000";
    format!(
        "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\n  <PublishResult>\n{members}  </PublishResult>\n  <ResponseMetadata>\n    <RequestId>{rid}</RequestId>\n  </ResponseMetadata>\n</PublishResponse>\n"
    )
    .len()
}

#[cfg(test)]
mod tests {
    #[test]
    fn publish_answers_count_as_aws_lays_them_out() {
        let id = serde_json::json!({"MessageId": "94f20ce6-13c5-43a0-9a9e-ca52d816e90b"});
        assert_eq!(super::xml_len(&id), 294);
    }
}
