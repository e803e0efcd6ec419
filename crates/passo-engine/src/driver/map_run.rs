//! A Map Run on virtual time: each child execution runs to its end in item order, started
//! when a concurrency slot frees, so the run ends when its last child would have ended had
//! they run side by side. Children are independent executions, so running them one after
//! another gives the same outcomes, and memory holds one child (not the whole data set).

use super::{run_hosted, Invocation, RunOptions, TaskResult};
use crate::failure::Failure;
use crate::map_run::{
    Batcher, ChildRecord, ChildStatus, Collected, Counts, ItemSource, MapRunSpec, Tally,
};
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The items a Map Run iterates, one at a time.
pub type ItemStream = Box<dyn Iterator<Item = Result<Value, Failure>>>;

/// Where a ResultWriter puts the children's results.
pub trait ResultSink {
    fn push(&mut self, child: ChildRecord<'_>) -> Result<(), Failure>;
    /// Writes what is left and answers the Map's result (`ResultWriterDetails`).
    fn finish(self: Box<Self>) -> Result<Value, Failure>;
}

/// What a Map Run needs from outside the interpreter: a bucket's items, a place for its
/// results, and someone to tell how it goes.
pub trait MapRunHost {
    /// Opens an ItemReader's items (`spec.items` is `ItemSource::Reader`).
    fn open_items(&mut self, spec: &MapRunSpec) -> Result<ItemStream, Failure>;
    /// Opens the ResultWriter's sink (`spec.writer` is set).
    fn open_results(&mut self, spec: &MapRunSpec) -> Result<Box<dyn ResultSink>, Failure>;
    /// The run's counts after each child (for a progress bar).
    fn progress(&mut self, _spec: &MapRunSpec, _counts: &Counts, _done: bool) {}
}

/// A host with no buckets: ItemReader and ResultWriter fail with AWS's error names.
pub struct NoBuckets;

impl MapRunHost for NoBuckets {
    fn open_items(&mut self, _spec: &MapRunSpec) -> Result<ItemStream, Failure> {
        Err(Failure::new(
            "States.ItemReaderFailed",
            "No buckets are configured to read items from",
        ))
    }

    fn open_results(&mut self, _spec: &MapRunSpec) -> Result<Box<dyn ResultSink>, Failure> {
        Err(Failure::new(
            "States.ResultWriterFailed",
            "No buckets are configured to write results to",
        ))
    }
}

/// Runs a Map Run that starts at `now`: when it ends, and the Map's result or failure.
pub(super) fn run(
    spec: &MapRunSpec,
    now: i64,
    tasks: &mut dyn FnMut(&Invocation) -> TaskResult,
    host: &mut dyn MapRunHost,
) -> (i64, Result<Value, Failure>) {
    let mut end = now;
    let r = run_children(spec, now, &mut end, tasks, host);
    (end, r)
}

fn run_children(
    spec: &MapRunSpec,
    now: i64,
    end: &mut i64,
    tasks: &mut dyn FnMut(&Invocation) -> TaskResult,
    host: &mut dyn MapRunHost,
) -> Result<Value, Failure> {
    let items: ItemStream = match &spec.items {
        ItemSource::Inline(items) => Box::new(items.clone().into_iter().map(Ok)),
        ItemSource::Reader { .. } => host.open_items(spec)?,
    };
    let mut sink = match &spec.writer {
        Some(_) => Some(host.open_results(spec)?),
        None => None,
    };
    let mut collected = Collected::default();
    let mut tally = Tally::new(spec);
    // Free times of the busy concurrency slots, earliest first.
    let mut slots: BinaryHeap<Reverse<i64>> = BinaryHeap::new();
    let cap = spec.max_concurrency as usize;
    let opts = RunOptions {
        horizon_ms: None,
        record_history: false,
        wait_until: None,
    };
    for (child, batch) in Batcher::new(items, spec.batching.as_ref()).enumerate() {
        let batch = batch?;
        let start = if cap == 0 || slots.len() < cap {
            now
        } else {
            slots.pop().map_or(now, |Reverse(t)| t)
        };
        let input = spec.child_input(&batch)?;
        let info = spec.child_info(child as u64, start);
        tally.started();
        let run = match spec.oversized(&input) {
            Some(outcome) => super::Run {
                outcome,
                history: Vec::new(),
                transitions: 0,
                end_time_ms: start,
            },
            None => run_hosted(
                spec.processor.clone(),
                info.clone(),
                input.clone(),
                &opts,
                tasks,
                host,
            ),
        };
        slots.push(Reverse(run.end_time_ms));
        *end = (*end).max(run.end_time_ms);
        tally.ended(ChildStatus::of(run.outcome.status));
        match sink.as_mut() {
            Some(s) => s.push(ChildRecord {
                index: child as u64,
                info: &info,
                input: &input,
                outcome: &run.outcome,
                stop_ms: run.end_time_ms,
            })?,
            None => collected.set(child as u64, spec.parent.payload_limit, &run.outcome),
        }
        host.progress(spec, &tally.counts, false);
        if let Some(f) = tally.exceeded() {
            host.progress(spec, &tally.counts, true);
            return Err(f);
        }
    }
    tally.all_read = true;
    host.progress(spec, &tally.counts, true);
    if let Some(f) = tally.exceeded() {
        return Err(f);
    }
    match sink {
        Some(s) => s.finish(),
        None => collected.finish(&spec.state_name),
    }
}

#[cfg(test)]
mod tests {
    use crate::driver::{run, RunOptions, TaskResult};
    use crate::{ExecutionInfo, Status};
    use serde_json::{json, Value};
    use std::sync::Arc;

    fn dmap(extra: Value) -> Arc<passo_asl::StateMachine> {
        let mut map = json!({
            "Type": "Map",
            "MaxConcurrency": 2,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Wait",
                "States": {"Wait": {"Type": "Wait", "Seconds": 10, "End": true}}
            },
            "End": true
        });
        for (k, v) in extra.as_object().unwrap() {
            map[k] = v.clone();
        }
        Arc::new(passo_asl::parse(&json!({"StartAt": "M", "States": {"M": map}})).unwrap())
    }

    fn go(m: Arc<passo_asl::StateMachine>, input: Value) -> crate::driver::Run {
        let info = ExecutionInfo::local("m", 0, 1);
        run(m, info, input, &RunOptions::default(), &mut |_| {
            TaskResult::Success(Value::Null)
        })
    }

    #[test]
    fn children_share_max_concurrency_slots_on_virtual_time() {
        // Five 10-second children, two at a time: 30 seconds.
        let r = go(dmap(json!({})), json!([1, 2, 3, 4, 5]));
        assert_eq!(r.outcome.status, Status::Succeeded);
        assert_eq!(r.outcome.output, Some(json!([1, 2, 3, 4, 5])));
        assert_eq!(r.end_time_ms, 30_000);
    }

    #[test]
    fn an_item_over_the_payload_limit_fails_its_child() {
        let big = "x".repeat(300_000);
        let tolerant = dmap(json!({"ToleratedFailureCount": 1}));
        let r = go(tolerant, json!([1, big, 3]));
        assert_eq!(r.outcome.status, Status::Succeeded, "{:?}", r.outcome);
        let out = r.outcome.output.unwrap();
        assert_eq!(out[1]["Error"], "States.DataLimitExceeded");
        let r = go(dmap(json!({})), json!([1, "x".repeat(300_000)]));
        assert_eq!(r.outcome.status, Status::Failed);
        assert_eq!(
            r.outcome.error.as_deref(),
            Some("States.ExceedToleratedFailureThreshold")
        );
    }
}
