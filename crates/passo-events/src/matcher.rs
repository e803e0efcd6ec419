//! Matching a validated pattern tree against an event.
//!
//! The walk follows the pattern, not the event, so its depth is bounded by
//! [`crate::parse::MAX_DEPTH`] whatever the event holds. At each field the event's
//! values at that path are gathered with arrays flattened (at any depth, without
//! recursion): objects among them feed a nested pattern, scalars are the *leaf
//! values* a leaf's matchers look at.

use serde_json::Value;

use crate::parse::{AnythingBut, Field, Matcher, Node, Range, Scalar};

pub(crate) fn matches(root: &Node, event: &Value) -> bool {
    match_node(root, &[event])
}

/// `objects` are the event's objects at this node's path (several when the path
/// runs through arrays); a field matches if any of them supplies a matching value.
fn match_node(node: &Node, objects: &[&Value]) -> bool {
    let fields_match = node.fields.iter().all(|(key, field)| {
        let values = values_at(objects, key);
        match field {
            Field::Leaf(matchers) => {
                let leaves: Vec<&Value> = values.into_iter().filter(|v| !v.is_object()).collect();
                matchers.iter().any(|m| match_leaf(m, &leaves))
            }
            Field::Nested(inner) => {
                let inner_objects: Vec<&Value> =
                    values.into_iter().filter(|v| v.is_object()).collect();
                match_node(inner, &inner_objects)
            }
        }
    });
    fields_match
        && node
            .ors
            .iter()
            .all(|alternatives| alternatives.iter().any(|alt| match_node(alt, objects)))
}

/// The values under `key` in each object, arrays replaced by their elements.
fn values_at<'a>(objects: &[&'a Value], key: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let mut stack: Vec<&'a Value> = objects
        .iter()
        .rev()
        .filter_map(|object| object.get(key))
        .collect();
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items.iter().rev()),
            other => out.push(other),
        }
    }
    out
}

fn match_leaf(matcher: &Matcher, leaves: &[&Value]) -> bool {
    match matcher {
        // Exists looks at the path as a whole: an empty array or an object there
        // is no leaf value, so it counts as absent.
        Matcher::Exists(expected) => leaves.is_empty() != *expected,
        other => leaves.iter().any(|leaf| match_value(other, leaf)),
    }
}

fn match_value(matcher: &Matcher, value: &Value) -> bool {
    let text = value.as_str();
    match matcher {
        Matcher::Exact(scalar) => scalar_eq(scalar, value),
        Matcher::Prefix(p) => text.is_some_and(|t| t.starts_with(p.as_str())),
        Matcher::PrefixIgnoreCase(p) => {
            text.is_some_and(|t| t.to_lowercase().starts_with(p.as_str()))
        }
        Matcher::Suffix(s) => text.is_some_and(|t| t.ends_with(s.as_str())),
        Matcher::SuffixIgnoreCase(s) => {
            text.is_some_and(|t| t.to_lowercase().ends_with(s.as_str()))
        }
        Matcher::EqualsIgnoreCase(s) => text.is_some_and(|t| t.to_lowercase() == *s),
        Matcher::Wildcard(w) => text.is_some_and(|t| w.is_match(t)),
        Matcher::Cidr(c) => text.is_some_and(|t| c.contains(t)),
        Matcher::Numeric(range) => value.as_f64().is_some_and(|n| in_range(range, n)),
        Matcher::AnythingBut(but) => anything_but(but, value),
        // Decided on the whole path in `match_leaf`, never per value.
        Matcher::Exists(_) => false,
    }
}

/// Numbers compare by value (`300` = `3.0e2`); a string never equals a number.
fn scalar_eq(scalar: &Scalar, value: &Value) -> bool {
    match (scalar, value) {
        (Scalar::String(s), Value::String(v)) => s == v,
        (Scalar::Number(n), Value::Number(v)) => v.as_f64() == Some(*n),
        (Scalar::Bool(b), Value::Bool(v)) => b == v,
        (Scalar::Null, Value::Null) => true,
        _ => false,
    }
}

fn in_range(range: &Range, n: f64) -> bool {
    let above = match range.lower {
        Some((low, true)) => n >= low,
        Some((low, false)) => n > low,
        None => true,
    };
    let below = match range.upper {
        Some((high, true)) => n <= high,
        Some((high, false)) => n < high,
        None => true,
    };
    above && below
}

/// A value matches `anything-but` unless it is one of the excluded values. The
/// string forms (prefix, suffix, ignore-case, wildcard) only apply to strings:
/// like their positive forms they never match a number, boolean or null.
fn anything_but(but: &AnythingBut, value: &Value) -> bool {
    let text = value.as_str();
    match but {
        AnythingBut::Values(excluded) => !excluded.iter().any(|s| scalar_eq(s, value)),
        AnythingBut::Prefix(p) => text.is_some_and(|t| !t.starts_with(p.as_str())),
        AnythingBut::Suffix(s) => text.is_some_and(|t| !t.ends_with(s.as_str())),
        AnythingBut::EqualsIgnoreCase(excluded) => text.is_some_and(|t| {
            let lower = t.to_lowercase();
            !excluded.contains(&lower)
        }),
        AnythingBut::Wildcard(excluded) => {
            text.is_some_and(|t| !excluded.iter().any(|w| w.is_match(t)))
        }
    }
}
