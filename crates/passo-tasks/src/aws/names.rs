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

use super::models::{service_ids, ModelError};

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
    fn step_functions_names_find_botocore_services() {
        assert_eq!(service("dynamodb").unwrap().0, "dynamodb");
        assert_eq!(service("sfn").unwrap().0, "stepfunctions");
        assert_eq!(service("eventbridge").unwrap().0, "events");
        assert_eq!(service("secretsmanager").unwrap().0, "secretsmanager");
        assert_eq!(service("cloudwatchlogs").unwrap().0, "logs");
        assert!(service("nonesuch").is_err());
    }
}
