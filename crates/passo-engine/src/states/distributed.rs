//! A Distributed Map state: its fields evaluated at entry into a [`MapRunSpec`], sent to the
//! host as a Map Run (`Command::StartMapRun`), and the Map Run's end as the state's result.

use crate::execution::{Command, Execution, OpenTask, Phase, ThreadId};
use crate::failure::Failure;
use crate::io::StatesExtra;
use crate::map_run::{
    Batching, ExecutionType, Frame, ItemSource, MapRunSpec, Selector, SelectorTemplate,
    WriterRequest,
};
use crate::TaskPhase;
use passo_asl::jtemplate::JTemplate;
use passo_asl::model::*;
use passo_asl::path::Path;
use passo_asl::template::Template;
use passo_expr::ExprError;
use serde_json::{json, Map, Value};
use std::sync::Arc;

type Map_ = passo_asl::model::Map;

/// The Map's fields that [`Execution::start_map_run`] needs besides the state itself.
pub(super) struct Limits {
    pub items: Option<Vec<Value>>,
    pub max_concurrency: u64,
    pub tolerated_count: Option<f64>,
    pub tolerated_percentage: Option<f64>,
}

impl Execution {
    /// Starts the Map Run of a Distributed Map: MapRunStarted, then the run goes to the host.
    pub(super) fn start_map_run(
        &mut self,
        tid: ThreadId,
        state: &State,
        m: &Map_,
        eff: Value,
        limits: Limits,
    ) {
        let mut spec = match self.map_run_spec(tid, state, m, &eff, limits) {
            Ok(spec) => spec,
            Err(e) => return self.expr_failed(tid, state, e),
        };
        let sid = self.threads[tid].state;
        let redriven = match self.redrive_map_run.take() {
            Some((s, arn)) if tid == 0 && s == sid => Some(arn),
            _ => None,
        };
        match redriven {
            Some(arn) => {
                spec.map_run_arn = arn;
                spec.redrive_count = self.redrive_count;
                self.emit_on(
                    tid,
                    "MapRunRedriven",
                    Some((
                        "mapRunRedrivenEventDetails",
                        json!({"mapRunArn": spec.map_run_arn, "redriveCount": spec.redrive_count}),
                    )),
                );
            }
            None => {
                self.emit_on(
                    tid,
                    "MapRunStarted",
                    Some((
                        "mapRunStartedEventDetails",
                        json!({ "mapRunArn": spec.map_run_arn }),
                    )),
                );
            }
        }
        if tid == 0 {
            self.last_map_run = Some((sid, spec.map_run_arn.clone()));
        }
        let task = self.handle();
        self.tasks.insert(
            task,
            OpenTask {
                thread: tid,
                phase: TaskPhase::Invoked,
                heartbeat_seconds: None,
                heartbeat_timer: None,
            },
        );
        self.commands.push(Command::StartMapRun {
            task,
            spec: Arc::new(spec),
        });
        self.threads[tid].phase = Phase::MapRun;
    }

    fn map_run_spec(
        &self,
        tid: ThreadId,
        state: &State,
        m: &Map_,
        eff: &Value,
        limits: Limits,
    ) -> Result<MapRunSpec, ExprError> {
        let jsonata = state.query_language == QueryLanguage::Jsonata;
        let items = match (&m.item_reader, limits.items) {
            (Some(r), _) => self.reader(tid, r, eff, jsonata)?,
            (None, Some(items)) => ItemSource::Inline(items),
            (None, None) => ItemSource::Inline(Vec::new()),
        };
        let template = match (&m.item_selector, &state.parameters) {
            (Some(t), _) if jsonata => Some(SelectorTemplate::Jsonata(t.clone())),
            (_, Some(t)) if !jsonata => Some(SelectorTemplate::JsonPath(t.clone())),
            _ => None,
        };
        let selector = template.map(|template| Selector {
            template,
            effective_input: eff.clone(),
            frame: self.frame(tid, &state.name),
        });
        let batching = match &m.item_batcher {
            Some(b) => Some(self.batcher(tid, b, eff, jsonata)?),
            None => None,
        };
        let writer = match &m.result_writer {
            Some(w) => Some(self.writer(tid, w, eff, jsonata)?),
            None => None,
        };
        let query_language = m
            .processor
            .states
            .get(m.processor.start_at)
            .map_or(state.query_language, |s| s.query_language);
        let processor = Arc::new(StateMachine {
            comment: None,
            version: None,
            timeout_seconds: None,
            query_language,
            program: m.processor.clone(),
        });
        Ok(MapRunSpec {
            map_run_arn: self.map_run_arn(m),
            state_name: state.name.to_string(),
            processor,
            processor_definition: m.processor_definition.clone(),
            execution_type: match m.execution_type.as_deref() {
                Some("EXPRESS") => ExecutionType::Express,
                _ => ExecutionType::Standard,
            },
            items,
            selector,
            batching,
            max_concurrency: limits.max_concurrency,
            tolerated_count: limits.tolerated_count,
            tolerated_percentage: limits.tolerated_percentage,
            writer,
            parent: self.info.clone(),
            redrive_count: 0,
        })
    }

    /// What the Map state's expressions see, frozen for the Map Run.
    fn frame(&self, tid: ThreadId, state_name: &str) -> Frame {
        let th = &self.threads[tid];
        let mut vars = Map::new();
        let mut t = tid;
        loop {
            let th = &self.threads[t];
            for (k, v) in &th.vars {
                if !vars.contains_key(k) {
                    vars.insert(k.clone(), v.clone());
                }
            }
            match th.parent {
                Some((p, _)) if th.sees_outer => t = p,
                _ => break,
            }
        }
        Frame {
            info: self.info.clone(),
            execution_input: self.input.clone(),
            state_name: state_name.to_string(),
            entered_time_ms: th.entered_time_ms,
            retry_count: th.retry_counts.iter().sum(),
            redrive_count: self.redrive_count,
            vars,
            now_ms: self.now_ms,
            seed: self.rng.get(),
        }
    }

    /// Evaluates a JSONPath payload template (`Parameters`) or a JSONata one (`Arguments`,
    /// and JSONata config objects whose strings may be `{% %}` expressions).
    fn config_value(
        &self,
        tid: ThreadId,
        raw: &Value,
        eff: &Value,
        jsonata: bool,
        field: &str,
    ) -> Result<Value, ExprError> {
        if jsonata {
            let t = JTemplate::parse(raw).map_err(|e| ExprError::query(field, e))?;
            self.jtemplate(tid, &t, eff, StatesExtra::None, field)
        } else {
            let t = Template::parse(raw).map_err(|problems| {
                ExprError::runtime(format!(
                    "The {field} field is not a valid payload template: {problems:?}"
                ))
            })?;
            self.template(tid, &t, eff)
        }
    }

    /// A `...Path` field of a Map config: the value it selects.
    fn config_path(
        &self,
        tid: ThreadId,
        text: &str,
        eff: &Value,
        field: &str,
    ) -> Result<Value, ExprError> {
        let p = Path::parse(text)
            .map_err(|e| ExprError::runtime(format!("Invalid {field} '{text}': {e:?}")))?;
        self.read_path(tid, &p, eff)?
            .ok_or_else(|| crate::io::no_results(&p, eff))
    }

    fn reader(
        &self,
        tid: ThreadId,
        raw: &Value,
        eff: &Value,
        jsonata: bool,
    ) -> Result<ItemSource, ExprError> {
        let resource = raw
            .get("Resource")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let args = raw
            .get(if jsonata { "Arguments" } else { "Parameters" })
            .cloned()
            .unwrap_or_else(|| json!({}));
        let parameters = self.config_value(tid, &args, eff, jsonata, "ItemReader")?;
        let mut reader_config = match raw.get("ReaderConfig") {
            Some(rc) if jsonata => self.config_value(tid, rc, eff, true, "ReaderConfig")?,
            Some(rc) => rc.clone(),
            None => json!({}),
        };
        if let Some(obj) = reader_config.as_object_mut() {
            if let Some(Value::String(p)) = obj.remove("MaxItemsPath") {
                let v = self.config_path(tid, &p, eff, "MaxItemsPath")?;
                obj.insert("MaxItems".into(), v);
            }
        }
        Ok(ItemSource::Reader {
            resource,
            parameters,
            reader_config,
        })
    }

    fn batcher(
        &self,
        tid: ThreadId,
        raw: &Value,
        eff: &Value,
        jsonata: bool,
    ) -> Result<Batching, ExprError> {
        let b = if jsonata {
            self.config_value(tid, raw, eff, true, "ItemBatcher")?
        } else {
            raw.clone()
        };
        let number = |field: &str| -> Result<Option<u64>, ExprError> {
            let v = match (b.get(field), b.get(format!("{field}Path").as_str())) {
                (Some(v), _) => v.clone(),
                (None, Some(Value::String(p))) if !jsonata => {
                    self.config_path(tid, p, eff, &format!("{field}Path"))?
                }
                _ => return Ok(None),
            };
            super::fanout::whole_number(&v).map(Some).ok_or_else(|| {
                ExprError::runtime(format!(
                    "The {field} field refers to value \"{v}\" which is not a valid integer"
                ))
            })
        };
        let batch_input = match b.get("BatchInput") {
            Some(bi) if !jsonata => Some(self.config_value(tid, bi, eff, false, "BatchInput")?),
            Some(bi) => Some(bi.clone()),
            None => None,
        };
        Ok(Batching {
            max_items: number("MaxItemsPerBatch")?,
            max_bytes: number("MaxInputBytesPerBatch")?,
            batch_input,
        })
    }

    fn writer(
        &self,
        tid: ThreadId,
        raw: &Value,
        eff: &Value,
        jsonata: bool,
    ) -> Result<WriterRequest, ExprError> {
        let parameters = match raw.get(if jsonata { "Arguments" } else { "Parameters" }) {
            Some(args) => Some(self.config_value(tid, args, eff, jsonata, "ResultWriter")?),
            None => None,
        };
        let writer_config = match raw.get("WriterConfig") {
            Some(wc) if jsonata => Some(self.config_value(tid, wc, eff, true, "WriterConfig")?),
            Some(wc) => Some(wc.clone()),
            None => None,
        };
        Ok(WriterRequest {
            resource: raw
                .get("Resource")
                .and_then(Value::as_str)
                .map(str::to_string),
            parameters,
            writer_config,
        })
    }

    /// The Map Run succeeded with the Map's result (the children's outputs, or where the
    /// writer put them).
    pub(crate) fn map_run_succeeded(&mut self, tid: ThreadId, state: &State, output: Value) {
        // Most AWS recordings chain MapStateExited to MapRunSucceeded.
        let run = self.emit_on(tid, "MapRunSucceeded", None);
        self.emit(run, "MapStateSucceeded", None);
        self.threads[tid].phase = Phase::Done;
        self.complete(tid, state, output, true);
    }

    /// The Map Run failed (a reader or writer failure, or more failed children than the Map
    /// tolerates): Retry and Catch apply as to any state's error.
    pub(crate) fn map_run_failed(&mut self, tid: ThreadId, state: &State, mut failure: Failure) {
        failure.from_task = false;
        let mut d = Map::new();
        d.insert("error".into(), Value::String(failure.error.clone()));
        if let Some(c) = &failure.cause {
            d.insert("cause".into(), Value::String(c.clone()));
        }
        self.emit_on(
            tid,
            "MapRunFailed",
            Some(("mapRunFailedEventDetails", Value::Object(d))),
        );
        self.threads[tid].phase = Phase::Done;
        // A retry starts the state over (a new Map Run) without a Failed event.
        if self.retry(tid, state, &failure) {
            return;
        }
        self.emit_on(tid, "MapStateFailed", None);
        self.catch_or_fail(tid, state, failure);
    }
}
