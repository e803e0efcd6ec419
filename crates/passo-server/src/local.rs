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

/// Queues and topics in `<data_dir>/passo.db`, opened on the first SQS or SNS call (so a
/// `passo run` that uses neither never touches the store). For one execution without a
/// server: the messages it sends are there for `passo server` on the same data directory
/// when it next starts (a server already running keeps its own view in memory; point the
/// run at it with AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_SNS to share live queues).
pub struct OnDemand {
    data_dir: std::path::PathBuf,
    realm: Realm,
    base_url: String,
    opened: std::sync::OnceLock<Result<Arc<Local>, String>>,
}

impl OnDemand {
    pub fn new(data_dir: &std::path::Path, realm: Realm, base_url: &str) -> OnDemand {
        OnDemand {
            data_dir: data_dir.to_path_buf(),
            realm,
            base_url: base_url.to_string(),
            opened: std::sync::OnceLock::new(),
        }
    }

    fn open(&self) -> Result<Arc<Local>, String> {
        let why = |e: &dyn std::fmt::Display| {
            format!(
                "Passo's queues and topics in {} could not be opened: {e}",
                self.data_dir.display()
            )
        };
        std::fs::create_dir_all(&self.data_dir).map_err(|e| why(&e))?;
        let db =
            Db::open(&self.data_dir.join("passo.db"), Default::default()).map_err(|e| why(&e))?;
        let local = Local::load(&db, &self.realm).map_err(|e| why(&e))?;
        local.set_base_url(&self.base_url);
        Ok(local)
    }
}

impl LocalServices for OnDemand {
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
            let local = self
                .opened
                .get_or_init(|| self.open())
                .clone()
                .map_err(|e| passo_tasks::aws::AwsError::service("ServiceUnavailable", &e, 503))?;
            Services(local).call(service_id, operation, input).await
        })
    }
}
