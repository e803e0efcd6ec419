//! Map Runs: the child executions a Distributed Map starts, as a resource the API describes
//! (DescribeMapRun, ListMapRuns) and adjusts while it runs (UpdateMapRun).
//!
//! - [`coordinator`]: runs one Map Run: reads its items, keeps up to MaxConcurrency children
//!   running, counts their ends against the tolerated failures, and answers the Map state.
//!
//! This first form keeps Map Runs in memory and runs children in memory (as Express
//! executions are run): a Map Run cut off by a restart runs again from its first item when
//! the parent's step is recovered (at least once, as tasks in flight are).

pub(crate) mod coordinator;

use passo_engine::map_run::{Counts, MapRunSpec};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How many ended Map Runs stay describable.
const KEEP_ENDED: usize = 10_000;

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
}

/// One Map Run.
pub struct RunState {
    pub arn: String,
    pub execution_arn: String,
    /// `arn:...:stateMachine:MACHINE/LABEL`, the children's state machine.
    pub state_machine_arn: String,
    pub start_ms: i64,
    info: Mutex<RunInfo>,
    aborted: AtomicBool,
    /// Wakes the coordinator: the concurrency changed, or the run was aborted.
    pub changed: tokio::sync::Notify,
}

impl RunState {
    pub fn info(&self) -> RunInfo {
        self.info.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn with<R>(&self, f: impl FnOnce(&mut RunInfo) -> R) -> R {
        f(&mut self.info.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn set_counts(&self, counts: Counts) {
        self.with(|i| i.counts = counts);
    }

    pub fn aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire)
    }

    /// The run ended (`ok`: succeeded) at `now`.
    pub fn end(&self, ok: bool, now: i64) {
        let aborted = self.aborted();
        self.with(|i| {
            i.status = match (aborted, ok) {
                (true, _) => MapRunStatus::Aborted,
                (false, true) => MapRunStatus::Succeeded,
                (false, false) => MapRunStatus::Failed,
            };
            i.stop_ms = Some(now);
        });
    }

    /// DescribeMapRun's answer.
    pub fn describe(&self) -> Value {
        let i = self.info();
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
            "mapRunArn": self.arn,
            "executionArn": self.execution_arn,
            "status": i.status.as_str(),
            "startDate": crate::api::ts(self.start_ms),
            "maxConcurrency": i.max_concurrency,
            "toleratedFailurePercentage": i.tolerated_percentage.unwrap_or(0.0),
            "toleratedFailureCount": i.tolerated_count.map_or(0, |c| c as u64),
            "itemCounts": counts,
            "executionCounts": counts,
            "redriveCount": 0,
        });
        if let Some(stop) = i.stop_ms {
            v["stopDate"] = crate::api::ts(stop);
        }
        v
    }

    /// ListMapRuns' item.
    pub fn list_item(&self) -> Value {
        let mut v = json!({
            "executionArn": self.execution_arn,
            "mapRunArn": self.arn,
            "stateMachineArn": self.state_machine_arn,
            "startDate": crate::api::ts(self.start_ms),
        });
        if let Some(stop) = self.info().stop_ms {
            v["stopDate"] = crate::api::ts(stop);
        }
        v
    }
}

/// Every Map Run this server knows of.
#[derive(Default)]
pub struct MapRuns {
    runs: Mutex<BTreeMap<String, Arc<RunState>>>,
    /// Ended runs, oldest first (dropped past [`KEEP_ENDED`]).
    ended: Mutex<std::collections::VecDeque<String>>,
}

impl MapRuns {
    fn runs(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<RunState>>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a Map Run starting now (or finds it again: a recovered parent starts the
    /// same run over).
    pub fn begin(&self, spec: &MapRunSpec, execution_arn: &str, now: i64) -> Arc<RunState> {
        let prefix = spec
            .parent
            .state_machine_arn
            .split(":stateMachine:")
            .next()
            .unwrap_or_default();
        let machine = spec.child_info(0, now).state_machine_name;
        let run = Arc::new(RunState {
            arn: spec.map_run_arn.clone(),
            execution_arn: execution_arn.to_string(),
            state_machine_arn: format!("{prefix}:stateMachine:{machine}"),
            start_ms: now,
            info: Mutex::new(RunInfo {
                status: MapRunStatus::Running,
                stop_ms: None,
                counts: Counts::default(),
                max_concurrency: spec.max_concurrency,
                tolerated_count: spec.tolerated_count,
                tolerated_percentage: spec.tolerated_percentage,
            }),
            aborted: AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
        });
        self.runs().insert(run.arn.clone(), run.clone());
        run
    }

    /// Remembers that `arn` ended; the oldest ended runs are forgotten.
    pub fn ended(&self, arn: &str) {
        let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        ended.push_back(arn.to_string());
        while ended.len() > KEEP_ENDED {
            if let Some(old) = ended.pop_front() {
                self.runs().remove(&old);
            }
        }
    }

    pub fn get(&self, arn: &str) -> Option<Arc<RunState>> {
        self.runs().get(arn).cloned()
    }

    /// The Map Runs an execution started, in start order.
    pub fn of_execution(&self, execution_arn: &str) -> Vec<Arc<RunState>> {
        let mut v: Vec<Arc<RunState>> = self
            .runs()
            .values()
            .filter(|r| r.execution_arn == execution_arn)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.start_ms.cmp(&b.start_ms).then(a.arn.cmp(&b.arn)));
        v
    }

    /// Stops a run whose Map state no longer waits for it.
    pub fn abort(&self, arn: &str) {
        if let Some(r) = self.get(arn) {
            r.aborted.store(true, Ordering::Release);
            r.changed.notify_one();
        }
    }

    /// UpdateMapRun.
    pub fn update(
        &self,
        arn: &str,
        max_concurrency: Option<u64>,
        tolerated_count: Option<f64>,
        tolerated_percentage: Option<f64>,
    ) -> Option<()> {
        let r = self.get(arn)?;
        r.with(|i| {
            if let Some(m) = max_concurrency {
                i.max_concurrency = m;
            }
            if tolerated_count.is_some() {
                i.tolerated_count = tolerated_count;
            }
            if tolerated_percentage.is_some() {
                i.tolerated_percentage = tolerated_percentage;
            }
        });
        r.changed.notify_one();
        Some(())
    }
}
