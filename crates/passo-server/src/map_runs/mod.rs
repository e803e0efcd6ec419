//! Map Runs: the child executions a Distributed Map starts, as a resource the API describes
//! (DescribeMapRun, ListMapRuns) and adjusts while it runs (UpdateMapRun).
//!
//! - [`coordinator`]: runs one Map Run: reads its items, keeps up to MaxConcurrency
//!   children running, counts their ends against the tolerated failures, and answers the
//!   Map state.
//!
//! A Map Run's row is written when it starts and when it ends; while it runs, its counts
//! live here. Its STANDARD children are durable executions of the machine `PARENT/LABEL`
//! (see [`child_machine_arn`]), whose ends are routed to their run by [`MapRuns::watch`].

pub(crate) mod coordinator;

use crate::runtime::{now_ms, Runtime};
use passo_engine::map_run::{Counts, MapRunSpec};
use passo_engine::Failure;
use passo_store::{MapRunRow, Write};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// How many ended Map Runs stay in memory (the store keeps them all).
const KEEP_ENDED: usize = 1_000;

/// The machine a Map Run's children run: `arn:...:stateMachine:PARENT/LABEL`.
pub fn child_machine_arn(spec: &MapRunSpec) -> String {
    spec.child_info(0, 0).state_machine_arn
}

/// The Map Run a child execution belongs to, from its machine and revision.
pub fn map_run_of(machine_arn: &str, revision_id: &str) -> Option<String> {
    let (_, name) = machine_arn.split_once(":stateMachine:")?;
    name.contains('/').then(|| {
        format!(
            "{}:{revision_id}",
            machine_arn.replacen(":stateMachine:", ":mapRun:", 1)
        )
    })
}

/// A Map Run's status, as DescribeMapRun names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapRunStatus {
    Running,
    Succeeded,
    Failed,
    Aborted,
}

impl MapRunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MapRunStatus::Running => "RUNNING",
            MapRunStatus::Succeeded => "SUCCEEDED",
            MapRunStatus::Failed => "FAILED",
            MapRunStatus::Aborted => "ABORTED",
        }
    }
}

/// What can change while a Map Run runs.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub status: MapRunStatus,
    pub stop_ms: Option<i64>,
    pub counts: Counts,
    pub max_concurrency: u64,
    pub tolerated_count: Option<f64>,
    pub tolerated_percentage: Option<f64>,
    pub redrive_count: u64,
    pub redrive_ms: Option<i64>,
}

impl RunInfo {
    fn config(&self) -> String {
        let c = &self.counts;
        json!({
            "maxConcurrency": self.max_concurrency,
            "toleratedFailureCount": self.tolerated_count,
            "toleratedFailurePercentage": self.tolerated_percentage,
            "counts": [c.pending, c.running, c.succeeded, c.failed, c.timed_out, c.aborted, c.total],
            "redriveCount": self.redrive_count,
            "redriveMs": self.redrive_ms,
        })
        .to_string()
    }

    fn from_row(row: &MapRunRow) -> RunInfo {
        let v: Value = serde_json::from_str(&row.config).unwrap_or(Value::Null);
        let n = |i: usize| v["counts"][i].as_u64().unwrap_or(0);
        RunInfo {
            status: match row.status.as_str() {
                "SUCCEEDED" => MapRunStatus::Succeeded,
                "FAILED" => MapRunStatus::Failed,
                "ABORTED" => MapRunStatus::Aborted,
                _ => MapRunStatus::Running,
            },
            stop_ms: row.stop_ms,
            counts: Counts {
                pending: n(0),
                running: n(1),
                succeeded: n(2),
                failed: n(3),
                timed_out: n(4),
                aborted: n(5),
                total: n(6),
            },
            max_concurrency: v["maxConcurrency"].as_u64().unwrap_or(0),
            tolerated_count: v["toleratedFailureCount"].as_f64(),
            tolerated_percentage: v["toleratedFailurePercentage"].as_f64(),
            redrive_count: v["redriveCount"].as_u64().unwrap_or(0),
            redrive_ms: v["redriveMs"].as_i64(),
        }
    }
}

/// Where a run's children's ends go: its coordinator.
type Ends = tokio::sync::mpsc::UnboundedSender<coordinator::Ended>;

/// One Map Run.
pub struct RunState {
    pub arn: String,
    pub execution_arn: String,
    /// `arn:...:stateMachine:MACHINE/LABEL`, the children's state machine.
    pub state_machine_arn: String,
    pub start_ms: i64,
    spec: Arc<MapRunSpec>,
    info: Mutex<RunInfo>,
    aborted: AtomicBool,
    ends: Mutex<Option<Ends>>,
    /// Wakes the coordinator: the concurrency changed, or the run was aborted.
    pub changed: tokio::sync::Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl RunState {
    pub fn info(&self) -> RunInfo {
        lock(&self.info).clone()
    }

    pub fn set_counts(&self, counts: Counts) {
        lock(&self.info).counts = counts;
    }

    pub fn aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire)
    }

    pub(crate) fn spec(&self) -> &MapRunSpec {
        &self.spec
    }

    pub(crate) fn set_ends(&self, tx: Ends) {
        *lock(&self.ends) = Some(tx);
    }

    pub(crate) fn ends(&self) -> Option<Ends> {
        lock(&self.ends).clone()
    }

    /// DescribeMapRun's answer.
    pub fn describe(&self) -> Value {
        describe(&self.arn, &self.execution_arn, self.start_ms, &self.info())
    }
}

fn describe(arn: &str, execution_arn: &str, start_ms: i64, i: &RunInfo) -> Value {
    let c = &i.counts;
    let counts = json!({
        "pending": c.pending,
        "running": c.running,
        "succeeded": c.succeeded,
        "failed": c.failed,
        "timedOut": c.timed_out,
        "aborted": c.aborted,
        "total": c.total,
        "resultsWritten": c.succeeded + c.failed + c.timed_out + c.aborted,
        "failuresNotRedrivable": 0,
        "pendingRedrive": 0,
    });
    let mut v = json!({
        "mapRunArn": arn,
        "executionArn": execution_arn,
        "status": i.status.as_str(),
        "startDate": crate::api::ts(start_ms),
        "maxConcurrency": i.max_concurrency,
        "toleratedFailurePercentage": i.tolerated_percentage.unwrap_or(0.0),
        "toleratedFailureCount": i.tolerated_count.map_or(0, |c| c as u64),
        "itemCounts": counts,
        "executionCounts": counts,
        "redriveCount": i.redrive_count,
    });
    if let Some(stop) = i.stop_ms {
        v["stopDate"] = crate::api::ts(stop);
    }
    if let Some(r) = i.redrive_ms {
        v["redriveDate"] = crate::api::ts(r);
    }
    v
}

/// Every Map Run this server runs or ran lately.
#[derive(Default)]
pub struct MapRuns {
    runs: Mutex<BTreeMap<String, Arc<RunState>>>,
    /// Ended runs, oldest first (dropped from memory past [`KEEP_ENDED`]).
    ended: Mutex<std::collections::VecDeque<String>>,
    /// STANDARD children running: child ARN -> its run and index.
    watched: Mutex<HashMap<String, (Arc<RunState>, u64)>>,
}

impl MapRuns {
    /// Registers a Map Run starting now and records it (with the processor's revision, for
    /// its children); a run started again after a restart keeps its first start.
    pub(crate) async fn begin(
        &self,
        rt: &Runtime,
        spec: &Arc<MapRunSpec>,
        execution_arn: &str,
    ) -> Result<Arc<RunState>, Failure> {
        let now = now_ms();
        let stored = rt
            .db
            .map_run(&spec.map_run_arn)
            .map_err(coordinator::store_failure)?;
        let redriven = spec.redrive_count > 0;
        let info = RunInfo {
            status: MapRunStatus::Running,
            stop_ms: None,
            counts: Counts::default(),
            max_concurrency: spec.max_concurrency,
            tolerated_count: spec.tolerated_count,
            tolerated_percentage: spec.tolerated_percentage,
            redrive_count: spec.redrive_count,
            redrive_ms: redriven.then_some(now),
        };
        let run = Arc::new(RunState {
            arn: spec.map_run_arn.clone(),
            execution_arn: execution_arn.to_string(),
            state_machine_arn: child_machine_arn(spec),
            start_ms: stored.as_ref().map_or(now, |r| r.start_ms),
            spec: spec.clone(),
            info: Mutex::new(info.clone()),
            aborted: AtomicBool::new(false),
            ends: Mutex::new(None),
            changed: tokio::sync::Notify::new(),
        });
        if stored.is_none() {
            let row = MapRunRow {
                arn: run.arn.clone(),
                execution_arn: run.execution_arn.clone(),
                state_machine_arn: run.state_machine_arn.clone(),
                status: "RUNNING".into(),
                start_ms: now,
                stop_ms: None,
                config: info.config(),
            };
            let writes = vec![Write::PutMapRun(row), Runtime::processor_revision(spec)];
            rt.db
                .write(writes)
                .await
                .map_err(coordinator::store_failure)?;
        } else if redriven {
            let w = Write::UpdateMapRun {
                arn: run.arn.clone(),
                status: "RUNNING".into(),
                stop_ms: None,
                config: info.config(),
            };
            rt.db
                .write(vec![w])
                .await
                .map_err(coordinator::store_failure)?;
        }
        lock(&self.runs).insert(run.arn.clone(), run.clone());
        Ok(run)
    }

    /// The run ended (`ok`: succeeded): recorded, and remembered for a while.
    pub(crate) async fn end(&self, rt: &Runtime, run: &RunState, ok: bool) {
        let now = now_ms();
        let info = {
            let mut i = lock(&run.info);
            i.status = match (run.aborted(), ok) {
                (true, _) => MapRunStatus::Aborted,
                (false, true) => MapRunStatus::Succeeded,
                (false, false) => MapRunStatus::Failed,
            };
            i.stop_ms = Some(now);
            i.clone()
        };
        let w = Write::UpdateMapRun {
            arn: run.arn.clone(),
            status: info.status.as_str().into(),
            stop_ms: Some(now),
            config: info.config(),
        };
        if let Err(e) = rt.db.write(vec![w]).await {
            tracing::warn!("recording the end of Map Run {}: {e}", run.arn);
        }
        let mut ended = lock(&self.ended);
        ended.push_back(run.arn.clone());
        while ended.len() > KEEP_ENDED {
            if let Some(old) = ended.pop_front() {
                lock(&self.runs).remove(&old);
            }
        }
    }

    pub fn get(&self, arn: &str) -> Option<Arc<RunState>> {
        lock(&self.runs).get(arn).cloned()
    }

    /// DescribeMapRun: the run in memory, else its row.
    pub fn describe(
        &self,
        rt: &Runtime,
        arn: &str,
    ) -> Result<Option<Value>, passo_store::StoreError> {
        if let Some(r) = self.get(arn) {
            return Ok(Some(r.describe()));
        }
        Ok(rt.db.map_run(arn)?.map(|row| {
            describe(
                &row.arn,
                &row.execution_arn,
                row.start_ms,
                &RunInfo::from_row(&row),
            )
        }))
    }

    /// Stops a run whose Map state no longer waits for it.
    pub fn abort(&self, arn: &str) {
        if let Some(r) = self.get(arn) {
            r.aborted.store(true, Ordering::Release);
            r.changed.notify_one();
        }
    }

    /// UpdateMapRun (None: no such run in memory).
    pub fn update(
        &self,
        arn: &str,
        max_concurrency: Option<u64>,
        tolerated_count: Option<f64>,
        tolerated_percentage: Option<f64>,
    ) -> Option<()> {
        let r = self.get(arn)?;
        {
            let mut i = lock(&r.info);
            if let Some(m) = max_concurrency {
                i.max_concurrency = m;
            }
            if tolerated_count.is_some() {
                i.tolerated_count = tolerated_count;
            }
            if tolerated_percentage.is_some() {
                i.tolerated_percentage = tolerated_percentage;
            }
        }
        r.changed.notify_one();
        Some(())
    }

    /// Routes the end of child `child_arn` to `run` as its item `index`.
    pub(crate) fn watch(&self, child_arn: &str, run: &Arc<RunState>, index: u64) {
        lock(&self.watched).insert(child_arn.to_string(), (run.clone(), index));
    }

    pub(crate) fn unwatch(&self, child_arn: &str) {
        lock(&self.watched).remove(child_arn);
    }

    pub(crate) fn take_watched(&self, child_arn: &str) -> Option<(Arc<RunState>, u64)> {
        lock(&self.watched).remove(child_arn)
    }

    /// The STANDARD children of `run` still running.
    pub(crate) fn running_children_of(&self, run: &RunState) -> Vec<String> {
        lock(&self.watched)
            .iter()
            .filter(|(_, (r, _))| r.arn == run.arn)
            .map(|(c, _)| c.clone())
            .collect()
    }
}
