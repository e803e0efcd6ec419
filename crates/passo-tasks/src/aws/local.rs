//! Services with a home inside Passo (queues and topics, the event bus): when no endpoint is
//! configured for such a service, its calls are answered by the host (`passo server`, or
//! `passo run`'s embedded store) instead of going out over the network.
//!
//! The interface is the AWS JSON protocol's, whatever protocol the real service speaks: an
//! operation name as the API model names it (`SendMessage`, `Publish`, `PutEvents`), the
//! parameters and the result as JSON with the API's member names, and errors with the
//! service's error code. That is what a Task's parameters and result already are, so the
//! optimized integrations and `aws-sdk:*` reach a local service and a remote one alike.

use super::AwsError;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

pub type LocalFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, AwsError>> + Send + 'a>>;

/// The services a host answers itself.
pub trait LocalServices: Send + Sync + 'static {
    /// Whether the host answers the service with this serviceId (`SQS`, `SNS`,
    /// `EventBridge`: botocore's `metadata.serviceId`).
    fn serves(&self, service_id: &str) -> bool;

    /// Runs `operation` (as the model names it: `SendMessage`) with `input`.
    fn call<'a>(
        &'a self,
        service_id: &'a str,
        operation: &'a str,
        input: &'a Value,
    ) -> LocalFuture<'a>;
}

impl AwsError {
    /// An error a local service answers: its code, message and HTTP status.
    pub fn service(code: &str, message: &str, status: u16) -> AwsError {
        AwsError {
            code: Some(code.to_string()),
            message: message.to_string(),
            status: Some(status),
            request_id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// Several hosts' services side by side (the event bus, queues and topics), asked in the
/// order they were added: the first that serves a service answers it.
#[derive(Default)]
pub struct LocalSet(std::sync::RwLock<Vec<std::sync::Arc<dyn LocalServices>>>);

impl LocalSet {
    pub fn add(&self, services: std::sync::Arc<dyn LocalServices>) {
        self.0.write().unwrap().push(services);
    }

    fn find(&self, service_id: &str) -> Option<std::sync::Arc<dyn LocalServices>> {
        let all = self.0.read().unwrap();
        all.iter().find(|s| s.serves(service_id)).cloned()
    }
}

impl LocalServices for LocalSet {
    fn serves(&self, service_id: &str) -> bool {
        self.find(service_id).is_some()
    }

    fn call<'a>(
        &'a self,
        service_id: &'a str,
        operation: &'a str,
        input: &'a Value,
    ) -> LocalFuture<'a> {
        // The lock is not held across the call: the Arc is.
        let found = self.find(service_id);
        Box::pin(async move {
            match found {
                Some(s) => s.call(service_id, operation, input).await,
                None => Err(AwsError::service(
                    "UnknownService",
                    &format!("No local service answers {service_id}"),
                    400,
                )),
            }
        })
    }
}
