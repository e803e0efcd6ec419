//! From a pattern's raw JSON to the validated tree that [`crate::matcher`] walks.
//!
//! Invariants of the tree: every object names at least one field or `$or`, every
//! leaf has at least one [`Matcher`], every operand has the type its operator
//! needs (ranges are non-empty, CIDR blocks and wildcards are compiled). So
//! matching has nothing left to check and cannot fail.

use serde_json::{Map, Value};

use crate::cidr::Cidr;
use crate::error::PatternError;
use crate::wildcard::Wildcard;

/// Nesting deeper than this is refused: real events are far shallower, and the
/// bound keeps recursion safe on hostile patterns.
pub(crate) const MAX_DEPTH: usize = 32;

/// Numeric matching is limited to this magnitude, as EventBridge documents.
const NUMERIC_LIMIT: f64 = 5.0e9;

/// Operator names; an `$or` alternative that uses one as a field name is not an
/// `$or` (EventBridge then reads `$or` as an ordinary field).
const OPERATORS: [&str; 8] = [
    "prefix",
    "suffix",
    "equals-ignore-case",
    "wildcard",
    "anything-but",
    "numeric",
    "cidr",
    "exists",
];

/// One object of the pattern: all its fields must match, and one alternative of
/// each `$or` list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub fields: Vec<(String, Field)>,
    pub ors: Vec<Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    /// `"field": [ ... ]`: matched against the leaf values at this path.
    Leaf(Vec<Matcher>),
    /// `"field": { ... }`: the event's value here must be an object (or an array of them).
    Nested(Node),
}

/// A value to compare leaf values with. Numbers compare numerically.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
}

/// One alternative of a leaf's list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Matcher {
    Exact(Scalar),
    Prefix(String),
    /// Lowercased once here so that matching lowercases only the event's side.
    PrefixIgnoreCase(String),
    Suffix(String),
    SuffixIgnoreCase(String),
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    Numeric(Range),
    Cidr(Cidr),
    Exists(bool),
    AnythingBut(AnythingBut),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AnythingBut {
    /// Strings only or numbers only, as EventBridge requires.
    Values(Vec<Scalar>),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(Vec<String>),
    Wildcard(Vec<Wildcard>),
}

/// A numeric interval; a bound is `(value, inclusive)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Range {
    pub lower: Option<(f64, bool)>,
    pub upper: Option<(f64, bool)>,
}

pub(crate) fn parse_root(value: &Value) -> Result<Node, PatternError> {
    match value {
        Value::Object(map) => parse_node(map, "", 0),
        _ => Err(PatternError::NotObjectOrArray {
            path: String::new(),
        }),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn parse_node(map: &Map<String, Value>, path: &str, depth: usize) -> Result<Node, PatternError> {
    if depth > MAX_DEPTH {
        return Err(PatternError::TooDeep {
            path: path.to_string(),
            max: MAX_DEPTH,
        });
    }
    if map.is_empty() {
        return Err(PatternError::EmptyObject {
            path: path.to_string(),
        });
    }
    let mut node = Node {
        fields: Vec::new(),
        ors: Vec::new(),
    };
    for (key, value) in map {
        if key == "$or" {
            if let Some(alternatives) = or_alternatives(value) {
                let mut parsed = Vec::with_capacity(alternatives.len());
                for (i, alternative) in alternatives.iter().enumerate() {
                    let alt_path = join(path, &format!("$or[{i}]"));
                    parsed.push(parse_node(alternative, &alt_path, depth + 1)?);
                }
                node.ors.push(parsed);
                continue;
            }
        }
        let field_path = join(path, key);
        let field = match value {
            Value::Object(inner) => Field::Nested(parse_node(inner, &field_path, depth + 1)?),
            Value::Array(items) => Field::Leaf(parse_leaf(items, &field_path)?),
            _ => return Err(PatternError::NotObjectOrArray { path: field_path }),
        };
        node.fields.push((key.clone(), field));
    }
    Ok(node)
}

/// `$or` means OR only as EventBridge recognises it: an array of two or more
/// objects, none using an operator name as a field.
fn or_alternatives(value: &Value) -> Option<Vec<&Map<String, Value>>> {
    let items = value.as_array()?;
    if items.len() < 2 {
        return None;
    }
    items
        .iter()
        .map(|item| {
            let map = item.as_object()?;
            (!map.keys().any(|k| OPERATORS.contains(&k.as_str()))).then_some(map)
        })
        .collect()
}

fn parse_leaf(items: &[Value], path: &str) -> Result<Vec<Matcher>, PatternError> {
    if items.is_empty() {
        return Err(PatternError::EmptyArray {
            path: path.to_string(),
        });
    }
    items.iter().map(|item| parse_matcher(item, path)).collect()
}

fn parse_matcher(item: &Value, path: &str) -> Result<Matcher, PatternError> {
    let map = match item {
        Value::Object(map) => map,
        Value::Array(_) => {
            return Err(PatternError::InvalidMatchValue {
                path: path.to_string(),
            })
        }
        scalar => return Ok(Matcher::Exact(to_scalar(scalar))),
    };
    let mut entries = map.iter();
    let (Some((name, operand)), None) = (entries.next(), entries.next()) else {
        return Err(PatternError::MatchExpressionKeys {
            path: path.to_string(),
        });
    };
    let err = |operator: &'static str, reason: String| PatternError::InvalidOperand {
        path: path.to_string(),
        operator,
        reason,
    };
    match name.as_str() {
        "prefix" => match ignore_case_form(operand) {
            Some(Ok(text)) => Ok(Matcher::PrefixIgnoreCase(text.to_lowercase())),
            Some(Err(reason)) => Err(err("prefix", reason)),
            None => Ok(Matcher::Prefix(
                string("prefix", operand).map_err(|r| err("prefix", r))?,
            )),
        },
        "suffix" => match ignore_case_form(operand) {
            Some(Ok(text)) => Ok(Matcher::SuffixIgnoreCase(text.to_lowercase())),
            Some(Err(reason)) => Err(err("suffix", reason)),
            None => Ok(Matcher::Suffix(
                string("suffix", operand).map_err(|r| err("suffix", r))?,
            )),
        },
        "equals-ignore-case" => string("equals-ignore-case", operand)
            .map(|s| Matcher::EqualsIgnoreCase(s.to_lowercase()))
            .map_err(|r| err("equals-ignore-case", r)),
        "wildcard" => {
            let text = string("wildcard", operand).map_err(|r| err("wildcard", r))?;
            Wildcard::compile(&text)
                .map(Matcher::Wildcard)
                .map_err(|r| err("wildcard", r))
        }
        "exists" => match operand {
            Value::Bool(b) => Ok(Matcher::Exists(*b)),
            _ => Err(err(
                "exists",
                "exists match pattern must be either true or false.".into(),
            )),
        },
        "cidr" => {
            let text = string("cidr", operand).map_err(|r| err("cidr", r))?;
            Cidr::parse(&text)
                .map(Matcher::Cidr)
                .ok_or_else(|| err("cidr", format!("Nonsensical CIDR IP argument: \"{text}\"")))
        }
        "numeric" => parse_range(operand)
            .map(Matcher::Numeric)
            .map_err(|r| err("numeric", r)),
        "anything-but" => parse_anything_but(operand)
            .map(Matcher::AnythingBut)
            .map_err(|r| err("anything-but", r)),
        other => Err(PatternError::UnrecognizedMatchType {
            path: path.to_string(),
            name: other.to_string(),
        }),
    }
}

fn to_scalar(value: &Value) -> Scalar {
    match value {
        Value::String(s) => Scalar::String(s.clone()),
        Value::Number(n) => Scalar::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::Bool(b) => Scalar::Bool(*b),
        _ => Scalar::Null,
    }
}

fn string(operator: &str, operand: &Value) -> Result<String, String> {
    operand
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{operator} match pattern must be a string."))
}

/// `{"equals-ignore-case": "text"}` as the operand of `prefix` or `suffix`;
/// `None` when the operand is not an object at all (the plain form).
fn ignore_case_form(operand: &Value) -> Option<Result<String, String>> {
    let map = operand.as_object()?;
    Some(match (map.len(), map.get("equals-ignore-case")) {
        (1, Some(Value::String(s))) => Ok(s.clone()),
        (1, Some(_)) => Err("equals-ignore-case match pattern must be a string.".into()),
        _ => Err("Unsupported match type: only equals-ignore-case is allowed here.".into()),
    })
}

fn parse_range(operand: &Value) -> Result<Range, String> {
    let items = operand
        .as_array()
        .ok_or_else(|| "Value of numeric must be an array.".to_string())?;
    if items.is_empty() || items.len() % 2 != 0 {
        return Err("Value of numeric must be pairs of an operator and a number.".into());
    }
    let mut range = Range {
        lower: None,
        upper: None,
    };
    let mut equals = false;
    for pair in items.chunks(2) {
        let op = pair[0]
            .as_str()
            .ok_or_else(|| format!("Invalid member in numeric match: {}", pair[0]))?;
        let number = match &pair[1] {
            Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
            other => return Err(format!("Value of {op} must be numeric, not {other}")),
        };
        if !(-NUMERIC_LIMIT..=NUMERIC_LIMIT).contains(&number) {
            return Err(format!(
                "Value of {op} must be between -5.0E9 and 5.0E9 inclusive"
            ));
        }
        let slot = match op {
            "=" => {
                if items.len() != 2 {
                    return Err("\"=\" must be the only operator in a numeric match.".into());
                }
                equals = true;
                range.lower = Some((number, true));
                range.upper = Some((number, true));
                continue;
            }
            ">" | ">=" => &mut range.lower,
            "<" | "<=" => &mut range.upper,
            other => return Err(format!("Unrecognized numeric range operator: {other}")),
        };
        if slot.is_some() {
            return Err(format!("Too many bounds in numeric match at operator {op}"));
        }
        *slot = Some((number, op.ends_with('=')));
    }
    if let (false, Some((low, low_inc)), Some((high, high_inc))) =
        (equals, range.lower, range.upper)
    {
        if low > high || (low == high && !(low_inc && high_inc)) {
            return Err("Bottom must be less than top".into());
        }
    }
    Ok(range)
}

fn parse_anything_but(operand: &Value) -> Result<AnythingBut, String> {
    match operand {
        Value::String(_) | Value::Number(_) => Ok(AnythingBut::Values(vec![to_scalar(operand)])),
        Value::Array(items) => {
            if items.is_empty() {
                return Err("Inside anything-but list, there must be at least one value.".into());
            }
            let all_strings = items.iter().all(Value::is_string);
            let all_numbers = items.iter().all(Value::is_number);
            if !(all_strings || all_numbers) {
                return Err(
                    "Inside anything-but list, all values must be strings or all must be numbers."
                        .into(),
                );
            }
            Ok(AnythingBut::Values(items.iter().map(to_scalar).collect()))
        }
        Value::Object(map) => {
            let mut entries = map.iter();
            let (Some((name, inner)), None) = (entries.next(), entries.next()) else {
                return Err("Only one key allowed in anything-but match expression.".into());
            };
            match name.as_str() {
                "prefix" => Ok(AnythingBut::Prefix(string("prefix", inner)?)),
                "suffix" => Ok(AnythingBut::Suffix(string("suffix", inner)?)),
                "equals-ignore-case" => Ok(AnythingBut::EqualsIgnoreCase(
                    strings("equals-ignore-case", inner)?
                        .iter()
                        .map(|s| s.to_lowercase())
                        .collect(),
                )),
                "wildcard" => Ok(AnythingBut::Wildcard(
                    strings("wildcard", inner)?
                        .iter()
                        .map(|s| Wildcard::compile(s))
                        .collect::<Result<_, _>>()?,
                )),
                other => Err(format!("Unsupported anything-but pattern: {other}")),
            }
        }
        _ => Err("Inside anything-but, null and boolean values are not supported.".into()),
    }
}

/// One string or a non-empty list of strings.
fn strings(operator: &str, operand: &Value) -> Result<Vec<String>, String> {
    let reason = || format!("{operator} match pattern must be a string or a list of strings.");
    match operand {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(reason))
            .collect(),
        _ => Err(reason()),
    }
}
