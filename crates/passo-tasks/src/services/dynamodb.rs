//! `arn:aws:states:::dynamodb:getItem|putItem|updateItem|deleteItem`: DynamoDB's item calls,
//! their parameters passed on as DynamoDB takes them (attribute values typed: `{"S": ...}`),
//! their answers (`Item`, `Attributes`, ...) with the SDK's metadata. The other DynamoDB
//! actions are `aws-sdk:dynamodb:*`.

use super::sdk::{self, Service};
use super::Context;
use serde_json::Value;

pub const DYNAMODB: Service = Service {
    sdk_name: "dynamodb",
    model: "dynamodb",
    prefix: "DynamoDB",
    service_name: "AmazonDynamoDBv2",
    base_exception: "AmazonDynamoDBException",
    content_type: "application/x-amz-json-1.0",
    // DynamoDB's endpoint names itself "Server" and sends its body's CRC32.
    extra_headers: &[("Server", "Server")],
    request_id_header: "x-amzn-RequestId",
    connection_header: "Connection",
};

pub async fn run(cx: &Context<'_>, action: &str, input: &Value) -> crate::TaskResult {
    if !["getItem", "putItem", "updateItem", "deleteItem"].contains(&action) {
        return Err(sdk::runtime_error(
            cx,
            &format!("The action 'dynamodb:{action}' is not supported by Step Functions; use arn:aws:states:::aws-sdk:dynamodb:{action}"),
        ));
    }
    if !input.is_object() {
        return Err(sdk::runtime_error(
            cx,
            "The parameters must be a JSON object",
        ));
    }
    let params = sdk::without_nulls(input);
    let answer = sdk::call(cx, &DYNAMODB, action, &params).await?;
    let len = sdk::json_len(&answer);
    let crc = crc32fast::hash(answer.to_string().as_bytes()).to_string();
    let mut out = sdk::with_metadata(&DYNAMODB, answer, len);
    for h in ["AllHttpHeaders", "HttpHeaders"] {
        let v = if h == "HttpHeaders" {
            Value::String(crc.clone())
        } else {
            serde_json::json!([crc])
        };
        out["SdkHttpMetadata"][h]["x-amz-crc32"] = v;
    }
    Ok(out)
}
