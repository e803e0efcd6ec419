//! Runs the intrinsic-function cases recorded against real AWS
//! (`shared/conformance/asl/cases/intrinsic_functions.*.json`) through
//! `Template::parse` + `template::eval`.
//!
//! Only what needs no interpreter is evaluated: a machine made of one Pass state whose
//! `Parameters` use intrinsics, with optional InputPath/ResultPath/OutputPath. JSONata cases
//! and anything else are counted as skipped. Expected outputs that the recording test replaced
//! (`States.MathRandom` -> "RandomNumberGenerated", `States.UUID` -> "generated-uuid") are
//! checked by property (an integer in range, a version 4 UUID).

use passo_asl::path::Path;
use passo_asl::template::Template;
use passo_expr::{jsonpath, template, Scope};
use serde_json::{json, Value};
use std::cell::Cell;
use std::path::PathBuf;

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/asl/cases")
}

/// JSON equality with numbers compared by value (`1` == `1.0`) and object keys in order.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        // Key order too: the recordings keep the order AWS produced.
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((k, v), (l, w))| k == l && same(v, w))
        }
        _ => a == b,
    }
}

/// The context object of the recorded execution (names from `environment`).
fn context(case: &Value, input: &Value, state: &str) -> Value {
    let env = &case["environment"];
    let s = |k: &str| env[k].as_str().unwrap_or_default().to_string();
    let (region, account, partition) = (s("region"), s("account_id"), s("partition"));
    let (sm, exec) = (s("state_machine_name"), s("execution_name"));
    json!({
        "Execution": {
            "Id": format!("arn:{partition}:states:{region}:{account}:execution:{sm}:{exec}"),
            "Input": input,
            "StartTime": "2025-01-01T00:00:00.000Z",
            "Name": exec,
            "RoleArn": s("role_arn"),
            "RedriveCount": 0,
        },
        "StateMachine": {
            "Id": format!("arn:{partition}:states:{region}:{account}:stateMachine:{sm}"),
            "Name": sm,
        },
        "State": { "Name": state, "EnteredTime": "2025-01-01T00:00:00.000Z" },
    })
}

/// Applies the case's literal `regex` replacements (names, account, region, partition) to the
/// JSON text of a value, as the snapshot did.
fn normalize(case: &Value, v: &Value) -> Value {
    let mut text = serde_json::to_string(v).unwrap();
    for n in case["normalize"].as_array().into_iter().flatten() {
        if n["type"] == "regex" {
            if let (Some(p), Some(r)) = (n["pattern"].as_str(), n["replacement"].as_str()) {
                text = text.replace(p, r);
            }
        }
    }
    serde_json::from_str(&text).unwrap()
}

fn path(v: &Value) -> Option<Result<Path, String>> {
    v.as_str()
        .map(|s| Path::parse(s).map_err(|e| e.to_string()))
}

enum Outcome {
    Pass,
    Fail(String),
    Skip(&'static str),
}

fn run_case(case: &Value) -> Outcome {
    if case["query_language"] != "JSONPath" {
        return Outcome::Skip("JSONata");
    }
    let def = &case["definition"];
    let states = match def["States"].as_object() {
        Some(s) if s.len() == 1 => s,
        _ => return Outcome::Skip("more than one state"),
    };
    let (name, state) = states.iter().next().unwrap();
    if state["Type"] != "Pass" || state.get("Parameters").is_none() {
        return Outcome::Skip("not a Pass state with Parameters");
    }
    if !serde_json::to_string(&state["Parameters"])
        .unwrap()
        .contains("States.")
    {
        return Outcome::Skip("no intrinsic function");
    }
    let expected = &case["expected"];
    if expected["status"] != "SUCCEEDED" {
        return Outcome::Skip("expected failure (needs the interpreter's cause)");
    }
    let input = match &case["input"] {
        Value::Null => json!({}),
        v => v.clone(),
    };
    let ctx = context(case, &input, name);
    let rng = Cell::new(0x5eed);
    let scope = Scope {
        input: &input,
        context: &ctx,
        vars: &(),
        rng: &rng,
    };

    let tpl = match Template::parse(&state["Parameters"]) {
        Ok(t) => t,
        Err(p) => return Outcome::Fail(format!("template does not parse: {p:?}")),
    };
    let effective = match state.get("InputPath").map(path) {
        None => input.clone(),
        Some(None) => return Outcome::Skip("InputPath null"),
        Some(Some(Err(e))) => return Outcome::Fail(format!("InputPath: {e}")),
        Some(Some(Ok(p))) => match jsonpath::select_in(&p, &input) {
            Ok(v) => v.into_owned(),
            Err(_) => return Outcome::Skip("InputPath names nothing"),
        },
    };
    let result = match template::eval(&tpl, &scope.with_input(&effective)) {
        Ok(v) => v,
        Err(e) => return Outcome::Fail(format!("evaluation failed: {e}")),
    };
    let doc = match state.get("ResultPath").map(path) {
        None => result,
        Some(None) => input.clone(),
        Some(Some(Err(e))) => return Outcome::Fail(format!("ResultPath: {e}")),
        Some(Some(Ok(p))) => match jsonpath::set(input.clone(), &p, result) {
            Ok(v) => v,
            Err(e) => return Outcome::Fail(format!("ResultPath: {e}")),
        },
    };
    let output = match state.get("OutputPath").map(path) {
        None => doc,
        Some(None) => json!({}),
        Some(Some(Err(e))) => return Outcome::Fail(format!("OutputPath: {e}")),
        Some(Some(Ok(p))) => match jsonpath::select_in(&p, &doc) {
            Ok(v) => v.into_owned(),
            Err(_) => return Outcome::Fail("OutputPath names nothing".into()),
        },
    };

    let want = &expected["output"];
    let got = normalize(case, &output);
    match want["FunctionResult"].as_str() {
        Some("RandomNumberGenerated") => {
            let args = &input["FunctionInput"];
            let lo = (args["fst"].as_f64().unwrap() + 0.5).floor() as i64;
            let hi = (args["snd"].as_f64().unwrap() + 0.5).floor() as i64;
            return match got["FunctionResult"].as_i64() {
                Some(n) if (lo..hi).contains(&n) => Outcome::Pass,
                _ => Outcome::Fail(format!("not an integer in [{lo}, {hi}): {got}")),
            };
        }
        Some("generated-uuid") => {
            let u = got["FunctionResult"].as_str().unwrap_or_default();
            let ok = u.len() == 36
                && u.chars().enumerate().all(|(i, c)| match i {
                    8 | 13 | 18 | 23 => c == '-',
                    14 => c == '4',
                    19 => "89ab".contains(c),
                    _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
                });
            return if ok {
                Outcome::Pass
            } else {
                Outcome::Fail(format!("not a version 4 UUID: {u}"))
            };
        }
        _ => {}
    }
    if same(&got, want) {
        Outcome::Pass
    } else {
        Outcome::Fail(format!("expected {want}, got {got}"))
    }
}

#[test]
fn intrinsic_function_cases() {
    let dir = cases_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!(
            "NOTE: {} not found; conformance cases skipped",
            dir.display()
        );
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("intrinsic_functions.") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    let (mut passed, mut failures, mut skips) = (0usize, Vec::new(), Vec::new());
    for f in &files {
        let id = f.file_stem().unwrap().to_string_lossy().into_owned();
        let case: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        match run_case(&case) {
            Outcome::Pass => passed += 1,
            Outcome::Fail(why) => failures.push(format!("{id}: {why}")),
            Outcome::Skip(why) => skips.push(format!("{id}: {why}")),
        }
    }
    let evaluated = passed + failures.len();
    println!(
        "intrinsic conformance: pass {passed}/{evaluated} (skipped {} of {} cases)",
        skips.len(),
        files.len()
    );
    for s in &skips {
        println!("  skip {s}");
    }
    for f in &failures {
        println!("  FAIL {f}");
    }
    assert!(
        passed * 100 >= evaluated * 95,
        "only {passed}/{evaluated} cases pass"
    );
}

/// Order-insensitive for objects (the recorded `assignedVariables` come in AWS's own order).
fn same_unordered(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_unordered(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_unordered(a, b))
        }
        _ => same(a, b),
    }
}

/// `BASE_ASSIGN_FROM_INTRINSIC_FUNCTION` calls 17 of the functions in one Assign; AWS's
/// history records every result (`assignedVariables`), the UUID masked as `<uuid:1>`.
#[test]
fn assign_from_every_intrinsic() {
    let f = cases_dir().join(
        "assign.test_assign_reference_variables.test_assign_from_value.BASE_ASSIGN_FROM_INTRINSIC_FUNCTION.json",
    );
    let Ok(text) = std::fs::read_to_string(&f) else {
        println!("NOTE: {} not found; skipped", f.display());
        return;
    };
    let case: Value = serde_json::from_str(&text).unwrap();
    let state = &case["definition"]["States"]["State0"];
    let input = state["Result"].clone();
    let ctx = context(&case, &input, "State0");
    let rng = Cell::new(1);
    let scope = Scope {
        input: &input,
        context: &ctx,
        vars: &(),
        rng: &rng,
    };
    let tpl = Template::parse(&state["Assign"]).unwrap();
    let mut got = template::eval(&tpl, &scope).unwrap();
    let want = case["expected_history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "PassStateExited")
        .map(|e| e["stateExitedEventDetails"]["assignedVariables"].clone())
        .unwrap();
    let uuid = got["uuidOp"]["uniqueId"].as_str().unwrap().to_string();
    assert_eq!(uuid.len(), 36);
    got["uuidOp"]["uniqueId"] = json!("<uuid:1>");
    assert!(
        same_unordered(&got, &want),
        "expected {want}\n     got {got}"
    );
}
