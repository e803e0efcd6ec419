//! A Distributed Map's Map Run, as the interpreter hands it to its host.
//!
//! A Distributed Map does not run its children inside the parent execution: each item (or
//! batch of items) is a child execution with its own history, and the items may come from a
//! bucket rather than the state input. Reading buckets and running children are the host's
//! business (the virtual-time driver for `passo run`, the server's runtime), so the
//! interpreter evaluates everything the state says (ItemReader parameters, MaxItemsPath,
//! the batcher's limits, the writer's parameters, MaxConcurrency, tolerated failures) when
//! the state is entered and sends a [`MapRunSpec`] out with `Command::StartMapRun`. The host
//! answers the Map Run's task with `TaskSucceeded` (the Map's result) or `TaskFailed`.
//!
//! What stays pure lives here so both hosts share it: each child's input ([`Selector`]: the
//! ItemSelector, evaluated with the context and variables frozen at the state's entry),
//! batching ([`Batcher`]), the children's names ([`MapRunSpec::child_info`]), and the
//! counting of outcomes against the tolerated failures ([`Tally`]).

use crate::context::Context;
use crate::execution::ExecutionInfo;
use crate::failure::Failure;
use crate::io::{Eval, StatesExtra};
use passo_asl::jtemplate::JTemplate;
use passo_asl::template::Template;
use passo_asl::StateMachine;
use passo_expr::Scope;
use serde_json::{Map, Value};
use std::cell::Cell;
use std::sync::Arc;

/// `ProcessorConfig.ExecutionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionType {
    Standard,
    Express,
}

impl ExecutionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionType::Standard => "STANDARD",
            ExecutionType::Express => "EXPRESS",
        }
    }
}

/// Where the Map Run's items come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemSource {
    /// The state input's array (`ItemsPath`, or JSONata `Items`).
    Inline(Vec<Value>),
    /// An `ItemReader`, evaluated: its resource, its `Parameters`/`Arguments` with every
    /// path and expression resolved, and its `ReaderConfig` with `MaxItemsPath` resolved into
    /// `MaxItems`. The host reads (and validates) it.
    Reader {
        resource: String,
        parameters: Value,
        reader_config: Value,
    },
}

/// `ItemBatcher`, evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Batching {
    pub max_items: Option<u64>,
    pub max_bytes: Option<u64>,
    pub batch_input: Option<Value>,
}

/// `ResultWriter`, evaluated: the host validates and writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterRequest {
    pub resource: Option<String>,
    pub parameters: Option<Value>,
    pub writer_config: Option<Value>,
}

/// Everything a host needs to run one Map Run.
#[derive(Debug, Clone)]
pub struct MapRunSpec {
    pub map_run_arn: String,
    /// The Map state's name.
    pub state_name: String,
    /// The processor, as a state machine of its own (children run it).
    pub processor: Arc<StateMachine>,
    /// Its definition (JSON), for a host that stores children durably.
    pub processor_definition: Arc<Value>,
    pub execution_type: ExecutionType,
    pub items: ItemSource,
    pub selector: Option<Selector>,
    pub batching: Option<Batching>,
    /// 0: no limit.
    pub max_concurrency: u64,
    pub tolerated_count: Option<f64>,
    pub tolerated_percentage: Option<f64>,
    pub writer: Option<WriterRequest>,
    /// The parent's names, account, region, token key and limits (children inherit them).
    pub parent: ExecutionInfo,
    /// How many times this Map Run was redriven (0: a fresh run). A redriven run re-runs only
    /// the children that did not succeed, and the items not yet started.
    pub redrive_count: u64,
}

/// Two specs are the same Map Run when their ARNs are (the ARN is unique per run).
impl PartialEq for MapRunSpec {
    fn eq(&self, other: &Self) -> bool {
        self.map_run_arn == other.map_run_arn
    }
}

impl MapRunSpec {
    /// The Map Run's id: the last part of its ARN (the result files' folder).
    pub fn run_id(&self) -> &str {
        self.map_run_arn.rsplit(':').next().unwrap_or_default()
    }

    /// `MACHINE/LABEL`: the name children's ARNs carry.
    fn machine_and_label(&self) -> &str {
        // arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:UUID
        let mut parts = self.map_run_arn.splitn(8, ':');
        parts.nth(6).unwrap_or_default()
    }

    /// The names and limits of child `index`, started at `start_ms`. The name is fixed by the
    /// Map Run and the index, so a host that starts a child again after a crash names it
    /// the same.
    pub fn child_info(&self, index: u64, start_ms: i64) -> ExecutionInfo {
        let name = child_name(&self.map_run_arn, index);
        let p = &self.parent;
        let prefix = p
            .state_machine_arn
            .split(":stateMachine:")
            .next()
            .unwrap_or_default();
        let ml = self.machine_and_label();
        let execution_arn = match self.execution_type {
            ExecutionType::Standard => format!("{prefix}:execution:{ml}:{name}"),
            ExecutionType::Express => format!("{prefix}:express:{ml}:{}:{name}", self.run_id()),
        };
        let seed = p.seed ^ (index.wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ExecutionInfo {
            execution_arn,
            execution_name: name,
            state_machine_arn: format!("{prefix}:stateMachine:{ml}"),
            state_machine_name: ml.to_string(),
            role_arn: p.role_arn.clone(),
            start_time_ms: start_ms,
            seed,
            payload_limit: p.payload_limit,
            max_history_events: p.max_history_events,
            max_duration_seconds: match self.execution_type {
                ExecutionType::Express => Some(300),
                ExecutionType::Standard => None,
            },
            token_secret: p.token_secret.clone(),
        }
    }

    /// The input of the child for `batch` (one item, or a batch): the ItemSelector applied
    /// to each item, then the batch wrapped as `{"Items": [...], "BatchInput": ...}`.
    pub fn child_input(&self, batch: &[(u64, Value)]) -> Result<Value, Failure> {
        let select = |(index, item): &(u64, Value)| match &self.selector {
            Some(s) => s.select(*index, item),
            None => Ok(item.clone()),
        };
        match &self.batching {
            None => select(&batch[0]),
            Some(b) => {
                let items: Result<Vec<Value>, Failure> = batch.iter().map(select).collect();
                let mut m = Map::new();
                if let Some(bi) = &b.batch_input {
                    m.insert("BatchInput".into(), bi.clone());
                }
                m.insert("Items".into(), Value::Array(items?));
                Ok(Value::Object(m))
            }
        }
    }
}

impl MapRunSpec {
    /// A child whose input is over the payload limit cannot start: it fails at once with
    /// States.DataLimitExceeded (counted against the tolerance like any failed child).
    pub fn oversized(&self, input: &Value) -> Option<crate::Outcome> {
        let limit = self.parent.payload_limit as u64;
        let n = json_len(input);
        (limit > 0 && n > limit).then(|| crate::Outcome {
            status: crate::Status::Failed,
            output: None,
            error: Some("States.DataLimitExceeded".into()),
            cause: Some(format!(
                "The child execution's input of {n} bytes exceeds the maximum number of bytes service limit ({limit})."
            )),
        })
    }
}

/// A child's name: UUID-shaped, fixed by the Map Run's ARN and the child's index.
pub fn child_name(map_run_arn: &str, index: u64) -> String {
    // FNV-1a, twice with different offsets: 128 bits without a hashing dependency here.
    let h = |offset: u64| {
        let mut h = offset;
        for b in map_run_arn.bytes().chain(index.to_le_bytes()) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        h
    };
    let (a, b) = (h(0xcbf2_9ce4_8422_2325), h(0x84222325_cbf29ce4));
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// The ItemSelector with what it may read frozen at the Map state's entry: the Map's
/// effective input, the context object, the visible variables and the clock.
#[derive(Debug, Clone)]
pub struct Selector {
    pub(crate) template: SelectorTemplate,
    pub(crate) effective_input: Value,
    pub(crate) frame: Frame,
}

#[derive(Debug, Clone)]
pub(crate) enum SelectorTemplate {
    JsonPath(Template),
    Jsonata(JTemplate),
}

/// The parts of the context object and the scope an expression of the Map state reads.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub info: ExecutionInfo,
    pub execution_input: Value,
    pub state_name: String,
    pub entered_time_ms: i64,
    pub retry_count: u64,
    pub redrive_count: u64,
    pub vars: Map<String, Value>,
    pub now_ms: i64,
    pub seed: u64,
}

impl Selector {
    /// Item `index`'s child input.
    pub fn select(&self, index: u64, item: &Value) -> Result<Value, Failure> {
        let at = FrozenAt {
            frame: &self.frame,
            item: (index as usize, item),
            rng: Cell::new(self.frame.seed ^ index),
        };
        let r = match &self.template {
            SelectorTemplate::JsonPath(t) => {
                at.with_scope(&self.effective_input, |s| passo_expr::template::eval(t, s))
            }
            SelectorTemplate::Jsonata(t) => at.jtemplate(
                t,
                &self.effective_input,
                StatesExtra::MapItem(index as usize, item),
                "ItemSelector",
            ),
        };
        r.map_err(|e| Failure::new(e.error, e.message))
    }
}

/// A frozen frame as an evaluator, for one item.
struct FrozenAt<'a> {
    frame: &'a Frame,
    item: (usize, &'a Value),
    rng: Cell<u64>,
}

impl FrozenAt<'_> {
    fn context(&self) -> Context<'_> {
        Context {
            info: &self.frame.info,
            input: &self.frame.execution_input,
            state_name: &self.frame.state_name,
            entered_time_ms: self.frame.entered_time_ms,
            retry_count: self.frame.retry_count,
            map_item: Some(self.item),
            task_token: None,
            redrive_count: self.frame.redrive_count,
        }
    }
}

impl Eval for FrozenAt<'_> {
    fn with_scope<R>(&self, input: &Value, f: impl FnOnce(&Scope<'_>) -> R) -> R {
        let ctx = self.context();
        f(&Scope {
            input,
            context: &ctx,
            vars: &self.frame.vars,
            rng: &self.rng,
        })
    }

    fn bindings(
        &self,
        input: &Value,
        extra: StatesExtra<'_>,
        with_context: bool,
    ) -> (Value, Vec<(&str, &Value)>) {
        use passo_expr::ContextObject;
        let context = with_context.then(|| self.context().context());
        let states = crate::io::states_binding(input, context, extra);
        let vars = self
            .frame
            .vars
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        (states, vars)
    }

    fn with_host<R>(&self, f: impl FnOnce(&passo_expr::jsonata::Host) -> R) -> R {
        crate::io::with_host(self.frame.now_ms, &self.rng, f)
    }
}

/// Groups items into batches as `ItemBatcher` says: at most `max_items` items, and at most
/// `max_bytes` bytes of items (JSON text) per batch; a single item over the byte limit is a
/// batch of its own (the host's payload check fails it, as AWS does).
pub struct Batcher<I: Iterator> {
    items: std::iter::Peekable<I>,
    max_items: u64,
    max_bytes: u64,
    next_index: u64,
}

/// AWS's limit when a batcher names no byte limit (256 KiB, the payload limit).
pub const DEFAULT_BATCH_BYTES: u64 = 262_144;

impl<I, E> Batcher<I>
where
    I: Iterator<Item = Result<Value, E>>,
{
    /// Batches `items`; without a batcher every batch is one item.
    pub fn new(items: I, batching: Option<&Batching>) -> Self {
        let (max_items, max_bytes) = match batching {
            None => (1, u64::MAX),
            Some(b) => (
                b.max_items.filter(|n| *n > 0).unwrap_or(u64::MAX),
                b.max_bytes
                    .filter(|n| *n > 0)
                    .unwrap_or(DEFAULT_BATCH_BYTES),
            ),
        };
        Batcher {
            items: items.peekable(),
            max_items,
            max_bytes,
            next_index: 0,
        }
    }
}

impl<I, E> Iterator for Batcher<I>
where
    I: Iterator<Item = Result<Value, E>>,
{
    /// The batch's items with their indices.
    type Item = Result<Vec<(u64, Value)>, E>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut batch = Vec::new();
        let mut bytes = 0u64;
        while (batch.len() as u64) < self.max_items {
            let Some(next) = self.items.peek() else {
                break;
            };
            let size = match next {
                Ok(v) if self.max_bytes != u64::MAX => json_len(v),
                Ok(_) => 0,
                Err(_) => {
                    if !batch.is_empty() {
                        break;
                    }
                    return match self.items.next() {
                        Some(Err(e)) => Some(Err(e)),
                        _ => None,
                    };
                }
            };
            if !batch.is_empty() && bytes + size > self.max_bytes {
                break;
            }
            let Some(Ok(v)) = self.items.next() else {
                break;
            };
            bytes += size;
            batch.push((self.next_index, v));
            self.next_index += 1;
        }
        (!batch.is_empty()).then_some(Ok(batch))
    }
}

/// The length of a value's JSON text.
fn json_len(v: &Value) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len() as u64;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// One child's end, as a result writer records it.
#[derive(Debug, Clone, Copy)]
pub struct ChildRecord<'a> {
    pub index: u64,
    pub info: &'a ExecutionInfo,
    pub input: &'a Value,
    pub outcome: &'a crate::Outcome,
    pub stop_ms: i64,
}

impl ChildStatus {
    /// How an ended child's outcome counts.
    pub fn of(status: crate::Status) -> ChildStatus {
        match status {
            crate::Status::Succeeded => ChildStatus::Succeeded,
            crate::Status::TimedOut => ChildStatus::TimedOut,
            crate::Status::Aborted => ChildStatus::Aborted,
            crate::Status::Failed | crate::Status::Running => ChildStatus::Failed,
        }
    }
}

/// The Map's result without a ResultWriter: the children's outputs in item order (a failed
/// child's error output where failures are tolerated), whatever order they end in. It may not
/// outgrow the payload limit, so it stops collecting past it rather than hold millions of
/// outputs.
#[derive(Debug, Default)]
pub struct Collected {
    outputs: Vec<Option<Value>>,
    bytes: u64,
    over: bool,
}

impl Collected {
    /// Child `index` ended with `outcome`.
    pub fn set(&mut self, index: u64, limit: usize, outcome: &crate::Outcome) {
        if self.over {
            return;
        }
        let v = match (&outcome.output, outcome.status) {
            (Some(o), crate::Status::Succeeded) => o.clone(),
            _ => {
                let f = Failure {
                    error: outcome.error.clone().unwrap_or_default(),
                    cause: outcome.cause.clone(),
                    from_task: false,
                };
                f.output()
            }
        };
        self.bytes += json_len(&v) + 1;
        if self.bytes > limit as u64 {
            self.over = true;
            self.outputs = Vec::new();
            return;
        }
        let i = index as usize;
        if self.outputs.len() <= i {
            self.outputs.resize(i + 1, None);
        }
        self.outputs[i] = Some(v);
    }

    /// The Map's result, or States.DataLimitExceeded when the outputs outgrew the limit.
    pub fn finish(self, state_name: &str) -> Result<Value, Failure> {
        if self.over {
            return Err(Failure::new(
                "States.DataLimitExceeded",
                format!("The state/task '{state_name}' returned a result with a size exceeding the maximum number of bytes service limit."),
            ));
        }
        Ok(Value::Array(
            self.outputs
                .into_iter()
                .map(|o| o.unwrap_or(Value::Null))
                .collect(),
        ))
    }
}

/// Counts of a Map Run's children by how they stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: u64,
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub timed_out: u64,
    pub aborted: u64,
    /// Every child started or to start (known in full once the items are all read).
    pub total: u64,
}

/// How one child ended, for the tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStatus {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

/// A Map Run's bookkeeping: counts and the tolerated-failure rule.
#[derive(Debug, Clone)]
pub struct Tally {
    pub counts: Counts,
    pub tolerated_count: Option<f64>,
    pub tolerated_percentage: Option<f64>,
    /// Whether every item has been read (the percentage needs the total).
    pub all_read: bool,
}

impl Tally {
    pub fn new(spec: &MapRunSpec) -> Tally {
        Tally {
            counts: Counts::default(),
            tolerated_count: spec.tolerated_count,
            tolerated_percentage: spec.tolerated_percentage,
            all_read: false,
        }
    }

    /// A child is about to start.
    pub fn started(&mut self) {
        self.counts.total += 1;
        self.counts.running += 1;
    }

    /// A child ended.
    pub fn ended(&mut self, status: ChildStatus) {
        self.counts.running = self.counts.running.saturating_sub(1);
        match status {
            ChildStatus::Succeeded => self.counts.succeeded += 1,
            ChildStatus::Failed => self.counts.failed += 1,
            ChildStatus::TimedOut => self.counts.timed_out += 1,
            ChildStatus::Aborted => self.counts.aborted += 1,
        }
    }

    fn failures(&self) -> u64 {
        self.counts.failed + self.counts.timed_out + self.counts.aborted
    }

    /// Whether the failures so far exceed what the Map tolerates. A Distributed Map that
    /// names no tolerance tolerates nothing (AWS's default percentage is 0), and the error is
    /// then States.ExceedToleratedFailureThreshold too.
    pub fn exceeded(&self) -> Option<Failure> {
        let failures = self.failures();
        if failures == 0 {
            return None;
        }
        let pct = match (self.tolerated_count, self.tolerated_percentage) {
            (None, None) => Some(0.0),
            (_, p) => p,
        };
        // Both set: exceeding either fails the run.
        let count_ok = self.tolerated_count.is_none_or(|c| failures as f64 <= c);
        // Until every item is read the total is not known: a percentage above 0 can only
        // be judged at the end.
        let pct_ok = pct.is_none_or(|p| {
            (!self.all_read && p > 0.0)
                || failures as f64 * 100.0 / self.counts.total.max(1) as f64 <= p
        });
        if count_ok && pct_ok {
            return None;
        }
        Some(Failure::new(
            "States.ExceedToleratedFailureThreshold",
            "The specified tolerated failure threshold for the Map state was exceeded",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items(n: usize) -> impl Iterator<Item = Result<Value, ()>> {
        (0..n).map(|i| Ok(json!({ "i": i })))
    }

    #[test]
    fn batches_by_count_and_bytes() {
        let b = Batching {
            max_items: Some(3),
            max_bytes: None,
            batch_input: None,
        };
        let sizes: Vec<usize> = Batcher::new(items(7), Some(&b))
            .map(|b| b.unwrap().len())
            .collect();
        assert_eq!(sizes, vec![3, 3, 1]);
        // Each item is 7 bytes ({"i":0}); 15 bytes hold two.
        let b = Batching {
            max_items: None,
            max_bytes: Some(15),
            batch_input: None,
        };
        let batches: Vec<Vec<u64>> = Batcher::new(items(5), Some(&b))
            .map(|b| b.unwrap().into_iter().map(|(i, _)| i).collect())
            .collect();
        assert_eq!(batches, vec![vec![0, 1], vec![2, 3], vec![4]]);
    }

    #[test]
    fn a_reader_error_ends_the_batches_after_what_came_before() {
        let it = vec![Ok(json!(1)), Err("bad"), Ok(json!(2))].into_iter();
        let b = Batching {
            max_items: Some(5),
            max_bytes: None,
            batch_input: None,
        };
        let mut batcher = Batcher::new(it, Some(&b));
        assert_eq!(batcher.next(), Some(Ok(vec![(0, json!(1))])));
        assert_eq!(batcher.next(), Some(Err("bad")));
    }

    #[test]
    fn child_names_are_stable_and_distinct() {
        let a = child_name("arn:x", 0);
        assert_eq!(a, child_name("arn:x", 0));
        assert_ne!(a, child_name("arn:x", 1));
        assert_eq!(a.len(), 36);
    }

    #[test]
    fn tolerance_by_count_and_percentage() {
        let mut t = Tally {
            counts: Counts::default(),
            tolerated_count: Some(1.0),
            tolerated_percentage: None,
            all_read: false,
        };
        for _ in 0..4 {
            t.started();
        }
        t.ended(ChildStatus::Failed);
        assert!(t.exceeded().is_none());
        t.ended(ChildStatus::Failed);
        assert_eq!(
            t.exceeded().unwrap().error,
            "States.ExceedToleratedFailureThreshold"
        );
        let mut t = Tally {
            tolerated_count: None,
            tolerated_percentage: Some(50.0),
            ..t
        };
        t.counts = Counts::default();
        for _ in 0..4 {
            t.started();
        }
        t.ended(ChildStatus::Failed);
        t.ended(ChildStatus::Failed);
        t.ended(ChildStatus::Failed);
        assert!(t.exceeded().is_none(), "total unknown yet");
        t.all_read = true;
        assert!(t.exceeded().is_some());
    }
}
