//! Runs one Map Run: items are read (and batched) on a blocking thread into a bounded
//! channel, so a file of millions of rows never sits in memory; at most MaxConcurrency
//! children run at once (read again after every change, for UpdateMapRun); each child's
//! end is counted against the tolerated failures; the Map state is answered at the end.
//!
//! STANDARD children are durable executions of the server (a machine `PARENT/LABEL` whose
//! revision, named by the run's id, is the processor): they survive a restart, and a Map Run
//! started again after one (its parent's step is recovered) finds the children it already
//! started by their names, counts the ended ones and waits for the running ones, so no child
//! runs twice. EXPRESS children run in memory and are at least once.

use super::{child_machine_arn, RunState};
use crate::catalog::Target;
use crate::express;
use crate::runtime::{now_ms, Expect, Held, Patience, Runtime, StartRequest};
use passo_engine::map_run::{
    child_name, Batcher, ChildRecord, ChildStatus, Collected, ExecutionType, MapRunSpec, Tally,
};
use passo_engine::mock::Mocks;
use passo_engine::{Event, ExecutionInfo, Failure, Outcome, Status, TaskId, TaskPhase};
use passo_store::{ExecutionRow, RevisionRow, Write};
use passo_tasks::result_writer::{ResultSink, WriterSpec};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;

/// With MaxConcurrency 0 (no limit) this many children run at once: AWS's own ceiling for
/// a Distributed Map, and what keeps memory and file handles bounded.
const MAX_CHILDREN: usize = 10_000;

/// Batches read ahead of the children.
const READ_AHEAD: usize = 256;

type Batch = Result<Vec<(u64, Value)>, Failure>;

/// A Map Run's end: the Map's result or failure, or `None` when it was aborted.
pub(crate) type MapRunFuture = Pin<Box<dyn Future<Output = Option<Result<Value, Failure>>> + Send>>;

/// A child that ended, with what the result writer records of it.
pub(crate) struct Ended {
    index: u64,
    info: ExecutionInfo,
    input: Value,
    outcome: Outcome,
    stop_ms: i64,
}

/// The event that answers the Map state's task.
pub(crate) fn answer(task: TaskId, result: Result<Value, Failure>) -> Event {
    match result {
        Ok(output) => Event::TaskSucceeded { task, output },
        Err(f) => Event::TaskFailed {
            task,
            error: f.error,
            cause: f.cause,
        },
    }
}

/// How an ended child's row reads as an outcome.
fn outcome_of(row: &ExecutionRow) -> Outcome {
    let status = match row.status.as_str() {
        "SUCCEEDED" => Status::Succeeded,
        "TIMED_OUT" => Status::TimedOut,
        "ABORTED" => Status::Aborted,
        "RUNNING" => Status::Running,
        _ => Status::Failed,
    };
    Outcome {
        status,
        output: row
            .output
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok()),
        error: row.error.clone(),
        cause: row.cause.clone(),
    }
}

impl Runtime {
    /// Starts the Map Run of a Standard execution's Distributed Map; its end is delivered to
    /// the Map state's task (unless the state stopped waiting for it).
    pub(crate) fn start_map_run(
        self: &Arc<Self>,
        parent_arn: &str,
        task: TaskId,
        spec: Arc<MapRunSpec>,
        mocks: Option<Mocks>,
        held: Held,
    ) {
        let rt = self.clone();
        let arn = parent_arn.to_string();
        tokio::spawn(async move {
            let result = rt.clone().run_map(spec, arn.clone(), mocks).await;
            if let Some(result) = result {
                let expect = Expect::Task(task, &[TaskPhase::Invoked]);
                if let Err(e) = rt.deliver_if(&arn, answer(task, result), expect).await {
                    tracing::warn!("delivering the end of a Map Run to {arn}: {e}");
                }
            }
            drop(held);
        });
    }

    /// Runs a Map Run of the execution `parent` to its end: the Map's result, or why it
    /// failed; `None` when it was aborted (its Map state no longer waits). Boxed, with its
    /// type named: a child may hold a Distributed Map of its own, and the compiler cannot
    /// prove a future that contains itself is `Send`.
    pub(crate) fn run_map(
        self: Arc<Self>,
        spec: Arc<MapRunSpec>,
        parent: String,
        mocks: Option<Mocks>,
    ) -> MapRunFuture {
        Box::pin(async move {
            let run = match self.map_runs.begin(&self, &spec, &parent).await {
                Ok(run) => run,
                Err(f) => return Some(Err(f)),
            };
            let result = self.clone().run_children(&spec, &run, &parent, mocks).await;
            let aborted = run.aborted();
            self.map_runs.end(&self, &run, result.is_ok()).await;
            (!aborted).then_some(result)
        })
    }

    async fn run_children(
        self: Arc<Self>,
        spec: &Arc<MapRunSpec>,
        run: &Arc<RunState>,
        parent: &str,
        mocks: Option<Mocks>,
    ) -> Result<Value, Failure> {
        let mut sink = match &spec.writer {
            Some(w) => Some(self.result_sink(spec, w)?),
            None => None,
        };
        let standard = spec.execution_type == ExecutionType::Standard;
        // Children this run already started (a run started again after a restart).
        let mut existing: HashMap<String, ExecutionRow> = HashMap::new();
        let mut test_case = None;
        if standard {
            let child_arn = child_machine_arn(spec);
            let rows = self
                .db
                .executions(
                    &child_arn,
                    None,
                    None,
                    Some(spec.run_id()),
                    None,
                    usize::MAX,
                )
                .map_err(store_failure)?;
            for row in rows {
                existing.insert(row.name.clone(), row);
            }
            test_case = self
                .db
                .execution(parent)
                .map_err(store_failure)?
                .and_then(|r| crate::codec::parse_test_case(&r.params));
        }
        let (ends_tx, mut ends) = mpsc::unbounded_channel::<Ended>();
        run.set_ends(ends_tx.clone());
        let mut batches = self.read_batches(spec.clone());
        let mut tally = Tally::new(spec);
        let mut collected = Collected::default();
        let mut express_children = tokio::task::JoinSet::new();
        let mut seen_end: Vec<bool> = Vec::new();
        let mut all_read = false;
        let mut next = 0u64;
        let result = loop {
            let info = run.info();
            tally.tolerated_count = info.tolerated_count;
            tally.tolerated_percentage = info.tolerated_percentage;
            let cap = match info.max_concurrency as usize {
                0 => MAX_CHILDREN,
                n => n.min(MAX_CHILDREN),
            };
            if all_read && tally.counts.running == 0 {
                break Ok(());
            }
            let room = !all_read && (tally.counts.running as usize) < cap;
            tokio::select! {
                batch = batches.recv(), if room => match batch {
                    None => all_read = true,
                    Some(Err(f)) => break Err(f),
                    Some(Ok(batch)) => {
                        let index = next;
                        next += 1;
                        let input = match spec.child_input(&batch) {
                            Ok(v) => v,
                            Err(f) => break Err(f),
                        };
                        tally.started();
                        let name = child_name(&spec.map_run_arn, index);
                        if let Some(outcome) = spec.oversized(&input) {
                            let info = spec.child_info(index, now_ms());
                            let _ = ends_tx.send(Ended { index, info, input, outcome, stop_ms: now_ms() });
                        } else if !standard {
                            let info = spec.child_info(index, now_ms());
                            let child = express::run(spec.processor.clone(), info.clone(), input.clone(), self.clone(), mocks.clone());
                            let tx = ends_tx.clone();
                            express_children.spawn(async move {
                                let outcome = child.await;
                                let _ = tx.send(Ended { index, info, input, outcome, stop_ms: now_ms() });
                            });
                        } else if let Some(row) = existing.remove(&name) {
                            if spec.redrive_count > 0 && matches!(row.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED") {
                                self.redrive_child(run, index, &row.arn);
                            } else {
                                self.resume_child(spec, run, index, row, &ends_tx);
                            }
                        } else {
                            self.start_child_execution(spec, run, index, input, test_case.clone(), &ends_tx);
                        }
                    }
                },
                Some(end) = ends.recv() => {
                    // Finished EXPRESS children's tasks are let go of (a JoinSet keeps them
                    // until joined: a million of them would hold gigabytes).
                    while express_children.try_join_next().is_some() {}
                    let i = end.index as usize;
                    if seen_end.len() <= i {
                        seen_end.resize(i + 1, false);
                    }
                    if std::mem::replace(&mut seen_end[i], true) {
                        continue;
                    }
                    tally.ended(ChildStatus::of(end.outcome.status));
                    match sink.as_mut() {
                        Some(s) => {
                            let record = ChildRecord {
                                index: end.index,
                                info: &end.info,
                                input: &end.input,
                                outcome: &end.outcome,
                                stop_ms: end.stop_ms,
                            };
                            if let Err(e) = s.push(passo_tasks::map_items::child_result(&record)) {
                                break Err(passo_tasks::map_items::writer_failure(e));
                            }
                        }
                        None => collected.set(end.index, spec.parent.payload_limit, &end.outcome),
                    }
                    run.set_counts(tally.counts);
                    if let Some(f) = tally.exceeded() {
                        break Err(f);
                    }
                },
                _ = run.changed.notified() => {
                    if run.aborted() {
                        break Err(Failure::new("States.Aborted", "The Map Run was aborted"));
                    }
                },
            }
            run.set_counts(tally.counts);
        };
        express_children.abort_all();
        if let Err(f) = result {
            // Children still running are stopped: nothing waits for them any more.
            for child in self.map_runs.running_children_of(run) {
                self.stop_child(&child, parent);
            }
            return Err(f);
        }
        tally.all_read = true;
        if let Some(f) = tally.exceeded() {
            return Err(f);
        }
        match sink {
            Some(s) => s
                .finish()
                .await
                .map_err(passo_tasks::map_items::writer_failure),
            None => collected.finish(&spec.state_name),
        }
    }

    /// Starts child `index` as a durable Standard execution, in a task of its own: starts
    /// commit together (the store's group commit), not one after another.
    fn start_child_execution(
        self: &Arc<Self>,
        spec: &Arc<MapRunSpec>,
        run: &Arc<RunState>,
        index: u64,
        input: Value,
        test_case: Option<String>,
        ends: &mpsc::UnboundedSender<Ended>,
    ) {
        let info = spec.child_info(index, now_ms());
        let name = info.execution_name.clone();
        let target = Target {
            machine: spec.processor.clone(),
            machine_arn: child_machine_arn(spec),
            machine_name: info.state_machine_name.clone(),
            revision_id: spec.run_id().to_string(),
            role_arn: spec.parent.role_arn.clone(),
            kind: "STANDARD".into(),
            version_arn: None,
            alias_arn: None,
        };
        // Watched before it starts: a child that ends at its first step reports at once.
        self.map_runs.watch(&info.execution_arn, run, index);
        let req = StartRequest {
            target,
            name,
            input_text: input.to_string(),
            input: input.clone(),
            trace_header: None,
            parent: None,
            test_case,
        };
        let (rt, ends) = (self.clone(), ends.clone());
        tokio::spawn(async move {
            if let Err(e) = rt.start_with(req, Patience::Forever).await {
                // Counted as a failed child (the store refused it for good).
                rt.map_runs.unwatch(&info.execution_arn);
                let outcome = Outcome {
                    status: Status::Failed,
                    output: None,
                    error: Some("States.Runtime".into()),
                    cause: Some(format!(
                        "The child execution could not start: {}",
                        e.message()
                    )),
                };
                let stop_ms = now_ms();
                let _ = ends.send(Ended {
                    index,
                    info,
                    input,
                    outcome,
                    stop_ms,
                });
            }
        });
    }

    /// A child started before a restart: counted if it ended, watched if it runs on.
    fn resume_child(
        self: &Arc<Self>,
        spec: &MapRunSpec,
        run: &Arc<RunState>,
        index: u64,
        row: ExecutionRow,
        ends: &mpsc::UnboundedSender<Ended>,
    ) {
        self.map_runs.watch(&row.arn, run, index);
        // Read again after watching: an end in between is then seen one way or the other
        // (twice at most, and the coordinator counts each index once).
        let row = match self.db.execution(&row.arn) {
            Ok(Some(r)) => r,
            _ => row,
        };
        if row.status != "RUNNING" {
            self.map_runs.unwatch(&row.arn);
            let _ = ends.send(ended_of(spec, index, &row));
        }
    }

    /// A redriven run's unsuccessful child: redriven (RedriveExecution), and watched.
    fn redrive_child(self: &Arc<Self>, run: &Arc<RunState>, index: u64, child: &str) {
        self.map_runs.watch(child, run, index);
        let (rt, child) = (self.clone(), child.to_string());
        tokio::spawn(async move {
            if let Err(e) = rt.deliver(&child, Event::Redrive).await {
                tracing::warn!("redriving child execution {child}: {e}");
            }
            // Not redriven after all (no longer redrivable): it counts as it ended.
            let still_over =
                matches!(rt.db.execution(&child), Ok(Some(r)) if r.status != "RUNNING");
            if still_over {
                rt.map_child_ended(&child);
            }
        });
    }

    /// A Map Run's STANDARD child ended: its coordinator hears of it.
    pub(crate) fn map_child_ended(self: &Arc<Self>, child_arn: &str) {
        let Some((run, index)) = self.map_runs.take_watched(child_arn) else {
            return;
        };
        let Some(ends) = run.ends() else { return };
        let Some(row) = self.db.execution(child_arn).ok().flatten() else {
            return;
        };
        let _ = ends.send(ended_of(run.spec(), index, &row));
    }

    /// The ResultWriter's sink of a Map Run.
    fn result_sink(
        &self,
        spec: &MapRunSpec,
        w: &passo_engine::map_run::WriterRequest,
    ) -> Result<ResultSink, Failure> {
        let parsed = WriterSpec::parse(
            w.resource.as_deref(),
            w.parameters.as_ref(),
            w.writer_config.as_ref(),
        )
        .map_err(passo_tasks::map_items::writer_failure)?;
        let buckets = self.buckets().ok_or_else(|| {
            Failure::new(
                "States.ResultWriterFailed",
                "No buckets are configured to write results to",
            )
        })?;
        Ok(ResultSink::new(buckets, parsed, &spec.map_run_arn))
    }

    /// The processor's revision, so that the children can be rebuilt after a restart.
    pub(crate) fn processor_revision(spec: &MapRunSpec) -> Write {
        Write::PutRevision(RevisionRow {
            machine_arn: child_machine_arn(spec),
            revision_id: spec.run_id().to_string(),
            definition: spec.processor_definition.to_string(),
            role_arn: spec.parent.role_arn.clone(),
            kind: "STANDARD".into(),
        })
    }

    /// The Map Run's batches, read on a blocking thread (bucket reads block) and handed
    /// over through a bounded channel: reading waits while the children are busy.
    fn read_batches(&self, spec: Arc<MapRunSpec>) -> mpsc::Receiver<Batch> {
        let (tx, rx) = mpsc::channel::<Batch>(READ_AHEAD);
        let buckets = self.buckets().cloned();
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let items = match &buckets {
                Some(b) => passo_tasks::map_items::open(b, &handle, &spec),
                None => match &spec.items {
                    passo_engine::map_run::ItemSource::Inline(items) => {
                        let it: passo_tasks::map_items::Items =
                            Box::new(items.clone().into_iter().map(Ok));
                        Ok(it)
                    }
                    _ => Err(Failure::new(
                        "States.ItemReaderFailed",
                        "No buckets are configured to read items from",
                    )),
                },
            };
            match items {
                Err(f) => {
                    let _ = tx.blocking_send(Err(f));
                }
                Ok(items) => {
                    for batch in Batcher::new(items, spec.batching.as_ref()) {
                        if tx.blocking_send(batch).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        rx
    }
}

/// An ended child, from its row.
fn ended_of(spec: &MapRunSpec, index: u64, row: &ExecutionRow) -> Ended {
    Ended {
        index,
        info: spec.child_info(index, row.start_ms),
        input: serde_json::from_str(&row.input).unwrap_or(Value::Null),
        outcome: outcome_of(row),
        stop_ms: row.stop_ms.unwrap_or(row.start_ms),
    }
}

/// A store failure as the Map Run's failure.
pub(crate) fn store_failure(e: impl std::fmt::Display) -> Failure {
    Failure::new("States.Runtime", format!("The store failed: {e}"))
}
