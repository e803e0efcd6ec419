//! The optimized service integrations: `arn:aws:states:::SERVICE:ACTION[.PATTERN]`, with the
//! request and response shapes Step Functions gives them (which differ from the services'
//! own APIs: a message body that is JSON is sent as its text, results carry the SDK's HTTP
//! metadata, errors are named as the AWS SDK for Java 1 names them).
//!
//! One module per service family; [`family`] is the only place that maps a resource to one:
//! - `sqs:sendMessage` in [`sqs`];
//! - `sns:publish` in [`sns`];
//! - `dynamodb:getItem`, `putItem`, `updateItem`, `deleteItem` in [`dynamodb`];
//! - `events:putEvents` in [`events`];
//! - in [`sdk`], what they share (the call, the SDK's metadata, error names).
//!
//! The calls themselves go through [`crate::aws`] (endpoints, signing, protocols, and the
//! host's own services when no endpoint is configured).

pub mod dynamodb;
pub mod events;
pub mod sdk;
pub mod sns;
pub mod sqs;

use serde_json::Value;

/// How Step Functions waits on a service call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// The call's answer is the task's result.
    RequestResponse,
    /// `.waitForTaskToken`: the call hands a task token on; the task ends when it comes back.
    WaitForTaskToken,
    /// `.sync` (and `.sync:2`): the call starts a job; the task ends with the job.
    Sync,
}

/// The service families with an optimized integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Sqs,
    Sns,
    DynamoDb,
    Events,
}

/// `arn:aws:states:::sqs:sendMessage.waitForTaskToken` -> (Sqs, `sendMessage`,
/// WaitForTaskToken). None for resources that are not an optimized integration this module
/// knows (aws-sdk calls, Lambda, nested executions, ...).
pub fn family(resource: &str) -> Option<(Family, &str, Pattern)> {
    let rest = resource.strip_prefix("arn:aws:states:::")?;
    let (service, call) = rest.split_once(':')?;
    let (action, pattern) = match call.split_once('.') {
        None => (call, Pattern::RequestResponse),
        Some((a, "waitForTaskToken")) => (a, Pattern::WaitForTaskToken),
        Some((a, p)) if p == "sync" || p.starts_with("sync:") => (a, Pattern::Sync),
        Some(_) => return None,
    };
    let family = match service {
        "sqs" => Family::Sqs,
        "sns" => Family::Sns,
        "dynamodb" => Family::DynamoDb,
        "events" => Family::Events,
        _ => return None,
    };
    Some((family, action, pattern))
}

/// What a family's call needs from the Task and the host.
pub struct Context<'a> {
    pub http: &'a reqwest::Client,
    pub local: Option<&'a dyn crate::aws::local::LocalServices>,
    pub deadline: Option<std::time::Duration>,
    pub state_name: &'a str,
    /// The execution's ARN (empty outside an execution, e.g. TestState).
    pub execution_arn: &'a str,
}

/// Runs an optimized integration's Task (`resource` as [`family`] read it).
pub async fn run(
    cx: &Context<'_>,
    family: Family,
    action: &str,
    pattern: Pattern,
    input: &Value,
) -> crate::TaskResult {
    let supported = match family {
        Family::Sqs | Family::Sns | Family::Events => {
            matches!(
                pattern,
                Pattern::RequestResponse | Pattern::WaitForTaskToken
            )
        }
        Family::DynamoDb => pattern == Pattern::RequestResponse,
    };
    if !supported {
        return Err(sdk::runtime_error(
            cx,
            &format!("The integration pattern {pattern:?} is not supported for this resource"),
        ));
    }
    match family {
        Family::Sqs => sqs::run(cx, action, input).await,
        Family::Sns => sns::run(cx, action, input).await,
        Family::DynamoDb => dynamodb::run(cx, action, input).await,
        Family::Events => events::run(cx, action, input).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_name_their_family_action_and_pattern() {
        assert_eq!(
            family("arn:aws:states:::sqs:sendMessage"),
            Some((Family::Sqs, "sendMessage", Pattern::RequestResponse))
        );
        assert_eq!(
            family("arn:aws:states:::sns:publish.waitForTaskToken"),
            Some((Family::Sns, "publish", Pattern::WaitForTaskToken))
        );
        assert_eq!(
            family("arn:aws:states:::dynamodb:getItem"),
            Some((Family::DynamoDb, "getItem", Pattern::RequestResponse))
        );
        assert_eq!(
            family("arn:aws:states:::events:putEvents.sync"),
            Some((Family::Events, "putEvents", Pattern::Sync))
        );
        assert_eq!(family("arn:aws:states:::aws-sdk:sqs:sendMessage"), None);
        assert_eq!(family("arn:aws:states:::lambda:invoke"), None);
        assert_eq!(family("arn:aws:states:::sqs:sendMessage.later"), None);
    }
}
