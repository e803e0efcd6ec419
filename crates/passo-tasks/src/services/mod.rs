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
//! - the job-running services (`ecs:runTask`, `batch:submitJob`, `glue:startJobRun`,
//!   `athena:*`, `codebuild:startBuild`, `sagemaker:*`, `emr-serverless:*`), with `.sync`,
//!   in [`jobs`] (one file per service);
//! - `bedrock:invokeModel` in [`bedrock`]; `apigateway:invoke` in [`apigateway`];
//! - in [`sdk`], what they share (the call, the SDK's metadata, error names).
//!
//! The calls themselves go through [`crate::aws`] (endpoints, signing, protocols, and the
//! host's own services when no endpoint is configured).

pub mod apigateway;
pub mod bedrock;
pub mod dynamodb;
pub mod events;
pub mod jobs;
pub mod sdk;
pub mod sns;
pub mod sqs;

use serde_json::Value;

/// A task's failure: its error name and cause.
pub type Failure = (String, Option<String>);

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
    Ecs,
    Batch,
    Glue,
    Athena,
    CodeBuild,
    SageMaker,
    EmrServerless,
    Bedrock,
    ApiGateway,
}

impl Family {
    /// The service's name in the resource, for the job-running families.
    fn job_service(self) -> Option<&'static str> {
        Some(match self {
            Family::Ecs => "ecs",
            Family::Batch => "batch",
            Family::Glue => "glue",
            Family::Athena => "athena",
            Family::CodeBuild => "codebuild",
            Family::SageMaker => "sagemaker",
            Family::EmrServerless => "emr-serverless",
            _ => return None,
        })
    }
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
        "ecs" => Family::Ecs,
        "batch" => Family::Batch,
        "glue" => Family::Glue,
        "athena" => Family::Athena,
        "codebuild" => Family::CodeBuild,
        "sagemaker" => Family::SageMaker,
        "emr-serverless" => Family::EmrServerless,
        "bedrock" => Family::Bedrock,
        "apigateway" => Family::ApiGateway,
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

/// Runs an optimized integration's Task (`resource` as [`family`] read it). For a `.sync`
/// job this is the submission only: [`follow`] waits for the job.
pub async fn run(
    cx: &Context<'_>,
    family: Family,
    action: &str,
    pattern: Pattern,
    input: &Value,
) -> crate::TaskResult {
    if let Some(service) = family.job_service() {
        return jobs::run(cx, service, action, pattern, input).await;
    }
    let supported = match family {
        Family::Sqs | Family::Sns | Family::Events => {
            matches!(
                pattern,
                Pattern::RequestResponse | Pattern::WaitForTaskToken
            )
        }
        Family::ApiGateway => {
            action == "invoke"
                && matches!(
                    pattern,
                    Pattern::RequestResponse | Pattern::WaitForTaskToken
                )
        }
        Family::Bedrock => action == "invokeModel" && pattern == Pattern::RequestResponse,
        _ => pattern == Pattern::RequestResponse,
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
        Family::Bedrock => bedrock::invoke_model(cx, input).await,
        Family::ApiGateway => apigateway::invoke(cx.http, input, cx.deadline).await,
        // The job families were answered above.
        _ => Err(sdk::runtime_error(cx, "This resource is not supported")),
    }
}

/// Whether a resource is a `.sync` job the host follows after recording its submission.
pub fn follows_job(resource: &str) -> bool {
    match family(resource) {
        Some((f, action, Pattern::Sync)) => f.job_service().is_some_and(|s| {
            matches!(
                jobs::find(s, action, Pattern::Sync),
                Some(jobs::Action::Job(..))
            )
        }),
        _ => false,
    }
}

/// Follows the job a `.sync` task submitted (`submitted`: the submission's recorded answer)
/// until it ends, or until `stop` fires, when the job is stopped.
pub async fn follow(
    cx: &Context<'_>,
    resource: &str,
    input: &Value,
    submitted: &Value,
    stop: &tokio_util::sync::CancellationToken,
) -> crate::TaskResult {
    let job = family(resource).and_then(|(f, action, pattern)| {
        match jobs::find(f.job_service()?, action, pattern)? {
            jobs::Action::Job(job, Pattern::Sync) => Some(job),
            _ => None,
        }
    });
    match job {
        Some(job) => jobs::follow(cx, job, submitted, input, stop).await,
        None => Err(sdk::runtime_error(
            cx,
            &format!("The resource '{resource}' does not run a job that can be waited for"),
        )),
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
        assert_eq!(
            family("arn:aws:states:::glue:startJobRun.sync"),
            Some((Family::Glue, "startJobRun", Pattern::Sync))
        );
        assert_eq!(
            family("arn:aws:states:::emr-serverless:startJobRun"),
            Some((
                Family::EmrServerless,
                "startJobRun",
                Pattern::RequestResponse
            ))
        );
        assert_eq!(family("arn:aws:states:::aws-sdk:sqs:sendMessage"), None);
        assert_eq!(family("arn:aws:states:::lambda:invoke"), None);
        assert_eq!(family("arn:aws:states:::sqs:sendMessage.later"), None);
    }

    #[test]
    fn only_job_submissions_with_sync_are_followed() {
        assert!(follows_job(
            "arn:aws:states:::athena:startQueryExecution.sync"
        ));
        assert!(follows_job("arn:aws:states:::ecs:runTask.sync"));
        assert!(!follows_job("arn:aws:states:::athena:startQueryExecution"));
        assert!(!follows_job("arn:aws:states:::athena:getQueryResults.sync"));
        assert!(!follows_job(
            "arn:aws:states:::ecs:runTask.waitForTaskToken"
        ));
        assert!(!follows_job("arn:aws:states:::states:startExecution.sync"));
        assert!(!follows_job("arn:aws:states:::events:putEvents.sync"));
    }
}
