//! The job-running integrations (ECS tasks, Batch jobs, Glue job runs, Athena queries,
//! CodeBuild builds, SageMaker training and transform jobs, EMR Serverless job runs), with
//! each pattern Step Functions offers for them:
//!
//! - request-response (`glue:startJobRun`): the submit call's answer is the task's result;
//! - `.sync` (`glue:startJobRun.sync`): the submit call's answer is recorded first (the
//!   host writes it as TaskSubmitted, so that after a restart the job is followed again from
//!   its id rather than submitted twice), then [`follow`] polls the job's description until
//!   it ends. A job that ends well answers its final description; one that fails fails the
//!   task with `States.TaskFailed` and that description, as JSON, for cause. When the host
//!   fires the stop signal (the execution stopped, timed out, or the state failed), the job
//!   is stopped with the service's own call;
//! - `.waitForTaskToken` (ECS, Batch): the submit call, then the host waits for the token.
//!
//! Each service's file holds its [`Job`]: the calls, where the job's id is in the submit
//! answer, and how its description reads. Parameters and results are PascalCase, as Step
//! Functions writes them, whatever the API's own casing (`aws::call` maps them).

mod athena;
mod batch;
mod codebuild;
mod ecs;
mod emr_serverless;
mod glue;
mod sagemaker;

use super::{sdk, Context, Failure, Pattern};
use crate::aws;
use crate::TaskResult;
use serde_json::Value;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How a job's description reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Running,
    /// Ended well: the task's result.
    Succeeded(Value),
    /// Ended badly: the cause's document.
    Failed(Value),
}

/// One job-running action (`glue:startJobRun`). Every value is PascalCase.
pub struct Job {
    /// Step Functions' name for the service (`glue`, `emr-serverless`).
    pub service: &'static str,
    /// The action that submits the job (`startJobRun`).
    pub submit: &'static str,
    /// The action that describes it (`getJobRun`).
    pub describe: &'static str,
    /// The action that stops it (`batchStopJobRun`).
    pub stop: &'static str,
    /// Whether `.waitForTaskToken` is offered too.
    pub callback: bool,
    /// The submit call's answer as Step Functions records it (Glue adds the JobName).
    pub submitted: fn(answer: Value, input: &Value, pattern: Pattern) -> Result<Value, Failure>,
    /// The describe call's parameters, from the recorded submit answer and the task's input.
    pub describe_input: fn(submitted: &Value, input: &Value) -> Option<Value>,
    /// The stop call's parameters.
    pub stop_input: fn(submitted: &Value, input: &Value) -> Option<Value>,
    /// How the describe call's answer reads.
    pub judge: fn(described: Value, submitted: &Value) -> Verdict,
}

const JOBS: &[&Job] = &[
    &ecs::RUN_TASK,
    &batch::SUBMIT_JOB,
    &glue::START_JOB_RUN,
    &athena::START_QUERY_EXECUTION,
    &codebuild::START_BUILD,
    &sagemaker::CREATE_TRAINING_JOB,
    &sagemaker::CREATE_TRANSFORM_JOB,
    &emr_serverless::START_JOB_RUN,
];

/// The request-response actions of these services that run no job.
const PLAIN: &[(&str, &str)] = &[
    ("athena", "getQueryResults"),
    ("athena", "getQueryExecution"),
    ("athena", "stopQueryExecution"),
    ("sagemaker", "createModel"),
    ("sagemaker", "createEndpointConfig"),
    ("sagemaker", "createEndpoint"),
    ("sagemaker", "updateEndpoint"),
    ("sagemaker", "createHyperParameterTuningJob"),
    ("sagemaker", "createLabelingJob"),
    ("emr-serverless", "createApplication"),
    ("emr-serverless", "startApplication"),
    ("emr-serverless", "stopApplication"),
    ("emr-serverless", "deleteApplication"),
    ("emr-serverless", "cancelJobRun"),
];

/// What a resource (`glue:startJobRun.sync`, after `arn:aws:states:::`) names here.
pub enum Action {
    Job(&'static Job, Pattern),
    Plain(&'static str, &'static str),
    /// A pattern the action does not offer (Step Functions refuses such a definition).
    Unsupported(String),
}

/// The action `service:action` (`glue`, `startJobRun`) with `pattern`, if it is one of these.
pub fn find(service: &str, action: &str, pattern: Pattern) -> Option<Action> {
    let unsupported = || {
        Action::Unsupported(format!(
            "The integration pattern {pattern:?} is not supported for '{service}:{action}'"
        ))
    };
    if let Some(job) = JOBS
        .iter()
        .find(|j| j.service == service && j.submit == action)
    {
        return Some(match pattern {
            Pattern::WaitForTaskToken if !job.callback => unsupported(),
            p => Action::Job(job, p),
        });
    }
    let plain = PLAIN.iter().find(|(s, a)| *s == service && *a == action)?;
    Some(match pattern {
        Pattern::RequestResponse => Action::Plain(plain.0, plain.1),
        _ => unsupported(),
    })
}

/// Runs a Task of a job-running service: the submission (any pattern), or a plain call.
pub async fn run(
    cx: &Context<'_>,
    service: &str,
    action: &str,
    pattern: Pattern,
    input: &Value,
) -> TaskResult {
    let calls = Calls::of(cx);
    match find(service, action, pattern) {
        Some(Action::Job(job, pattern)) => submit(&calls, job, pattern, input, cx.deadline).await,
        Some(Action::Plain(service, action)) => {
            calls.call(service, action, input, cx.deadline).await
        }
        Some(Action::Unsupported(why)) => Err(sdk::runtime_error(cx, &why)),
        None => Err(sdk::runtime_error(
            cx,
            &format!("The resource '{service}:{action}' is not supported by Passo"),
        )),
    }
}

/// Where the service calls go.
pub struct Calls<'a> {
    pub http: &'a reqwest::Client,
    pub local: Option<&'a dyn aws::local::LocalServices>,
}

impl<'a> Calls<'a> {
    pub fn of(cx: &Context<'a>) -> Calls<'a> {
        Calls {
            http: cx.http,
            local: cx.local,
        }
    }

    /// One call with PascalCase parameters, answered in PascalCase.
    pub async fn call(
        &self,
        service: &str,
        action: &str,
        input: &Value,
        deadline: Option<Duration>,
    ) -> TaskResult {
        aws::call(self.http, self.local, service, action, input, deadline).await
    }
}

/// How long one describe or stop call may take.
const CALL_DEADLINE: Duration = Duration::from_secs(60);
/// The first wait between describe calls, and the longest: short jobs end quickly, long
/// ones need not be asked about every second.
const FIRST_POLL: Duration = Duration::from_millis(250);
const MAX_POLL: Duration = Duration::from_secs(5);
/// A describe call that fails without a service's answer (the network) is tried again this
/// many times in a row before the task fails.
const MAX_UNREACHABLE: u32 = 5;

/// Submits a job (any pattern): the submit answer as Step Functions records it.
pub async fn submit(
    calls: &Calls<'_>,
    job: &Job,
    pattern: Pattern,
    input: &Value,
    deadline: Option<Duration>,
) -> TaskResult {
    let answer = calls.call(job.service, job.submit, input, deadline).await?;
    (job.submitted)(answer, input, pattern)
}

/// Follows a submitted job until it ends (its result, or `States.TaskFailed` with its
/// description), or until `stop` fires, when the job is stopped.
pub async fn follow(
    cx: &Context<'_>,
    job: &Job,
    submitted: &Value,
    input: &Value,
    stop: &CancellationToken,
) -> TaskResult {
    let calls = &Calls::of(cx);
    let Some(describe) = (job.describe_input)(submitted, input) else {
        return Err((
            "States.TaskFailed".to_string(),
            Some(format!(
                "The answer of {}:{} names no job to follow: {submitted}",
                job.service, job.submit
            )),
        ));
    };
    let mut wait = FIRST_POLL;
    let mut unreachable = 0;
    loop {
        if stop.is_cancelled() {
            return stop_job(calls, job, submitted, input).await;
        }
        match calls
            .call(job.service, job.describe, &describe, Some(CALL_DEADLINE))
            .await
        {
            Ok(described) => {
                unreachable = 0;
                match (job.judge)(described, submitted) {
                    Verdict::Running => {}
                    Verdict::Succeeded(out) => return Ok(out),
                    Verdict::Failed(doc) => {
                        return Err(("States.TaskFailed".to_string(), Some(doc.to_string())))
                    }
                }
            }
            // No answer from the service (its name ends in SdkClientException): the network
            // may come back.
            Err((name, cause))
                if name.ends_with(".SdkClientException") && unreachable < MAX_UNREACHABLE =>
            {
                unreachable += 1;
                tracing::warn!(
                    "{}:{}: {}",
                    job.service,
                    job.describe,
                    cause.unwrap_or_default()
                );
            }
            Err(e) => return Err(e),
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => {}
        }
        wait = (wait * 2).min(MAX_POLL);
    }
}

/// Stops the job (the task has closed without it): the stop call's answer, for the log.
async fn stop_job(calls: &Calls<'_>, job: &Job, submitted: &Value, input: &Value) -> TaskResult {
    let Some(params) = (job.stop_input)(submitted, input) else {
        return Err(("States.TaskFailed".to_string(), None));
    };
    let r = calls
        .call(job.service, job.stop, &params, Some(CALL_DEADLINE))
        .await;
    if let Err((name, cause)) = &r {
        tracing::warn!(
            "stopping a job with {}:{}: {name}: {}",
            job.service,
            job.stop,
            cause.as_deref().unwrap_or_default()
        );
    }
    r
}

/// The string at `path` (PascalCase keys) in `v`.
pub(crate) fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

/// The submit answer as it came (most services).
pub(crate) fn as_answered(
    answer: Value,
    _input: &Value,
    _pattern: Pattern,
) -> Result<Value, Failure> {
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_find_their_job_and_pattern() {
        assert!(matches!(
            find("glue", "startJobRun", Pattern::Sync),
            Some(Action::Job(j, Pattern::Sync)) if j.describe == "getJobRun"
        ));
        assert!(matches!(
            find("ecs", "runTask", Pattern::WaitForTaskToken),
            Some(Action::Job(_, Pattern::WaitForTaskToken))
        ));
        assert!(matches!(
            find("glue", "startJobRun", Pattern::WaitForTaskToken),
            Some(Action::Unsupported(_))
        ));
        assert!(matches!(
            find("athena", "getQueryResults", Pattern::RequestResponse),
            Some(Action::Plain("athena", "getQueryResults"))
        ));
        assert!(matches!(
            find("athena", "getQueryResults", Pattern::Sync),
            Some(Action::Unsupported(_))
        ));
        assert!(find("glue", "createJob", Pattern::RequestResponse).is_none());
    }
}
