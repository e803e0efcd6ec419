//! `passo test`: runs the cases of test files on virtual time and reports, with a diff for
//! every case that does not end as expected.
//!
//! A test file (YAML or JSON):
//!
//! ```yaml
//! definition: account-application.asl.json   # a path (from the test file) or the definition
//! mock_config: MockConfigFile.json            # optional: Step Functions Local's format
//! cases:
//!   - name: approves a valid application
//!     input: {name: Ada}
//!     test_case: HappyPath                    # a test case of mock_config, and/or
//!     mocks:                                  # mocks written here: state -> response, or a
//!       CheckName: {Return: {ok: true}}       # list of responses, one per attempt
//!       Approve: [{Throw: {Error: Busy}}, {Return: {approved: true}}]
//!     routes:                                 # optional: where this case's Tasks go, as
//!       - {state: Archive, to: "http://127.0.0.1:5000"}   # passo.toml's [[routes]]
//!     expect:
//!       output: {approved: true}              # or error / cause (status FAILED)
//!       path: [CheckName, Approve]            # optional: the states entered, in order
//! ```
//!
//! States no mock answers run for real: the project's functions, HTTP tasks and nested
//! state machines (passo.toml), and AWS services where `[aws]`, the environment or a route
//! sends them, as in `passo run`. A case's `routes` come before the project's.

use crate::run::LocalTasks;
use passo_engine::driver::{self, RunOptions};
use passo_engine::mock::Mocks;
use passo_engine::{ExecutionInfo, Status};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Test files (YAML or JSON), each with a definition and its cases.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Also write a JUnit XML report to FILE (for CI).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Run only the cases whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// The project file for states no mock answers (default: ./passo.toml if any).
    #[arg(long, value_name = "FILE")]
    project: Option<PathBuf>,
}

/// How one case ended.
struct CaseReport {
    name: String,
    seconds: f64,
    /// Why it failed (None: passed).
    failure: Option<String>,
}

struct FileReport {
    file: String,
    cases: Vec<CaseReport>,
}

fn read_doc(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    passo_asl::parse_text(&text).map_err(|d| format!("{}: {}", path.display(), d.message))
}

/// A field that is either a file (relative to the test file) or the value itself.
fn file_or_value(v: &Value, base: &Path) -> Result<Value, String> {
    match v {
        Value::String(p) => read_doc(&base.join(p)),
        other => Ok(other.clone()),
    }
}

/// Mocks written in a case: `{State: response | [response, ...]}` as a MockConfigFile's
/// test case, merged over the file's MockConfigFile test case if the case names one.
fn case_mocks(
    config: Option<&Value>,
    case: &Value,
    machine_name: &str,
) -> Result<Option<Mocks>, String> {
    let inline = case.get("mocks").and_then(Value::as_object);
    let test_case = case.get("test_case").and_then(Value::as_str);
    if inline.is_none() && test_case.is_none() {
        return Ok(None);
    }
    let mut states = Map::new();
    let mut responses = Map::new();
    let mut machine = None;
    if let Some(tc) = test_case {
        let cfg = config
            .ok_or_else(|| format!("test_case '{tc}' needs a mock_config in the test file"))?;
        let machines = cfg.get("StateMachines").and_then(Value::as_object);
        // The machine of the mock file: the definition's name, else the only one.
        let name = match machines {
            Some(m) if m.contains_key(machine_name) => machine_name.to_string(),
            Some(m) if m.len() == 1 => m.keys().next().cloned().unwrap_or_default(),
            _ => machine_name.to_string(),
        };
        Mocks::from_config(cfg, Some(&name), tc).map_err(|e| e.to_string())?;
        if let Some(Value::Object(m)) = cfg.pointer(&format!(
            "/StateMachines/{}/TestCases/{}",
            name.replace('~', "~0").replace('/', "~1"),
            tc.replace('~', "~0").replace('/', "~1")
        )) {
            states = m.clone();
        }
        if let Some(Value::Object(r)) = cfg.get("MockedResponses") {
            responses = r.clone();
        }
        machine = Some(name);
    }
    for (state, r) in inline.into_iter().flatten() {
        let key = format!("passo-test:{state}");
        let attempts: Map<String, Value> = match r {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, x)| (i.to_string(), x.clone()))
                .collect(),
            single => [("0".to_string(), single.clone())].into_iter().collect(),
        };
        responses.insert(key.clone(), Value::Object(attempts));
        states.insert(state.clone(), Value::String(key));
    }
    let name = machine.unwrap_or_else(|| machine_name.to_string());
    let cfg = json!({
        "StateMachines": {name.clone(): {"TestCases": {"case": states}}},
        "MockedResponses": responses,
    });
    Mocks::from_config(&cfg, Some(&name), "case")
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Pretty JSON lines of `expected` and `actual` as a unified diff.
fn diff(what: &str, expected: &Value, actual: &Value) -> String {
    let e = serde_json::to_string_pretty(expected).unwrap_or_default();
    let a = serde_json::to_string_pretty(actual).unwrap_or_default();
    let d = similar::TextDiff::from_lines(&e, &a);
    let mut out = format!("{what} differs (- expected, + actual):\n");
    for change in d.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "-",
            similar::ChangeTag::Insert => "+",
            similar::ChangeTag::Equal => " ",
        };
        out.push_str(&format!("{sign} {}", change.value()));
        if !change.value().ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Runs one case; answers why it failed, if it did.
fn run_case(
    machine: &Arc<passo_asl::StateMachine>,
    machine_name: &str,
    config: Option<&Value>,
    case: &Value,
    integrations: &passo_tasks::Integrations,
    io: &tokio::runtime::Runtime,
) -> Result<(), String> {
    let mocks = case_mocks(config, case, machine_name)?;
    let input = case.get("input").cloned().unwrap_or_else(|| json!({}));
    let info = ExecutionInfo::local(machine_name, 1_700_000_000_000, 0x5eed);
    let arn = info.execution_arn.clone();
    let mut local = LocalTasks::new(mocks, integrations, io, &arn);
    if let Some(r) = case.get("routes") {
        local.routes = Arc::new(passo_tasks::routes::Routes::parse(r, "routes")?);
    }
    let run = driver::run(
        machine.clone(),
        info,
        input,
        &RunOptions::default(),
        &mut |inv| local.answer(inv, &arn, 0),
    );
    let o = &run.outcome;
    let expect = case.get("expect").cloned().unwrap_or_else(|| json!({}));
    let want_status = match expect.get("status").and_then(Value::as_str) {
        Some(s) => s.to_string(),
        None if expect.get("error").is_some() || expect.get("cause").is_some() => "FAILED".into(),
        None => "SUCCEEDED".into(),
    };
    let mut problems = Vec::new();
    if o.status.as_str() != want_status {
        let mut p = format!("status {} (expected {want_status})", o.status.as_str());
        if o.status != Status::Succeeded {
            p.push_str(&format!(
                ": error {} cause {}",
                o.error.as_deref().unwrap_or("-"),
                o.cause.as_deref().unwrap_or("-")
            ));
        }
        problems.push(p);
    }
    if let Some(want) = expect.get("output") {
        let got = o.output.clone().unwrap_or(Value::Null);
        if &got != want {
            problems.push(diff("output", want, &got));
        }
    }
    for (key, got) in [("error", &o.error), ("cause", &o.cause)] {
        if let Some(want) = expect.get(key) {
            let got = got.clone().map(Value::String).unwrap_or(Value::Null);
            if &got != want {
                problems.push(format!("{key} {got} (expected {want})"));
            }
        }
    }
    if let Some(want) = expect.get("path") {
        let entered: Vec<Value> = run
            .history
            .iter()
            .map(|e| e.to_json())
            .filter(|e| {
                e["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("StateEntered"))
            })
            .map(|e| e["stateEnteredEventDetails"]["name"].clone())
            .collect();
        let got = Value::Array(entered);
        if &got != want {
            problems.push(diff("path", want, &got));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn run_file(
    path: &Path,
    filter: Option<&str>,
    integrations: &passo_tasks::Integrations,
    io: &tokio::runtime::Runtime,
) -> Result<FileReport, String> {
    let doc = read_doc(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let def_field = doc
        .get("definition")
        .ok_or_else(|| format!("{}: the field 'definition' is required", path.display()))?;
    let definition = file_or_value(def_field, base)?;
    let machine = passo_asl::parse(&definition).map_err(|d| {
        format!(
            "{}: the definition is not valid: {}",
            path.display(),
            passo_asl::invalid_definition_message(&d)
        )
    })?;
    let machine = Arc::new(machine);
    let machine_name = match def_field {
        Value::String(p) => Path::new(p)
            .file_stem()
            .and_then(|s| s.to_str())
            .map(|s| s.split('.').next().unwrap_or(s).to_string()),
        _ => None,
    }
    .or_else(|| doc.get("name").and_then(Value::as_str).map(String::from))
    .unwrap_or_else(|| "machine".into());
    let config = match doc.get("mock_config") {
        Some(v) => Some(file_or_value(v, base)?),
        None => None,
    };
    let cases = doc
        .get("cases")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{}: 'cases' must be a list", path.display()))?;
    let mut report = FileReport {
        file: path.display().to_string(),
        cases: Vec::new(),
    };
    for (i, case) in cases.iter().enumerate() {
        let name = case
            .get("name")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| format!("case {}", i + 1));
        if filter.is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let t = Instant::now();
        let r = run_case(
            &machine,
            &machine_name,
            config.as_ref(),
            case,
            integrations,
            io,
        );
        report.cases.push(CaseReport {
            name,
            seconds: t.elapsed().as_secs_f64(),
            failure: r.err(),
        });
    }
    Ok(report)
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one testsuite per file, one testcase per case.
fn junit(reports: &[FileReport]) -> String {
    let total: usize = reports.iter().map(|r| r.cases.len()).sum();
    let failed: usize = reports
        .iter()
        .flat_map(|r| &r.cases)
        .filter(|c| c.failure.is_some())
        .count();
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"passo test\" tests=\"{total}\" failures=\"{failed}\">\n"
    );
    for r in reports {
        let f = r.cases.iter().filter(|c| c.failure.is_some()).count();
        let time: f64 = r.cases.iter().map(|c| c.seconds).sum();
        x.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" time=\"{time:.6}\">\n",
            xml_escape(&r.file),
            r.cases.len()
        ));
        for c in &r.cases {
            x.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.6}\"",
                xml_escape(&r.file),
                xml_escape(&c.name),
                c.seconds
            ));
            match &c.failure {
                None => x.push_str("/>\n"),
                Some(why) => {
                    let first = why.lines().next().unwrap_or_default();
                    x.push_str(&format!(
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                        xml_escape(first),
                        xml_escape(why)
                    ));
                }
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

pub fn main(args: Args) -> ExitCode {
    // The project: --project, else ./passo.toml, else one beside the first test file.
    let beside = args
        .files
        .first()
        .and_then(|f| f.parent())
        .map(|d| d.join("passo.toml"))
        .filter(|p| p.exists() && !Path::new("passo.toml").exists());
    let project = match crate::project::load(args.project.as_deref().or(beside.as_deref())) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (integrations, io) = match crate::project::local_integrations(project) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut reports = Vec::new();
    let mut unreadable = false;
    for f in &args.files {
        match run_file(f, args.filter.as_deref(), &integrations, &io) {
            Ok(r) => {
                outln!("{}", r.file);
                for c in &r.cases {
                    match &c.failure {
                        None => outln!("  ok    {} ({:.1} ms)", c.name, c.seconds * 1000.0),
                        Some(why) => {
                            outln!("  FAIL  {}", c.name);
                            for line in why.lines() {
                                outln!("        {line}");
                            }
                        }
                    }
                }
                reports.push(r);
            }
            Err(e) => {
                eprintln!("error: {e}");
                unreadable = true;
            }
        }
    }
    let total: usize = reports.iter().map(|r| r.cases.len()).sum();
    let failed: usize = reports
        .iter()
        .flat_map(|r| &r.cases)
        .filter(|c| c.failure.is_some())
        .count();
    outln!(
        "\n{} passed, {failed} failed ({total} cases in {} files)",
        total - failed,
        reports.len()
    );
    if let Some(path) = &args.junit {
        if let Err(e) = std::fs::write(path, junit(&reports)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if unreadable {
        ExitCode::from(2)
    } else if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
