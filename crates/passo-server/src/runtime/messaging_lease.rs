//! Passo's own SQS queues and SNS topics on nodes sharing a database: one node at a time
//! serves them, under the lease `passo:messaging`.
//!
//! Queues live in memory (long polls wait on them, receives hide messages in them), so two
//! nodes each serving their own copy would hand one message to two receivers. So the node
//! holding the lease loads them from the store when it gets it (every change is committed
//! before it is answered, so the store is complete) and serves them; every change it
//! commits carries the lease's fence (`local::Tenure`), so once another node took the lease
//! over it can never change a queue again, and it drops its copy. Other nodes forward the
//! SQS and SNS requests they get to the holder unchanged (`api::forward`) and send their
//! Tasks' calls to it over an internal route; the holder's address is its row in `nodes`.
//! SNS's HTTP and function deliveries (`topic_deliveries`) are made by the holder alone: a
//! new holder resumes them, an old one stops.
//!
//! Alone on SQLite, the node serves them from start to end and none of this runs.

use super::{lease_now, now_ms};
use crate::arn::Realm;
use crate::local::{Local, Tenure};
use passo_store::{Claim, Db, LeaseRow, NodeRow, Write};
use passo_tasks::aws::AwsError;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use serde_json::Value;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

/// The lease's key in `leases` (execution leases are keyed by ARN, so never clash).
pub const KEY: &str = "passo:messaging";

/// Who serves the queues and topics, as this node knows it.
pub struct Messaging {
    db: Db,
    realm: Realm,
    node_id: String,
    lease_ms: i64,
    /// This node's own copy, while it serves them.
    serving: RwLock<Option<Arc<Local>>>,
    /// The URL of the node that holds the lease (not this one), as last read.
    holder: RwLock<Option<String>>,
    /// Where clients reach this node (queue URLs, SubscribeURL; other nodes' forwards).
    base_url: RwLock<String>,
    functions: OnceLock<passo_tasks::functions::Functions>,
    /// The secret of the internal route, shared by every node of the database.
    secret: Option<String>,
    /// Forwards and internal calls (connect quickly or fail: a dead holder must not hold a
    /// caller for long).
    pub(crate) http: reqwest::Client,
    /// `passo_messaging_serving` and `passo_messaging_forwarded` (set by `serve`).
    metrics: OnceLock<(Gauge, Counter)>,
}

impl Messaging {
    fn new(db: &Db, realm: &Realm, node_id: &str, lease_ms: i64, secret: Option<String>) -> Self {
        Messaging {
            db: db.clone(),
            realm: realm.clone(),
            node_id: node_id.to_string(),
            lease_ms,
            serving: RwLock::new(None),
            holder: RwLock::new(None),
            base_url: RwLock::new("http://127.0.0.1:8080".into()),
            functions: OnceLock::new(),
            secret,
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(2))
                .pool_idle_timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            metrics: OnceLock::new(),
        }
    }

    /// Reports to the node's metrics from now on.
    pub fn set_metrics(&self, m: &crate::ops::metrics::ClusterMetrics) {
        m.messaging_serving.set(i64::from(self.local().is_some()));
        let _ = self
            .metrics
            .set((m.messaging_serving.clone(), m.messaging_forwarded.clone()));
    }

    fn serving_now(&self, on: bool) {
        if let Some((g, _)) = self.metrics.get() {
            g.set(i64::from(on));
        }
    }

    /// Counts one request or call sent on to the holder.
    pub(crate) fn forwarded(&self) {
        if let Some((_, c)) = self.metrics.get() {
            c.inc();
        }
    }

    /// One node alone on its database: it serves what the store holds, from the start.
    pub fn alone(db: &Db, realm: &Realm) -> anyhow::Result<Arc<Messaging>> {
        let m = Messaging::new(db, realm, "", 0, None);
        *m.serving.write().unwrap() = Some(Local::load(db, realm)?);
        Ok(Arc::new(m))
    }

    /// A node of a shared database: it serves nothing until its keeper ([`run`]) gets the
    /// lease. Reads (or sets, if first) the cluster's secret.
    pub fn shared(
        db: &Db,
        realm: &Realm,
        node_id: &str,
        lease_ms: i64,
    ) -> anyhow::Result<Arc<Messaging>> {
        let shared = db.shared().expect("a shared database");
        let candidate = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let secret = shared
            .cluster_secret(&candidate)
            .map_err(|e| anyhow::anyhow!("reading the cluster secret: {e}"))?;
        Ok(Arc::new(Messaging::new(
            db,
            realm,
            node_id,
            lease_ms,
            Some(secret),
        )))
    }

    /// Whether other nodes may serve them (a shared database).
    pub fn clustered(&self) -> bool {
        self.secret.is_some()
    }

    pub(crate) fn secret(&self) -> Option<&str> {
        self.secret.as_deref()
    }

    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// This node's copy, while it serves the queues and topics.
    pub fn local(&self) -> Option<Arc<Local>> {
        let serving = self.serving.read().unwrap_or_else(|e| e.into_inner());
        serving.as_ref().filter(|l| !l.tenure.ended()).cloned()
    }

    pub fn set_functions(&self, f: passo_tasks::functions::Functions) {
        if let Some(l) = self.local() {
            l.topics.set_functions(f.clone());
        }
        let _ = self.functions.set(f);
    }

    /// Where clients reach this node (known once its port is bound).
    pub fn set_base_url(&self, url: &str) {
        let url = url.trim_end_matches('/').to_string();
        if let Some(l) = self.local() {
            l.set_base_url(&url);
        }
        *self.base_url.write().unwrap_or_else(|e| e.into_inner()) = url;
    }

    pub fn base_url(&self) -> String {
        self.base_url
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The URL of the queue `name` (only its last segment names it: any node's serves).
    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.base_url(), self.realm.account)
    }

    /// The holder's URL as last read (None: not known, or this node).
    pub(crate) fn holder(&self) -> Option<String> {
        self.holder
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads who holds the lease now, and where it is reached (None: nobody, or this node).
    pub(crate) fn find_holder(&self) -> Option<String> {
        let shared = self.db.shared()?;
        let found = match shared.lease(KEY) {
            Ok(Some(LeaseRow {
                node: Some(node), ..
            })) if node != self.node_id => match shared.node(&node) {
                Ok(n) => n.map(|n| n.url),
                Err(e) => {
                    tracing::warn!("reading where node {node} is reached: {e}");
                    None
                }
            },
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("reading who serves queues and topics: {e}");
                None
            }
        };
        *self.holder.write().unwrap_or_else(|e| e.into_inner()) = found.clone();
        found
    }

    /// An SQS or SNS operation (a Task's, an event target's): answered by this node's copy,
    /// or sent to the holder.
    pub async fn call(
        &self,
        service_id: &str,
        operation: &str,
        input: &Value,
    ) -> Result<Value, AwsError> {
        if let Some(l) = self.local() {
            return l.call(service_id, operation, input).await;
        }
        if !self.clustered() {
            return Err(AwsError::service(
                "ServiceUnavailable",
                "This server does not serve queues and topics",
                503,
            ));
        }
        crate::api::forward::call_holder(self, service_id, operation, input).await
    }

    /// Takes the lease when it is free or ran out, and loads the store's queues and topics
    /// to serve under it.
    async fn take(&self) {
        let Some(shared) = self.db.shared() else {
            return;
        };
        let claim = match shared.claim(KEY, &self.node_id, lease_now(&self.db), self.lease_ms) {
            Ok(c) => c,
            Err(e) => return tracing::warn!("claiming the queues and topics: {e}"),
        };
        let (fence, from) = match claim {
            Claim::Held { fence, from } => (fence, from),
            Claim::Busy { .. } => {
                self.find_holder();
                return;
            }
        };
        let tenure = Arc::new(Tenure::held(
            KEY,
            &self.node_id,
            fence,
            self.lease_ms,
            self.db.clone(),
        ));
        let (db, realm) = (self.db.clone(), self.realm.clone());
        let loaded =
            tokio::task::spawn_blocking(move || Local::load_under(&db, &realm, tenure)).await;
        let local = match loaded {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => return tracing::warn!("loading the queues and topics: {e}"),
            Err(e) => return tracing::warn!("loading the queues and topics: {e}"),
        };
        local.set_base_url(&self.base_url());
        if let Some(f) = self.functions.get() {
            local.topics.set_functions(f.clone());
        }
        let pending = crate::topics::deliver::resume(&local.topics).unwrap_or_else(|e| {
            tracing::warn!("resuming SNS deliveries: {e}");
            0
        });
        let queues = local.queues.lock().len();
        *self.serving.write().unwrap_or_else(|e| e.into_inner()) = Some(local);
        *self.holder.write().unwrap_or_else(|e| e.into_inner()) = None;
        self.serving_now(true);
        match from {
            Some(from) => tracing::info!(
                "serving queues and topics (fence {fence}; taken over from node {from}, whose lease ran out): {queues} queues, {pending} SNS deliveries resumed"
            ),
            None => tracing::info!(
                "serving queues and topics (fence {fence}): {queues} queues, {pending} SNS deliveries resumed"
            ),
        }
    }

    /// Checks the lease this node serves under: a copy whose commit found it lost, or whose
    /// lease another node holds now, is dropped.
    fn check(&self, local: &Local) {
        let (Some(shared), Some(fence)) = (self.db.shared(), local.tenure.fence()) else {
            return;
        };
        let held = !local.tenure.ended()
            && match shared.extend(
                KEY,
                &self.node_id,
                fence,
                lease_now(&self.db) + self.lease_ms,
            ) {
                Ok(held) => held,
                // Unreachable: its commits fail too; the copy stays until the lease is
                // known lost (a node cut off briefly keeps serving).
                Err(e) => {
                    tracing::warn!("extending the lease of the queues and topics: {e}");
                    true
                }
            };
        if !held {
            self.drop_copy("another node took the lease over");
        }
    }

    fn drop_copy(&self, why: &str) {
        let copy = self
            .serving
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(l) = copy {
            l.tenure.end();
            self.serving_now(false);
            tracing::warn!("no longer serving queues and topics: {why}");
        }
    }

    /// Gives the lease up (at shutdown), so another node takes over at once.
    pub async fn release(&self) {
        let copy = self
            .serving
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(fence) = copy.as_ref().and_then(|l| {
            l.tenure.end();
            l.tenure.fence()
        }) else {
            return;
        };
        let release = Write::ReleaseLease(LeaseRow {
            key: KEY.into(),
            node: Some(self.node_id.clone()),
            fence,
            expires_ms: 0,
        });
        if let Err(e) = self.db.write(vec![release]).await {
            tracing::warn!("giving up the queues and topics: {e}");
        }
    }
}

/// The keeper of a node on a shared database (run it as a task once the node's URL is
/// set): says where the node is reached, takes the lease when nobody holds it, checks it
/// while serving. Renewal is the lease thread's (`leases::renew` extends every lease the
/// node holds); this check is what notices a lease lost.
pub async fn run(m: Arc<Messaging>) {
    if !m.clustered() {
        return;
    }
    let tick = Duration::from_millis((m.lease_ms / 4).clamp(50, 1_000) as u64);
    let mut last_seen = None::<tokio::time::Instant>;
    loop {
        m.turn(&mut last_seen).await;
        tokio::time::sleep(tick).await;
    }
}

impl Messaging {
    /// Before the node answers its first request: says where it is reached and takes the
    /// lease if nobody holds it (a single node on PostgreSQL serves its queues at once).
    pub async fn start(&self) {
        if self.clustered() {
            self.turn(&mut None).await;
        }
    }

    /// One round of the keeper.
    async fn turn(&self, last_seen: &mut Option<tokio::time::Instant>) {
        let m = self;
        if last_seen.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
            let row = NodeRow {
                id: m.node_id.clone(),
                url: m.base_url(),
                seen_ms: now_ms(),
            };
            match m.db.shared().map(|s| s.put_node(&row)) {
                Some(Ok(())) => *last_seen = Some(tokio::time::Instant::now()),
                Some(Err(e)) => tracing::warn!("saying where this node is reached: {e}"),
                None => {}
            }
        }
        let serving = m.serving.read().unwrap_or_else(|e| e.into_inner()).clone();
        match serving {
            Some(l) if l.tenure.ended() => m.drop_copy("its commit found the lease lost"),
            Some(l) => m.check(&l),
            // Claimed only once this node says where it is reached: others forward to it.
            None if last_seen.is_some() => m.take().await,
            None => {}
        }
    }
}
