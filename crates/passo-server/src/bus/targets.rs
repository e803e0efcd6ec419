//! A rule's targets as PutTargets takes them: where an event goes (a state machine, or one of Passo's
//! own queues and topics), what
//! it is given (the event, `Input`, `InputPath` or `InputTransformer`), how long delivery is
//! retried (`RetryPolicy`) and where an undeliverable event is recorded (`DeadLetterConfig`).

use super::error::EventsError;
use super::names;
use super::transform::Transformer;
use passo_asl::path::Path;
use serde_json::Value;

/// What a target is given.
#[derive(Debug, Clone)]
pub enum Input {
    /// The whole event (no Input, InputPath or InputTransformer).
    Event,
    /// `Input`: fixed JSON text.
    Constant(String),
    /// `InputPath`: the part of the event a JSON path names.
    Path(Path),
    Transform(Transformer),
}

/// How long EventBridge keeps trying a delivery (AWS's defaults: 185 attempts, 24 hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub max_age_seconds: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 185,
            max_age_seconds: 86_400,
        }
    }
}

/// A validated target.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub arn: String,
    pub input: Input,
    pub retry: RetryPolicy,
    pub dead_letter: Option<String>,
    /// The target as given (ListTargetsByRule echoes it).
    pub spec: Value,
}

fn int_in(v: &Value, field: &str, lo: i64, hi: i64) -> Result<Option<u32>, EventsError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => {
            let n = n
                .as_i64()
                .ok_or_else(|| EventsError::Validation(format!("{field} must be an integer")))?;
            if n < lo {
                return Err(EventsError::constraint(
                    &n.to_string(),
                    &format!("retryPolicy.{}", lower_first(field)),
                    &format!("Member must have value greater than or equal to {lo}"),
                ));
            }
            if n > hi {
                return Err(EventsError::constraint(
                    &n.to_string(),
                    &format!("retryPolicy.{}", lower_first(field)),
                    &format!("Member must have value less than or equal to {hi}"),
                ));
            }
            Ok(Some(n as u32))
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

impl Target {
    /// Checks a target of a PutTargets request; problems that AWS reports for the whole
    /// request are errors here.
    pub fn parse(spec: &Value) -> Result<Target, EventsError> {
        let id = match spec.get("Id") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(EventsError::missing("targets.member.id")),
        };
        names::check_target_id(&id, "targets.member.id")?;
        let arn = match spec.get("Arn") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(EventsError::missing("targets.member.arn")),
        };
        let given: Vec<&str> = ["Input", "InputPath", "InputTransformer"]
            .into_iter()
            .filter(|k| spec.get(*k).is_some_and(|v| !v.is_null()))
            .collect();
        if given.len() > 1 {
            return Err(EventsError::Validation(format!(
                "Only one of Input, InputPath, or InputTransformer must be provided for target {id}."
            )));
        }
        let input = match given.first().copied() {
            None => Input::Event,
            Some("Input") => {
                let text = spec["Input"].as_str().unwrap_or("");
                if serde_json::from_str::<Value>(text).is_err() {
                    return Err(EventsError::Validation(format!(
                        "Input for target {id} must be valid JSON text."
                    )));
                }
                Input::Constant(text.to_string())
            }
            Some("InputPath") => {
                let text = spec["InputPath"].as_str().unwrap_or("");
                let path = Path::parse(text)
                    .ok()
                    .filter(|p| matches!(p.root, passo_asl::path::Root::Input))
                    .ok_or_else(|| {
                        EventsError::Validation(format!(
                            "InputPath for target {id} is not a valid JSON path: '{text}'"
                        ))
                    })?;
                Input::Path(path)
            }
            Some(_) => Input::Transform(Transformer::parse(&spec["InputTransformer"], &id)?),
        };
        let mut retry = RetryPolicy::default();
        if let Some(p) = spec.get("RetryPolicy").filter(|p| !p.is_null()) {
            if let Some(n) = int_in(p, "MaximumRetryAttempts", 0, 185)? {
                retry.max_attempts = n;
            }
            if let Some(n) = int_in(p, "MaximumEventAgeInSeconds", 60, 86_400)? {
                retry.max_age_seconds = n;
            }
        }
        let dead_letter = spec
            .get("DeadLetterConfig")
            .and_then(|d| d.get("Arn"))
            .and_then(Value::as_str)
            .map(String::from);
        Ok(Target {
            id,
            arn,
            input,
            retry,
            dead_letter,
            spec: spec.clone(),
        })
    }

    /// Where the target's events go, when Passo can take them there.
    pub fn destination(&self) -> Option<Destination> {
        let parts: Vec<&str> = self.arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "states", _, _, rest] if rest.starts_with("stateMachine:") => {
                Some(Destination::StateMachine)
            }
            ["arn", _, "sqs", ..] => queue_name(&self.arn).map(|name| Destination::Queue {
                name: name.to_string(),
                group_id: self.spec["SqsParameters"]["MessageGroupId"]
                    .as_str()
                    .map(String::from),
            }),
            ["arn", _, "sns", _, _, name] if !name.is_empty() && !name.contains(':') => {
                Some(Destination::Topic)
            }
            _ => None,
        }
    }

    /// Why Passo cannot deliver to this target (reported for the target alone, in
    /// PutTargets' FailedEntries), if it cannot.
    pub fn unsupported(&self) -> Option<String> {
        self.destination().is_none().then(|| {
            format!(
                "Passo delivers events to Step Functions state machines and to its own SQS queues and SNS topics; the target's Arn {} is none of them.",
                self.arn
            )
        })
    }
}

/// The queue an SQS ARN names (`arn:aws:sqs:REGION:ACCOUNT:NAME`).
pub fn queue_name(arn: &str) -> Option<&str> {
    match arn.splitn(6, ':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "sqs", _, _, name] if !name.is_empty() && !name.contains(':') => Some(name),
        _ => None,
    }
}

/// The kinds of target Passo delivers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// StartExecution of the machine (or alias, or version) the Arn names.
    StateMachine,
    /// SendMessage to one of Passo's queues; a FIFO queue needs `SqsParameters.MessageGroupId`.
    Queue {
        name: String,
        group_id: Option<String>,
    },
    /// Publish to one of Passo's topics (the Arn is the TopicArn).
    Topic,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:m";

    #[test]
    fn a_target_takes_one_kind_of_input() {
        let t = Target::parse(&json!({"Id": "t", "Arn": MACHINE})).unwrap();
        assert!(matches!(t.input, Input::Event));
        assert_eq!(t.retry, RetryPolicy::default());
        let both = json!({"Id": "t", "Arn": MACHINE, "Input": "{}", "InputPath": "$.detail"});
        let e = Target::parse(&both).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Only one of Input, InputPath, or InputTransformer must be provided for target t."
        );
        let bad = json!({"Id": "t", "Arn": MACHINE, "Input": "{nope"});
        assert_eq!(
            Target::parse(&bad).unwrap_err().code(),
            "ValidationException"
        );
    }

    #[test]
    fn retry_policy_bounds_are_aws_bounds() {
        let t = Target::parse(&json!({"Id": "t", "Arn": MACHINE,
            "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
            "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"}}))
        .unwrap();
        assert_eq!(t.retry.max_attempts, 0);
        assert_eq!(
            t.dead_letter.as_deref(),
            Some("arn:aws:sqs:us-east-1:123456789012:dlq")
        );
        let e = Target::parse(&json!({"Id": "t", "Arn": MACHINE,
            "RetryPolicy": {"MaximumEventAgeInSeconds": 59}}))
        .unwrap_err();
        assert!(e.to_string().contains("greater than or equal to 60"), "{e}");
    }

    #[test]
    fn machines_queues_and_topics_are_delivered_to() {
        let sm = Target::parse(&json!({"Id": "t", "Arn": MACHINE})).unwrap();
        assert_eq!(sm.destination(), Some(Destination::StateMachine));
        let q = Target::parse(&json!({"Id": "t", "Arn": "arn:aws:sqs:us-east-1:1:q.fifo",
            "SqsParameters": {"MessageGroupId": "g"}}))
        .unwrap();
        assert_eq!(
            q.destination(),
            Some(Destination::Queue {
                name: "q.fifo".into(),
                group_id: Some("g".into())
            })
        );
        let t =
            Target::parse(&json!({"Id": "t", "Arn": "arn:aws:sns:us-east-1:1:alerts"})).unwrap();
        assert_eq!(t.destination(), Some(Destination::Topic));
        for arn in [
            "arn:aws:lambda:us-east-1:1:function:f",
            "arn:aws:sqs:us-east-1:1:",
            "arn:aws:states:us-east-1:1:activity:a",
        ] {
            let other = Target::parse(&json!({"Id": "t", "Arn": arn})).unwrap();
            assert!(other.unsupported().is_some(), "{arn}");
        }
    }
}
