//! The reading part of every recorded AWS case with an ItemReader
//! (`../shared/conformance/asl/cases`, those whose definition has one): the objects the
//! recorder put in the bucket (`setup_calls`) are read with Passo's readers, and the items
//! are compared with what AWS handed the Map: the Map's output (each child is a Pass, so the
//! items come back unchanged; batched cases are unbatched), or AWS's error and cause.
//!
//! The ItemReader is evaluated here with a few forms only (`"X.$": "$.Field"`, `"$var"` set by
//! a literal `Assign`, `{% $states.input.Field %}`, `{% ... N %}`): evaluating it in general is
//! the engine's job. `NAME=part cargo test ...` runs only the cases whose id contains `part`.

use passo_tasks::item_reader::{self, ItemReader, ReaderError};
use passo_tasks::s3::ObjectInfo;
use serde_json::{Map, Value};
use std::path::PathBuf;

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/asl/cases")
}

/// The first Map state with an ItemReader, anywhere in the definition.
fn find_map(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(o) => {
            if o.get("Type") == Some(&Value::String("Map".into())) && o.contains_key("ItemReader") {
                return Some(v);
            }
            o.values().find_map(find_map)
        }
        Value::Array(a) => a.iter().find_map(find_map),
        _ => None,
    }
}

/// A variable's value from a literal `Assign` anywhere in the definition.
fn assigned(def: &Value, name: &str) -> Option<Value> {
    match def {
        Value::Object(o) => {
            if let Some(v) = o.get("Assign").and_then(|a| a.get(name)) {
                return Some(v.clone());
            }
            o.values().find_map(|v| assigned(v, name))
        }
        Value::Array(a) => a.iter().find_map(|v| assigned(v, name)),
        _ => None,
    }
}

/// The few expression forms these cases use.
fn eval(expr: &Value, input: &Value, def: &Value) -> Value {
    let Some(s) = expr.as_str() else {
        return expr.clone();
    };
    if let Some(field) = s.strip_prefix("$.") {
        return input[field].clone();
    }
    if let Some(var) = s.strip_prefix('$') {
        return assigned(def, var).unwrap_or(Value::Null);
    }
    if let Some(body) = s.strip_prefix("{%").and_then(|b| b.strip_suffix("%}")) {
        let body = body.trim();
        if let Some(field) = body.strip_prefix("$states.input.") {
            return input[field].clone();
        }
        let last = body.rsplit([' ', '=']).next().unwrap_or(body);
        if let Ok(n) = last.parse::<i64>() {
            return Value::from(n);
        }
    }
    expr.clone()
}

/// The evaluated `Parameters`/`Arguments` and `ReaderConfig`.
fn evaluate(reader: &Value, input: &Value, def: &Value) -> (Value, Value) {
    let mut params = Map::new();
    let raw = reader.get("Parameters").or(reader.get("Arguments"));
    for (k, v) in raw.and_then(Value::as_object).into_iter().flatten() {
        match k.strip_suffix(".$") {
            Some(name) => params.insert(name.to_owned(), eval(v, input, def)),
            None => params.insert(k.clone(), eval(v, input, def)),
        };
    }
    let mut rc = reader
        .get("ReaderConfig")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(path) = rc.remove("MaxItemsPath") {
        rc.insert("MaxItems".into(), eval(&path, input, def));
    }
    if let Some(v) = rc.get("MaxItems").cloned() {
        rc.insert("MaxItems".into(), eval(&v, input, def));
    }
    (Value::Object(params), Value::Object(rc))
}

/// The objects the recorder put, as (bucket, key, body).
fn objects(case: &Value) -> Vec<(String, String, String)> {
    let calls = case["setup_calls"].as_array().cloned().unwrap_or_default();
    calls
        .iter()
        .filter(|c| c["op"] == "put_object")
        .map(|c| {
            let a = &c["args"];
            let s = |f: &str| a[f].as_str().unwrap_or_default().to_owned();
            (s("Bucket"), s("Key"), s("Body"))
        })
        .collect()
}

fn read_items(case: &Value) -> Result<Vec<Value>, ReaderError> {
    let def = &case["definition"];
    let map = find_map(def).expect("a Map with an ItemReader");
    let ir = &map["ItemReader"];
    let (params, rc) = evaluate(ir, &case["input"], def);
    let resource = ir["Resource"].as_str().unwrap_or_default();
    let reader = ItemReader::parse(resource, Some(&rc), &params)?;
    let objects = objects(case);
    match &reader.source {
        item_reader::Source::GetObject { bucket, key, .. } => {
            let body = objects
                .iter()
                .find(|(b, k, _)| b == bucket && k == key)
                .map(|(_, _, body)| body.clone())
                .ok_or_else(|| ReaderError::S3("The specified key does not exist.".into()))?;
            item_reader::open(&reader, std::io::Cursor::new(body))?.collect()
        }
        item_reader::Source::ListObjects { bucket, prefix } => {
            let mut infos: Vec<ObjectInfo> = objects
                .iter()
                .filter(|(b, k, _)| b == bucket && k.starts_with(prefix.as_str()))
                .map(|(_, k, body)| ObjectInfo {
                    key: k.clone(),
                    size: body.len() as u64,
                    etag: "\"etag\"".into(),
                    last_modified: chrono::Utc::now(),
                    content_type: String::new(),
                    metadata: Default::default(),
                })
                .collect();
            infos.sort_by(|a, b| a.key.cmp(&b.key));
            item_reader::listing::objects(&reader, infos.into_iter().map(Ok)).collect()
        }
    }
}

/// The items AWS handed the Map, from its output (unbatched when the Map batched them).
fn recorded_items(case: &Value) -> Vec<Value> {
    let out = case["expected"]["output"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let batched = find_map(&case["definition"]).is_some_and(|m| m.get("ItemBatcher").is_some());
    if batched {
        out.iter()
            .flat_map(|b| b["Items"].as_array().cloned().unwrap_or_default())
            .collect()
    } else {
        out
    }
}

/// Equal, keys in the same order; the listing case's test rewrote Etag and LastModified
/// (`<Etag-...>`, `<date>`), so those are only required to be there.
fn same(ours: &[Value], aws: &[Value]) -> bool {
    ours.len() == aws.len()
        && ours.iter().zip(aws).all(|(o, a)| {
            let loose = a
                .get("Etag")
                .and_then(Value::as_str)
                .is_some_and(|e| e.starts_with("<Etag"));
            if !loose {
                // As text: `Value`'s equality ignores key order, AWS's order is part of the record.
                return text(o) == text(a);
            }
            ["Key", "Size", "StorageClass"].iter().all(|f| o[f] == a[f])
                && o.get("Etag").is_some()
                && o.get("LastModified").is_some()
        })
}

fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[test]
fn recorded_item_reader_cases() {
    let filter = std::env::var("NAME").unwrap_or_default();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("the recorded cases in ../shared/conformance/asl/cases")
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let (mut total, mut passed) = (0, 0);
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains("ItemReader") {
            continue;
        }
        let case: Value = serde_json::from_str(&text).unwrap();
        let id = case["id"].as_str().unwrap_or_default().to_owned();
        if !id.contains(&filter) || find_map(&case["definition"]).is_none() {
            continue;
        }
        total += 1;
        let expected = &case["expected"];
        let got = read_items(&case);
        let ok = match (&got, expected["status"].as_str()) {
            (Err(e), Some("FAILED")) => {
                e.aws_name() == expected["error"] && e.cause() == expected["cause"]
            }
            (Ok(items), Some("SUCCEEDED")) => same(items, &recorded_items(&case)),
            _ => false,
        };
        if ok {
            passed += 1;
        } else {
            println!("MISMATCH {id}: ours {got:?}; AWS {expected}");
        }
    }
    println!("ItemReader cases: {passed}/{total} items as recorded");
    if filter.is_empty() {
        assert_eq!(total, 25, "the recorded cases with an ItemReader");
        assert!(passed >= 25, "{passed}/{total}");
    }
}
