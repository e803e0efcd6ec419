//! Input and output processing shared by the state types: InputPath, Parameters,
//! ResultSelector, ResultPath, OutputPath, Assign, and the view of variables and context that
//! expressions get.

use crate::context::Context;
use crate::execution::{Execution, Thread, ThreadId};
use crate::failure::Failure;
use passo_asl::jsonata::Jsonata;
use passo_asl::jtemplate::JTemplate;
use passo_asl::path::{Path, Segment};
use passo_asl::template::Template;
use passo_expr::jsonata::Limits;
use passo_expr::{jsonpath, ExprError, Scope, Variables};
use serde_json::{Map, Value};

/// The variables a thread sees: its own, then its parents' (unless isolated).
pub(crate) struct VarView<'a> {
    pub threads: &'a [Thread],
    pub tid: ThreadId,
}

impl Variables for VarView<'_> {
    fn get_var(&self, name: &str) -> Option<&Value> {
        let mut t = self.tid;
        loop {
            let th = &self.threads[t];
            if let Some(v) = th.vars.get(name) {
                return Some(v);
            }
            if !th.sees_outer {
                return None;
            }
            t = th.parent?.0;
        }
    }
}

/// Where an error happened, for AWS's Cause prefix.
pub(crate) fn state_failure(name: &str, entered: u64, e: ExprError) -> Failure {
    Failure::new(
        e.error,
        format!("An error occurred while executing the state '{name}' (entered at the event id #{entered}). {}", e.message),
    )
}

/// AWS's (Jayway's) words for a path that selects nothing in `input`: a missing property
/// before the last step is "Missing property in path" up to that property; a missing last
/// step is "No results for path".
fn no_results(p: &Path, input: &Value) -> ExprError {
    let mut at = input;
    let mut prefix = Path {
        root: p.root.clone(),
        segments: Vec::new(),
        text: String::new(),
    };
    let last = p.segments.len().saturating_sub(1);
    if matches!(p.root, passo_asl::path::Root::Input) {
        for (i, seg) in p.segments.iter().enumerate() {
            let Segment::Field(name) = seg else { break };
            prefix.segments.push(seg.clone());
            match at.as_object().map(|o| o.get(name)) {
                Some(Some(v)) => at = v,
                Some(None) if i < last => {
                    return ExprError::runtime(format!(
                        "Invalid path '{}' : Missing property in path {}",
                        p.text,
                        prefix.normalized()
                    ))
                }
                _ => break,
            }
        }
    }
    ExprError::runtime(format!(
        "Invalid path '{}' : No results for path: {}",
        p.text,
        p.normalized()
    ))
}

impl Execution {
    /// Runs `f` with a scope for thread `tid` whose `$` is `input`.
    pub(crate) fn with_scope<R>(
        &self,
        tid: ThreadId,
        input: &Value,
        map_item: Option<(usize, &Value)>,
        f: impl FnOnce(&Scope<'_>) -> R,
    ) -> R {
        let th = &self.threads[tid];
        let program = Execution::program(&self.machine, &th.path);
        let state_name = &program.states[th.state].name;
        let ctx = Context {
            info: &self.info,
            input: &self.input,
            state_name,
            entered_time_ms: th.entered_time_ms,
            retry_count: th.retry_counts.iter().sum(),
            map_item,
            task_token: th.pending_task.as_ref().and_then(|(_, t)| t.as_deref()),
            redrive_count: self.redrive_count,
        };
        let vars = VarView {
            threads: &self.threads,
            tid,
        };
        let scope = Scope {
            input,
            context: &ctx,
            vars: &vars,
            rng: &self.rng,
        };
        f(&scope)
    }

    /// Evaluates a template for thread `tid` with `$` = `input`.
    pub(crate) fn template(
        &self,
        tid: ThreadId,
        t: &Template,
        input: &Value,
    ) -> Result<Value, ExprError> {
        if let Template::Literal(v) = t {
            return Ok(v.clone());
        }
        self.with_scope(tid, input, None, |s| passo_expr::template::eval(t, s))
    }

    /// Reads a path (any root) for thread `tid` against `input`.
    pub(crate) fn read_path(
        &self,
        tid: ThreadId,
        p: &Path,
        input: &Value,
    ) -> Result<Option<Value>, ExprError> {
        self.with_scope(tid, input, None, |s| match jsonpath::select(p, s) {
            Ok(v) => Ok(Some(v.into_owned())),
            Err(jsonpath::Missing::Value) => Ok(None),
            Err(jsonpath::Missing::Variable(name)) => Err(ExprError::runtime(format!(
                "The variable '{name}' referenced by '{}' is not defined",
                p.text
            ))),
        })
    }

    /// InputPath: `$` keeps the input, null gives `{}`.
    pub(crate) fn apply_input_path(
        &self,
        tid: ThreadId,
        p: Option<&Path>,
        raw: &Value,
    ) -> Result<Value, ExprError> {
        match p {
            None => Ok(Value::Object(Map::new())),
            Some(p) if p.is_root() => Ok(raw.clone()),
            Some(p) => self
                .read_path(tid, p, raw)?
                .ok_or_else(|| no_results(p, raw)),
        }
    }

    /// OutputPath: `$` keeps the output, null gives `{}`.
    pub(crate) fn apply_output_path(
        &self,
        tid: ThreadId,
        p: Option<&Path>,
        out: Value,
    ) -> Result<Value, ExprError> {
        match p {
            None => Ok(Value::Object(Map::new())),
            Some(p) if p.is_root() => Ok(out),
            Some(p) => self
                .read_path(tid, p, &out)?
                .ok_or_else(|| no_results(p, &out)),
        }
    }

    /// ResultPath: where the result goes in the state's raw input; null discards it.
    pub(crate) fn apply_result_path(
        p: Option<&Path>,
        raw: &Value,
        result: Value,
    ) -> Result<Value, ExprError> {
        match p {
            None => Ok(raw.clone()),
            Some(p) if p.is_root() => Ok(result),
            Some(p) => jsonpath::set(raw.clone(), p, result),
        }
    }
}

/// What `$states` holds besides `input` and `context`.
#[derive(Clone, Copy)]
pub(crate) enum StatesExtra<'a> {
    None,
    /// An ItemSelector: `$states.context.Map.Item` holds the index and the item.
    MapItem(usize, &'a Value),
    Result(&'a Value),
    ErrorOutput(&'a Value),
}

impl Execution {
    /// The context object of thread `tid`'s current state, as a value.
    fn context_value(&self, tid: ThreadId, map_item: Option<(usize, &Value)>) -> Value {
        use passo_expr::ContextObject;
        let th = &self.threads[tid];
        let program = Execution::program(&self.machine, &th.path);
        Context {
            info: &self.info,
            input: &self.input,
            state_name: &program.states[th.state].name,
            entered_time_ms: th.entered_time_ms,
            retry_count: th.retry_counts.iter().sum(),
            map_item,
            task_token: th.pending_task.as_ref().and_then(|(_, t)| t.as_deref()),
            redrive_count: self.redrive_count,
        }
        .context()
    }

    /// The bindings of a JSONata evaluation: `$states` and every visible variable.
    fn jsonata_bindings(
        &self,
        tid: ThreadId,
        input: &Value,
        extra: StatesExtra<'_>,
        with_context: bool,
    ) -> (Value, Vec<(&str, &Value)>) {
        let mut states = Map::new();
        states.insert("input".into(), input.clone());
        let map_item = match extra {
            StatesExtra::MapItem(i, v) => Some((i, v)),
            _ => None,
        };
        if with_context {
            states.insert("context".into(), self.context_value(tid, map_item));
        }
        match extra {
            StatesExtra::None | StatesExtra::MapItem(..) => {}
            StatesExtra::Result(r) => {
                states.insert("result".into(), r.clone());
            }
            StatesExtra::ErrorOutput(e) => {
                states.insert("errorOutput".into(), e.clone());
            }
        }
        let mut vars: Vec<(&str, &Value)> = Vec::new();
        let mut t = tid;
        loop {
            let th = &self.threads[t];
            for (k, v) in &th.vars {
                if !vars.iter().any(|(n, _)| n == k) {
                    vars.push((k.as_str(), v));
                }
            }
            match th.parent {
                Some((p, _)) if th.sees_outer => t = p,
                _ => break,
            }
        }
        (Value::Object(states), vars)
    }

    /// Runs a JSONata evaluation with this execution's time and random generator, and keeps
    /// the generator's state for the next draw.
    fn with_host<R>(&self, f: impl FnOnce(&passo_expr::jsonata::Host) -> R) -> R {
        let host = passo_expr::jsonata::Host {
            now_ms: self.now_ms,
            rng: std::rc::Rc::new(std::cell::Cell::new(self.rng.get())),
        };
        let r = f(&host);
        self.rng.set(host.rng.get());
        r
    }

    /// Evaluates a JSONata template for thread `tid`.
    pub(crate) fn jtemplate(
        &self,
        tid: ThreadId,
        t: &JTemplate,
        input: &Value,
        extra: StatesExtra<'_>,
        field: &str,
    ) -> Result<Value, ExprError> {
        if let JTemplate::Literal(v) = t {
            return Ok(v.clone());
        }
        let (states, mut b) = self.jsonata_bindings(tid, input, extra, t.may_read_context());
        b.push(("states", &states));
        self.with_host(|host| {
            passo_expr::jsonata::eval_template(t, &b, Limits::default(), host, field)
        })
    }

    /// Evaluates one JSONata expression for thread `tid`.
    pub(crate) fn jexpr(
        &self,
        tid: ThreadId,
        j: &Jsonata,
        input: &Value,
        extra: StatesExtra<'_>,
        field: &str,
    ) -> Result<Option<Value>, ExprError> {
        let (states, mut b) = self.jsonata_bindings(tid, input, extra, j.may_read_context());
        b.push(("states", &states));
        self.with_host(|host| {
            passo_expr::jsonata::eval_field(j, &b, Limits::default(), host, field)
        })
    }
}
