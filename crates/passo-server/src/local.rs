//! The services Passo answers itself (SQS and SNS), for the API on the server's port and
//! for Tasks (`passo_tasks::aws::local::LocalServices`): a workflow's `sqs:sendMessage` or
//! `aws-sdk:sqs:receiveMessage` with no endpoint configured acts on the same queues the
//! aws CLI sees.

use crate::arn::Realm;
use crate::queues::Queues;
use crate::topics::Topics;
use passo_store::Db;
use passo_tasks::aws::local::{LocalFuture, LocalServices};
use serde_json::Value;
use std::sync::Arc;

pub struct Local {
    pub queues: Arc<Queues>,
    pub topics: Arc<Topics>,
}

impl Local {
    /// Loads the queues and topics kept in `db`.
    pub fn load(db: &Db, realm: &Realm) -> anyhow::Result<Arc<Local>> {
        let queues =
            Arc::new(Queues::load(db.clone(), realm.clone()).map_err(|e| anyhow::anyhow!("{e}"))?);
        let topics = Arc::new(
            Topics::load(db.clone(), realm.clone(), queues.clone())
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        Ok(Arc::new(Local { queues, topics }))
    }

    /// Where clients reach the server (queue URLs, SubscribeURL, UnsubscribeURL).
    pub fn set_base_url(&self, url: &str) {
        self.queues.set_base_url(url);
        self.topics.set_base_url(url);
    }
}

/// The in-process face: serviceId `SQS` or `SNS`, operations as the model names them.
pub struct Services(pub Arc<Local>);

impl LocalServices for Services {
    fn serves(&self, service_id: &str) -> bool {
        matches!(service_id, "SQS" | "SNS")
    }

    fn call<'a>(
        &'a self,
        service_id: &'a str,
        operation: &'a str,
        input: &'a Value,
    ) -> LocalFuture<'a> {
        Box::pin(async move {
            match service_id {
                "SQS" => self
                    .0
                    .queues
                    .call(operation, input)
                    .await
                    .map_err(|e| e.to_aws()),
                _ => self
                    .0
                    .topics
                    .call(operation, input)
                    .await
                    .map_err(|e| e.to_aws()),
            }
        })
    }
}
