//! Runs one Map Run: items are read (and batched) on a blocking thread into a bounded
//! channel, so a file of millions of rows never sits in memory; at most MaxConcurrency
//! children run at once (read again after every change, for UpdateMapRun); each child's
//! end is counted against the tolerated failures; the Map state is answered at the end.

use super::RunState;
use crate::express;
use crate::runtime::{now_ms, Expect, Held, Runtime};
use passo_engine::map_run::{Batcher, ChildRecord, ChildStatus, Collected, MapRunSpec, Tally};
use passo_engine::ExecutionInfo;
use passo_tasks::result_writer::{ResultSink, WriterSpec};
use passo_engine::mock::Mocks;
use passo_engine::{Event, Failure, Outcome, TaskId, TaskPhase};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::task::JoinSet;

/// With MaxConcurrency 0 (no limit) this many children run at once: AWS's own ceiling for
/// a Distributed Map, and what keeps memory and file handles bounded.
const MAX_CHILDREN: usize = 10_000;

/// Batches read ahead of the children.
const READ_AHEAD: usize = 256;

type Batch = Result<Vec<(u64, Value)>, Failure>;

/// A child that ended, with what the result writer records of it.
struct Ended {
    info: ExecutionInfo,
    input: Value,
    outcome: Outcome,
    stop_ms: i64,
}
pub(crate) type MapRunFuture = Pin<Box<dyn Future<Output = Result<Value, Failure>> + Send>>;

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
            let run = rt.map_runs.begin(&spec, &arn, now_ms());
            let result = rt.clone().run_map(spec, run.clone(), mocks).await;
            run.end(result.is_ok(), now_ms());
            rt.map_runs.ended(&run.arn);
            if !run.aborted() {
                let expect = Expect::Task(task, &[TaskPhase::Invoked]);
                if let Err(e) = rt.deliver_if(&arn, answer(task, result), expect).await {
                    tracing::warn!("delivering the end of Map Run {} to {arn}: {e}", run.arn);
                }
            }
            drop(held);
        });
    }

    /// Runs a Map Run to its end: the Map's result, or why it failed. Boxed, with its type
    /// named: a child may hold a Distributed Map of its own, and the compiler cannot prove
    /// a future that contains itself is `Send`.
    pub(crate) fn run_map(
        self: Arc<Self>,
        spec: Arc<MapRunSpec>,
        run: Arc<RunState>,
        mocks: Option<Mocks>,
    ) -> MapRunFuture {
        Box::pin(self.run_map_inner(spec, run, mocks))
    }

    /// `mocks`: the parent's test case, as it stood when the run started (each child
    /// starts from it).
    async fn run_map_inner(
        self: Arc<Self>,
        spec: Arc<MapRunSpec>,
        run: Arc<RunState>,
        mocks: Option<Mocks>,
    ) -> Result<Value, Failure> {
        let mut sink = match &spec.writer {
            Some(w) => Some(self.result_sink(&spec, w)?),
            None => None,
        };
        let mut batches = self.read_batches(spec.clone());
        let mut tally = Tally::new(&spec);
        let mut collected = Collected::default();
        let mut running: JoinSet<(u64, Ended)> = JoinSet::new();
        let mut all_read = false;
        let mut next = 0u64;
        loop {
            let info = run.info();
            tally.tolerated_count = info.tolerated_count;
            tally.tolerated_percentage = info.tolerated_percentage;
            let cap = match info.max_concurrency as usize {
                0 => MAX_CHILDREN,
                n => n.min(MAX_CHILDREN),
            };
            if all_read && running.is_empty() {
                break;
            }
            let room = !all_read && running.len() < cap;
            tokio::select! {
                batch = batches.recv(), if room => match batch {
                    None => all_read = true,
                    Some(Err(f)) => {
                        running.abort_all();
                        return Err(f);
                    }
                    Some(Ok(batch)) => {
                        let input = match spec.child_input(&batch) {
                            Ok(v) => v,
                            Err(f) => {
                                running.abort_all();
                                return Err(f);
                            }
                        };
                        let info = spec.child_info(next, now_ms());
                        tally.started();
                        run.set_counts(tally.counts);
                        let child = express::run(
                            spec.processor.clone(),
                            info.clone(),
                            input.clone(),
                            self.clone(),
                            mocks.clone(),
                        );
                        let index = next;
                        running.spawn(async move {
                            let outcome = child.await;
                            (index, Ended { info, input, outcome, stop_ms: now_ms() })
                        });
                        next += 1;
                    }
                },
                Some(done) = running.join_next(), if !running.is_empty() => {
                    let (index, ended) = match done {
                        Ok(x) => x,
                        Err(e) => {
                            running.abort_all();
                            return Err(Failure::new("States.Runtime", format!("A child execution of the Map Run failed to run: {e}")));
                        }
                    };
                    tally.ended(ChildStatus::of(ended.outcome.status));
                    match sink.as_mut() {
                        Some(s) => {
                            let record = ChildRecord {
                                index,
                                info: &ended.info,
                                input: &ended.input,
                                outcome: &ended.outcome,
                                stop_ms: ended.stop_ms,
                            };
                            if let Err(e) = s.push(passo_tasks::map_items::child_result(&record)) {
                                running.abort_all();
                                return Err(passo_tasks::map_items::writer_failure(e));
                            }
                        }
                        None => collected.set(index, spec.parent.payload_limit, &ended.outcome),
                    }
                    run.set_counts(tally.counts);
                    if let Some(f) = tally.exceeded() {
                        running.abort_all();
                        return Err(f);
                    }
                },
                _ = run.changed.notified() => {
                    if run.aborted() {
                        running.abort_all();
                        return Err(Failure::new("States.Aborted", "The Map Run was aborted"));
                    }
                },
            }
        }
        tally.all_read = true;
        if let Some(f) = tally.exceeded() {
            return Err(f);
        }
        match sink {
            Some(s) => s.finish().await.map_err(passo_tasks::map_items::writer_failure),
            None => collected.finish(&spec.state_name),
        }
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

    /// The Map Run's batches, read on a blocking thread (bucket reads block) and handed
    /// over through a bounded channel: reading waits while the children are busy.
    fn read_batches(&self, spec: Arc<MapRunSpec>) -> tokio::sync::mpsc::Receiver<Batch> {
        let (tx, rx) = tokio::sync::mpsc::channel::<Batch>(READ_AHEAD);
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
