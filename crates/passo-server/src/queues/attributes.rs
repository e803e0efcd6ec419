//! A queue's attributes: the ones CreateQueue and SetQueueAttributes take (checked as SQS
//! checks them, kept as the strings SQS's API carries) and the typed settings read from them.

use super::error::SqsError;
use serde_json::Value;
use std::collections::BTreeMap;

/// Attributes a caller may set, with SQS's bounds for the numeric ones.
const NUMERIC: &[(&str, i64, i64, i64)] = &[
    // (name, min, max, default)
    ("DelaySeconds", 0, 900, 0),
    ("MaximumMessageSize", 1024, 1_048_576, 262_144),
    ("MessageRetentionPeriod", 60, 1_209_600, 345_600),
    ("ReceiveMessageWaitTimeSeconds", 0, 20, 0),
    ("VisibilityTimeout", 0, 43_200, 30),
    ("KmsDataKeyReusePeriodSeconds", 60, 86_400, 300),
];

const OTHER: &[&str] = &[
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "Policy",
    "KmsMasterKeyId",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Attributes SQS computes; asking for them is fine, setting them is not.
pub const READ_ONLY: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
];

/// Whether GetQueueAttributes knows the name (it answers nothing for a known attribute
/// that does not apply, such as FifoQueue on a standard queue).
pub fn known(name: &str) -> bool {
    name == "All"
        || READ_ONLY.contains(&name)
        || OTHER.contains(&name)
        || NUMERIC.iter().any(|(n, ..)| *n == name)
}

/// Where messages go after `max_receive_count` receives.
#[derive(Debug, Clone, PartialEq)]
pub struct Redrive {
    pub target_arn: String,
    pub max_receive_count: i64,
}

/// The settable attributes of one queue, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes(pub BTreeMap<String, String>);

impl Attributes {
    /// Checks `given` (CreateQueue's or SetQueueAttributes' `Attributes`) for a queue that
    /// is FIFO or not, and merges it over `self`.
    pub fn merged(
        &self,
        given: &BTreeMap<String, String>,
        fifo: bool,
    ) -> Result<Attributes, SqsError> {
        let mut out = self.clone();
        for (k, v) in given {
            check(k, v, fifo)?;
            out.0.insert(k.clone(), v.clone());
        }
        Ok(out)
    }

    pub fn number(&self, name: &str) -> i64 {
        let default = NUMERIC
            .iter()
            .find(|(n, ..)| *n == name)
            .map_or(0, |(_, _, _, d)| *d);
        self.0
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|v| v == "true")
    }

    pub fn redrive(&self) -> Option<Redrive> {
        let v: Value = serde_json::from_str(self.0.get("RedrivePolicy")?).ok()?;
        let count = match &v["maxReceiveCount"] {
            Value::String(s) => s.parse().ok()?,
            n => n.as_i64()?,
        };
        Some(Redrive {
            target_arn: v["deadLetterTargetArn"].as_str()?.to_string(),
            max_receive_count: count,
        })
    }

    /// Every attribute with its value or default, as GetQueueAttributes lists them.
    pub fn all(&self, fifo: bool) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = NUMERIC
            .iter()
            .filter(|(n, ..)| *n != "KmsDataKeyReusePeriodSeconds" || self.0.contains_key(*n))
            .map(|(n, _, _, d)| (n.to_string(), d.to_string()))
            .collect();
        out.insert("SqsManagedSseEnabled".into(), "false".into());
        if fifo {
            out.insert("FifoQueue".into(), "true".into());
            out.insert("ContentBasedDeduplication".into(), "false".into());
            out.insert("DeduplicationScope".into(), "queue".into());
            out.insert("FifoThroughputLimit".into(), "perQueue".into());
        }
        out.extend(self.0.clone());
        out
    }
}

fn invalid(name: &str) -> SqsError {
    SqsError::InvalidAttributeValue(format!("Invalid value for the parameter {name}."))
}

fn check(name: &str, value: &str, fifo: bool) -> Result<(), SqsError> {
    if let Some((_, min, max, _)) = NUMERIC.iter().find(|(n, ..)| *n == name) {
        return match value.parse::<i64>() {
            Ok(n) if (*min..=*max).contains(&n) => Ok(()),
            _ => Err(invalid(name)),
        };
    }
    if READ_ONLY.contains(&name) || !OTHER.contains(&name) {
        return Err(SqsError::InvalidAttributeName(format!(
            "Unknown Attribute {name}."
        )));
    }
    match name {
        "FifoQueue" => match (value, fifo) {
            ("true", true) | ("false", false) => Ok(()),
            _ => Err(invalid(name)),
        },
        "ContentBasedDeduplication" | "DeduplicationScope" | "FifoThroughputLimit" if !fifo => Err(
            SqsError::InvalidAttributeName(format!("Unknown Attribute {name}.")),
        ),
        "ContentBasedDeduplication" | "SqsManagedSseEnabled" => match value {
            "true" | "false" => Ok(()),
            _ => Err(invalid(name)),
        },
        "DeduplicationScope" => match value {
            "queue" | "messageGroup" => Ok(()),
            _ => Err(invalid(name)),
        },
        "FifoThroughputLimit" => match value {
            "perQueue" | "perMessageGroupId" => Ok(()),
            _ => Err(invalid(name)),
        },
        "RedrivePolicy" => check_redrive(value),
        "RedriveAllowPolicy" | "Policy" if serde_json::from_str::<Value>(value).is_err() => {
            Err(invalid(name))
        }
        _ => Ok(()),
    }
}

fn check_redrive(value: &str) -> Result<(), SqsError> {
    let bad = || {
        SqsError::InvalidParameterValue(format!(
            "Value {value} for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a dictionary or is missing deadLetterTargetArn or maxReceiveCount."
        ))
    };
    let v: Value = serde_json::from_str(value).map_err(|_| bad())?;
    let count = match &v["maxReceiveCount"] {
        Value::String(s) => s.parse::<i64>().ok(),
        n => n.as_i64(),
    };
    match (v["deadLetterTargetArn"].as_str(), count) {
        (Some(arn), Some(n)) if arn.starts_with("arn:") && (1..=1000).contains(&n) => Ok(()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn bounds_and_names_are_checked_as_sqs_checks_them() {
        let a = Attributes::default();
        assert!(a
            .merged(&given(&[("VisibilityTimeout", "43200")]), false)
            .is_ok());
        assert!(matches!(
            a.merged(&given(&[("VisibilityTimeout", "43201")]), false),
            Err(SqsError::InvalidAttributeValue(_))
        ));
        assert!(matches!(
            a.merged(&given(&[("QueueArn", "x")]), false),
            Err(SqsError::InvalidAttributeName(_))
        ));
        assert!(matches!(
            a.merged(&given(&[("ContentBasedDeduplication", "true")]), false),
            Err(SqsError::InvalidAttributeName(_))
        ));
        assert!(a
            .merged(&given(&[("ContentBasedDeduplication", "true")]), true)
            .is_ok());
    }

    #[test]
    fn a_redrive_policy_names_its_target_and_count() {
        let policy =
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:dlq","maxReceiveCount":"3"}"#;
        let a = Attributes::default()
            .merged(&given(&[("RedrivePolicy", policy)]), false)
            .unwrap();
        assert_eq!(
            a.redrive(),
            Some(Redrive {
                target_arn: "arn:aws:sqs:us-east-1:1:dlq".into(),
                max_receive_count: 3
            })
        );
        assert!(Attributes::default()
            .merged(&given(&[("RedrivePolicy", "{}")]), false)
            .is_err());
        assert_eq!(a.number("VisibilityTimeout"), 30);
    }
}
