//! The JSONata reference test suite (../shared/conformance/jsonata) on Passo's JSONata layer.
//! Prints the pass rate; `PASSO_CASE=group/name` runs matching cases and prints differences.

use passo_expr::jsonata::{Evaluate, Jsonata, Limits};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn suite() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/jsonata");
    p.exists().then_some(p)
}

/// Deep equality with numbers compared as doubles; `unordered` compares top-level arrays as
/// multisets.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || ((x - y).abs() <= 1e-9 * x.abs().max(y.abs()))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn unordered_same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            let mut used = vec![false; y.len()];
            x.iter().all(
                |p| match (0..y.len()).find(|&i| !used[i] && same(p, &y[i])) {
                    Some(i) => {
                        used[i] = true;
                        true
                    }
                    None => false,
                },
            )
        }
        _ => same(a, b),
    }
}

fn run_case(dir: &Path, root: &Path, case: &Value) -> Result<(), String> {
    let expr = match (case.get("expr"), case.get("expr-file")) {
        (Some(Value::String(e)), _) => e.clone(),
        (_, Some(Value::String(f))) => {
            std::fs::read_to_string(dir.join(f)).map_err(|e| e.to_string())?
        }
        _ => return Err("no expression".into()),
    };
    let data: Option<Value> = match (case.get("data"), case.get("dataset")) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(Value::String(name))) => {
            let text = std::fs::read_to_string(root.join(format!("datasets/{name}.json")))
                .map_err(|e| e.to_string())?;
            Some(serde_json::from_str(&text).map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    let bindings: Vec<(String, Value)> = case
        .get("bindings")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let refs: Vec<(&str, &Value)> = bindings.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut limits = Limits::default();
    if let Some(t) = case.get("timelimit").and_then(Value::as_u64) {
        limits.timeout_ms = t;
    }
    if let Some(d) = case.get("depth").and_then(Value::as_u64) {
        limits.max_depth = d as usize;
    }
    let expected_code = case.get("code").and_then(Value::as_str).or_else(|| {
        case.get("error")
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
    });
    let outcome = Jsonata::parse(&expr)
        .map_err(|m| {
            (
                m.split(':')
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("Parse error")
                    .trim()
                    .to_string(),
                m,
            )
        })
        .and_then(|j| {
            j.eval(data.as_ref(), &refs, limits)
                .map_err(|e| (e.code.clone().unwrap_or_default(), e.message))
        });
    match (outcome, expected_code) {
        (Err((code, msg)), Some(want)) => {
            if code == want || msg.contains(want) {
                Ok(())
            } else {
                Err(format!("error {code} ({msg}), expected {want}"))
            }
        }
        (Err((code, msg)), None) => Err(format!("unexpected error {code}: {msg}")),
        (Ok(got), Some(want)) => Err(format!("expected error {want}, got {got:?}")),
        (Ok(got), None) => {
            if case.get("undefinedResult") == Some(&Value::Bool(true)) {
                return if got.is_none() {
                    Ok(())
                } else {
                    Err(format!("expected undefined, got {got:?}"))
                };
            }
            let want = case.get("result").ok_or("case has no outcome")?;
            let unordered = case.get("unordered") == Some(&Value::Bool(true));
            match got {
                Some(g) if (unordered && unordered_same(&g, want)) || same(&g, want) => Ok(()),
                other => Err(format!("got {other:?}, expected {want}")),
            }
        }
    }
}

#[test]
fn reference_suite() {
    let Some(root) = suite() else {
        eprintln!("JSONata suite not found; skipping");
        return;
    };
    let filter = std::env::var("PASSO_CASE").ok();
    let mut groups: Vec<PathBuf> = std::fs::read_dir(root.join("groups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    groups.sort();
    let (mut total, mut passed) = (0usize, 0usize);
    let mut misses = Vec::new();
    for g in groups {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&g)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            let name = format!(
                "{}/{}",
                g.file_name().unwrap().to_string_lossy(),
                f.file_stem().unwrap().to_string_lossy()
            );
            if filter.as_deref().is_some_and(|x| !name.contains(x)) {
                continue;
            }
            // A few case files hold lone UTF-16 surrogates (`\ud800`) that JSON parsers in Rust
            // refuse; they count as misses.
            let v: Value = match serde_json::from_str(&std::fs::read_to_string(&f).unwrap()) {
                Ok(v) => v,
                Err(e) => {
                    total += 1;
                    misses.push(format!("{name}: case file not readable as JSON here: {e}"));
                    continue;
                }
            };
            let cases = match v {
                Value::Array(a) => a,
                other => vec![other],
            };
            for (i, c) in cases.iter().enumerate() {
                total += 1;
                match run_case(&g, &root, c) {
                    Ok(()) => passed += 1,
                    Err(why) => misses.push(format!(
                        "{name}[{i}]: {}",
                        why.chars().take(200).collect::<String>()
                    )),
                }
            }
        }
    }
    for m in &misses {
        println!("MISS {m}");
    }
    let rate = passed as f64 * 100.0 / total.max(1) as f64;
    println!("JSONata reference suite: {passed}/{total} ({rate:.1}%)");
    if filter.is_none() {
        assert!(
            rate >= 99.0,
            "JSONata suite pass rate {rate:.1}% is below 99%"
        );
    }
}
