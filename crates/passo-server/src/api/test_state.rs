//! TestState: one state run on its own (`passo_engine::test_state` decides everything); a
//! Task that is not mocked calls its integration for real, within AWS's five minutes.

use crate::error::ApiError;
use crate::runtime::{now_ms, Runtime};
use crate::tasks::TaskRequest;
use passo_engine::test_state::{self, Environment, Request, Step, TestStateError};
use passo_engine::Failure;
use passo_tasks::nested::Pattern;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// AWS stops a TestState call after five minutes with States.Timeout.
const LIMIT: Duration = Duration::from_secs(300);

fn refused(e: TestStateError) -> ApiError {
    match e {
        TestStateError::Validation(m) => ApiError::ValidationException(m),
        TestStateError::InvalidDefinition(m) => ApiError::InvalidDefinition(m),
    }
}

pub async fn test_state(rt: &Arc<Runtime>, req: &Value) -> Result<Value, ApiError> {
    let request = Request::from_api(req).map_err(refused)?;
    let env = Environment {
        now_ms: now_ms(),
        seed: rt.seed(),
        region: rt.cfg.realm.region.clone(),
        account: rt.cfg.realm.account.clone(),
    };
    let prepared = test_state::prepare(&request, &env).map_err(refused)?;
    let response = match prepared.run(None) {
        Step::Done(r) => r,
        Step::Invoke(inv) => {
            let limit = inv
                .timeout_seconds
                .map_or(LIMIT, |s| LIMIT.min(Duration::from_secs(s)));
            let call = TaskRequest::from_invocation(inv);
            let answer = async {
                // A request-response startExecution starts an execution on this server (the
                // waiting patterns are refused without a mock before this point).
                match Pattern::of(&call.resource) {
                    Some(Pattern::Start) => rt.start_unlinked(&call).await,
                    _ => rt.tasks.invoke(call).await,
                }
            };
            let outcome = match tokio::time::timeout(limit, answer).await {
                Ok(Ok(v)) => Ok(v),
                Ok(Err((error, cause))) => Err(Failure {
                    error,
                    cause,
                    from_task: true,
                }),
                Err(_) => Err(Failure {
                    error: "States.Timeout".into(),
                    cause: None,
                    from_task: true,
                }),
            };
            match prepared.run(Some(outcome)) {
                Step::Done(r) => r,
                Step::Invoke(_) => {
                    return Err(ApiError::Internal(
                        "TestState asked for a second task call".into(),
                    ))
                }
            }
        }
    };
    Ok(response.to_api())
}
