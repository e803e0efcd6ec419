//! Names: which botocore service a Step Functions `aws-sdk:NAME` means, and how Step Functions
//! names that service's errors.
//!
//! Step Functions' service names are the AWS SDK for Java 2's (`dynamodb`, `sfn`,
//! `eventbridge`, `secretsmanager`): the service's `serviceId` lower-cased without spaces or
//! dashes, which is how they are matched here. Errors are `{Prefix}.{Code}` with the Java 2
//! client's prefix (`DynamoDb`, `Sfn`, `SecretsManager`: the serviceId's words in Pascal case,
//! an all-capital word capitalised as a word), as the recorded cases show
//! (`DynamoDb.ResourceNotFoundException`, `Sfn.InvalidTokenException`); an error without a
//! code is `{Prefix}.{Prefix}Exception`.
//!
//! The error after the prefix is the Java SDK's exception class: the model's exception shape
//! for the code (found by its name or its `error.code`: SNS answers `NotFound` for
//! `NotFoundException`), with `Exception` added when the shape's name lacks it (AWS's guide:
//! S3's `BucketAlreadyExists` is `S3.BucketAlreadyExistsException`); a code the model does
//! not declare is the service's generic exception, as the recorded cases show
//! (`DynamoDb.DynamoDbException` for a ValidationException) and as EC2's errors all are
//! (`Ec2.Ec2Exception`: EC2's model declares no exceptions).

use super::models::{service_ids, ModelError};
use super::AwsError;
use serde_json::Value;

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The botocore service and serviceId of Step Functions' service name `name`.
pub fn service(name: &str) -> Result<(&'static str, &'static str), ModelError> {
    let want = squash(name);
    let all = service_ids()?;
    all.iter()
        .find(|(_, id)| squash(id) == want)
        .or_else(|| all.iter().find(|(b, _)| squash(b) == want))
        .copied()
        .ok_or_else(|| ModelError::UnknownService(name.to_string()))
}

/// The error prefix of a serviceId: `DynamoDB` -> `DynamoDb`, `SFN` -> `Sfn`,
/// `Secrets Manager` -> `SecretsManager`, `EventBridge` -> `EventBridge`, `S3` -> `S3`.
pub fn error_prefix(service_id: &str) -> String {
    let mut out = String::new();
    for word in service_id.split([' ', '-', '_']).filter(|w| !w.is_empty()) {
        // Split a word where a run of capitals ends: `DynamoDB` -> `Dynamo`, `DB`.
        let chars: Vec<char> = word.chars().collect();
        let mut parts: Vec<String> = Vec::new();
        let mut cur = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev_lower = i > 0 && chars[i - 1].is_ascii_lowercase();
            if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            cur.push(c);
        }
        parts.push(cur);
        for p in parts {
            let mut cs = p.chars();
            if let Some(first) = cs.next() {
                out.push(first.to_ascii_uppercase());
                out.extend(cs.map(|c| c.to_ascii_lowercase()));
            }
        }
    }
    out
}

impl AwsError {
    /// This error with its code replaced by the exception the model declares for it; a code
    /// the model does not declare is dropped (the service's generic exception).
    pub fn modeled(mut self, model: &Value) -> AwsError {
        self.code = self.code.take().and_then(|c| exception_name(model, &c));
        self
    }
}

/// The exception class the Java SDK throws for error code `code`, if the model declares one.
fn exception_name(model: &Value, code: &str) -> Option<String> {
    let shapes = model["shapes"].as_object()?;
    let name = match shapes.get(code) {
        Some(s) if s["exception"] == true => code.to_string(),
        _ => shapes
            .iter()
            .find(|(_, s)| s["exception"] == true && s["error"]["code"].as_str() == Some(code))?
            .0
            .clone(),
    };
    Some(if name.ends_with("Exception") {
        name
    } else {
        format!("{name}Exception")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_as_the_java_2_sdk_names_its_clients() {
        assert_eq!(error_prefix("DynamoDB"), "DynamoDb");
        assert_eq!(error_prefix("SFN"), "Sfn");
        assert_eq!(error_prefix("Secrets Manager"), "SecretsManager");
        assert_eq!(error_prefix("EventBridge"), "EventBridge");
        assert_eq!(error_prefix("S3"), "S3");
        assert_eq!(error_prefix("SQS"), "Sqs");
        assert_eq!(error_prefix("CloudWatch Logs"), "CloudWatchLogs");
    }

    #[test]
    fn errors_are_the_exceptions_the_model_declares() {
        let name = |service: &str, code: &str| {
            let m = crate::aws::models::model(service).unwrap();
            let e = AwsError::service(code, "m", 400).modeled(&m);
            e.to_task_error(&error_prefix(m["metadata"]["serviceId"].as_str().unwrap()))
                .0
        };
        assert_eq!(
            name("dynamodb", "ResourceNotFoundException"),
            "DynamoDb.ResourceNotFoundException"
        );
        assert_eq!(
            name("dynamodb", "ValidationException"),
            "DynamoDb.DynamoDbException"
        );
        assert_eq!(name("sns", "NotFound"), "Sns.NotFoundException");
        assert_eq!(
            name("route53", "NoSuchHostedZone"),
            "Route53.NoSuchHostedZoneException"
        );
        assert_eq!(name("ec2", "InvalidVpcID.NotFound"), "Ec2.Ec2Exception");
    }

    #[test]
    fn step_functions_names_find_botocore_services() {
        assert_eq!(service("dynamodb").unwrap().0, "dynamodb");
        assert_eq!(service("sfn").unwrap().0, "stepfunctions");
        assert_eq!(service("eventbridge").unwrap().0, "events");
        assert_eq!(service("secretsmanager").unwrap().0, "secretsmanager");
        assert_eq!(service("cloudwatchlogs").unwrap().0, "logs");
        assert!(service("nonesuch").is_err());
    }
}
