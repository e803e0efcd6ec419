//! JSONata expressions (`{% ... %}`), on the `jsonata-core` engine: parsed once when the
//! definition loads, evaluated with bindings (`$states`, workflow variables) and guardrails
//! (time, depth, sequence length) so that a hostile expression fails cleanly.
//!
//! Values cross between `serde_json` and the engine's own `JValue` here and nowhere else.

use crate::error::ExprError;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::Value;
use std::cell::Cell;
use std::rc::Rc;

/// Limits applied to every evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout_ms: u64,
    pub max_depth: usize,
    pub max_sequence: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: 5_000,
            max_depth: 2_000,
            max_sequence: 10_000_000,
        }
    }
}

pub use passo_asl::jsonata::{Jsonata, Simple};

/// What the host gives an evaluation: the time (for `$now`, `$millis`) and the execution's
/// random generator (for `$random`, `$uuid`), so a run replays.
#[derive(Clone)]
pub struct Host {
    pub now_ms: i64,
    pub rng: Rc<Cell<u64>>,
}

fn host_error(msg: String) -> EvaluatorError {
    EvaluatorError::EvaluationError(msg)
}

fn to_serde(v: &JValue) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn from_expr_error(e: ExprError) -> EvaluatorError {
    host_error(e.message)
}

/// AWS's additions to JSONata, and the impure built-ins bound to the host.
fn register_host(ev: &mut Evaluator, host: &Host, j: &Jsonata) -> Result<(), EvaluatorError> {
    // Functions are reached only by name, so an expression that names none needs none.
    const NAMES: [&str; 10] = [
        "partition",
        "range",
        "hash",
        "parse",
        "uuid",
        "random",
        "millis",
        "now",
        "eval",
        "randomSeeded",
    ];
    if !NAMES.iter().any(|n| j.mentions(n)) {
        return Ok(());
    }
    // Argument `i` as JSON (null when absent: the shared checks then report the type).
    let arg = |args: &[JValue], i: usize| args.get(i).map(to_serde).unwrap_or(Value::Null);
    ev.register_fn("partition", move |args: &[JValue]| {
        crate::intrinsics::array_partition(&arg(args, 0), &arg(args, 1))
            .map(JValue::from)
            .map_err(from_expr_error)
    })?;
    ev.register_fn("range", move |args: &[JValue]| {
        // AWS's $range yields a sequence: one item stands alone.
        match crate::intrinsics::array_range(&arg(args, 0), &arg(args, 1), &arg(args, 2))
            .map_err(from_expr_error)?
        {
            Value::Array(mut a) if a.len() == 1 => Ok(JValue::from(a.remove(0))),
            other => Ok(JValue::from(other)),
        }
    })?;
    ev.register_fn("hash", move |args: &[JValue]| {
        crate::intrinsics::hash(&arg(args, 0), &arg(args, 1))
            .map(JValue::from)
            .map_err(from_expr_error)
    })?;
    ev.register_fn("parse", |args: &[JValue]| match args.first() {
        Some(JValue::String(s)) => serde_json::from_str::<Value>(s)
            .map(JValue::from)
            .map_err(|e| host_error(format!("$parse: the string is not valid JSON: {e}"))),
        _ => Err(host_error("$parse expects a string".into())),
    })?;
    let rng = host.rng.clone();
    ev.register_fn("uuid", move |_: &[JValue]| {
        Ok(JValue::from(crate::random::uuid_v4(&rng)))
    })?;
    let rng = host.rng.clone();
    ev.register_fn_override("random", move |args: &[JValue]| {
        // With a seed the same number comes back every time; without, the execution's
        // generator draws it.
        let x = match args.first().and_then(JValue::as_f64) {
            Some(seed) => crate::random::next_f64(&Cell::new(seed.to_bits())),
            None => crate::random::next_f64(&rng),
        };
        Ok(JValue::from(x))
    })?;
    let now = host.now_ms;
    ev.register_fn_override("millis", move |_: &[JValue]| Ok(JValue::from(now)))?;
    ev.register_fn_override("now", move |_: &[JValue]| {
        let t = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now).unwrap_or_default();
        Ok(JValue::from(
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ))
    })?;
    ev.register_fn_override("eval", |_: &[JValue]| {
        Err(host_error("The $eval function is not supported".into()))
    })?;
    Ok(())
}

/// Evaluation of a parsed expression (the parse happens in `passo-asl`, once per definition).
pub trait Evaluate {
    /// Evaluates against `input` (undefined when `None`) with variables bound; `Ok(None)` is
    /// JSONata's "no result" (undefined).
    fn eval(
        &self,
        input: Option<&Value>,
        bindings: &[(&str, &Value)],
        limits: Limits,
    ) -> Result<Option<Value>, EvalError>;

    /// As `eval`, with AWS's functions and the host's time and randomness.
    fn eval_host(
        &self,
        input: Option<&Value>,
        bindings: &[(&str, &Value)],
        limits: Limits,
        host: &Host,
    ) -> Result<Option<Value>, EvalError>;
}

impl Evaluate for Jsonata {
    fn eval(
        &self,
        input: Option<&Value>,
        bindings: &[(&str, &Value)],
        limits: Limits,
    ) -> Result<Option<Value>, EvalError> {
        run(self, input, bindings, limits, None)
    }

    fn eval_host(
        &self,
        input: Option<&Value>,
        bindings: &[(&str, &Value)],
        limits: Limits,
        host: &Host,
    ) -> Result<Option<Value>, EvalError> {
        run(self, input, bindings, limits, Some(host))
    }
}

fn run(
    j: &Jsonata,
    input: Option<&Value>,
    bindings: &[(&str, &Value)],
    limits: Limits,
    host: Option<&Host>,
) -> Result<Option<Value>, EvalError> {
    if let Some(v) = j.simple().and_then(|s| simple(s, bindings)) {
        return Ok(v);
    }
    general(j, input, bindings, limits, host)
}

/// The general evaluator.
fn general(
    j: &Jsonata,
    input: Option<&Value>,
    bindings: &[(&str, &Value)],
    limits: Limits,
    host: Option<&Host>,
) -> Result<Option<Value>, EvalError> {
    let mut context = Context::new();
    // Converting a value to the engine's form costs a copy: bind only what the text names.
    for (name, value) in bindings {
        if j.mentions(name) {
            context.bind((*name).to_string(), JValue::from((*value).clone()));
        }
    }
    let options = EvaluatorOptions {
        timeout_ms: Some(limits.timeout_ms),
        max_stack_depth: Some(limits.max_depth),
        max_sequence_length: Some(limits.max_sequence),
        ..EvaluatorOptions::default()
    };
    let mut ev = Evaluator::with_options(context, options);
    let coded = |e: EvaluatorError| EvalError {
        code: e.code().map(str::to_string),
        message: e.message().to_string(),
    };
    if let Some(h) = host {
        register_host(&mut ev, h, j).map_err(coded)?;
    }
    let data = input
        .map(|v| JValue::from(v.clone()))
        .unwrap_or(JValue::Undefined);
    let result = ev.evaluate(j.ast(), &data).map_err(coded)?;
    to_json(&result)
}

/// A simple expression's value without the general evaluator; `None` where JSONata's own
/// rules would take over: an unbound variable, or an array before the last step (JSONata
/// maps a step over an array's items, flattens, and unwraps a lone result).
fn simple(s: &Simple, bindings: &[(&str, &Value)]) -> Option<Option<Value>> {
    match s {
        Simple::Literal(v) => Some(Some(v.clone())),
        Simple::Path { var, fields } => {
            let (_, root) = bindings.iter().find(|(n, _)| n == var)?;
            walk(root, fields).map(|v| v.map(as_jsonata))
        }
    }
}

/// Follows plain field names from `root`: `Some(None)` when undefined, `None` where an
/// array stands on the way (JSONata's mapping over it is the general evaluator's work). A
/// lone object's field that holds an array is that array (JSONata unwraps only the
/// sequences it makes itself); the differential test holds this to the evaluator.
fn walk<'v>(root: &'v Value, fields: &[String]) -> Option<Option<&'v Value>> {
    let mut cur = root;
    for f in fields {
        cur = match cur {
            Value::Object(m) => match m.get(f) {
                Some(v) => v,
                None => return Some(None),
            },
            Value::Array(_) => return None,
            // A field of a string, number, boolean or null is undefined.
            _ => return Some(None),
        };
    }
    Some(Some(cur))
}

/// The value of an expression that is a literal or a plain path into one of the parts of
/// `$states` given (`("input", v)`, `("result", v)`, ...), read straight from that part: the
/// caller need not build `$states` for it. `None` for any other expression, and where the
/// general path must answer (a part not given, undefined, an array on the way).
pub fn on_states(j: &Jsonata, parts: &[(&str, &Value)]) -> Option<Value> {
    match j.simple()? {
        Simple::Literal(v) => Some(v.clone()),
        Simple::Path { var, fields } if var == "states" => {
            let (first, rest) = fields.split_first()?;
            let (_, root) = parts.iter().find(|(n, _)| n == first)?;
            // Undefined is left to the general path, which words the field's error.
            walk(root, rest).flatten().map(as_jsonata)
        }
        Simple::Path { .. } => None,
    }
}

/// Whether the template is exactly `{% $states.input %}`: its value is the input itself.
pub fn is_states_input(t: &passo_asl::jtemplate::JTemplate) -> bool {
    matches!(t, passo_asl::jtemplate::JTemplate::Expr(j)
        if matches!(j.simple(), Some(Simple::Path { var, fields }) if var == "states" && fields.len() == 1 && fields[0] == "input"))
}

/// Whether `v` is already as the evaluator would give it back (no whole numbers written as
/// floats): then it can stand for an expression's value without a copy.
pub fn is_as_jsonata(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            !n.is_f64()
                || n.as_f64()
                    .is_some_and(|f| f.fract() != 0.0 || f.abs() > i64::MAX as f64)
        }
        Value::Array(a) => a.iter().all(is_as_jsonata),
        Value::Object(m) => m.values().all(is_as_jsonata),
        _ => true,
    }
}

/// A JSONata-mode template whose expressions all read only the given parts of `$states`
/// (or are literals), built straight from them; `None` when any expression needs more.
pub fn template_on_states(
    t: &passo_asl::jtemplate::JTemplate,
    parts: &[(&str, &Value)],
) -> Option<Value> {
    use passo_asl::jtemplate::JTemplate;
    match t {
        JTemplate::Literal(v) => Some(v.clone()),
        JTemplate::Expr(j) => on_states(j, parts),
        JTemplate::Object(members) => {
            let mut out = serde_json::Map::with_capacity(members.len());
            for (k, v) in members {
                out.insert(k.clone(), template_on_states(v, parts)?);
            }
            Some(Value::Object(out))
        }
        JTemplate::Array(items) => items
            .iter()
            .map(|t| template_on_states(t, parts))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
    }
}

/// A copy of `v` with its numbers as the evaluator gives them back: JSONata numbers are
/// doubles, written as integers when whole (`1.0` -> `1`, `-0.0` -> `0`).
fn as_jsonata(v: &Value) -> Value {
    // A clone (objects keep their hash tables) rewritten in place, rather than objects
    // rebuilt key by key.
    let mut copy = v.clone();
    numbers_as_jsonata(&mut copy);
    copy
}

fn numbers_as_jsonata(v: &mut Value) {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f <= i64::MAX as f64 => {
                *v = Value::from(f as i64)
            }
            Some(f) => *v = Value::from(f),
            None => {}
        },
        Value::Array(a) => a.iter_mut().for_each(numbers_as_jsonata),
        Value::Object(m) => m.values_mut().for_each(numbers_as_jsonata),
        _ => {}
    }
}

/// A JSONata evaluation error: its code (`T2002`, `D3030`, ...) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub code: Option<String>,
    pub message: String,
}

impl EvalError {
    /// As Step Functions reports it.
    pub fn into_expr_error(self, expression: &str) -> ExprError {
        ExprError {
            location: None,
            error: "States.QueryEvaluationError",
            message: format!(
                "An error occurred while evaluating the expression '{expression}': {}",
                self.message
            ),
        }
    }
}

/// Converts an engine value to JSON; undefined becomes `None`, functions are an error.
fn to_json(v: &JValue) -> Result<Option<Value>, EvalError> {
    if v.is_undefined() {
        return Ok(None);
    }
    if v.is_function() {
        return Err(EvalError {
            code: Some(FUNCTION_RESULT.into()),
            message: "the expression returned a function, which is not JSON".into(),
        });
    }
    serde_json::to_value(v).map(Some).map_err(|e| EvalError {
        code: None,
        message: format!("the result is not JSON: {e}"),
    })
}

/// The code `to_json` gives a function result, which AWS reports as an unsupported type.
pub const FUNCTION_RESULT: &str = "PASSO_FUNCTION_RESULT";

/// Evaluates a JSONata-mode template. `field` names the field for AWS's messages
/// (`Assign/result` for a member); an expression that yields nothing is an error.
pub fn eval_template(
    t: &passo_asl::jtemplate::JTemplate,
    bindings: &[(&str, &Value)],
    limits: Limits,
    host: &Host,
    field: &str,
) -> Result<Value, ExprError> {
    use passo_asl::jtemplate::JTemplate;
    match t {
        JTemplate::Literal(v) => Ok(v.clone()),
        JTemplate::Expr(j) => eval_field(j, bindings, limits, host, field)?.ok_or_else(|| {
            ExprError::query(
                field,
                format!("The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).", j.text()),
            )
        }),
        JTemplate::Object(members) => {
            let mut out = serde_json::Map::with_capacity(members.len());
            for (k, v) in members {
                out.insert(k.clone(), eval_template(v, bindings, limits, host, &format!("{field}/{k}"))?);
            }
            Ok(Value::Object(out))
        }
        JTemplate::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, t)| eval_template(t, bindings, limits, host, &format!("{field}/{i}")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
    }
}

/// Evaluates one expression for a field, with AWS's messages.
pub fn eval_field(
    j: &Jsonata,
    bindings: &[(&str, &Value)],
    limits: Limits,
    host: &Host,
    field: &str,
) -> Result<Option<Value>, ExprError> {
    j.eval_host(None, bindings, limits, host).map_err(|e| {
        if e.code.as_deref() == Some(FUNCTION_RESULT) {
            ExprError::query(
                field,
                format!("The JSONata expression '{}' specified for the field '{field}' returned an unsupported result type.", j.text()),
            )
        } else {
            // jsonata-js words T1006 without the name; AWS quotes jsonata-js.
            let message = match e.code.as_deref() {
                Some("T1006") => "T1006: Attempted to invoke a non-function".to_string(),
                _ => e.message,
            };
            ExprError::query(
                field,
                format!(
                    "The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {message}",
                    j.text()
                ),
            )
        }
    })
}

/// Evaluates one expression with no input document (`$states` and variables are bindings).
pub fn eval_expr(
    j: &Jsonata,
    bindings: &[(&str, &Value)],
    limits: Limits,
    host: &Host,
) -> Result<Option<Value>, ExprError> {
    j.eval_host(None, bindings, limits, host)
        .map_err(|e| e.into_expr_error(j.text()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The simple forms give what the general evaluator gives, wherever they answer.
    #[test]
    fn simple_forms_agree_with_the_evaluator() {
        let values = [
            json!({"input": {"a": {"b": 1}, "s": "x", "n": null, "arr": [1], "many": [1, 2]}}),
            json!({"input": 5}),
            json!({"input": "text"}),
            json!({"input": null}),
            json!({"input": [{"a": 1}, {"a": 2}]}),
            json!({"input": {"a": [{"b": 1}]}}),
            json!({"input": {"a": [[1, 2]], "e": [], "one": ["x"]}, "result": [1, [2]]}),
            json!({"input": {"a": true, "big": 1e300, "f": 1.5, "neg": -0.0, "w": 2.0}}),
            json!({"input": {"huge": 18446744073709551615u64, "i": -9007199254740993i64, "o": {"z": 1, "a": 2.0}}}),
            json!({}),
        ];
        let exprs = [
            "1",
            "1.5",
            "-2",
            "'s'",
            "true",
            "null",
            "$states",
            "$states.input",
            "$states.input.a",
            "$states.input.a.b",
            "$states.input.s",
            "$states.input.s.t",
            "$states.input.n",
            "$states.input.n.x",
            "$states.input.arr",
            "$states.input.many",
            "$states.input.missing",
            "$states.input.big",
            "$states.input.f",
            "$states.input.neg",
            "$states.input.w",
            "$states.input.huge",
            "$states.input.i",
            "$states.input.o",
            "$states.result",
            "$other",
            "$states.input.e",
            "$states.input.one",
            "$states.input.a.b",
        ];
        let mut answered = 0;
        for v in &values {
            for e in exprs {
                let j = Jsonata::parse(e).unwrap();
                let b: [(&str, &Value); 1] = [("states", v)];
                let general = general(&j, None, &b, Limits::default(), None).unwrap();
                let parts: Vec<(&str, &Value)> = v
                    .as_object()
                    .map(|m| m.iter().map(|(k, x)| (k.as_str(), x)).collect())
                    .unwrap_or_default();
                if let Some(fast) = on_states(&j, &parts) {
                    let want = general.as_ref().map(Value::to_string);
                    assert_eq!(Some(fast.to_string()), want, "on_states: {e} on {v}");
                    answered += 1;
                }
                if let Some(fast) = j.simple().and_then(|s| simple(s, &b)) {
                    // As text too: key order and number forms reach the history.
                    let text = |x: &Option<Value>| x.as_ref().map(Value::to_string);
                    assert_eq!(text(&fast), text(&general), "{e} on {v}");
                    answered += 1;
                }
            }
        }
        assert!(
            answered > 100,
            "the simple forms answered only {answered} cases"
        );
    }

    #[test]
    fn evaluates_with_bindings() {
        let e = Jsonata::parse("$states.input.a + $x").unwrap();
        let states = json!({"input": {"a": 2}});
        let r = e
            .eval(
                None,
                &[("states", &states), ("x", &json!(3))],
                Limits::default(),
            )
            .unwrap();
        assert_eq!(r.and_then(|v| v.as_f64()), Some(5.0));
        assert_eq!(
            Jsonata::parse("$nothing")
                .unwrap()
                .eval(None, &[], Limits::default())
                .unwrap(),
            None
        );
        assert!(Jsonata::parse("1 +").is_err());
    }

    #[test]
    fn hostile_expressions_stop() {
        let quick = Limits {
            timeout_ms: 200,
            ..Limits::default()
        };
        let endless = Jsonata::parse("($f := function($n) { $f($n + 1) }; $f(0))").unwrap();
        assert!(endless.eval(None, &[], quick).is_err());
        let deep =
            Jsonata::parse("($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))")
                .unwrap();
        assert!(deep.eval(None, &[], quick).is_err());
        let slow = Jsonata::parse("$count([1..10000000].($ * 2))").unwrap();
        let limits = Limits {
            timeout_ms: 200,
            max_sequence: 1_000_000,
            ..Limits::default()
        };
        assert!(slow.eval(None, &[], limits).is_err());
    }
}
