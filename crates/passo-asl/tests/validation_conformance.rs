//! Validation measured against the shared corpus in `shared/conformance/validation`: the two
//! open-source linters' valid/invalid examples and the definitions AWS itself accepted or
//! rejected (recorded by LocalStack's tests).
//!
//! The corpus lives outside this repository; when it is missing the tests print a note and pass.

use passo_asl::diagnostic::invalid_definition_message;
use passo_asl::parse::{validate_for, MachineType};
use passo_asl::{parse_text, Diagnostic};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/validation");
    if dir.join("index.json").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "note: {} is missing; validation conformance not checked",
            dir.display()
        );
        None
    }
}

/// Definitions in `valid/` that AWS itself rejects, with the reason. The linters accept them
/// for reasons of their own (see the corpus README). We must reject them too.
const AWS_REJECTS: &[(&str, &str)] = &[
    (
        "valid/asl-validator__valid-task-credentials.json",
        "Credentials without RoleArn (AWS: 'The field 'RoleArn' is required but was missing', \
         aws_recorded/credentials.*)",
    ),
    (
        "valid/statelint__task-with-credentials.json",
        "Credentials with 'roleArn' instead of 'RoleArn' (see aws_recorded/credentials.*)",
    ),
    (
        "valid/asl-validator__valid-map-with-item-batcher-jsonata.json",
        "a JSONPath state inside a JSONata machine (AWS: ''QueryLanguage' can not be 'JSONPath' \
         if set to 'JSONata' for whole state machine', aws_recorded/*INVALID_DOWNGRADE*)",
    ),
    (
        "valid/statelint-statenode__should-use-default-field-correctly.json",
        "a Choice rule with a Variable but no comparison operator (statelint's StateNode spec \
         only checks the graph)",
    ),
    (
        "valid/asl-validator__valid-path-array-context.json",
        "the script expression `$[(@.length-1)]` is not part of Jayway JSONPath, which AWS uses \
         (asl-validator uses jsonpath-plus)",
    ),
];

/// Definitions in `invalid/` that AWS accepts, with the evidence. The linters reject them for
/// rules of their own; we must accept them.
const AWS_ACCEPTS: &[(&str, &str)] = &[
    (
        "invalid/asl-validator__invalid-jsonata-surround-syntax-no-spaces.json",
        "`{%10%}`: AWS accepts any whitespace, none included, inside `{% %}` (published \
         definitions in shared/conformance/wild write `{%$states.input %}`, `{% $x%}`)",
    ),
    (
        "invalid/asl-validator__invalid-json-surround-syntax-extra-spaces.json",
        "`{% \\n10         %}`: AWS accepts any whitespace inside `{% %}` (see above)",
    ),
];

/// A Task `Resource` AWS accepts in place of the linters' placeholders (`foo:bar`, unsubstituted
/// CloudFormation `${...}`, `Fn::GetAtt` objects).
const PLACEHOLDER_RESOURCE: &str = "arn:aws:lambda:us-east-1:123456789012:function:placeholder";

/// Replaces every Task `Resource` that is not an ARN; true if any was replaced.
fn replace_placeholder_resources(v: &mut Value) -> bool {
    let mut replaced = false;
    match v {
        Value::Object(m) => {
            if m.get("Type").and_then(Value::as_str) == Some("Task") {
                let arn = m
                    .get("Resource")
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.starts_with("arn:") && !r.contains("${"));
                if !arn {
                    m.insert(
                        "Resource".into(),
                        Value::String(PLACEHOLDER_RESOURCE.into()),
                    );
                    replaced = true;
                }
            }
            for x in m.values_mut() {
                replaced |= replace_placeholder_resources(x);
            }
        }
        Value::Array(a) => {
            for x in a {
                replaced |= replace_placeholder_resources(x);
            }
        }
        _ => {}
    }
    replaced
}

/// Parses and validates text; the problems (empty when AWS-valid).
fn check_text(text: &str, kind: MachineType) -> Vec<Diagnostic> {
    match parse_text(text) {
        Ok(v) => validate_for(&v, kind),
        Err(d) => vec![d],
    }
}

/// A fragment that is not a whole machine (statelint's StateNode spec checks single states'
/// Retry/Catch blocks): wrap its fields into a Task of a one-state machine, and report only
/// the problems found inside the fragment's own fields.
fn check_fragment(v: &Value) -> Vec<Diagnostic> {
    let mut state =
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true});
    let fields: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    for (k, x) in v.as_object().into_iter().flatten() {
        state[k] = x.clone();
    }
    let machine = json!({"StartAt": "S", "States": {"S": state}});
    validate_for(&machine, MachineType::Standard)
        .into_iter()
        .filter(|d| {
            fields
                .iter()
                .any(|f| d.location.starts_with(&format!("/States/S/{f}")))
        })
        .collect()
}

fn is_whole_machine(v: &Value) -> bool {
    v.get("StartAt").is_some() || v.get("States").is_some()
}

struct Tally {
    name: &'static str,
    good: usize,
    total: usize,
    misses: Vec<String>,
}

impl Tally {
    fn new(name: &'static str) -> Self {
        Tally {
            name,
            good: 0,
            total: 0,
            misses: Vec::new(),
        }
    }

    fn add(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.total += 1;
        if ok {
            self.good += 1;
        } else {
            self.misses.push(what());
        }
    }

    fn print(&self) {
        println!("{}: {}/{}", self.name, self.good, self.total);
        for m in &self.misses {
            println!("    miss: {m}");
        }
    }
}

fn short(d: &[Diagnostic]) -> String {
    d.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The AWS error code a recording carries, if any (`expected_error_code`, or the code in a
/// botocore exception text `An error occurred (Code) when ...`).
fn recorded_code(rec: &Value) -> Option<String> {
    if let Some(c) = rec["expected_error_code"].as_str() {
        return Some(c.to_string());
    }
    let text = rec["expected_error"].as_str()?;
    let start = text.find("An error occurred (")? + "An error occurred (".len();
    let end = text[start..].find(')')? + start;
    Some(text[start..end].to_string())
}

/// AWS's InvalidDefinition message, when recorded (and recorded against AWS, not LocalStack).
fn recorded_message(rec: &Value) -> Option<String> {
    if rec["source"]["trust"] != "aws" {
        return None;
    }
    if let Some(m) = rec["expected_error_message"].as_str() {
        return Some(m.to_string());
    }
    let text = rec["expected_error"].as_str()?;
    let at = text.find("Invalid State Machine Definition: ")?;
    Some(text[at..].to_string())
}

fn machine_type(rec: &Value) -> MachineType {
    if rec["request"]["type"] == "EXPRESS" {
        MachineType::Express
    } else {
        MachineType::Standard
    }
}

fn definition_text(rec: &Value) -> String {
    match rec.get("definition_raw").and_then(Value::as_str) {
        Some(raw) => raw.to_string(),
        None => match &rec["definition"] {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        },
    }
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files
}

#[test]
fn validation_matches_aws_on_the_corpus() {
    let Some(dir) = corpus() else { return };
    let index: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();

    let mut valid = Tally::new("valid accepted");
    let mut invalid = Tally::new("invalid rejected");
    let mut aws_rejects = Tally::new("valid/ files AWS rejects, rejected");
    let mut aws_accepts = Tally::new("invalid/ files AWS accepts, accepted");
    let mut skipped = Vec::new();
    for rec in &index {
        let file = rec["file"].as_str().unwrap();
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let value = parse_text(&text).ok();
        let whole = value.as_ref().is_some_and(is_whole_machine);
        if rec["valid"] == true {
            if let Some((_, why)) = AWS_REJECTS.iter().find(|(f, _)| *f == file) {
                skipped.push(format!("{file}: AWS rejects it: {why}"));
                let d = check_text(&text, MachineType::Standard);
                aws_rejects.add(!d.is_empty(), || file.to_string());
                continue;
            }
            if !whole {
                skipped.push(format!("{file}: a fragment, not a whole machine"));
                continue;
            }
            let mut v = value.clone().unwrap();
            let d = if replace_placeholder_resources(&mut v) {
                // AWS rejects the linter's placeholder Resource; the rest must be accepted.
                let as_is = check_text(&text, MachineType::Standard);
                aws_rejects.add(!as_is.is_empty(), || format!("{file} (Resource)"));
                skipped.push(format!(
                    "{file}: AWS rejects its Task Resource (not an ARN); checked with {PLACEHOLDER_RESOURCE}"
                ));
                validate_for(&v, MachineType::Standard)
            } else {
                check_text(&text, MachineType::Standard)
            };
            valid.add(d.is_empty(), || format!("{file}: {}", short(&d)));
        } else if let Some((_, why)) = AWS_ACCEPTS.iter().find(|(f, _)| *f == file) {
            skipped.push(format!("{file}: AWS accepts it: {why}"));
            let d = check_text(&text, MachineType::Standard);
            aws_accepts.add(d.is_empty(), || format!("{file}: {}", short(&d)));
        } else {
            let d = match (&value, whole) {
                (Some(v), false) => check_fragment(v),
                _ => check_text(&text, MachineType::Standard),
            };
            invalid.add(!d.is_empty(), || {
                format!(
                    "{file}: expected {}",
                    rec["expected_problem"].as_str().unwrap_or("?")
                )
            });
        }
    }

    let mut aws_rejected = Tally::new("aws_recorded InvalidDefinition rejected");
    let mut aws_ok = Tally::new("aws_recorded ValidateStateMachineDefinition OK accepted");
    let mut aws_other = Tally::new("aws_recorded other errors (definition not at fault) accepted");
    for path in read_dir_sorted(&dir.join("aws_recorded")) {
        let rec: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let d = check_text(&definition_text(&rec), machine_type(&rec));
        let result = rec["expected_response"]["result"].as_str();
        match (result, recorded_code(&rec).as_deref()) {
            (Some("OK"), _) => aws_ok.add(d.is_empty(), || format!("{name}: {}", short(&d))),
            (Some(_), _) | (None, Some("InvalidDefinition")) => {
                aws_rejected.add(!d.is_empty(), || name.clone())
            }
            (None, _) => aws_other.add(d.is_empty(), || format!("{name}: {}", short(&d))),
        }
    }

    for s in &skipped {
        println!("skipped: {s}");
    }
    valid.print();
    aws_rejects.print();
    aws_accepts.print();
    invalid.print();
    aws_rejected.print();
    aws_ok.print();
    aws_other.print();

    assert!(valid.misses.is_empty(), "valid definitions rejected");
    assert!(
        aws_rejects.misses.is_empty(),
        "AWS-rejected definitions accepted"
    );
    assert!(
        aws_accepts.misses.is_empty(),
        "AWS-accepted definitions rejected"
    );
    assert!(
        aws_ok.misses.is_empty(),
        "AWS-accepted definitions rejected"
    );
    assert!(
        aws_other.misses.is_empty(),
        "AWS-accepted definitions rejected"
    );
    let rejected = invalid.good + aws_rejected.good;
    let total = invalid.total + aws_rejected.total;
    assert!(
        rejected * 100 >= total * 95,
        "only {rejected}/{total} invalid definitions rejected"
    );
}

/// Where AWS recorded its exact InvalidDefinition message (or ValidateStateMachineDefinition
/// diagnostics), ours must read the same.
#[test]
fn messages_match_aws_wording() {
    let Some(dir) = corpus() else { return };
    let mut checked = 0;
    let mut wrong = Vec::new();
    for path in read_dir_sorted(&dir.join("aws_recorded")) {
        let rec: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let d = check_text(&definition_text(&rec), machine_type(&rec));
        if let Some(diags) = rec["expected_response"]["diagnostics"].as_array() {
            if rec["expected_response"]["result"] != "FAIL" {
                continue;
            }
            // The parser's own wording for text that is not JSON cannot match Jackson's.
            if diags
                .iter()
                .any(|x| x["code"] == "INVALID_JSON_DESCRIPTION")
            {
                continue;
            }
            checked += 1;
            let want: Vec<(String, String, String)> = diags
                .iter()
                .map(|x| {
                    (
                        x["code"].as_str().unwrap_or("").to_string(),
                        x["location"].as_str().unwrap_or("").to_string(),
                        x["message"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect();
            let got: Vec<(String, String, String)> = d
                .iter()
                .map(|x| {
                    (
                        x.code.as_str().to_string(),
                        x.location.clone(),
                        x.message.clone(),
                    )
                })
                .collect();
            if want != got {
                wrong.push(format!("{name}:\n  want {want:?}\n  got  {got:?}"));
            }
        } else if recorded_code(&rec).as_deref() == Some("InvalidDefinition") {
            let Some(want) = recorded_message(&rec) else {
                continue;
            };
            checked += 1;
            // LocalStack's snapshots hide the partition.
            let want = want.replace("arn:<partition>:", "arn:aws:");
            let got = invalid_definition_message(&d);
            if want != got {
                wrong.push(format!("{name}:\n  want {want}\n  got  {got}"));
            }
        }
    }
    println!(
        "AWS messages checked: {checked}, different: {}",
        wrong.len()
    );
    for w in &wrong {
        println!("{w}");
    }
    assert!(wrong.is_empty(), "messages differ from AWS's");
}

/// Every definition AWS created and ran in the recorded executions (`../asl/cases`) must be
/// accepted: a guard against rules stricter than AWS's.
#[test]
fn definitions_aws_executed_are_accepted() {
    let Some(dir) = corpus() else { return };
    let cases = dir.join("../asl/cases");
    let mut tally = Tally::new("asl/cases definitions AWS executed, accepted");
    for path in read_dir_sorted(&cases) {
        let rec: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let d = check_text(&definition_text(&rec), machine_type(&rec));
        tally.add(d.is_empty(), || format!("{name}: {}", short(&d)));
    }
    tally.print();
    assert!(tally.misses.is_empty(), "definitions AWS ran are rejected");
}
