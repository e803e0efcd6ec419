//! The services Passo answers itself (SQS and SNS), for the API on the server's port and
//! for Tasks (`passo_tasks::aws::local::LocalServices`): a workflow's `sqs:sendMessage` or
//! `aws-sdk:sqs:receiveMessage` with no endpoint configured acts on the same queues the
//! aws CLI sees.

use crate::arn::Realm;
use crate::queues::Queues;
use crate::topics::Topics;
use passo_store::{Db, LeaseRow, StoreError, Write};
use passo_tasks::aws::local::{LocalFuture, LocalServices};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub struct Local {
    pub queues: Arc<Queues>,
    pub topics: Arc<Topics>,
    pub tenure: Arc<Tenure>,
}

/// The lease a copy of the queues and topics is served under (nodes on a shared database:
/// `runtime::messaging_lease`), and whether the copy still serves. Every change the copy
/// commits carries `Write::HoldLease` under the lease's fence, so a node that lost the
/// lease (it stopped renewing, another took over and loaded the store) can never change a
/// queue again: its commit is refused, and the copy is dropped.
#[derive(Default)]
pub struct Tenure {
    /// The lease on a shared database; None alone on SQLite.
    lease: Option<Held>,
    ended: AtomicBool,
}

struct Held {
    key: String,
    node: String,
    fence: i64,
    lease_ms: i64,
    /// The shared database, whose clock lease times are on.
    db: Db,
}

impl Tenure {
    pub fn held(key: &str, node: &str, fence: i64, lease_ms: i64, db: Db) -> Tenure {
        Tenure {
            lease: Some(Held {
                key: key.into(),
                node: node.into(),
                fence,
                lease_ms,
                db,
            }),
            ended: AtomicBool::new(false),
        }
    }

    /// The writes of a change: the lease check first, when there is a lease.
    pub(crate) fn writes(&self, writes: impl IntoIterator<Item = Write>) -> Vec<Write> {
        let hold = self.lease.as_ref().map(|h| {
            Write::HoldLease(LeaseRow {
                key: h.key.clone(),
                node: Some(h.node.clone()),
                fence: h.fence,
                expires_ms: crate::runtime::lease_now(&h.db) + h.lease_ms,
            })
        });
        hold.into_iter().chain(writes).collect()
    }

    /// Notes a commit's outcome: a lease lost ends the copy.
    pub(crate) fn committed<T>(&self, r: &Result<T, StoreError>) {
        if let Err(StoreError::LeaseLost(key)) = r {
            if !self.ended.swap(true, Ordering::SeqCst) {
                tracing::warn!(
                    "{key}: another node holds it now; this node stops serving queues and topics"
                );
            }
        }
    }

    pub fn end(&self) {
        self.ended.store(true, Ordering::SeqCst);
    }

    /// Whether the copy no longer serves (its lease was lost or given up).
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    pub fn fence(&self) -> Option<i64> {
        self.lease.as_ref().map(|h| h.fence)
    }
}

impl Local {
    /// Loads the queues and topics kept in `db`, alone on it.
    pub fn load(db: &Db, realm: &Realm) -> anyhow::Result<Arc<Local>> {
        Local::load_under(db, realm, Arc::new(Tenure::default()))
    }

    /// Loads the queues and topics kept in `db`, to serve under `tenure`.
    pub fn load_under(db: &Db, realm: &Realm, tenure: Arc<Tenure>) -> anyhow::Result<Arc<Local>> {
        let queues = Arc::new(
            Queues::load(db.clone(), realm.clone(), tenure.clone())
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        let topics = Arc::new(
            Topics::load(db.clone(), realm.clone(), queues.clone(), tenure.clone())
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        Ok(Arc::new(Local {
            queues,
            topics,
            tenure,
        }))
    }

    /// Where clients reach the server (queue URLs, SubscribeURL, UnsubscribeURL).
    pub fn set_base_url(&self, url: &str) {
        self.queues.set_base_url(url);
        self.topics.set_base_url(url);
    }

    /// One operation of serviceId `SQS` or `SNS` on these queues and topics.
    pub async fn call(
        &self,
        service_id: &str,
        operation: &str,
        input: &Value,
    ) -> Result<Value, passo_tasks::aws::AwsError> {
        match service_id {
            "SQS" => self
                .queues
                .call(operation, input)
                .await
                .map_err(|e| e.to_aws()),
            _ => self
                .topics
                .call(operation, input)
                .await
                .map_err(|e| e.to_aws()),
        }
    }
}

/// The in-process face: serviceId `SQS` or `SNS`, operations as the model names them;
/// answered by whichever node serves the queues and topics (this one alone on SQLite).
pub struct Services(pub Arc<crate::runtime::messaging_lease::Messaging>);

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
        Box::pin(self.0.call(service_id, operation, input))
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
            local.call(service_id, operation, input).await
        })
    }
}
