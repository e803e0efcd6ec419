//! The bus as a service of the host: `aws-sdk:eventbridge:*` Tasks (and the optimized
//! `events:putEvents`) reach this server's own bus when no endpoint is configured for
//! EventBridge, with the API's inputs, results and error codes.

use passo_tasks::aws::local::{LocalFuture, LocalServices};
use passo_tasks::aws::AwsError;
use serde_json::Value;
use std::sync::{Arc, Weak};

/// The event bus of a runtime, as the `EventBridge` service.
pub struct LocalEvents {
    rt: Weak<crate::runtime::Runtime>,
}

impl LocalEvents {
    /// Held weakly: the runtime holds the integrations that hold this.
    pub fn new(rt: &Arc<crate::runtime::Runtime>) -> Arc<LocalEvents> {
        Arc::new(LocalEvents {
            rt: Arc::downgrade(rt),
        })
    }
}

impl LocalServices for LocalEvents {
    fn serves(&self, service_id: &str) -> bool {
        service_id == "EventBridge"
    }

    fn call<'a>(
        &'a self,
        _service_id: &'a str,
        operation: &'a str,
        input: &'a Value,
    ) -> LocalFuture<'a> {
        Box::pin(async move {
            let Some(rt) = self.rt.upgrade() else {
                return Err(AwsError::service(
                    "InternalException",
                    "The server is stopping",
                    500,
                ));
            };
            super::api::dispatch(&rt, operation, input)
                .await
                .map_err(|e| AwsError::service(e.code(), &e.to_string(), e.status()))
        })
    }
}
