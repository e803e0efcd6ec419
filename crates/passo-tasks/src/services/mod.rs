//! The optimized integrations, one module per service family: a reader finds
//! `glue:startJobRun.sync` in `jobs/glue.rs`, `apigateway:invoke` in `apigateway.rs`.
//! The protocol and signing layers are `aws`'s (which also takes and gives members in
//! Step Functions' PascalCase).
//!
//! [`call`] is the router: a plain match on the resource.

pub mod apigateway;
pub mod bedrock;
pub mod jobs;

use crate::aws::local::LocalServices;
use crate::TaskResult;
use serde_json::Value;
use std::time::Duration;

/// A task's failure: its error name and cause.
pub type Failure = (String, Option<String>);

/// `arn:aws:states:::glue:startJobRun.sync` -> (`glue:startJobRun`, `sync`); no suffix is "".
pub fn split(resource: &str) -> Option<(&str, &str)> {
    let rest = resource.strip_prefix("arn:aws:states:::")?;
    Some(rest.split_once('.').unwrap_or((rest, "")))
}

/// What the integrations here need from their host.
pub struct Context<'a> {
    pub http: &'a reqwest::Client,
    pub local: Option<&'a dyn LocalServices>,
}

/// Runs a Task on one of these integrations; None when the resource is none of theirs.
/// For a `.sync` job this is the submission only: [`follow`] waits for the job.
pub async fn call(
    cx: &Context<'_>,
    resource: &str,
    input: &Value,
    deadline: Option<Duration>,
) -> Option<TaskResult> {
    let (service_action, suffix) = split(resource)?;
    let calls = jobs::Calls {
        http: cx.http,
        local: cx.local,
    };
    Some(match (service_action, suffix) {
        ("bedrock:invokeModel", "") => bedrock::invoke_model(&calls, input, deadline).await,
        ("apigateway:invoke", "" | "waitForTaskToken") => {
            apigateway::invoke(cx.http, input, deadline).await
        }
        ("bedrock:invokeModel" | "apigateway:invoke", _) => Err(unsupported(resource)),
        _ => match jobs::find(service_action, suffix)? {
            jobs::Action::Job(job, pattern) => {
                jobs::submit(&calls, job, pattern, input, deadline).await
            }
            jobs::Action::Plain(service, action) => {
                calls.call(service, action, input, deadline).await
            }
            jobs::Action::Unsupported(why) => Err(("States.Runtime".to_string(), Some(why))),
        },
    })
}

/// Follows the job a `.sync` task submitted (`submitted`: the submission's recorded answer)
/// until it ends, or until `stop` fires, when the job is stopped.
pub async fn follow(
    cx: &Context<'_>,
    resource: &str,
    input: &Value,
    submitted: &Value,
    stop: &tokio_util::sync::CancellationToken,
) -> TaskResult {
    let calls = jobs::Calls {
        http: cx.http,
        local: cx.local,
    };
    match split(resource).and_then(|(a, s)| jobs::find(a, s)) {
        Some(jobs::Action::Job(job, jobs::Pattern::Sync)) => {
            jobs::follow(&calls, job, submitted, input, stop).await
        }
        _ => Err(unsupported(resource)),
    }
}

fn unsupported(resource: &str) -> Failure {
    (
        "States.Runtime".to_string(),
        Some(format!(
            "The resource '{resource}' does not run a job that can be waited for"
        )),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn resources_split_into_action_and_pattern() {
        assert_eq!(
            super::split("arn:aws:states:::glue:startJobRun.sync"),
            Some(("glue:startJobRun", "sync"))
        );
        assert_eq!(
            super::split("arn:aws:states:::apigateway:invoke"),
            Some(("apigateway:invoke", ""))
        );
        assert_eq!(super::split("arn:aws:lambda:us-east-1:1:function:f"), None);
    }
}
