//! Evaluating ASL paths: reading with Jayway's semantics (which AWS uses) and writing a value
//! into a document at a reference path (`ResultPath`).

use crate::error::ExprError;
use crate::scope::Scope;
use passo_asl::path::{Path, Root, Segment, Selector};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Why a read found nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The path's root variable is not defined.
    Variable(String),
    /// A definite path named a value that is not there.
    Value,
    /// Jayway cannot compile the path (its message), so no read of it succeeds; AWS accepts
    /// such paths in a definition and fails when it evaluates them.
    Uncompilable(String),
}

/// Reads the value a path names. A definite path yields that value (or `Missing`); an
/// indefinite one yields the array of every match, possibly empty.
pub fn select<'v>(path: &Path, scope: &'v Scope<'_>) -> Result<Cow<'v, Value>, Missing> {
    if let Some(why) = path.uncompilable() {
        return Err(Missing::Uncompilable(why.to_string()));
    }
    match &path.root {
        Root::Input => select_in(path, scope.input),
        Root::Context => {
            let ctx = scope.context.context();
            select_in(path, &ctx).map(|v| Cow::Owned(v.into_owned()))
        }
        Root::Variable(name) => {
            let v = scope
                .vars
                .get_var(name)
                .ok_or_else(|| Missing::Variable(name.clone()))?;
            select_in(path, v)
        }
    }
}

/// Reads a path against an explicit root document (ignoring which root the path names).
pub fn select_in<'v>(path: &Path, root: &'v Value) -> Result<Cow<'v, Value>, Missing> {
    if let Some(why) = path.uncompilable() {
        return Err(Missing::Uncompilable(why.to_string()));
    }
    if path.is_definite() {
        let mut cur = root;
        let mut owned: Option<Value> = None;
        for seg in &path.segments {
            match seg {
                Segment::Field(name) => {
                    cur = cur
                        .as_object()
                        .and_then(|o| o.get(name))
                        .ok_or(Missing::Value)?
                }
                Segment::Index(i) => cur = index(cur, *i).ok_or(Missing::Value)?,
                Segment::Length => {
                    let n = match cur {
                        Value::Array(a) => a.len(),
                        Value::String(s) => s.chars().count(),
                        Value::Object(o) => o.len(),
                        _ => return Err(Missing::Value),
                    };
                    owned = Some(Value::from(n));
                }
                _ => unreachable!("definite paths hold only fields, indices and length()"),
            }
        }
        return Ok(match owned {
            Some(v) => Cow::Owned(v),
            None => Cow::Borrowed(cur),
        });
    }
    let mut nodes: Vec<&Value> = vec![root];
    for seg in &path.segments {
        let mut next = Vec::new();
        for n in nodes {
            apply(seg, n, &mut next);
        }
        nodes = next;
    }
    Ok(Cow::Owned(Value::Array(
        nodes.into_iter().cloned().collect(),
    )))
}

/// The runtime error for a path Jayway cannot compile, in the words AWS uses for paths.
pub fn uncompilable(path: &Path, why: &str) -> ExprError {
    ExprError::runtime(format!("Invalid path '{}' : {why}", path.text))
}

fn index(v: &Value, i: i64) -> Option<&Value> {
    let a = v.as_array()?;
    let idx = if i < 0 { a.len() as i64 + i } else { i };
    if idx < 0 {
        return None;
    }
    a.get(idx as usize)
}

fn children(v: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match v {
        Value::Array(a) => Box::new(a.iter()),
        Value::Object(o) => Box::new(o.values()),
        _ => Box::new(std::iter::empty()),
    }
}

fn member<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    v.as_object()?.get(name)
}

fn apply<'v>(seg: &Segment, n: &'v Value, out: &mut Vec<&'v Value>) {
    match seg {
        Segment::Field(name) => out.extend(member(n, name)),
        Segment::Index(i) => out.extend(index(n, *i)),
        Segment::Wildcard => out.extend(children(n)),
        Segment::Slice { start, end, step } => {
            if let Some(a) = n.as_array() {
                let len = a.len() as i64;
                let step = step.unwrap_or(1);
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                if step > 0 {
                    let mut i = norm(start.unwrap_or(0));
                    let e = norm(end.unwrap_or(len));
                    while i < e {
                        out.push(&a[i as usize]);
                        // A huge step must end the walk, not overflow.
                        i = i.saturating_add(step);
                    }
                } else {
                    let mut i = start.map(norm).unwrap_or(len - 1).min(len - 1);
                    let e = end.map(norm).unwrap_or(-1);
                    while i > e && i >= 0 {
                        out.push(&a[i as usize]);
                        i += step;
                    }
                }
            }
        }
        Segment::Union(sels) => {
            for s in sels {
                match s {
                    Selector::Field(f) => out.extend(member(n, f)),
                    Selector::Index(i) => out.extend(index(n, *i)),
                }
            }
        }
        Segment::Descendant(inner) => {
            let mut stack = vec![n];
            // Pre-order, document order, as Jayway walks.
            let mut order = Vec::new();
            while let Some(x) = stack.pop() {
                order.push(x);
                let kids: Vec<&Value> = children(x).collect();
                stack.extend(kids.into_iter().rev());
            }
            for x in order {
                apply(inner, x, out);
            }
        }
        Segment::Filter(f) => {
            if let Ok(q) = &f.query {
                out.extend(q.query(n).all());
            }
        }
        Segment::Length => {}
    }
}

/// Writes `value` into `doc` at a reference path (`ResultPath`): `$` replaces the document,
/// missing objects on the way are created. Fails when the path crosses a value that is not
/// an object (AWS's `States.ResultPathMatchFailure`).
pub fn set(doc: Value, path: &Path, value: Value) -> Result<Value, ExprError> {
    if path.segments.is_empty() {
        return Ok(value);
    }
    let mut doc = doc;
    let fail = |doc: &Value| ExprError {
        location: None,
        error: "States.ResultPathMatchFailure",
        message: format!(
            "Unable to apply ResultPath \"{}\" to input \"{}\"",
            path.text,
            serde_json::to_string(doc).unwrap_or_default()
        ),
    };
    let snapshot_needed = !doc.is_object();
    if snapshot_needed {
        return Err(fail(&doc));
    }
    {
        let mut cur = &mut doc;
        let last = path.segments.len() - 1;
        // The path crosses a value that is not an object (or an index outside an array).
        let mismatch = || ExprError {
            location: None,
            error: "States.ResultPathMatchFailure",
            message: format!("Unable to apply ResultPath \"{}\" to input", path.text),
        };
        for (i, seg) in path.segments.iter().enumerate() {
            let is_last = i == last;
            match seg {
                Segment::Field(name) => {
                    let Value::Object(map) = cur else {
                        return Err(mismatch());
                    };
                    if is_last {
                        map.insert(name.clone(), value);
                        break;
                    }
                    let entry = map
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if !entry.is_object() && !entry.is_array() {
                        return Err(mismatch());
                    }
                    cur = entry;
                }
                Segment::Index(idx) => {
                    let Value::Array(a) = cur else {
                        return Err(mismatch());
                    };
                    let len = a.len() as i64;
                    let j = if *idx < 0 { len + idx } else { *idx };
                    if j < 0 || j >= len {
                        return Err(mismatch());
                    }
                    if is_last {
                        a[j as usize] = value;
                        break;
                    }
                    cur = &mut a[j as usize];
                }
                _ => {
                    return Err(ExprError::runtime(format!(
                        "ResultPath \"{}\" is not a reference path",
                        path.text
                    )))
                }
            }
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(p: &str, v: &Value) -> Result<Value, Missing> {
        select_in(&Path::parse(p).unwrap(), v).map(Cow::into_owned)
    }

    #[test]
    fn definite_and_indefinite_reads() {
        let doc = json!({"a": {"b": [1, 2, 3]}, "c": [{"x": 1}, {"x": 5}]});
        assert_eq!(sel("$.a.b[1]", &doc), Ok(json!(2)));
        assert_eq!(sel("$.a.b[-1]", &doc), Ok(json!(3)));
        assert_eq!(sel("$.a.nope", &doc), Err(Missing::Value));
        assert_eq!(sel("$.a.b[*]", &doc), Ok(json!([1, 2, 3])));
        assert_eq!(sel("$.a.b[0:2]", &doc), Ok(json!([1, 2])));
        assert_eq!(sel("$.c[?(@.x > 2)]", &doc), Ok(json!([{"x": 5}])));
        assert_eq!(sel("$..x", &doc), Ok(json!([1, 5])));
        assert_eq!(sel("$.nope[*]", &doc), Ok(json!([])));
        assert_eq!(sel("$.a.b.length()", &doc), Ok(json!(3)));
    }

    #[test]
    fn dotted_brackets_read_as_jayway_reads_them() {
        let doc = json!([
            {"bucket": "b1", "key": "k1", "x": 1, "Snapshots": [{"State": "ok"}]},
            {"bucket": "b2", "key": "k2", "x": 2}
        ]);
        for (dotted, plain) in [
            ("$.[0]", "$[0]"),
            ("$.[0].Snapshots.[0].State", "$[0].Snapshots[0].State"),
            ("$.[*].['bucket','key']", "$[*]['bucket','key']"),
            ("$.[?(@.x > 1)]", "$[?(@.x > 1)]"),
        ] {
            assert_eq!(sel(dotted, &doc), sel(plain, &doc), "{dotted}");
        }
        assert_eq!(sel("$.[0].bucket", &doc), Ok(json!("b1")));
        assert_eq!(
            sel("$.[*].['bucket','key']", &doc),
            Ok(json!(["b1", "k1", "b2", "k2"]))
        );
        assert_eq!(sel("$.[1].x ", &doc), Ok(json!(2)));
    }

    #[test]
    fn a_filter_jayway_cannot_compile_fails_every_read() {
        let doc = json!([{"lang": "es"}]);
        let p = Path::parse("$[?(@.lang==es)]").unwrap();
        let Err(Missing::Uncompilable(why)) = select_in(&p, &doc) else {
            panic!("the read should fail");
        };
        assert!(
            why.starts_with("Failed to parse filter: [?(@.lang==es)]"),
            "{why}"
        );
        assert_eq!(
            uncompilable(&p, &why).message,
            format!("Invalid path '$[?(@.lang==es)]' : {why}")
        );
    }

    #[test]
    fn writes_at_reference_paths() {
        let p = Path::parse("$.a.b").unwrap();
        assert_eq!(
            set(json!({"x": 1}), &p, json!(2)).unwrap(),
            json!({"x": 1, "a": {"b": 2}})
        );
        assert_eq!(
            set(json!({"x": 1}), &Path::parse("$").unwrap(), json!(2)).unwrap(),
            json!(2)
        );
        assert!(set(json!("str"), &p, json!(2)).is_err());
    }

    #[test]
    fn huge_slice_steps_do_not_overflow() {
        // Found by fuzzing: `i += step` overflowed.
        let doc = json!({"a": [1, 2, 3]});
        assert_eq!(sel("$.a[1:3:9223372036854775807]", &doc), Ok(json!([2])));
        assert_eq!(sel("$.a[::-9223372036854775808]", &doc), Ok(json!([3])));
    }
}
