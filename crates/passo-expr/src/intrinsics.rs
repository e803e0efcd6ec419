//! The 18 intrinsic functions, with AWS's argument checks.
//!
//! Semantics follow AWS Step Functions (a Java service): numbers that must be integers are
//! rounded the way Java's `Math.round` does (half up), `States.Format` prints values the way
//! Java's `toString` does (`{a=1, b=[x, y]}` for objects, `1.0E20` for large doubles),
//! `States.JsonMerge` orders keys like the `java.util.HashMap` AWS merges into, and
//! `States.StringSplit` splits like `java.util.StringTokenizer` (every character of the second
//! argument is a delimiter; empty tokens are dropped).
//!
//! Randomness (`States.UUID`, `States.MathRandom` without a seed) comes only from the scope's
//! seeded generator, so a run replays.

use crate::error::ExprError;
use crate::jsonpath::{self, Missing};
use crate::random;
use crate::scope::Scope;
use base64::Engine as _;
use passo_asl::intrinsic::{Arg, Call, Function};
use passo_asl::path::Root;
use serde_json::{Map, Number, Value};
use std::cell::Cell;

/// Largest array States.ArrayRange may build.
pub const ARRAY_RANGE_MAX_ITEMS: usize = 1000;
/// Longest input (in characters) States.Base64Encode, States.Base64Decode and States.Hash take.
pub const MAX_INPUT_CHARS: usize = 10_000;
/// The algorithms States.Hash supports.
pub const HASH_ALGORITHMS: [&str; 5] = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];

/// Evaluates an intrinsic call.
pub fn eval(call: &Call, scope: &Scope<'_>) -> Result<Value, ExprError> {
    let f = call.function;
    let (min, max) = f.arity();
    let n = call.args.len();
    if n < min || n > max {
        return Err(fail(f, arity_message(f, n)));
    }
    let args = call
        .args
        .iter()
        .map(|a| arg_value(a, scope))
        .collect::<Result<Vec<_>, _>>()?;
    match f {
        Function::Format => format(call, &args),
        Function::StringToJson => string_to_json(&args[0]),
        Function::JsonToString => Ok(Value::String(to_json_text(&args[0]))),
        Function::Array => Ok(Value::Array(args)),
        Function::ArrayPartition => array_partition(&args[0], &args[1]),
        Function::ArrayContains => {
            let items = array_arg(f, &args[0], "first")?;
            Ok(Value::Bool(items.iter().any(|v| json_eq(v, &args[1]))))
        }
        Function::ArrayRange => array_range(&args[0], &args[1], &args[2]),
        Function::ArrayGetItem => array_get_item(&args[0], &args[1]),
        Function::ArrayLength => Ok(Value::from(array_arg(f, &args[0], "first")?.len())),
        Function::ArrayUnique => {
            let items = array_arg(f, &args[0], "first")?;
            let mut out: Vec<Value> = Vec::with_capacity(items.len());
            for v in items {
                if !out.iter().any(|o| json_eq(o, v)) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        Function::Base64Encode => {
            let s = limited_string(f, &args[0])?;
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
            ))
        }
        Function::Base64Decode => base64_decode(&args[0]),
        Function::Hash => hash(&args[0], &args[1]),
        Function::JsonMerge => json_merge(&args[0], &args[1], &args[2]),
        Function::MathRandom => math_random(&args, scope),
        Function::MathAdd => {
            let a = int_arg(f, &args[0], "first")?;
            let b = int_arg(f, &args[1], "second")?;
            Ok(Value::from(a + b))
        }
        Function::StringSplit => {
            let s = string_arg(f, &args[0], "first")?;
            let delims = string_arg(f, &args[1], "second")?;
            Ok(Value::Array(
                tokenize(s, delims)
                    .into_iter()
                    .map(|t| Value::String(t.to_string()))
                    .collect(),
            ))
        }
        Function::Uuid => Ok(Value::String(random::uuid_v4(scope.rng))),
    }
}

// ---------------------------------------------------------------------------------------------
// Arguments

fn fail(f: Function, detail: impl AsRef<str>) -> ExprError {
    ExprError::intrinsic(format!(
        "Invalid arguments in States.{}: {}",
        f.name(),
        detail.as_ref()
    ))
}

fn arity_message(f: Function, n: usize) -> String {
    let (min, max) = f.arity();
    let expected = match (min, max) {
        (0, 0) => "no arguments".to_string(),
        (1, 1) => "exactly 1 argument".to_string(),
        (a, b) if a == b => format!("exactly {a} arguments"),
        (a, usize::MAX) => format!("at least {a} argument{}", if a == 1 { "" } else { "s" }),
        (a, b) => format!("between {a} and {b} arguments"),
    };
    format!("the function takes {expected}, but {n} were given")
}

fn arg_value(a: &Arg, scope: &Scope<'_>) -> Result<Value, ExprError> {
    match a {
        Arg::Literal(v) => Ok(v.clone()),
        Arg::Call(c) => eval(c, scope),
        Arg::Path(p) => match jsonpath::select(p, scope) {
            Ok(v) => Ok(v.into_owned()),
            Err(Missing::Variable(name)) => Err(ExprError::runtime(format!(
                "The JSONPath '{}' specified as an intrinsic function argument could not be found in the input: variable '{name}' is not defined",
                p.text
            ))),
            Err(Missing::Uncompilable(why)) => Err(jsonpath::uncompilable(p, &why)),
            Err(Missing::Value) => {
                let doc = match &p.root {
                    Root::Input => serde_json::to_string(scope.input).unwrap_or_default(),
                    Root::Context => {
                        serde_json::to_string(&scope.context.context()).unwrap_or_default()
                    }
                    Root::Variable(v) => {
                        serde_json::to_string(scope.vars.get_var(v).unwrap_or(&Value::Null))
                            .unwrap_or_default()
                    }
                };
                Err(ExprError::runtime(format!(
                    "The JSONPath '{}' specified as an intrinsic function argument could not be found in the input '{doc}'",
                    p.text
                )))
            }
        },
    }
}

/// The JSON type name AWS uses in its messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn array_arg<'v>(f: Function, v: &'v Value, which: &str) -> Result<&'v Vec<Value>, ExprError> {
    v.as_array().ok_or_else(|| {
        fail(
            f,
            format!(
                "the {which} argument must be an array, but it is of type {}",
                type_name(v)
            ),
        )
    })
}

fn string_arg<'v>(f: Function, v: &'v Value, which: &str) -> Result<&'v str, ExprError> {
    v.as_str().ok_or_else(|| {
        fail(
            f,
            format!(
                "the {which} argument must be a string, but it is of type {}",
                type_name(v)
            ),
        )
    })
}

/// The single string argument of Base64Encode/Base64Decode/Hash, at most 10,000 characters.
fn limited_string(f: Function, v: &Value) -> Result<&str, ExprError> {
    let s = string_arg(f, v, "first")?;
    let n = s.chars().count();
    if n > MAX_INPUT_CHARS {
        return Err(fail(
            f,
            format!("the input string must be at most {MAX_INPUT_CHARS} characters long, but it has {n}"),
        ));
    }
    Ok(s)
}

/// Java's `Math.round`: the closest integer, halves rounded up (`-1.5` gives `-1`).
fn java_round(x: f64) -> f64 {
    (x + 0.5).floor()
}

/// An integer argument; a number with a fraction is rounded to the nearest integer, as AWS
/// documents. It must fit a Java int.
fn int_arg(f: Function, v: &Value, which: &str) -> Result<i64, ExprError> {
    let n = match v {
        Value::Number(n) => n,
        _ => {
            return Err(fail(
                f,
                format!(
                    "the {which} argument must be an integer, but it is of type {}",
                    type_name(v)
                ),
            ))
        }
    };
    let x = if let Some(i) = n.as_i64() {
        i as f64
    } else {
        java_round(n.as_f64().unwrap_or(f64::NAN))
    };
    if !(i32::MIN as f64..=i32::MAX as f64).contains(&x) {
        return Err(fail(
            f,
            format!(
                "the {which} argument must be an integer between {} and {}, but it is {n}",
                i32::MIN,
                i32::MAX
            ),
        ));
    }
    Ok(x as i64)
}

// ---------------------------------------------------------------------------------------------
// The functions

fn format(call: &Call, args: &[Value]) -> Result<Value, ExprError> {
    let f = Function::Format;
    let template = string_arg(f, &args[0], "first")?;
    // A literal template keeps `\{`, `\}`, `\\` escaped (see passo_asl::intrinsic); a
    // template read from a path or computed by a call is taken as it is.
    let escaped = matches!(call.args[0], Arg::Literal(_));
    let mut pieces: Vec<String> = vec![String::new()];
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if escaped => {
                if let Some(next) = chars.next() {
                    pieces.last_mut().unwrap().push(next);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                pieces.push(String::new());
            }
            c => pieces.last_mut().unwrap().push(c),
        }
    }
    let placeholders = pieces.len() - 1;
    let values = &args[1..];
    if placeholders != values.len() {
        return Err(fail(
            f,
            format!(
                "the number of arguments ({}) does not match the number of placeholders '{{}}' in the template ({placeholders})",
                values.len()
            ),
        ));
    }
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        out.push_str(piece);
        if let Some(v) = values.get(i) {
            java_to_string(v, &mut out);
        }
    }
    Ok(Value::String(out))
}

fn string_to_json(v: &Value) -> Result<Value, ExprError> {
    let f = Function::StringToJson;
    let s = string_arg(f, v, "first")?;
    if s.trim().is_empty() {
        return Ok(Value::Null);
    }
    match serde_json::from_str::<Value>(s) {
        Ok(v) => Ok(normalize_negative_zero(v)),
        Err(e) => Err(fail(f, format!("the string '{s}' is not valid JSON ({e})"))),
    }
}

/// `-0` parses to the integer 0 in Java's JSON parser; serde_json makes it the double -0.0.
fn normalize_negative_zero(v: Value) -> Value {
    match v {
        Value::Number(n) if n.as_f64() == Some(0.0) && n.is_f64() && n.to_string() == "-0.0" => {
            Value::from(0)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(normalize_negative_zero).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, normalize_negative_zero(v)))
                .collect(),
        ),
        v => v,
    }
}

pub(crate) fn array_partition(array: &Value, size: &Value) -> Result<Value, ExprError> {
    let f = Function::ArrayPartition;
    let items = array_arg(f, array, "first")?;
    let size = int_arg(f, size, "second")?;
    if size <= 0 {
        return Err(fail(
            f,
            format!("the chunk size must be a positive integer, but it is {size}"),
        ));
    }
    Ok(Value::Array(
        items
            .chunks(size as usize)
            .map(|c| Value::Array(c.to_vec()))
            .collect(),
    ))
}

pub(crate) fn array_range(start: &Value, end: &Value, step: &Value) -> Result<Value, ExprError> {
    let f = Function::ArrayRange;
    let start = int_arg(f, start, "first")?;
    let end = int_arg(f, end, "second")?;
    let step = int_arg(f, step, "third")?;
    if step == 0 {
        return Err(fail(f, "the step (third argument) must not be 0"));
    }
    let count = if (step > 0 && start > end) || (step < 0 && start < end) {
        0
    } else {
        ((end - start) / step + 1) as usize
    };
    if count > ARRAY_RANGE_MAX_ITEMS {
        return Err(fail(
            f,
            format!("the array would have {count} items, more than the maximum of {ARRAY_RANGE_MAX_ITEMS}"),
        ));
    }
    Ok(Value::Array(
        (0..count as i64)
            .map(|i| Value::from(start + i * step))
            .collect(),
    ))
}

fn array_get_item(array: &Value, index: &Value) -> Result<Value, ExprError> {
    let f = Function::ArrayGetItem;
    let items = array_arg(f, array, "first")?;
    let index = match index {
        Value::Number(n) => match n.as_i64() {
            Some(i) => i,
            None => match n.as_f64() {
                Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => x as i64,
                _ => {
                    return Err(fail(
                        f,
                        format!("the index (second argument) must be an integer, but it is {n}"),
                    ))
                }
            },
        },
        v => {
            return Err(fail(
                f,
                format!(
                    "the index (second argument) must be an integer, but it is of type {}",
                    type_name(v)
                ),
            ))
        }
    };
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get(i))
        .cloned()
        .ok_or_else(|| {
            fail(
                f,
                format!(
                    "the index {index} is out of bounds for an array of {} items",
                    items.len()
                ),
            )
        })
}

fn base64_decode(v: &Value) -> Result<Value, ExprError> {
    let f = Function::Base64Decode;
    let s = limited_string(f, v)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.as_bytes())
        .map_err(|e| fail(f, format!("the input '{s}' is not valid base64 ({e})")))?;
    Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}

pub(crate) fn hash(data: &Value, algorithm: &Value) -> Result<Value, ExprError> {
    use md5::Digest as _;
    let f = Function::Hash;
    let data = limited_string(f, data)?;
    let algorithm = string_arg(f, algorithm, "second")?;
    let bytes = data.as_bytes();
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(bytes).to_vec(),
        "SHA-1" => sha1::Sha1::digest(bytes).to_vec(),
        "SHA-256" => sha2::Sha256::digest(bytes).to_vec(),
        "SHA-384" => sha2::Sha384::digest(bytes).to_vec(),
        "SHA-512" => sha2::Sha512::digest(bytes).to_vec(),
        other => {
            return Err(fail(
                f,
                format!(
                    "the hash algorithm '{other}' is not supported; use one of {}",
                    HASH_ALGORITHMS.join(", ")
                ),
            ))
        }
    };
    Ok(Value::String(
        digest.iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

fn json_merge(a: &Value, b: &Value, deep: &Value) -> Result<Value, ExprError> {
    let f = Function::JsonMerge;
    let obj = |v: &'_ Value, which: &str| -> Result<Map<String, Value>, ExprError> {
        v.as_object().cloned().ok_or_else(|| {
            fail(
                f,
                format!(
                    "the {which} argument must be a JSON object, but it is of type {}",
                    type_name(v)
                ),
            )
        })
    };
    let a = obj(a, "first")?;
    let b = obj(b, "second")?;
    match deep {
        Value::Bool(false) => {}
        Value::Bool(true) => {
            return Err(fail(
                f,
                "only the shallow merge is supported: the third argument must be false",
            ))
        }
        v => {
            return Err(fail(
                f,
                format!(
                    "the third argument must be the boolean false, but it is of type {}",
                    type_name(v)
                ),
            ))
        }
    }
    let mut merged = a;
    for (k, v) in b {
        merged.insert(k, v);
    }
    Ok(Value::Object(java_hash_map_order(merged)))
}

/// Reorders an object's members the way a `java.util.HashMap` (default capacity, load
/// factor 0.75) that received them in this order iterates them.
fn java_hash_map_order(m: Map<String, Value>) -> Map<String, Value> {
    let mut capacity = 16usize;
    while m.len() > capacity * 3 / 4 {
        capacity *= 2;
    }
    let mut members: Vec<(usize, usize, String, Value)> = m
        .into_iter()
        .enumerate()
        .map(|(i, (k, v))| {
            let h = k
                .encode_utf16()
                .fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(c as u32));
            let bucket = ((h ^ (h >> 16)) as usize) & (capacity - 1);
            (bucket, i, k, v)
        })
        .collect();
    members.sort_by_key(|(bucket, i, _, _)| (*bucket, *i));
    members.into_iter().map(|(_, _, k, v)| (k, v)).collect()
}

fn math_random(args: &[Value], scope: &Scope<'_>) -> Result<Value, ExprError> {
    let f = Function::MathRandom;
    let start = int_arg(f, &args[0], "first")?;
    let end = int_arg(f, &args[1], "second")?;
    if end <= start {
        return Err(fail(
            f,
            format!("the end ({end}) must be greater than the start ({start})"),
        ));
    }
    let span = (end - start) as u64;
    let draw = match args.get(2) {
        // A seed makes the number a function of the seed alone, as in AWS.
        Some(seed) => {
            let seed = int_arg(f, seed, "third")?;
            random::next_u64(&Cell::new(seed as u64))
        }
        None => random::next_u64(scope.rng),
    };
    Ok(Value::from(start + (draw % span) as i64))
}

/// `java.util.StringTokenizer`: every character of `delims` separates tokens; empty tokens
/// are dropped.
fn tokenize<'s>(s: &'s str, delims: &str) -> Vec<&'s str> {
    s.split(|c| delims.contains(c))
        .filter(|t| !t.is_empty())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Values as AWS prints them

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A number as Java prints it: integers as they are, doubles like `Double.toString`
/// (`1.0`, `1.1`, `1.0E7`, `1.0E-4`).
fn java_number(n: &Number) -> String {
    if !n.is_f64() {
        return n.to_string();
    }
    let x = n.as_f64().unwrap_or(f64::NAN);
    java_double(x)
}

fn java_double(x: f64) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".into()
        } else if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let a = x.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{x:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        if mantissa.contains('.') {
            format!("{mantissa}E{exp}")
        } else {
            format!("{mantissa}.0E{exp}")
        }
    }
}

/// A value as Java's `toString` prints it (what States.Format substitutes): strings as they
/// are, objects as `{k=v, ...}`, arrays as `[a, b]`.
fn java_to_string(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&java_number(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                java_to_string(v, out);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, v)) in o.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                java_to_string(v, out);
            }
            out.push('}');
        }
    }
}

/// Compact JSON text as AWS writes it (States.JsonToString): no spaces, doubles printed like
/// Java's `Double.toString`.
pub fn to_json_text(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Number(n) => out.push_str(&java_number(n)),
        Value::String(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(v, out);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, v)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
        v => out.push_str(&v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_doubles() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(1.1), "1.1");
        assert_eq!(java_double(-2.5), "-2.5");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1.5e-5), "1.5E-5");
        assert_eq!(java_double(123456.789), "123456.789");
        assert_eq!(java_double(0.001), "0.001");
    }

    #[test]
    fn java_rounding() {
        for (x, r) in [
            (1.5, 2.0),
            (-1.5, -1.0),
            (-0.5, 0.0),
            (2.5, 3.0),
            (-1.51, -2.0),
        ] {
            assert_eq!(java_round(x), r, "{x}");
        }
    }

    #[test]
    fn hash_map_order() {
        let m: Map<String, Value> = serde_json::from_str(
            r#"{"constant_in_literal": 1, "constant_input_field": 2, "d": 3, "a": 4}"#,
        )
        .unwrap();
        let keys: Vec<String> = java_hash_map_order(m).keys().cloned().collect();
        assert_eq!(
            keys,
            ["constant_input_field", "a", "d", "constant_in_literal"]
        );
    }

    #[test]
    fn tokenizer() {
        assert_eq!(tokenize(", , ,", ","), [" ", " "]);
        assert_eq!(tokenize(",,,,", ","), Vec::<&str>::new());
        assert_eq!(
            tokenize("This.is+a,test=string", ".+,="),
            ["This", "is", "a", "test", "string"]
        );
    }
}
