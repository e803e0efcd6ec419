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
pub(crate) fn no_results(p: &Path, input: &Value) -> ExprError {
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

/// What evaluating an expression needs from around it: a scope for JSONPath, the bindings
/// for JSONata, the time and the random generator. A thread of an execution provides them
/// ([`At`]), and so does a TestState call, which runs one state outside any execution.
pub(crate) trait Eval {
    /// Runs `f` with a scope whose `$` is `input`.
    fn with_scope<R>(&self, input: &Value, f: impl FnOnce(&Scope<'_>) -> R) -> R;

    /// `$states` (input, context when asked for, and `extra`) and every visible variable.
    fn bindings(
        &self,
        input: &Value,
        extra: StatesExtra<'_>,
        with_context: bool,
    ) -> (Value, Vec<(&str, &Value)>);

    /// Runs a JSONata evaluation with this evaluator's time and random generator.
    fn with_host<R>(&self, f: impl FnOnce(&passo_expr::jsonata::Host) -> R) -> R;

    /// Reads a path (any root) against `input`; `None` when it selects nothing.
    fn read_path(&self, p: &Path, input: &Value) -> Result<Option<Value>, ExprError> {
        self.with_scope(input, |s| match jsonpath::select(p, s) {
            Ok(v) => Ok(Some(v.into_owned())),
            Err(jsonpath::Missing::Value) => Ok(None),
            Err(jsonpath::Missing::Uncompilable(why)) => Err(jsonpath::uncompilable(p, &why)),
            Err(jsonpath::Missing::Variable(name)) => Err(ExprError::runtime(format!(
                "The variable '{name}' referenced by '{}' is not defined",
                p.text
            ))),
        })
    }

    /// Evaluates a payload template with `$` = `input`.
    fn template(&self, t: &Template, input: &Value) -> Result<Value, ExprError> {
        if let Template::Literal(v) = t {
            return Ok(v.clone());
        }
        self.with_scope(input, |s| passo_expr::template::eval(t, s))
    }

    /// InputPath: `$` keeps the input, null gives `{}`.
    fn input_path(&self, p: Option<&Path>, raw: &Value) -> Result<Value, ExprError> {
        match p {
            None => Ok(Value::Object(Map::new())),
            Some(p) if p.is_root() => Ok(raw.clone()),
            Some(p) => self.read_path(p, raw)?.ok_or_else(|| no_results(p, raw)),
        }
    }

    /// OutputPath: `$` keeps the output, null gives `{}`.
    fn output_path(&self, p: Option<&Path>, out: Value) -> Result<Value, ExprError> {
        match p {
            None => Ok(Value::Object(Map::new())),
            Some(p) if p.is_root() => Ok(out),
            Some(p) => self.read_path(p, &out)?.ok_or_else(|| no_results(p, &out)),
        }
    }

    /// Evaluates a JSONata template.
    fn jtemplate(
        &self,
        t: &JTemplate,
        input: &Value,
        extra: StatesExtra<'_>,
        field: &str,
    ) -> Result<Value, ExprError> {
        if let JTemplate::Literal(v) = t {
            return Ok(v.clone());
        }
        // Most templates read only the input, result or error output: no `$states` to
        // build for them.
        if let Some(v) = passo_expr::jsonata::template_on_states(t, &states_parts(input, extra)) {
            return Ok(v);
        }
        let (states, mut b) = self.bindings(input, extra, t.may_read_context());
        b.push(("states", &states));
        self.with_host(|host| {
            passo_expr::jsonata::eval_template(t, &b, Limits::default(), host, field)
        })
    }

    /// Evaluates one JSONata expression.
    fn jexpr(
        &self,
        j: &Jsonata,
        input: &Value,
        extra: StatesExtra<'_>,
        field: &str,
    ) -> Result<Option<Value>, ExprError> {
        if let Some(v) = passo_expr::jsonata::on_states(j, &states_parts(input, extra)) {
            return Ok(Some(v));
        }
        let (states, mut b) = self.bindings(input, extra, j.may_read_context());
        b.push(("states", &states));
        self.with_host(|host| {
            passo_expr::jsonata::eval_field(j, &b, Limits::default(), host, field)
        })
    }
}

/// The parts of `$states` a simple expression may read without `$states` being built (the
/// context object is built only on demand, so it is not among them).
fn states_parts<'a>(input: &'a Value, extra: StatesExtra<'a>) -> Vec<(&'static str, &'a Value)> {
    let mut parts = vec![("input", input)];
    match extra {
        StatesExtra::Result(r) => parts.push(("result", r)),
        StatesExtra::ErrorOutput(e) => parts.push(("errorOutput", e)),
        StatesExtra::None | StatesExtra::MapItem(..) => {}
    }
    parts
}

/// `$states`: the input, the context object (when the expression may read it), and the
/// result or error output where the field has one.
pub(crate) fn states_binding(
    input: &Value,
    context: Option<Value>,
    extra: StatesExtra<'_>,
) -> Value {
    let mut states = Map::new();
    states.insert("input".into(), input.clone());
    if let Some(c) = context {
        states.insert("context".into(), c);
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
    Value::Object(states)
}

/// Runs a JSONata evaluation at time `now_ms` drawing from `rng`, and keeps the generator's
/// state for the next draw.
pub(crate) fn with_host<R>(
    now_ms: i64,
    rng: &std::cell::Cell<u64>,
    f: impl FnOnce(&passo_expr::jsonata::Host) -> R,
) -> R {
    let host = passo_expr::jsonata::Host {
        now_ms,
        rng: std::rc::Rc::new(std::cell::Cell::new(rng.get())),
    };
    let r = f(&host);
    rng.set(host.rng.get());
    r
}

/// A thread of an execution, as an evaluator.
pub(crate) struct At<'a> {
    ex: &'a Execution,
    tid: ThreadId,
}

impl Eval for At<'_> {
    fn with_scope<R>(&self, input: &Value, f: impl FnOnce(&Scope<'_>) -> R) -> R {
        self.ex.with_scope(self.tid, input, None, f)
    }

    fn bindings(
        &self,
        input: &Value,
        extra: StatesExtra<'_>,
        with_context: bool,
    ) -> (Value, Vec<(&str, &Value)>) {
        self.ex
            .jsonata_bindings(self.tid, input, extra, with_context)
    }

    fn with_host<R>(&self, f: impl FnOnce(&passo_expr::jsonata::Host) -> R) -> R {
        self.ex.with_host(f)
    }
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

    /// The evaluator of thread `tid`'s current state.
    pub(crate) fn at(&self, tid: ThreadId) -> At<'_> {
        At { ex: self, tid }
    }

    /// Evaluates a template for thread `tid` with `$` = `input`.
    pub(crate) fn template(
        &self,
        tid: ThreadId,
        t: &Template,
        input: &Value,
    ) -> Result<Value, ExprError> {
        self.at(tid).template(t, input)
    }

    /// Reads a path (any root) for thread `tid` against `input`.
    pub(crate) fn read_path(
        &self,
        tid: ThreadId,
        p: &Path,
        input: &Value,
    ) -> Result<Option<Value>, ExprError> {
        self.at(tid).read_path(p, input)
    }

    /// InputPath: `$` keeps the input, null gives `{}`.
    pub(crate) fn apply_input_path(
        &self,
        tid: ThreadId,
        p: Option<&Path>,
        raw: &Value,
    ) -> Result<Value, ExprError> {
        self.at(tid).input_path(p, raw)
    }

    /// OutputPath: `$` keeps the output, null gives `{}`.
    pub(crate) fn apply_output_path(
        &self,
        tid: ThreadId,
        p: Option<&Path>,
        out: Value,
    ) -> Result<Value, ExprError> {
        self.at(tid).output_path(p, out)
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
        let map_item = match extra {
            StatesExtra::MapItem(i, v) => Some((i, v)),
            _ => None,
        };
        let context = with_context.then(|| self.context_value(tid, map_item));
        let states = states_binding(input, context, extra);
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
        (states, vars)
    }

    /// Runs a JSONata evaluation with this execution's time and random generator, and keeps
    /// the generator's state for the next draw.
    fn with_host<R>(&self, f: impl FnOnce(&passo_expr::jsonata::Host) -> R) -> R {
        with_host(self.now_ms, &self.rng, f)
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
        self.at(tid).jtemplate(t, input, extra, field)
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
        self.at(tid).jexpr(j, input, extra, field)
    }
}
