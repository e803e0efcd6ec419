//! What a Task state's resource reaches, for `passo server` and `passo run` alike.
//!
//! - [`project`]: the project file (`passo.toml`) declaring functions;
//! - [`functions`]: calling them (local command, HTTP endpoint, Lambda-compatible API);
//! - [`lambda`]: the result and error shapes of the bare Lambda ARN and `lambda:invoke`;
//! - [`item_reader`]: a Distributed Map's ItemReader (JSON, JSONL, CSV, listObjectsV2 items);
//! - [`result_writer`]: a Distributed Map's ResultWriter (result files and manifest in a bucket);
//! - [`s3`]: buckets (local folders or an S3-compatible endpoint) and `aws-sdk:s3:*` calls;
//! - [`services`]: the optimized integrations (`sqs:sendMessage`, `sns:publish`,
//!   `dynamodb:*Item`, `events:putEvents`, jobs with `.sync`, Bedrock, API Gateway);
//! - [`aws`]: every other AWS call (`aws-sdk:SERVICE:ACTION`);
//! - [`Integrations`]: the [`TaskRunner`] that routes a Task's resource to the right one.

pub mod aws;
pub mod functions;
pub mod http;
pub mod item_reader;
pub mod lambda;
pub mod map_items;
pub mod nested;
pub mod project;
pub mod pyjson;
pub mod recent_calls;
pub mod result_writer;
pub mod routes;
pub mod s3;
pub mod services;

use functions::Functions;
use passo_engine::{Command, TaskId};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use project::{Project, ProjectError};
/// The signal a host fires when a task's state no longer waits for it (the execution stopped
/// or timed out, the state failed): a job being followed is stopped.
pub use tokio_util::sync::CancellationToken;

/// One Task invocation.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    pub execution_arn: String,
    pub state_name: String,
    pub resource: String,
    pub input: Value,
    pub attempt: u64,
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
    /// The task token of a callback (`.waitForTaskToken`) or activity task.
    pub token: Option<String>,
}

/// The result: the output, or an error name and cause.
pub type TaskResult = Result<Value, (String, Option<String>)>;

impl TaskRequest {
    /// The request a driver's (or TestState's) invocation makes, outside any execution.
    pub fn from_invocation(inv: passo_engine::driver::Invocation) -> TaskRequest {
        TaskRequest {
            execution_arn: String::new(),
            state_name: inv.state_name,
            resource: inv.resource,
            input: inv.input,
            attempt: inv.attempt,
            timeout_seconds: inv.timeout_seconds,
            heartbeat_seconds: None,
            token: inv.token,
        }
    }

    /// The request an InvokeTask command makes, with the task's id (None for other commands).
    pub fn from_command(execution_arn: &str, cmd: Command) -> Option<(TaskId, TaskRequest)> {
        let Command::InvokeTask {
            task,
            state_name,
            resource,
            input,
            attempt,
            timeout_seconds,
            heartbeat_seconds,
            token,
        } = cmd
        else {
            return None;
        };
        Some((
            task,
            TaskRequest {
                execution_arn: execution_arn.to_string(),
                state_name,
                resource,
                input,
                attempt,
                timeout_seconds,
                heartbeat_seconds,
                token,
            },
        ))
    }
}

pub type TaskFuture = Pin<Box<dyn Future<Output = TaskResult> + Send>>;

pub trait TaskRunner: Send + Sync + 'static {
    fn invoke(&self, req: TaskRequest) -> TaskFuture;

    /// Follows the job a `.sync` task submitted ([`follows_job`]; `submitted` is the
    /// recorded TaskSubmitted output) until it ends: the task's result. When `stop` fires
    /// first the job is stopped and the answer no longer matters.
    fn follow(&self, req: TaskRequest, submitted: Value, stop: CancellationToken) -> TaskFuture {
        let _ = (submitted, stop);
        Box::pin(async move { no_integration(&req.resource) })
    }
}

/// Whether a resource runs a job that is followed after its submission is recorded
/// (`glue:startJobRun.sync`): its invocation's answer is the submission (TaskSubmitted), and
/// [`TaskRunner::follow`] gives the task's result.
pub fn follows_job(resource: &str) -> bool {
    services::follows_job(resource)
}

/// The error for a resource nothing is configured to answer.
pub fn no_integration(resource: &str) -> TaskResult {
    Err((
        "States.TaskFailed".to_string(),
        Some(format!(
            "No integration is configured for resource '{resource}'"
        )),
    ))
}

/// Answers every Task with an error naming the resource: no integration is configured.
pub struct NoIntegrations;

impl TaskRunner for NoIntegrations {
    fn invoke(&self, req: TaskRequest) -> TaskFuture {
        Box::pin(async move { no_integration(&req.resource) })
    }
}

/// The integrations of a project: its functions, reached as Lambda is, and HTTP APIs
/// through its connections.
pub struct Integrations {
    functions: Functions,
    site: lambda::Site,
    http: reqwest::Client,
    buckets: Result<s3::Buckets, s3::Error>,
    /// The services the host answers itself (queues, topics, the event bus), if any.
    /// Added after construction: the server makes its services from a runtime that itself
    /// holds these integrations.
    local: aws::local::LocalSet,
}

/// Where `passo run` keeps buckets unless told otherwise (the server's default is
/// `<data-dir>/buckets`; `passo run`'s data directory is `./passo-data`).
pub const DEFAULT_BUCKETS_DIR: &str = "passo-data/buckets";

impl Integrations {
    pub fn new(project: Project, site: lambda::Site) -> Integrations {
        let config = project
            .buckets
            .clone()
            .unwrap_or_else(|| s3::Config::Local {
                dir: std::path::PathBuf::from(DEFAULT_BUCKETS_DIR),
            });
        // The aws-sdk integrations' settings are the process's: every caller of `aws::call`
        // (the optimized integrations too) sees the project's `[aws]` table.
        aws::context::configure(project.aws.clone());
        Integrations {
            functions: Functions::new(project),
            site,
            http: reqwest::Client::new(),
            // A configuration that cannot be used fails the S3 Tasks, not the whole engine.
            buckets: s3::Buckets::new(&config),
            local: aws::local::LocalSet::default(),
        }
    }

    /// Adds services the host answers itself when no endpoint is configured for them (each
    /// host part adds its own: the event bus, queues and topics).
    pub fn set_local(&self, local: Arc<dyn aws::local::LocalServices>) {
        self.local.add(local);
    }

    fn local(&self) -> Option<&dyn aws::local::LocalServices> {
        Some(&self.local)
    }

    /// The configured buckets (for ItemReader and ResultWriter), or why they cannot be used.
    pub fn buckets(&self) -> Result<&s3::Buckets, &s3::Error> {
        self.buckets.as_ref()
    }

    pub fn functions(&self) -> &Functions {
        &self.functions
    }

    /// Runs one Task invocation.
    pub async fn run(&self, req: TaskRequest) -> TaskResult {
        let routes = &self.functions.project().routes;
        match routes::choose(routes, &req.state_name, &req.resource, &req.input) {
            None => self.run_here(req, None).await,
            Some(routes::To::Mock(answer)) => answer,
            Some(to) => match to.endpoint() {
                Some(e) => aws::context::routed(e, self.run_here(req, Some(&to))).await,
                None => self.run_here(req, Some(&to)).await,
            },
        }
    }

    /// Runs a Task where its resource (and its route, for functions) says.
    async fn run_here(&self, req: TaskRequest, route: Option<&routes::To>) -> TaskResult {
        let deadline = req.timeout_seconds.map(Duration::from_secs);
        let request_id = uuid::Uuid::new_v4().to_string();
        if let Some((name, qualifier)) = lambda::bare_function(&req.resource) {
            let payload = req.input.to_string().into_bytes();
            let reply = self
                .functions
                .call_routed(&name, qualifier.as_deref(), &payload, deadline, route)
                .await;
            return lambda::bare_result(
                &self.site,
                &req.resource,
                &name,
                qualifier.as_deref(),
                reply,
                &request_id,
            );
        }
        if lambda::is_invoke(&req.resource) {
            let call = lambda::invoke_request(&req.input)?;
            let reply = if call.asynchronous {
                // Fire and forget: the call runs on; the task only learns it was accepted.
                // A clone shares the functions and their concurrency limits.
                let functions = self.functions.clone();
                let c = call.clone();
                tokio::spawn(async move {
                    let _ = functions
                        .call(&c.name, c.qualifier.as_deref(), &c.payload, None)
                        .await;
                });
                Ok(functions::Reply::Ok(Vec::new()))
            } else {
                self.functions
                    .call_routed(
                        &call.name,
                        call.qualifier.as_deref(),
                        &call.payload,
                        deadline,
                        route,
                    )
                    .await
            };
            let date = chrono::Utc::now()
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string();
            return lambda::invoke_result(&self.site, &call, reply, &request_id, &date);
        }
        if let Some(action) = s3::calls::action(&req.resource) {
            return match &self.buckets {
                Ok(b) => s3::calls::call(b, action, &req.input).await,
                Err(e) => Err(("S3.S3Exception".to_string(), Some(e.to_string()))),
            };
        }
        if let Some((family, action, pattern)) = services::family(&req.resource) {
            let cx = services::Context {
                http: &self.http,
                local: self.local(),
                deadline,
                state_name: &req.state_name,
                execution_arn: &req.execution_arn,
            };
            return services::run(&cx, family, action, pattern, &req.input).await;
        }
        if let Some((service, action)) = aws::action(&req.resource) {
            let local = self.local();
            return aws::call(&self.http, local, service, action, &req.input, deadline).await;
        }
        if http::is_http(&req.resource) {
            let connections = &self.functions.project().connections;
            return http::invoke(&self.http, connections, &req.input, self.site.payload_limit)
                .await;
        }
        no_integration(&req.resource)
    }
}

impl Integrations {
    /// Follows a submitted `.sync` job until it ends (see [`TaskRunner::follow`]).
    pub async fn follow(
        &self,
        req: &TaskRequest,
        submitted: &Value,
        stop: &CancellationToken,
    ) -> TaskResult {
        // A job is followed where its route sent it.
        let routes = &self.functions.project().routes;
        let to = routes::choose(routes, &req.state_name, &req.resource, &req.input);
        match to.and_then(|t| t.endpoint()) {
            Some(e) => aws::context::routed(e, self.follow_here(req, submitted, stop)).await,
            None => self.follow_here(req, submitted, stop).await,
        }
    }

    async fn follow_here(
        &self,
        req: &TaskRequest,
        submitted: &Value,
        stop: &CancellationToken,
    ) -> TaskResult {
        let cx = services::Context {
            http: &self.http,
            local: self.local(),
            deadline: None,
            state_name: &req.state_name,
            execution_arn: &req.execution_arn,
        };
        services::follow(&cx, &req.resource, &req.input, submitted, stop).await
    }
}

impl TaskRunner for Arc<Integrations> {
    fn invoke(&self, req: TaskRequest) -> TaskFuture {
        let me = self.clone();
        Box::pin(async move { me.run(req).await })
    }

    fn follow(&self, req: TaskRequest, submitted: Value, stop: CancellationToken) -> TaskFuture {
        let me = self.clone();
        Box::pin(async move { Integrations::follow(&me, &req, &submitted, &stop).await })
    }
}
