//! Runs the TestState calls recorded against AWS (../shared/conformance/asl/test_state) and
//! compares Passo's answers with AWS's: the response (status, output, error, cause,
//! nextState, inspectionData) or the refusal (exception name and message).
//!
//! The recordings were normalised by their recording test (account, region, partition,
//! times, resource names); the same rules are applied to Passo's answer before comparing.
//! API documents are JSON text; both sides are compared parsed, objects without key order.
//!
//! `PASSO_CASE=substring cargo test -p passo-tasks --test test_state_conformance -- --nocapture`
//! prints each difference of the matching cases.

use passo_engine::test_state::{self, Environment, Request, Step};
use passo_engine::Failure;
use passo_tasks::functions::Reply;
use passo_tasks::lambda::{self, Site};
use regex::Regex;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;

/// Floor of the pass rate; it only moves up.
const FLOOR: f64 = 99.0;

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/asl/test_state");
    p.is_dir().then_some(p)
}

fn site() -> Site {
    Site {
        region: "us-east-1".into(),
        account: "000000000000".into(),
        payload_limit: 256 * 1024,
    }
}

/// The functions the recording tests deployed: `return_bytes_str.py` answers "HelloWorld!"
/// whatever it gets; the lambda:invoke test deployed an identity function.
fn function_reply(case_id: &str, event: &Value) -> Reply {
    if case_id.contains("test_base_lambda_task_state") {
        Reply::Ok(br#""HelloWorld!""#.to_vec())
    } else {
        Reply::Ok(event.to_string().into_bytes())
    }
}

/// Runs a real (not mocked) Task call as the recording's Lambda would have answered.
fn invoke(case_id: &str, inv: &passo_engine::driver::Invocation) -> Result<Value, Failure> {
    let request_id = "11111111-2222-3333-4444-555555555555";
    let r = &inv.resource;
    let result = if let Some((name, q)) = lambda::bare_function(r) {
        let reply = function_reply(case_id, &inv.input);
        lambda::bare_result(&site(), r, &name, q.as_deref(), Ok(reply), request_id)
    } else if lambda::is_invoke(r) {
        match lambda::invoke_request(&inv.input) {
            Ok(call) => {
                let event: Value = if call.payload.is_empty() {
                    json!({})
                } else {
                    serde_json::from_slice(&call.payload).unwrap_or(Value::Null)
                };
                let reply = function_reply(case_id, &event);
                lambda::invoke_result(&site(), &call, Ok(reply), request_id, "date")
            }
            Err(e) => Err(e),
        }
    } else {
        passo_tasks::no_integration(r)
    };
    result.map_err(|(error, cause)| Failure {
        error,
        cause,
        from_task: true,
    })
}

/// The request body the recording test sent.
fn api_request(case: &Value) -> Value {
    let mut body = case["request"].as_object().cloned().unwrap_or_default();
    body.insert(
        "definition".into(),
        Value::String(case["definition"].to_string()),
    );
    // Response files keep the input parsed at the top level (absent or null: not sent).
    if let Some(input) = case.get("input").filter(|i| !i.is_null()) {
        body.insert("input".into(), Value::String(input.to_string()));
    }
    let mut body = Value::Object(body);
    // The recorder stored one mock's ARN as the unevaluated Python call that made it; AWS
    // received (and echoed) this ARN.
    if let Some(m) = body.pointer_mut("/mock/result") {
        if let Some(s) = m.as_str() {
            *m = Value::String(s.replace(
                "localstack.utils.aws.arns.stepfunctions_standard_execution_arn()",
                "arn:aws:states:us-east-1:000000000000:execution:TargetStateMachine:TestStartTarget",
            ));
        }
    }
    body
}

/// What Passo answers: the API response body, or (code, message).
fn answer(case: &Value) -> Result<Value, (String, String)> {
    let id = case["id"].as_str().unwrap_or_default();
    let req =
        Request::from_api(&api_request(case)).map_err(|e| (e.code().into(), e.to_string()))?;
    let env = Environment {
        now_ms: 1_764_000_000_000,
        seed: 7,
        region: "us-east-1".into(),
        account: "000000000000".into(),
    };
    let prepared = test_state::prepare(&req, &env).map_err(|e| (e.code().into(), e.to_string()))?;
    let response = match prepared.run(None) {
        Step::Done(r) => r,
        Step::Invoke(inv) => match prepared.run(Some(invoke(id, &inv))) {
            Step::Done(r) => r,
            Step::Invoke(_) => panic!("{id}: a second call was asked for"),
        },
    };
    Ok(response.to_api())
}

/// An API document member: JSON text parsed (the recorder parsed only text starting with
/// `{`, so the expectation may hold either form).
fn doc(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

fn documents(body: &Value) -> Value {
    let mut out = Map::new();
    for (k, v) in body.as_object().into_iter().flatten() {
        match k.as_str() {
            "ResponseMetadata" => {}
            "output" => {
                out.insert(k.clone(), doc(v));
            }
            "inspectionData" => {
                let d: Map<String, Value> = v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, x)| (k.clone(), doc(x)))
                    .collect();
                out.insert(k.clone(), Value::Object(d));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The recording test's normalisation, applied to Passo's answer.
struct Normalizer {
    literal: Vec<(String, String)>,
    keys: Vec<(String, String)>,
    iso: Regex,
}

impl Normalizer {
    fn new(case: &Value) -> Self {
        let mut literal = Vec::new();
        let mut keys = Vec::new();
        for n in case["normalize"].as_array().into_iter().flatten() {
            let rep = n["replacement"].as_str().unwrap_or_default().to_string();
            match n["type"].as_str() {
                Some("regex") => {
                    literal.push((n["pattern"].as_str().unwrap_or_default().to_string(), rep))
                }
                // `$..X` and `$..Parent..X` (non-reference): X's value is replaced.
                Some("jsonpath") if n["reference"] == false => {
                    let path = n["path"].as_str().unwrap_or_default();
                    let key = path.rsplit("..").next().unwrap_or_default();
                    if !key.contains(['.', '[', '$']) {
                        keys.push((key.to_string(), rep));
                    }
                }
                _ => {}
            }
        }
        Normalizer {
            literal,
            keys,
            iso: Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
                .unwrap(),
        }
    }

    fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) if self.iso.is_match(s) => json!("date"),
            Value::String(s) => {
                let mut s = s.clone();
                for (p, r) in &self.literal {
                    s = s.replace(p.as_str(), r);
                }
                Value::String(s)
            }
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| match self.keys.iter().find(|(key, _)| key == k) {
                        Some((_, r)) if !x.is_object() && !x.is_array() => {
                            (k.clone(), Value::String(r.clone()))
                        }
                        _ => (k.clone(), self.value(x)),
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect()),
            other => other.clone(),
        }
    }
}

/// Whether `actual` matches `expected`, where `<resource:N>` and `<uuid:N>` in the
/// expectation stand for names the recorder replaced: each the same string wherever the same
/// placeholder appears (the numbering runs across a test's snapshots, so only consistency
/// counts).
fn matches(expected: &Value, actual: &Value, bound: &mut HashMap<String, String>) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, x)| a.get(k).is_some_and(|y| matches(x, y, bound)))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y, bound))
        }
        (Value::String(e), Value::String(a))
            if e.contains("<resource:") || e.contains("<uuid:") =>
        {
            placeholder_match(e, a, bound)
        }
        (Value::Number(e), Value::Number(a)) => e.as_f64() == a.as_f64(),
        _ => expected == actual,
    }
}

fn placeholder_match(e: &str, a: &str, bound: &mut HashMap<String, String>) -> bool {
    let holder = Regex::new(r"<(resource|uuid):\d+>").unwrap();
    let mut pattern = String::from("^");
    let mut names = Vec::new();
    let mut last = 0;
    for m in holder.find_iter(e) {
        pattern.push_str(&regex::escape(&e[last..m.start()]));
        pattern.push_str("([^:/]+?)");
        names.push(m.as_str().to_string());
        last = m.end();
    }
    pattern.push_str(&regex::escape(&e[last..]));
    pattern.push('$');
    let Some(c) = Regex::new(&pattern).ok().and_then(|r| r.captures(a)) else {
        return false;
    };
    for (i, name) in names.iter().enumerate() {
        let got = c[i + 1].to_string();
        match bound.get(name) {
            Some(v) if *v != got => return false,
            Some(_) => {}
            None => {
                bound.insert(name.clone(), got);
            }
        }
    }
    true
}

/// AWS's refusal: (code, message), from either form the recorder kept. `None` for boto3's
/// own parameter check, which never reached AWS (any refusal then counts).
fn expected_error(case: &Value) -> Option<(String, String)> {
    if let (Some(c), Some(m)) = (
        case["expected_error_code"].as_str(),
        case["expected_error_message"].as_str(),
    ) {
        return Some((c.into(), m.into()));
    }
    let text = case["expected_error"].as_str()?;
    let re =
        Regex::new(r"^An error occurred \((\w+)\) when calling the TestState operation: (.*)$")
            .unwrap();
    let c = re.captures(text)?;
    Some((c[1].to_string(), c[2].to_string()))
}

fn check(case: &Value) -> Result<(), String> {
    let got = answer(case);
    if case.get("expected_error").is_some() {
        let want = expected_error(case);
        return match (got, want) {
            (Err(g), Some(w)) if g == w => Ok(()),
            (Err(_), None) => Ok(()),
            (g, w) => Err(format!("want error {w:?}\n got {g:?}")),
        };
    }
    let got = match got {
        Ok(g) => g,
        Err(e) => return Err(format!("refused: {e:?}")),
    };
    let norm = Normalizer::new(case);
    let mut expected = documents(&case["expected_response"]);
    let mut actual = norm.value(&documents(&got));
    // The recording test did not verify Lambda's HTTP metadata (headers and request ids).
    strip(&mut expected, &["SdkHttpMetadata", "SdkResponseMetadata"]);
    strip(&mut actual, &["SdkHttpMetadata", "SdkResponseMetadata"]);
    if matches(&expected, &actual, &mut HashMap::new()) {
        Ok(())
    } else {
        Err(format!(
            "want {}\n got {}",
            serde_json::to_string(&expected).unwrap(),
            serde_json::to_string(&actual).unwrap()
        ))
    }
}

fn strip(v: &mut Value, keys: &[&str]) {
    match v {
        Value::Object(m) => {
            for k in keys {
                m.remove(*k);
            }
            m.values_mut().for_each(|x| strip(x, keys));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| strip(x, keys)),
        _ => {}
    }
}

#[test]
fn test_state_calls_recorded_against_aws() {
    let Some(dir) = corpus() else {
        eprintln!("no corpus beside the project: skipped");
        return;
    };
    let only = std::env::var("PASSO_CASE").ok();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut pass, mut total) = (0, 0);
    let mut failures = Vec::new();
    for f in files {
        let case: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let id = case["id"].as_str().unwrap_or_default().to_string();
        if only.as_deref().is_some_and(|o| !id.contains(o)) {
            continue;
        }
        total += 1;
        match check(&case) {
            Ok(()) => pass += 1,
            Err(e) => failures.push((id, e)),
        }
    }
    for (id, e) in &failures {
        if only.is_some() {
            eprintln!("FAIL {id}\n{e}\n");
        } else {
            eprintln!("FAIL {id}");
        }
    }
    let rate = 100.0 * pass as f64 / total.max(1) as f64;
    println!("TestState conformance: {pass}/{total} ({rate:.1}%)");
    if only.is_none() {
        assert_eq!(total, 207, "the corpus holds 207 recorded calls");
        assert!(rate >= FLOOR, "pass rate {rate:.1}% fell below {FLOOR}%");
    }
}
