//! From definition text to a validated [`StateMachine`], collecting every problem.
//!
//! One walk over the JSON does both jobs: it checks each field (presence, type, range, which
//! state types and query language it belongs to) and builds the typed model. Graph checks
//! (targets, reachability, terminal states) run per scope once names are known.

use crate::diagnostic::{Code, Diagnostic};
use crate::intrinsic::Call;
use crate::jsonata::Jsonata;
use crate::jtemplate::JTemplate;
use crate::model::*;
use crate::path::{Path, Root};
use crate::template::{escape_pointer, Template};
use serde_json::{Map as JsonMap, Value};
use std::collections::HashMap;

/// Deepest nesting of JSON accepted in a definition (serde_json stops at 128 by itself).
const MAX_STATE_NAME: usize = 80;

/// Parses JSON, or YAML when the text is not JSON, into a JSON value.
pub fn parse_text(text: &str) -> Result<Value, Diagnostic> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            let trimmed = text.trim_start();
            if trimmed.starts_with('{') || trimmed.starts_with('[') {
                return Err(Diagnostic::new(
                    Code::InvalidJsonDescription,
                    format!("line {}, column {}", json_err.line(), json_err.column()),
                    json_err.to_string(),
                ));
            }
            if let Some(line) = yaml_flow_too_deep(text) {
                return Err(Diagnostic::new(
                    Code::InvalidJsonDescription,
                    format!("line {line}"),
                    format!(
                        "not valid JSON ({json_err}) nor YAML (flow collections nested more than {MAX_YAML_FLOW_DEPTH} deep)"
                    ),
                ));
            }
            match serde_norway::from_str::<Value>(text) {
                Ok(v) if v.is_object() => Ok(v),
                Ok(_) => Err(Diagnostic::new(
                    Code::SchemaValidationFailed,
                    "",
                    "Definition must be a valid JSON object",
                )),
                Err(yaml_err) => Err(Diagnostic::new(
                    Code::InvalidJsonDescription,
                    yaml_err
                        .location()
                        .map(|l| format!("line {}, column {}", l.line(), l.column()))
                        .unwrap_or_default(),
                    format!("not valid JSON ({json_err}) nor YAML ({yaml_err})"),
                )),
            }
        }
    }
}

/// Deepest nesting of YAML flow collections (`[`, `{`) accepted. The YAML scanner takes time
/// quadratic in this depth (100,000 levels take minutes) and the deserializer refuses more
/// than 128 levels anyway, so deeper text is refused before it is scanned.
const MAX_YAML_FLOW_DEPTH: usize = 128;

/// The line (from 1) where the flow collections of YAML text first nest deeper than
/// [`MAX_YAML_FLOW_DEPTH`], if they do. An approximation of YAML's lexical rules that skips
/// quoted scalars and comments; brackets inside block plain scalars count too, which can only
/// make it refuse absurd text early.
fn yaml_flow_too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut line = 1;
    let mut quote: Option<char> = None;
    let mut prev = '\n';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        match (quote, c) {
            // An escape in a double-quoted scalar; an escaped line break still counts a line.
            (Some('"'), '\\') => line += usize::from(chars.next() == Some('\n')),
            // `''` is a quote inside a single-quoted scalar.
            (Some('\''), '\'') if chars.peek() == Some(&'\'') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            // A quote only opens a scalar where a scalar can start (not in `it's`).
            (None, '"' | '\'') if prev.is_whitespace() || matches!(prev, '[' | '{' | ',' | ':') => {
                quote = Some(c)
            }
            (None, '#') if prev.is_whitespace() => {
                if chars.by_ref().any(|c| c == '\n') {
                    line += 1;
                }
                prev = '\n';
                continue;
            }
            (None, '[' | '{') => {
                depth += 1;
                if depth > MAX_YAML_FLOW_DEPTH {
                    return Some(line);
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = c;
    }
    None
}

/// Parses and validates definition text (JSON or YAML).
pub fn parse_str(text: &str) -> Result<StateMachine, Vec<Diagnostic>> {
    let value = parse_text(text).map_err(|d| vec![d])?;
    parse(&value)
}

/// The type of state machine a definition is validated for: Express machines reject
/// activities and the `.sync` / `.waitForTaskToken` integration patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MachineType {
    #[default]
    Standard,
    Express,
}

/// Validates a definition (for a Standard machine) and builds its model; on failure, every
/// problem found.
pub fn parse(value: &Value) -> Result<StateMachine, Vec<Diagnostic>> {
    parse_for(value, MachineType::Standard)
}

/// Validates a definition for the given machine type and builds its model.
pub fn parse_for(
    value: &Value,
    machine_type: MachineType,
) -> Result<StateMachine, Vec<Diagnostic>> {
    let mut p = Parser {
        diags: Vec::new(),
        names: HashMap::new(),
        machine_type,
        top_lang: QueryLanguage::JsonPath,
    };
    let machine = p.machine(value);
    if let Some(m) = &machine {
        p.diags.extend(crate::scopes::shadowing(m));
    }
    if p.diags.is_empty() {
        machine.ok_or_else(Vec::new)
    } else {
        Err(p.diags)
    }
}

/// Lists every problem in a definition (empty when it is valid).
pub fn validate(value: &Value) -> Vec<Diagnostic> {
    validate_for(value, MachineType::Standard)
}

/// Lists every problem in a definition for the given machine type.
pub fn validate_for(value: &Value, machine_type: MachineType) -> Vec<Diagnostic> {
    match parse_for(value, machine_type) {
        Ok(_) => Vec::new(),
        Err(d) => d,
    }
}

struct Parser {
    diags: Vec<Diagnostic>,
    /// Every state name seen, with its location, for the machine-wide uniqueness rule.
    names: HashMap<String, String>,
    machine_type: MachineType,
    /// The machine-wide query language: no state may downgrade it to JSONPath.
    top_lang: QueryLanguage,
}

fn ptr(base: &str, key: &str) -> String {
    format!("{base}/{}", escape_pointer(key))
}

/// What a state type accepts besides `Type`, `Comment` and `QueryLanguage`.
fn allowed_fields(kind: &str, lang: QueryLanguage) -> &'static [&'static str] {
    use QueryLanguage::*;
    match (kind, lang) {
        ("Pass", JsonPath) => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Result",
            "Assign",
        ],
        ("Pass", Jsonata) => &["Next", "End", "Output", "Assign"],
        ("Task", JsonPath) => &[
            "Next",
            "End",
            "Resource",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
            "Assign",
        ],
        ("Task", Jsonata) => &[
            "Next",
            "End",
            "Resource",
            "Arguments",
            "Output",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "HeartbeatSeconds",
            "Credentials",
            "Assign",
        ],
        ("Choice", JsonPath) => &["Choices", "Default", "InputPath", "OutputPath", "Assign"],
        ("Choice", Jsonata) => &["Choices", "Default", "Output", "Assign"],
        ("Wait", JsonPath) => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Assign",
        ],
        ("Wait", Jsonata) => &["Next", "End", "Seconds", "Timestamp", "Output", "Assign"],
        ("Succeed", JsonPath) => &["InputPath", "OutputPath"],
        ("Succeed", Jsonata) => &["Output"],
        ("Fail", JsonPath) => &["Error", "ErrorPath", "Cause", "CausePath"],
        ("Fail", Jsonata) => &["Error", "Cause"],
        ("Parallel", JsonPath) => &[
            "Next",
            "End",
            "Branches",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "ResultSelector",
            "Retry",
            "Catch",
            "Assign",
        ],
        ("Parallel", Jsonata) => &[
            "Next",
            "End",
            "Branches",
            "Arguments",
            "Output",
            "Retry",
            "Catch",
            "Assign",
        ],
        ("Map", JsonPath) => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "ItemProcessor",
            "Iterator",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ResultSelector",
            "Retry",
            "Catch",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "Label",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Assign",
        ],
        ("Map", Jsonata) => &[
            "Next",
            "End",
            "Items",
            "ItemSelector",
            "ItemProcessor",
            "MaxConcurrency",
            "ToleratedFailureCount",
            "ToleratedFailurePercentage",
            "Output",
            "Retry",
            "Catch",
            "Label",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Assign",
        ],
        _ => &[],
    }
}

const STATE_TYPES: [&str; 8] = [
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

/// True for a JSONata expression string: `{% ... %}`.
pub fn is_jsonata(s: &str) -> bool {
    s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}")
}

impl Parser {
    fn push(&mut self, code: Code, location: impl Into<String>, message: impl Into<String>) {
        self.diags.push(Diagnostic::new(code, location, message));
    }

    fn schema(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.push(Code::SchemaValidationFailed, location, message);
    }

    fn machine(&mut self, value: &Value) -> Option<StateMachine> {
        let Some(obj) = value.as_object() else {
            self.schema("", "Definition must be a valid JSON object");
            return None;
        };
        let query_language = match obj.get("QueryLanguage") {
            None => QueryLanguage::JsonPath,
            Some(v) => self.query_language(v, "/QueryLanguage").unwrap_or_default(),
        };
        self.top_lang = query_language;
        let timeout_seconds = obj
            .get("TimeoutSeconds")
            .and_then(|v| self.positive_int(v, "/TimeoutSeconds", 0, 99_999_999));
        let version = match obj.get("Version") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.schema(
                    "/Version",
                    "The value for the field 'Version' must be a STRING",
                );
                None
            }
            None => None,
        };
        let comment = self.comment(obj, "");
        for key in obj.keys() {
            if !matches!(
                key.as_str(),
                "Comment" | "StartAt" | "States" | "TimeoutSeconds" | "Version" | "QueryLanguage"
            ) {
                self.schema(ptr("", key), format!("Field '{key}' is not supported"));
            }
        }
        let program = self.program(obj, "", query_language, true)?;
        Some(StateMachine {
            comment,
            version,
            timeout_seconds,
            query_language,
            program,
        })
    }

    fn comment(&mut self, obj: &JsonMap<String, Value>, at: &str) -> Option<String> {
        match obj.get("Comment") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.schema(
                    ptr(at, "Comment"),
                    "The value for the field 'Comment' must be a STRING",
                );
                None
            }
            None => None,
        }
    }

    fn query_language(&mut self, v: &Value, at: &str) -> Option<QueryLanguage> {
        match v.as_str() {
            Some("JSONPath") => Some(QueryLanguage::JsonPath),
            Some("JSONata") => Some(QueryLanguage::Jsonata),
            _ => {
                self.schema(
                    at,
                    "The value for the field 'QueryLanguage' must be one of [JSONPath, JSONata]",
                );
                None
            }
        }
    }

    /// `StartAt` + `States`: one scope.
    fn program(
        &mut self,
        obj: &JsonMap<String, Value>,
        at: &str,
        lang: QueryLanguage,
        top: bool,
    ) -> Option<Program> {
        let missing: Vec<&str> = ["States", "StartAt"]
            .into_iter()
            .filter(|k| !obj.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            self.schema(
                if at.is_empty() {
                    "/".to_string()
                } else {
                    at.to_string()
                },
                format!("These fields are required: [{}]", missing.join(", ")),
            );
        }
        let _ = top;
        let states_at = ptr(at, "States");
        let states_obj = match obj.get("States") {
            Some(Value::Object(m)) => Some(m),
            Some(_) => {
                self.schema(
                    &states_at,
                    "The value for the field 'States' must be an OBJECT",
                );
                None
            }
            None => None,
        };
        let start_name = match obj.get("StartAt") {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                self.schema(
                    ptr(at, "StartAt"),
                    "The value for the field 'StartAt' must be a STRING",
                );
                None
            }
            None => None,
        };
        let states_obj = states_obj?;
        if states_obj.is_empty() {
            self.schema(
                &states_at,
                "The field 'States' must contain at least one state",
            );
            return None;
        }
        // Indices first, so transitions can be resolved while states are built.
        let index: HashMap<&str, StateId> = states_obj
            .keys()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        for name in states_obj.keys() {
            let loc = ptr(&states_at, name);
            if name.is_empty() || name.chars().count() > MAX_STATE_NAME {
                self.schema(
                    &loc,
                    format!("State names must be between 1 and {MAX_STATE_NAME} characters long"),
                );
            }
            if let Some(prev) = self.names.insert(name.clone(), loc.clone()) {
                self.push(
                    Code::DuplicateStateName,
                    &loc,
                    format!("Duplicate State name: '{name}' (also at {prev})"),
                );
            }
        }
        let start_at = match start_name {
            Some(s) => match index.get(s) {
                Some(&i) => Some(i),
                None => {
                    self.push(
                        Code::MissingTransitionTarget,
                        ptr(at, "StartAt"),
                        format!("Missing 'Next' target: {s}"),
                    );
                    None
                }
            },
            None => None,
        };
        let mut states = Vec::with_capacity(states_obj.len());
        let mut ok = true;
        for (name, v) in states_obj {
            match self.state(name, v, &ptr(&states_at, name), lang, &index) {
                Some(s) => states.push(s),
                None => ok = false,
            }
        }
        let start_at = start_at?;
        if !ok {
            return None;
        }
        let program = Program { start_at, states };
        self.check_graph(&program, &states_at);
        Some(program)
    }

    fn check_graph(&mut self, program: &Program, states_at: &str) {
        let mut seen = vec![false; program.states.len()];
        let mut stack = vec![program.start_at];
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id], true) {
                continue;
            }
            stack.extend(successors(&program.states[id]));
        }
        for (id, s) in program.states.iter().enumerate() {
            if !seen[id] {
                self.push(
                    Code::UnreachableState,
                    ptr(states_at, &s.name),
                    format!("State '{}' is not reachable", s.name),
                );
            }
        }
        let terminal = program.states.iter().any(|s| match &s.kind {
            StateKind::Succeed | StateKind::Fail(_) => true,
            StateKind::Pass(Pass { transition, .. })
            | StateKind::Task(Task { transition, .. })
            | StateKind::Wait(Wait { transition, .. })
            | StateKind::Parallel(Parallel { transition, .. })
            | StateKind::Map(Map { transition, .. }) => *transition == Transition::End,
            StateKind::Choice(_) => false,
        });
        if !terminal {
            self.push(
                Code::NoTerminalState,
                states_at,
                "No terminal state: at least one state must have \"End\": true or be a Succeed or Fail state",
            );
        }
    }

    fn state(
        &mut self,
        name: &str,
        v: &Value,
        at: &str,
        parent_lang: QueryLanguage,
        index: &HashMap<&str, StateId>,
    ) -> Option<State> {
        let Some(obj) = v.as_object() else {
            self.schema(at, "A state must be an OBJECT");
            return None;
        };
        let kind = match obj.get("Type") {
            Some(Value::String(t)) if STATE_TYPES.contains(&t.as_str()) => t.as_str(),
            Some(Value::String(_)) => {
                // AWS's words (recorded by TestState).
                self.schema(
                    ptr(at, "Type"),
                    "The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]",
                );
                return None;
            }
            Some(_) => {
                self.schema(
                    ptr(at, "Type"),
                    "The value for the field 'Type' must be a STRING",
                );
                return None;
            }
            None => {
                self.schema(at, "These fields are required: [Type]");
                return None;
            }
        };
        let lang = match obj.get("QueryLanguage") {
            None => parent_lang,
            Some(v) => {
                let l = self
                    .query_language(v, &ptr(at, "QueryLanguage"))
                    .unwrap_or(parent_lang);
                if self.top_lang == QueryLanguage::Jsonata && l == QueryLanguage::JsonPath {
                    self.schema(at, "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine");
                }
                l
            }
        };
        let allowed = allowed_fields(kind, lang);
        let before = self.diags.len();
        for key in obj.keys() {
            if matches!(key.as_str(), "Type" | "Comment" | "QueryLanguage")
                || allowed.contains(&key.as_str())
            {
                continue;
            }
            let other = match lang {
                QueryLanguage::JsonPath => QueryLanguage::Jsonata,
                QueryLanguage::Jsonata => QueryLanguage::JsonPath,
            };
            if allowed_fields(kind, other).contains(&key.as_str()) {
                self.schema(
                    ptr(at, key),
                    format!(
                        "The field '{key}' is not supported for the query language {}",
                        lang.as_str()
                    ),
                );
            } else {
                self.schema(
                    ptr(at, key),
                    format!("Field '{key}' is not supported by {kind} states"),
                );
            }
        }
        let comment = self.comment(obj, at);
        let jsonpath = lang == QueryLanguage::JsonPath;
        let input_path = if jsonpath {
            self.opt_path(obj, "InputPath", at, false)
                .unwrap_or_default_root()
        } else {
            Some(root())
        };
        let output_path = if jsonpath {
            self.opt_path(obj, "OutputPath", at, false)
                .unwrap_or_default_root()
        } else {
            Some(root())
        };
        let result_path = if jsonpath {
            self.opt_path(obj, "ResultPath", at, true)
                .unwrap_or_default_root()
        } else {
            Some(root())
        };
        let parameters_key = if kind == "Map" && obj.contains_key("ItemSelector") {
            "ItemSelector"
        } else {
            "Parameters"
        };
        if kind == "Map" && obj.contains_key("ItemSelector") && obj.contains_key("Parameters") {
            self.schema(
                at,
                "A Map state cannot have both 'ItemSelector' and 'Parameters'",
            );
        }
        let parameters = if jsonpath {
            self.template(obj, parameters_key, at)
        } else {
            None
        };
        let result_selector = if jsonpath {
            self.template(obj, "ResultSelector", at)
        } else {
            None
        };
        let assign = if jsonpath { self.assign(obj, at) } else { None };
        if !jsonpath {
            self.jsonata_assign(obj, at);
            self.jsonata_fields(obj, at);
        }
        let jsonata = (!jsonpath).then(|| JsonataFields {
            arguments: self.jtemplate(obj.get("Arguments"), &ptr(at, "Arguments")),
            output: self.jtemplate(obj.get("Output"), &ptr(at, "Output")),
            assign: self.jtemplate(obj.get("Assign"), &ptr(at, "Assign")),
        });
        if let Some(f) = &jsonata {
            let has_result = matches!(kind, "Task" | "Parallel" | "Map");
            self.states_refs(f.arguments.as_ref(), &ptr(at, "Arguments"), false, false);
            self.states_refs(f.output.as_ref(), &ptr(at, "Output"), has_result, false);
            self.states_refs(f.assign.as_ref(), &ptr(at, "Assign"), has_result, false);
        }

        let kind = match kind {
            "Pass" => {
                let transition = self.transition(obj, at, index);
                StateKind::Pass(Pass {
                    result: obj.get("Result").cloned(),
                    transition: transition?,
                })
            }
            "Task" => self.task(obj, at, index, lang)?,
            "Choice" => self.choice(obj, at, index, lang)?,
            "Wait" => self.wait(obj, at, index, lang)?,
            "Succeed" => {
                self.no_transition(obj, at);
                StateKind::Succeed
            }
            "Fail" => self.fail(obj, at, lang)?,
            "Parallel" => self.parallel(obj, at, index, lang)?,
            "Map" => self.map(obj, at, index, lang)?,
            _ => return None,
        };
        if self.diags.len() > before {
            return None;
        }
        Some(State {
            name: name.into(),
            comment,
            query_language: lang,
            input_path,
            output_path,
            result_path,
            parameters,
            result_selector,
            assign,
            jsonata,
            kind,
        })
    }

    fn no_transition(&mut self, obj: &JsonMap<String, Value>, at: &str) {
        for k in ["Next", "End"] {
            if obj.contains_key(k) {
                self.schema(
                    ptr(at, k),
                    format!("Field '{k}' is not supported by this state type"),
                );
            }
        }
    }

    fn transition(
        &mut self,
        obj: &JsonMap<String, Value>,
        at: &str,
        index: &HashMap<&str, StateId>,
    ) -> Option<Transition> {
        match (obj.get("Next"), obj.get("End")) {
            (Some(_), Some(_)) => {
                self.schema(at, "Only one of 'Next' or 'End' can be set");
                None
            }
            (Some(next), None) => self
                .target(next, &ptr(at, "Next"), index)
                .map(Transition::Next),
            (None, Some(Value::Bool(true))) => Some(Transition::End),
            (None, Some(Value::Bool(false))) => {
                self.schema(
                    ptr(at, "End"),
                    "'End' must be true when present; use 'Next' instead",
                );
                None
            }
            (None, Some(_)) => {
                self.schema(
                    ptr(at, "End"),
                    "The value for the field 'End' must be a BOOLEAN",
                );
                None
            }
            (None, None) => {
                self.schema(at, "These fields are required: [Next | End]");
                None
            }
        }
    }

    fn target(&mut self, v: &Value, at: &str, index: &HashMap<&str, StateId>) -> Option<StateId> {
        match v {
            Value::String(s) => match index.get(s.as_str()) {
                Some(&i) => Some(i),
                None => {
                    self.push(
                        Code::MissingTransitionTarget,
                        at,
                        format!("Missing 'Next' target: {s}"),
                    );
                    None
                }
            },
            _ => {
                self.schema(at, "The value for the field 'Next' must be a STRING");
                None
            }
        }
    }

    /// An optional path field: `Some(Some(path))`, `Some(None)` for explicit null, `None` when
    /// absent or broken (the caller defaults an absent one to `$`).
    fn opt_path(
        &mut self,
        obj: &JsonMap<String, Value>,
        key: &str,
        at: &str,
        reference: bool,
    ) -> PathField {
        match obj.get(key) {
            None => PathField::Absent,
            Some(Value::Null) => PathField::Null,
            Some(Value::String(s)) => {
                match self.path(s, &ptr(at, key), reference, key == "ResultPath") {
                    Some(p) => PathField::Path(p),
                    None => PathField::Absent,
                }
            }
            Some(_) => {
                self.schema(
                    ptr(at, key),
                    format!("The value for the field '{key}' must be a STRING"),
                );
                PathField::Absent
            }
        }
    }

    fn path(&mut self, s: &str, at: &str, reference: bool, input_only: bool) -> Option<Path> {
        match Path::parse(s) {
            Ok(p) => {
                if reference && !p.is_definite() {
                    self.push(
                        Code::InvalidJsonPath,
                        at,
                        format!("The value for the field must be a valid Reference Path: '{s}'"),
                    );
                    return None;
                }
                if input_only && p.root != Root::Input {
                    self.push(Code::InvalidJsonPath, at, format!("The value for the field must be a valid Reference Path into the state input: '{s}'"));
                    return None;
                }
                Some(p)
            }
            Err(e) => {
                self.push(
                    Code::InvalidJsonPath,
                    at,
                    format!(
                        "The value for the field must be a valid JSONPath: '{s}' ({})",
                        e.message
                    ),
                );
                None
            }
        }
    }

    fn template(&mut self, obj: &JsonMap<String, Value>, key: &str, at: &str) -> Option<Template> {
        let v = obj.get(key)?;
        let loc = ptr(at, key);
        match Template::parse(v) {
            Ok(t) => Some(t),
            Err(problems) => {
                for p in problems {
                    self.push(
                        Code::InvalidJsonPath,
                        format!("{loc}{}", p.pointer),
                        p.message,
                    );
                }
                None
            }
        }
    }

    fn assign(&mut self, obj: &JsonMap<String, Value>, at: &str) -> Option<Template> {
        let v = obj.get("Assign")?;
        let loc = ptr(at, "Assign");
        let Some(map) = v.as_object() else {
            self.schema(&loc, "The value for the field 'Assign' must be an OBJECT");
            return None;
        };
        for key in map.keys() {
            let name = key.strip_suffix(".$").unwrap_or(key);
            if !is_variable_name(name) {
                self.schema(
                    ptr(&loc, key),
                    format!("The variable name '{name}' is not valid"),
                );
            }
        }
        self.template(obj, "Assign", at)
    }

    fn positive_int(&mut self, v: &Value, at: &str, min: u64, max: u64) -> Option<u64> {
        match v.as_u64() {
            Some(n) if n >= min && n <= max => Some(n),
            _ => {
                self.schema(
                    at,
                    format!("The value must be an integer between {min} and {max}"),
                );
                None
            }
        }
    }

    /// A field given either statically (`Key`) or as a path (`KeyPath`), never both;
    /// `parse_static` checks and converts the static value.
    fn dynamic<T>(
        &mut self,
        obj: &JsonMap<String, Value>,
        key: &str,
        at: &str,
        lang: QueryLanguage,
        parse_static: impl FnOnce(&mut Self, &Value, String) -> Option<T>,
    ) -> Option<Option<Dynamic<T>>> {
        let path_key = format!("{key}Path");
        match (obj.get(key), obj.get(&path_key)) {
            (Some(_), Some(_)) => {
                self.schema(
                    at,
                    format!("Only one of '{key}' or '{path_key}' can be set"),
                );
                None
            }
            (Some(Value::String(s)), None) if lang == QueryLanguage::Jsonata && is_jsonata(s) => {
                self.jexpr(s, &ptr(at, key))
                    .map(|j| Some(Dynamic::Jsonata(j)))
            }
            (Some(v), None) => {
                parse_static(self, v, ptr(at, key)).map(|n| Some(Dynamic::Static(n)))
            }
            (None, Some(Value::String(s))) => self
                .path(s, &ptr(at, &path_key), false, false)
                .map(|p| Some(Dynamic::Path(p))),
            (None, Some(_)) => {
                self.schema(
                    ptr(at, &path_key),
                    format!("The value for the field '{path_key}' must be a STRING"),
                );
                None
            }
            (None, None) => Some(None),
        }
    }

    fn dynamic_u64(
        &mut self,
        obj: &JsonMap<String, Value>,
        key: &str,
        at: &str,
        lang: QueryLanguage,
        min: u64,
        max: u64,
    ) -> Option<Option<Dynamic<u64>>> {
        self.dynamic(obj, key, at, lang, |p, v, loc| {
            p.positive_int(v, &loc, min, max)
        })
    }

    fn dynamic_f64(
        &mut self,
        obj: &JsonMap<String, Value>,
        key: &str,
        at: &str,
        lang: QueryLanguage,
        max: Option<f64>,
    ) -> Option<Option<Dynamic<f64>>> {
        self.dynamic(obj, key, at, lang, |p, v, loc| match v.as_f64() {
            Some(n) if n >= 0.0 && max.is_none_or(|m| n <= m) => Some(n),
            _ => {
                p.schema(
                    loc,
                    format!("The value for the field '{key}' is out of range"),
                );
                None
            }
        })
    }

    fn task(
        &mut self,
        obj: &JsonMap<String, Value>,
        at: &str,
        index: &HashMap<&str, StateId>,
        lang: QueryLanguage,
    ) -> Option<StateKind> {
        let resource = match obj.get("Resource") {
            Some(Value::String(s)) => {
                let before = self.diags.len();
                self.resource(s, &ptr(at, "Resource"));
                (self.diags.len() == before).then(|| s.clone())
            }
            Some(_) => {
                self.schema(
                    ptr(at, "Resource"),
                    "The value for the field 'Resource' must be a STRING",
                );
                None
            }
            None => {
                self.schema(at, "These fields are required: [Resource]");
                None
            }
        };
        let timeout = self.dynamic_u64(obj, "TimeoutSeconds", at, lang, 1, 99_999_999);
        let heartbeat = self.dynamic_u64(obj, "HeartbeatSeconds", at, lang, 1, 99_999_999);
        let credentials = match obj.get("Credentials") {
            None => None,
            Some(Value::Object(m)) => {
                if !m.contains_key("RoleArn") && !m.contains_key("RoleArn.$") {
                    self.schema(
                        ptr(at, "Credentials"),
                        "The field 'RoleArn' is required but was missing",
                    );
                }
                let v = Value::Object(m.clone());
                if lang == QueryLanguage::Jsonata {
                    match JTemplate::parse(&v) {
                        Ok(t) => Some(Credentials::Jsonata(t)),
                        Err(message) => {
                            self.schema(ptr(at, "Credentials"), &message);
                            None
                        }
                    }
                } else {
                    match Template::parse(&v) {
                        Ok(t) => Some(Credentials::JsonPath(t)),
                        Err(problems) => {
                            for p in problems {
                                let at = format!("{}{}", ptr(at, "Credentials"), p.pointer);
                                self.schema(at, &p.message);
                            }
                            None
                        }
                    }
                }
            }
            Some(_) => {
                self.schema(
                    ptr(at, "Credentials"),
                    "The value for the field 'Credentials' must be an OBJECT",
                );
                None
            }
        };
        let retry = self.retriers(obj, at);
        let catch = self.catchers(obj, at, index, lang);
        let transition = self.transition(obj, at, index);
        Some(StateKind::Task(Task {
            resource: resource?,
            timeout_seconds: timeout?,
            heartbeat_seconds: heartbeat?,
            credentials,
            retry: retry?,
            catch: catch?,
            transition: transition?,
        }))
    }

    fn error_equals(&mut self, rule: &JsonMap<String, Value>, at: &str) -> Option<Vec<String>> {
        let loc = ptr(at, "ErrorEquals");
        match rule.get("ErrorEquals") {
            Some(Value::Array(items)) if !items.is_empty() => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => {
                            self.schema(format!("{loc}/{i}"), "Error names must be STRINGs");
                            return None;
                        }
                    }
                }
                if out.iter().any(|e| e == "States.ALL") && out.len() > 1 {
                    self.push(
                        Code::InvalidErrorEquals,
                        &loc,
                        "'States.ALL' must appear alone in 'ErrorEquals'",
                    );
                    return None;
                }
                Some(out)
            }
            Some(Value::Array(_)) => {
                self.schema(&loc, "'ErrorEquals' must be non-empty");
                None
            }
            Some(_) => {
                self.schema(
                    &loc,
                    "The value for the field 'ErrorEquals' must be an ARRAY",
                );
                None
            }
            None => {
                self.schema(at, "These fields are required: [ErrorEquals]");
                None
            }
        }
    }

    /// `States.ALL` must be in the last rule of a Retry or Catch list.
    fn check_all_last(&mut self, lists: &[Vec<String>], at: &str) {
        for (i, l) in lists.iter().enumerate() {
            if l.iter().any(|e| e == "States.ALL") && i + 1 != lists.len() {
                self.push(
                    Code::InvalidErrorEquals,
                    format!("{at}/{i}/ErrorEquals"),
                    "'States.ALL' must be in the last rule",
                );
            }
        }
    }

    fn retriers(&mut self, obj: &JsonMap<String, Value>, at: &str) -> Option<Vec<Retrier>> {
        let Some(v) = obj.get("Retry") else {
            return Some(Vec::new());
        };
        let loc = ptr(at, "Retry");
        let Some(items) = v.as_array() else {
            self.schema(&loc, "The value for the field 'Retry' must be an ARRAY");
            return None;
        };
        let before = self.diags.len();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let rat = format!("{loc}/{i}");
            let Some(rule) = item.as_object() else {
                self.schema(&rat, "A retrier must be an OBJECT");
                continue;
            };
            for k in rule.keys() {
                if !matches!(
                    k.as_str(),
                    "ErrorEquals"
                        | "IntervalSeconds"
                        | "MaxAttempts"
                        | "BackoffRate"
                        | "MaxDelaySeconds"
                        | "JitterStrategy"
                        | "Comment"
                ) {
                    self.schema(
                        ptr(&rat, k),
                        format!("Field '{k}' is not supported in a retrier"),
                    );
                }
            }
            let error_equals = self.error_equals(rule, &rat);
            let interval_seconds = match rule.get("IntervalSeconds") {
                None => 1,
                Some(v) => self
                    .positive_int(v, &ptr(&rat, "IntervalSeconds"), 1, 99_999_999)
                    .unwrap_or(1),
            };
            let max_attempts = match rule.get("MaxAttempts") {
                None => 3,
                Some(v) => self
                    .positive_int(v, &ptr(&rat, "MaxAttempts"), 0, 99_999_999)
                    .unwrap_or(0),
            };
            let backoff_rate = match rule.get("BackoffRate") {
                None => 2.0,
                Some(v) => match v.as_f64() {
                    Some(f) if f >= 1.0 => f,
                    _ => {
                        self.schema(
                            ptr(&rat, "BackoffRate"),
                            "The value for the field 'BackoffRate' must be a number >= 1.0",
                        );
                        2.0
                    }
                },
            };
            let max_delay_seconds = rule
                .get("MaxDelaySeconds")
                .and_then(|v| self.positive_int(v, &ptr(&rat, "MaxDelaySeconds"), 1, 31_622_400));
            let jitter = match rule.get("JitterStrategy") {
                None => Jitter::None,
                Some(v) if v == "FULL" => Jitter::Full,
                Some(v) if v == "NONE" => Jitter::None,
                Some(_) => {
                    self.schema(
                        ptr(&rat, "JitterStrategy"),
                        "The value for the field 'JitterStrategy' must be one of [FULL, NONE]",
                    );
                    Jitter::None
                }
            };
            if let Some(error_equals) = error_equals {
                out.push(Retrier {
                    error_equals,
                    interval_seconds,
                    max_attempts,
                    backoff_rate,
                    max_delay_seconds,
                    jitter,
                });
            }
        }
        let lists: Vec<Vec<String>> = out.iter().map(|r| r.error_equals.clone()).collect();
        self.check_all_last(&lists, &loc);
        (self.diags.len() == before).then_some(out)
    }

    fn catchers(
        &mut self,
        obj: &JsonMap<String, Value>,
        at: &str,
        index: &HashMap<&str, StateId>,
        lang: QueryLanguage,
    ) -> Option<Vec<Catcher>> {
        let Some(v) = obj.get("Catch") else {
            return Some(Vec::new());
        };
        let loc = ptr(at, "Catch");
        let Some(items) = v.as_array() else {
            self.schema(&loc, "The value for the field 'Catch' must be an ARRAY");
            return None;
        };
        let before = self.diags.len();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let cat = format!("{loc}/{i}");
            let Some(rule) = item.as_object() else {
                self.schema(&cat, "A catcher must be an OBJECT");
                continue;
            };
            let allowed: &[&str] = match lang {
                QueryLanguage::JsonPath => {
                    &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"]
                }
                QueryLanguage::Jsonata => &["ErrorEquals", "Next", "Output", "Assign", "Comment"],
            };
            for k in rule.keys() {
                if !allowed.contains(&k.as_str()) {
                    self.schema(
                        ptr(&cat, k),
                        format!("Field '{k}' is not supported in a catcher"),
                    );
                }
            }
            let error_equals = self.error_equals(rule, &cat);
            let next = match rule.get("Next") {
                Some(n) => self.target(n, &ptr(&cat, "Next"), index),
                None => {
                    self.schema(&cat, "These fields are required: [Next]");
                    None
                }
            };
            let result_path = match lang {
                QueryLanguage::JsonPath => self
                    .opt_path(rule, "ResultPath", &cat, true)
                    .unwrap_or_default_root(),
                QueryLanguage::Jsonata => Some(root()),
            };
            let assign = if lang == QueryLanguage::JsonPath {
                self.assign(rule, &cat)
            } else {
                None
            };
            if lang == QueryLanguage::Jsonata {
                self.jsonata_assign(rule, &cat);
                self.jsonata_fields(rule, &cat);
            }
            let jsonata = (lang == QueryLanguage::Jsonata).then(|| JsonataFields {
                arguments: None,
                output: self.jtemplate(rule.get("Output"), &ptr(&cat, "Output")),
                assign: self.jtemplate(rule.get("Assign"), &ptr(&cat, "Assign")),
            });
            if let Some(f) = &jsonata {
                self.states_refs(f.output.as_ref(), &ptr(&cat, "Output"), false, true);
                self.states_refs(f.assign.as_ref(), &ptr(&cat, "Assign"), false, true);
            }
            if let (Some(error_equals), Some(next)) = (error_equals, next) {
                out.push(Catcher {
                    error_equals,
                    next,
                    result_path,
                    assign,
                    jsonata,
                });
            }
        }
        let lists: Vec<Vec<String>> = out.iter().map(|r| r.error_equals.clone()).collect();
        self.check_all_last(&lists, &loc);
        (self.diags.len() == before).then_some(out)
    }

    fn choice(
        &mut self,
        obj: &JsonMap<String, Value>,
        at: &str,
        index: &HashMap<&str, StateId>,
        lang: QueryLanguage,
    ) -> Option<StateKind> {
        self.no_transition(obj, at);
        let loc = ptr(at, "Choices");
        let items = match obj.get("Choices") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            Some(_) => {
                self.schema(
                    &loc,
                    "The value for the field 'Choices' must be a non-empty ARRAY",
                );
                return None;
            }
            None => {
                self.schema(at, "These fields are required: [Choices]");
                return None;
            }
        };
        let mut choices = Vec::new();
        let before = self.diags.len();
        for (i, item) in items.iter().enumerate() {
            let cat = format!("{loc}/{i}");
            let Some(rule) = item.as_object() else {
                self.schema(&cat, "A choice rule must be an OBJECT");
                continue;
            };
            let next = match rule.get("Next") {
                Some(n) => self.target(n, &ptr(&cat, "Next"), index),
                None => {
                    self.schema(&cat, "These fields are required: [Next]");
                    None
                }
            };
            let assign = if lang == QueryLanguage::JsonPath {
                self.assign(rule, &cat)
            } else {
                self.jsonata_assign(rule, &cat);
                self.jsonata_fields(rule, &cat);
                None
            };
            let condition = self.condition(rule, &cat, lang, true);
            let jsonata = (lang == QueryLanguage::Jsonata).then(|| JsonataFields {
                arguments: None,
                output: self.jtemplate(rule.get("Output"), &ptr(&cat, "Output")),
                assign: self.jtemplate(rule.get("Assign"), &ptr(&cat, "Assign")),
            });
            if let (Some(condition), Some(next)) = (condition, next) {
                choices.push(ChoiceRule {
                    condition,
                    next,
                    assign,
                    jsonata,
                });
            }
        }
        let default = match obj.get("Default") {
            Some(d) => self.target(d, &ptr(at, "Default"), index),
            None => None,
        };
        (self.diags.len() == before).then_some(StateKind::Choice(Choice { choices, default }))
    }

    fn condition(
        &mut self,
        rule: &JsonMap<String, Value>,
        at: &str,
        lang: QueryLanguage,
        top: bool,
    ) -> Option<Condition> {
        let mut extra: Vec<&str> = vec!["Comment"];
        if top {
            extra.extend(["Next", "Assign", "Output"]);
        }
        if lang == QueryLanguage::Jsonata {
            return match rule.get("Condition") {
                Some(Value::String(s)) if is_jsonata(s) => {
                    self.jexpr(s, &ptr(at, "Condition")).map(Condition::Jsonata)
                }
                Some(Value::Bool(b)) => Jsonata::parse(&b.to_string()).ok().map(Condition::Jsonata),
                Some(_) => {
                    self.schema(
                        ptr(at, "Condition"),
                        "The value for the field 'Condition' must be a JSONata expression",
                    );
                    None
                }
                None => {
                    self.schema(at, "These fields are required: [Condition]");
                    None
                }
            };
        }
        let ops: Vec<&String> = rule
            .keys()
            .filter(|k| !extra.contains(&k.as_str()) && k.as_str() != "Variable")
            .collect();
        if ops.len() != 1 {
            self.schema(
                at,
                "A choice rule must have exactly one comparison operator or one of [And, Or, Not]",
            );
            return None;
        }
        let op = ops[0].as_str();
        let v = &rule[op];
        let opat = ptr(at, op);
        match op {
            "And" | "Or" => {
                let Some(items) = v.as_array().filter(|a| !a.is_empty()) else {
                    self.schema(
                        &opat,
                        format!("The value for the field '{op}' must be a non-empty ARRAY"),
                    );
                    return None;
                };
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.as_object() {
                        Some(o) => out.push(self.condition(o, &format!("{opat}/{i}"), lang, false)),
                        None => {
                            self.schema(format!("{opat}/{i}"), "A choice rule must be an OBJECT");
                            out.push(None)
                        }
                    }
                }
                let out: Option<Vec<Condition>> = out.into_iter().collect();
                out.map(|c| {
                    if op == "And" {
                        Condition::And(c)
                    } else {
                        Condition::Or(c)
                    }
                })
            }
            "Not" => match v.as_object() {
                Some(o) => self
                    .condition(o, &opat, lang, false)
                    .map(|c| Condition::Not(Box::new(c))),
                None => {
                    self.schema(&opat, "The value for the field 'Not' must be an OBJECT");
                    None
                }
            },
            _ => {
                let variable = match rule.get("Variable") {
                    Some(Value::String(s)) => self.path(s, &ptr(at, "Variable"), false, false),
                    Some(_) => {
                        self.schema(
                            ptr(at, "Variable"),
                            "The value for the field 'Variable' must be a STRING",
                        );
                        None
                    }
                    None => {
                        self.schema(at, "These fields are required: [Variable]");
                        None
                    }
                }?;
                if let Some((_, test)) = TypeTest::ALL.iter().find(|(n, _)| *n == op) {
                    return match v.as_bool() {
                        Some(expected) => Some(Condition::Test {
                            variable,
                            test: *test,
                            expected,
                        }),
                        None => {
                            self.schema(
                                &opat,
                                format!("The value for the field '{op}' must be a BOOLEAN"),
                            );
                            None
                        }
                    };
                }
                let (base, is_path) = match op.strip_suffix("Path") {
                    Some(b) => (b, true),
                    None => (op, false),
                };
                let Some((_, cmp)) = Comparison::ALL.iter().find(|(n, _)| *n == base) else {
                    self.schema(&opat, format!("Unknown comparison operator '{op}'"));
                    return None;
                };
                let cmp = *cmp;
                if is_path {
                    return match v.as_str() {
                        Some(s) => self
                            .path(s, &opat, false, false)
                            .map(|p| Condition::Compare {
                                variable,
                                op: cmp,
                                operand: Operand::Path(p),
                            }),
                        None => {
                            self.schema(
                                &opat,
                                format!("The value for the field '{op}' must be a STRING"),
                            );
                            None
                        }
                    };
                }
                let ok = match cmp {
                    Comparison::StringEquals
                    | Comparison::StringLessThan
                    | Comparison::StringGreaterThan
                    | Comparison::StringLessThanEquals
                    | Comparison::StringGreaterThanEquals
                    | Comparison::StringMatches => v.is_string(),
                    Comparison::NumericEquals
                    | Comparison::NumericLessThan
                    | Comparison::NumericGreaterThan
                    | Comparison::NumericLessThanEquals
                    | Comparison::NumericGreaterThanEquals => v.is_number(),
                    Comparison::BooleanEquals => v.is_boolean(),
                    _ => v
                        .as_str()
                        .is_some_and(|s| crate::timestamp::parse(s).is_some()),
                };
                if !ok {
                    self.schema(
                        &opat,
                        format!("The value for the field '{op}' has the wrong type"),
                    );
                    return None;
                }
                Some(Condition::Compare {
                    variable,
                    op: cmp,
                    operand: Operand::Value(v.clone()),
                })
            }
        }
    }

    fn wait(
        &mut self,
        obj: &JsonMap<String, Value>,
        at: &str,
        index: &HashMap<&str, StateId>,
        lang: QueryLanguage,
    ) -> Option<StateKind> {
        let present: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
            .into_iter()
            .filter(|k| obj.contains_key(*k))
            .collect();
        let transition = self.transition(obj, at, index);
        if present.len() != 1 {
            self.schema(at, "A Wait state must have exactly one of [Seconds, SecondsPath, Timestamp, TimestampPath]");
            return None;
        }
        let key = present[0];
        let v = &obj[key];
        let kat = ptr(at, key);
        let duration = match (key, v) {
            (_, Value::String(s))
                if lang == QueryLanguage::Jsonata
                    && is_jsonata(s)
                    && matches!(key, "Seconds" | "Timestamp") =>
            {
                let j = self.jexpr(s, &kat)?;
                if key == "Seconds" {
                    WaitFor::Seconds(Dynamic::Jsonata(j))
                } else {
                    WaitFor::Timestamp(Dynamic::Jsonata(j))
                }
            }
            ("Seconds", v) => {
                WaitFor::Seconds(Dynamic::Static(self.positive_int(v, &kat, 0, 99_999_999)?))
            }
            ("Timestamp", Value::String(s)) => {
                if crate::timestamp::parse(s).is_none() {
                    self.schema(&kat, "String does not match RFC3339 timestamp");
                    return None;
                }
                WaitFor::Timestamp(Dynamic::Static(s.clone()))
            }
            ("SecondsPath", Value::String(s)) => {
                WaitFor::Seconds(Dynamic::Path(self.path(s, &kat, false, false)?))
            }
            ("TimestampPath", Value::String(s)) => {
                WaitFor::Timestamp(Dynamic::Path(self.path(s, &kat, false, false)?))
            }
            _ => {
                self.schema(
                    &kat,
                    format!("The value for the field '{key}' has the wrong type"),
                );
                return None;
            }
        };
        Some(StateKind::Wait(Wait {
            duration,
            transition: transition?,
        }))
    }

    fn fail(
        &mut self,
        obj: &JsonMap<String, Value>,
        at: &str,
        lang: QueryLanguage,
    ) -> Option<StateKind> {
        self.no_transition(obj, at);
        let field = |p: &mut Parser, key: &str| -> Option<Option<Dynamic<String>>> {
            let path_key = format!("{key}Path");
            match (obj.get(key), obj.get(&path_key)) {
                (Some(_), Some(_)) => {
                    p.schema(
                        at,
                        format!("Only one of '{key}' or '{path_key}' can be set"),
                    );
                    None
                }
                (Some(Value::String(s)), None)
                    if lang == QueryLanguage::Jsonata && is_jsonata(s) =>
                {
                    p.jexpr(s, &ptr(at, key)).map(|j| Some(Dynamic::Jsonata(j)))
                }
                (Some(Value::String(s)), None) => Some(Some(Dynamic::Static(s.clone()))),
                (None, Some(Value::String(s))) => {
                    let loc = ptr(at, &path_key);
                    if Call::looks_like(s) {
                        match Call::parse(s) {
                            Ok(call) => Some(Some(Dynamic::Intrinsic(call))),
                            Err(e) => {
                                p.push(Code::InvalidJsonPath, loc, e.message);
                                None
                            }
                        }
                    } else {
                        p.path(s, &loc, false, false)
                            .map(|x| Some(Dynamic::Path(x)))
                    }
                }
                (None, None) => Some(None),
                (Some(_), None) => {
                    p.schema(
                        ptr(at, key),
                        format!("The value for the field '{key}' must be a STRING"),
                    );
                    None
                }
                (None, Some(_)) => {
                    p.schema(
                        ptr(at, &path_key),
                        format!("The value for the field '{path_key}' must be a STRING"),
                    );
                    None
                }
            }
        };
        let error = field(self, "Error");
        let cause = field(self, "Cause");
        Some(StateKind::Fail(Fail {
            error: error?,
            cause: cause?,
        }))
    }

    fn parallel(
        &mut self,
        obj: &JsonMap<String, Value>,
        at: &str,
        index: &HashMap<&str, StateId>,
        lang: QueryLanguage,
    ) -> Option<StateKind> {
        let loc = ptr(at, "Branches");
        let branches = match obj.get("Branches") {
            Some(Value::Array(a)) if !a.is_empty() => {
                let mut out = Vec::new();
                for (i, b) in a.iter().enumerate() {
                    let bat = format!("{loc}/{i}");
                    match b.as_object() {
                        Some(o) => {
                            self.sub_machine_fields(o, &bat);
                            out.push(self.program(o, &bat, sub_lang(o, lang), false))
                        }
                        None => {
                            self.schema(&bat, "A branch must be an OBJECT");
                            out.push(None)
                        }
                    }
                }
                out.into_iter().collect::<Option<Vec<_>>>()
            }
            // AWS's words for an empty list (recorded by TestState).
            Some(Value::Array(_)) => {
                self.schema(&loc, "Value cannot be empty");
                None
            }
            Some(_) => {
                self.schema(
                    &loc,
                    "The value for the field 'Branches' must be a non-empty ARRAY",
                );
                None
            }
            None => {
                self.schema(at, "These fields are required: [Branches]");
                None
            }
        };
        let retry = self.retriers(obj, at);
        let catch = self.catchers(obj, at, index, lang);
        let transition = self.transition(obj, at, index);
        Some(StateKind::Parallel(Parallel {
            branches: branches?,
            retry: retry?,
            catch: catch?,
            transition: transition?,
        }))
    }

    fn sub_machine_fields(&mut self, o: &JsonMap<String, Value>, at: &str) {
        for k in o.keys() {
            if !matches!(
                k.as_str(),
                "StartAt" | "States" | "Comment" | "ProcessorConfig" | "QueryLanguage"
            ) {
                self.schema(ptr(at, k), format!("Field '{k}' is not supported"));
            }
        }
    }

    fn map(
        &mut self,
        obj: &JsonMap<String, Value>,
        at: &str,
        index: &HashMap<&str, StateId>,
        lang: QueryLanguage,
    ) -> Option<StateKind> {
        let (key, proc_v) = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
            (Some(_), Some(_)) => {
                self.schema(
                    at,
                    "A Map state cannot have both 'ItemProcessor' and 'Iterator'",
                );
                return None;
            }
            (Some(v), None) => ("ItemProcessor", v),
            (None, Some(v)) => ("Iterator", v),
            (None, None) => {
                self.schema(at, "These fields are required: [ItemProcessor]");
                return None;
            }
        };
        let pat = ptr(at, key);
        let Some(proc_obj) = proc_v.as_object() else {
            self.schema(
                &pat,
                format!("The value for the field '{key}' must be an OBJECT"),
            );
            return None;
        };
        self.sub_machine_fields(proc_obj, &pat);
        let (mode, execution_type) = match proc_obj.get("ProcessorConfig") {
            None => (MapMode::Inline, None),
            Some(Value::Object(cfg)) => {
                let mode = match cfg.get("Mode").and_then(Value::as_str) {
                    None | Some("INLINE") => MapMode::Inline,
                    Some("DISTRIBUTED") => MapMode::Distributed,
                    Some(m) => {
                        self.schema(
                            ptr(&pat, "ProcessorConfig/Mode"),
                            format!("Unknown Map mode '{m}'"),
                        );
                        MapMode::Inline
                    }
                };
                (
                    mode,
                    cfg.get("ExecutionType")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                )
            }
            Some(_) => {
                self.schema(
                    ptr(&pat, "ProcessorConfig"),
                    "The value for the field 'ProcessorConfig' must be an OBJECT",
                );
                (MapMode::Inline, None)
            }
        };
        let processor = self.program(proc_obj, &pat, sub_lang(proc_obj, lang), false);
        let mut processor_definition = proc_obj.clone();
        processor_definition.remove("ProcessorConfig");
        let ql = match sub_lang(proc_obj, lang) {
            QueryLanguage::Jsonata => "JSONata",
            QueryLanguage::JsonPath => "JSONPath",
        };
        processor_definition.insert("QueryLanguage".into(), Value::String(ql.into()));
        if obj.get("ItemsPath") == Some(&Value::Null) {
            self.schema(
                ptr(at, "ItemsPath"),
                "The value for the field 'ItemsPath' must be a STRING",
            );
        }
        for key in ["ItemReader", "ItemBatcher", "ResultWriter"] {
            if let Some(v) = obj.get(key) {
                self.map_config(v, &ptr(at, key), key, lang);
            }
        }
        let items_path = match lang {
            QueryLanguage::JsonPath => self
                .opt_path(obj, "ItemsPath", at, true)
                .unwrap_or_default_root(),
            QueryLanguage::Jsonata => Some(root()),
        };
        let max_concurrency = self.dynamic_u64(obj, "MaxConcurrency", at, lang, 0, 99_999_999);
        let tolerated_failure_count =
            self.dynamic_f64(obj, "ToleratedFailureCount", at, lang, None);
        let tolerated_failure_percentage =
            self.dynamic_f64(obj, "ToleratedFailurePercentage", at, lang, Some(100.0));
        let label = match obj.get("Label") {
            None => None,
            Some(Value::String(s)) => {
                if s.is_empty()
                    || s.chars().count() > 40
                    || s.chars().any(|c| {
                        c.is_whitespace()
                            || c.is_control()
                            || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
                    })
                {
                    self.schema(ptr(at, "Label"), "Label must be 1 to 40 characters without whitespace, brackets, wildcards or punctuation");
                }
                Some(s.clone())
            }
            Some(_) => {
                self.schema(
                    ptr(at, "Label"),
                    "The value for the field 'Label' must be a STRING",
                );
                None
            }
        };
        let retry = self.retriers(obj, at);
        let catch = self.catchers(obj, at, index, lang);
        let transition = self.transition(obj, at, index);
        let items_path = items_path.unwrap_or_else(root);
        Some(StateKind::Map(Map {
            items_path,
            items: if lang == QueryLanguage::Jsonata {
                self.jtemplate(obj.get("Items"), &ptr(at, "Items"))
            } else {
                None
            },
            item_selector: if lang == QueryLanguage::Jsonata {
                self.jtemplate(obj.get("ItemSelector"), &ptr(at, "ItemSelector"))
            } else {
                None
            },
            processor: processor?,
            processor_definition: std::sync::Arc::new(Value::Object(processor_definition)),
            mode,
            execution_type,
            max_concurrency: max_concurrency?.unwrap_or(Dynamic::Static(0)),
            tolerated_failure_count: tolerated_failure_count?,
            tolerated_failure_percentage: tolerated_failure_percentage?,
            label,
            item_reader: obj.get("ItemReader").cloned(),
            item_batcher: obj.get("ItemBatcher").cloned(),
            result_writer: obj.get("ResultWriter").cloned(),
            retry: retry?,
            catch: catch?,
            transition: transition?,
        }))
    }
}

fn sub_lang(o: &JsonMap<String, Value>, parent: QueryLanguage) -> QueryLanguage {
    match o.get("QueryLanguage").and_then(Value::as_str) {
        Some("JSONata") => QueryLanguage::Jsonata,
        Some("JSONPath") => QueryLanguage::JsonPath,
        _ => parent,
    }
}

/// A variable name AWS accepts: a letter or underscore, then letters, digits, underscores.
pub fn is_variable_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 80
}

fn root() -> Path {
    Path {
        root: Root::Input,
        segments: Vec::new(),
        text: "$".into(),
    }
}

/// The three outcomes of reading an optional path field.
enum PathField {
    Absent,
    Null,
    Path(Path),
}

trait DefaultRoot {
    fn unwrap_or_default_root(self) -> Option<Path>;
}

impl DefaultRoot for PathField {
    fn unwrap_or_default_root(self) -> Option<Path> {
        match self {
            PathField::Absent => Some(root()),
            PathField::Null => None,
            PathField::Path(p) => Some(p),
        }
    }
}

/// Where a state can go next (Choice targets and Catch targets included).
pub fn successors(s: &State) -> Vec<StateId> {
    let mut out = Vec::new();
    let mut push_t = |t: &Transition| {
        if let Transition::Next(n) = t {
            out.push(*n)
        }
    };
    match &s.kind {
        StateKind::Pass(p) => push_t(&p.transition),
        StateKind::Wait(w) => push_t(&w.transition),
        StateKind::Task(t) => {
            push_t(&t.transition);
            out.extend(t.catch.iter().map(|c| c.next));
        }
        StateKind::Parallel(p) => {
            push_t(&p.transition);
            out.extend(p.catch.iter().map(|c| c.next));
        }
        StateKind::Map(m) => {
            push_t(&m.transition);
            out.extend(m.catch.iter().map(|c| c.next));
        }
        StateKind::Choice(c) => {
            out.extend(c.choices.iter().map(|r| r.next));
            out.extend(c.default);
        }
        StateKind::Succeed | StateKind::Fail(_) => {}
    }
    out
}

/// Actions of the optimised DynamoDB integration (everything else goes through `aws-sdk`).
const DYNAMODB_ACTIONS: [&str; 4] = ["getItem", "putItem", "updateItem", "deleteItem"];

/// Fields of a JSONata state or rule that are not evaluated (names, targets, sub-machines).
const NOT_EVALUATED: [&str; 14] = [
    "Type",
    "Comment",
    "QueryLanguage",
    "Next",
    "End",
    "Default",
    "Resource",
    "Branches",
    "ItemProcessor",
    "Iterator",
    "Choices",
    "Catch",
    "Retry",
    "ErrorEquals",
];

/// A Lambda function name with an optional qualifier (`name` or `name:alias`).
fn valid_lambda_function(rest: &str) -> bool {
    let (name, qualifier) = match rest.split_once(':') {
        Some((n, q)) => (n, Some(q)),
        None => (rest, None),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let qualifier_ok = qualifier.is_none_or(|q| {
        !q.is_empty()
            && q.len() <= 128
            && q.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '$'))
    });
    name_ok && qualifier_ok
}

impl Parser {
    /// A Task's `Resource`: an ARN that names something that exists, and for Express machines
    /// no activity and no `.sync` / `.waitForTaskToken` integration pattern.
    fn resource(&mut self, s: &str, at: &str) {
        let unrecognized = format!(
            "The resource provided {s} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."
        );
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let [arn, partition, service, region, account, rest] = parts[..] else {
            self.schema(at, unrecognized);
            return;
        };
        if arn != "arn" || partition.is_empty() || service.is_empty() {
            self.schema(at, unrecognized);
            return;
        }
        if service == "lambda" {
            if let Some(f) = rest.strip_prefix("function:") {
                if !valid_lambda_function(f) {
                    self.schema(at, unrecognized);
                }
            }
            return;
        }
        if service != "states" {
            return;
        }
        let express = self.machine_type == MachineType::Express;
        if region.is_empty() && account.is_empty() {
            let (integration, action) = rest.split_once(':').unwrap_or((rest, ""));
            let (action, pattern) = action.split_once('.').unwrap_or((action, ""));
            if integration == "dynamodb" && !DYNAMODB_ACTIONS.contains(&action) {
                self.schema(at, unrecognized);
                return;
            }
            if express && (pattern == "sync" || pattern.starts_with("sync:")) {
                self.schema(
                    at,
                    "Express state machine does not support '.sync' service integration",
                );
            } else if express && pattern == "waitForTaskToken" {
                // AWS's message ends with a space.
                self.schema(
                    at,
                    "Express state machine does not support '.waitForTaskToken' service integration ",
                );
            }
        } else if express && rest.starts_with("activity:") {
            self.schema(at, "Express state machine does not support Activity ARN");
        }
    }

    /// A JSONata state's `Assign` is an object.
    fn jsonata_assign(&mut self, obj: &JsonMap<String, Value>, at: &str) {
        let Some(a) = obj.get("Assign") else { return };
        let Some(map) = a.as_object() else {
            self.schema(
                ptr(at, "Assign"),
                "The value for the field 'Assign' must be an OBJECT",
            );
            return;
        };
        for key in map.keys() {
            // A variable is assigned whole: `a.b` or `a[0]` would be a path into one.
            if key.is_empty()
                || key.contains(['.', '[', ']', '$'])
                || key.contains(char::is_whitespace)
            {
                self.schema(
                    ptr(&ptr(at, "Assign"), key),
                    format!("The variable name '{key}' is not valid: Assign sets whole variables, not paths into them"),
                );
            }
        }
    }

    /// `$states.result` exists only in a Task's, Parallel's or Map's Output and Assign;
    /// `$states.errorOutput` only in a Catch's.
    fn states_refs(&mut self, t: Option<&JTemplate>, at: &str, result_ok: bool, error_ok: bool) {
        let Some(t) = t else { return };
        for j in t.expressions() {
            for (name, ok) in [
                ("$states.result", result_ok),
                ("$states.errorOutput", error_ok),
            ] {
                if !ok && j.text().contains(name) {
                    self.schema(
                        at,
                        format!("The JSONata expression '{}' references {name}, which does not exist in this field", j.text()),
                    );
                }
            }
        }
    }

    /// A JSONata template field, parsed (a malformed expression is reported once).
    fn jtemplate(&mut self, v: Option<&Value>, at: &str) -> Option<JTemplate> {
        let v = v?;
        match JTemplate::parse(v) {
            Ok(t) => Some(t),
            Err(e) => {
                self.report_once(at, e);
                None
            }
        }
    }

    /// A `{% expr %}` string, parsed.
    fn jexpr(&mut self, s: &str, at: &str) -> Option<Jsonata> {
        match crate::jsonata::inner(s).and_then(Jsonata::parse) {
            Ok(j) => Some(j),
            Err(e) => {
                self.report_once(at, e);
                None
            }
        }
    }

    /// Reports a problem unless one was already reported at or below `at`.
    fn report_once(&mut self, at: &str, message: String) {
        if !self.diags.iter().any(|d| d.location.starts_with(at)) {
            self.schema(at, message);
        }
    }

    /// Every string in the evaluated fields of a JSONata state or rule: one that opens or
    /// closes like an expression must be a well-formed `{% expression %}`.
    fn jsonata_fields(&mut self, obj: &JsonMap<String, Value>, at: &str) {
        for (k, v) in obj {
            if !NOT_EVALUATED.contains(&k.as_str()) {
                self.jsonata_value(v, &ptr(at, k), 0);
            }
        }
    }

    fn jsonata_value(&mut self, v: &Value, at: &str, depth: usize) {
        if depth > 64 {
            return;
        }
        match v {
            Value::String(s) if s.starts_with("{%") || s.ends_with("%}") => {
                if let Err(e) = crate::jsonata::check_string(s) {
                    self.schema(at, e);
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    self.jsonata_value(x, &ptr(at, k), depth + 1);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.jsonata_value(x, &format!("{at}/{i}"), depth + 1);
                }
            }
            _ => {}
        }
    }

    /// `ItemReader`, `ItemBatcher`, `ResultWriter`: an object in which a field and its
    /// `...Path` twin exclude each other (also inside `ReaderConfig`); JSONPath paths are
    /// checked.
    fn map_config(&mut self, v: &Value, at: &str, key: &str, lang: QueryLanguage) {
        let Some(obj) = v.as_object() else {
            self.schema(
                at,
                format!("The value for the field '{key}' must be an OBJECT"),
            );
            return;
        };
        self.static_or_path(obj, at, lang);
        if let Some(Value::Object(cfg)) = obj.get("ReaderConfig") {
            self.static_or_path(cfg, &ptr(at, "ReaderConfig"), lang);
        }
    }

    fn static_or_path(&mut self, obj: &JsonMap<String, Value>, at: &str, lang: QueryLanguage) {
        for (k, v) in obj {
            let Some(base) = k.strip_suffix("Path") else {
                continue;
            };
            if base.is_empty() || base.ends_with('.') {
                continue;
            }
            if obj.contains_key(base) {
                self.schema(at, format!("Only one of '{base}' or '{k}' can be set"));
            }
            if lang == QueryLanguage::JsonPath {
                if let Value::String(s) = v {
                    self.path(s, &ptr(at, k), false, false);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deeply_nested_yaml_is_refused_quickly() {
        // Found by fuzzing: the YAML scanner is quadratic in flow nesting depth.
        let n = 100_000;
        for text in [
            format!("a: {}{}", "[".repeat(n), "]".repeat(n)),
            format!("a: {}1{}", "{b: ".repeat(n), "}".repeat(n)),
            format!("a: {}", "[\"]\", ".repeat(n)),
            format!("a: {}", "[ # ]\n".repeat(n)),
        ] {
            let start = std::time::Instant::now();
            let d = parse_text(&text).unwrap_err();
            assert!(d.to_string().contains("nested more than"), "{d}");
            assert!(start.elapsed() < std::time::Duration::from_secs(2));
        }
        // Brackets in quoted scalars and comments do not count, nor do words' apostrophes.
        let (sq, cu) = ("[".repeat(200), "{".repeat(200));
        let ok = format!(
            "StartAt: A # {sq}\nComment: 'it''s {sq}'\nX: \"\\\" {cu}\"\nY: it's a [plain] scalar\nStates: {{A: {{Type: Succeed}}}}\n"
        );
        if let Err(d) = parse_text(&ok) {
            panic!("{d}: {ok}");
        }
    }

    fn one_state(state: Value) -> Value {
        json!({"StartAt": "S", "States": {"S": state}})
    }

    fn messages(v: &Value, kind: MachineType) -> Vec<String> {
        validate_for(v, kind)
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    fn task(resource: &str) -> Value {
        one_state(json!({"Type": "Task", "Resource": resource, "End": true}))
    }

    #[test]
    fn resources_must_be_recognised_arns() {
        let m = messages(&task("foo:bar"), MachineType::Standard);
        assert_eq!(m, ["SCHEMA_VALIDATION_FAILED: The resource provided foo:bar is not recognized. The value is not a valid resource ARN, or the resource is not available in this region. at /States/S/Resource"]);
        for bad in [
            "arn:aws:states:::dynamodb:query",
            "arn:aws:lambda:us-east-1:123456789012:function:f:",
            "arn:aws:lambda:us-east-1:123456789012:function:f:$*#",
        ] {
            assert_eq!(validate(&task(bad)).len(), 1, "{bad}");
        }
        for good in [
            "arn:aws:states:::dynamodb:getItem",
            "arn:aws:states:::aws-sdk:dynamodb:query",
            "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
        ] {
            assert!(validate(&task(good)).is_empty(), "{good}");
        }
    }

    #[test]
    fn express_machines_reject_activities_and_callbacks() {
        for (r, msg) in [
            (
                "arn:aws:states:::states:startExecution.sync",
                "Express state machine does not support '.sync' service integration",
            ),
            (
                "arn:aws:states:::states:startExecution.sync:2",
                "Express state machine does not support '.sync' service integration",
            ),
            (
                "arn:aws:states:::sns:publish.waitForTaskToken",
                "Express state machine does not support '.waitForTaskToken' service integration ",
            ),
            (
                "arn:aws:states:us-east-1:123456789012:activity:a",
                "Express state machine does not support Activity ARN",
            ),
        ] {
            let d = validate_for(&task(r), MachineType::Express);
            assert_eq!(d.len(), 1, "{r}");
            assert_eq!(d[0].message, msg);
            assert_eq!(d[0].location, "/States/S/Resource");
            assert!(validate(&task(r)).is_empty(), "{r} is fine for Standard");
        }
    }

    #[test]
    fn only_a_jsonata_machine_forbids_jsonpath_states() {
        let inner = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}}});
        let mut m = one_state(
            json!({"Type": "Map", "QueryLanguage": "JSONata", "ItemProcessor": inner, "End": true}),
        );
        assert!(validate(&m).is_empty());
        m["QueryLanguage"] = json!("JSONata");
        m["States"]["S"]
            .as_object_mut()
            .unwrap()
            .remove("QueryLanguage");
        let d = validate(&m);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].location, "/States/S/ItemProcessor/States/P");
    }

    #[test]
    fn jsonata_strings_must_be_well_formed() {
        for bad in [
            "{% 10 %",
            "10 %}",
            "{%  %}",
            "{% 1 + * 2 %}",
            "{% $sum($x %}",
        ] {
            let m = one_state(
                json!({"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"a": [bad]}, "End": true}),
            );
            let d = validate(&m);
            assert_eq!(d.len(), 1, "{bad}");
            assert_eq!(d[0].location, "/States/S/Output/a/0");
        }
        // Not an expression: a literal string.
        let m = one_state(
            json!({"Type": "Pass", "QueryLanguage": "JSONata", "Output": " {% x %} ", "End": true}),
        );
        assert!(validate(&m).is_empty());
        // Any whitespace (or none) around the expression, as AWS accepts it.
        for ok in [
            "{%10%}",
            "{%$states.input %}",
            "{% $states.input%}",
            "{%\n  10\n%}",
        ] {
            let m = one_state(
                json!({"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"a": [ok]}, "End": true}),
            );
            assert!(validate(&m).is_empty(), "{ok:?}");
        }
        // JSONPath states do not evaluate JSONata.
        let m = one_state(json!({"Type": "Pass", "Result": "{% 10 %", "End": true}));
        assert!(validate(&m).is_empty());
    }

    #[test]
    fn map_config_fields_and_their_path_twins_exclude_each_other() {
        let inner = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
        let mut m = one_state(json!({"Type": "Map", "ItemProcessor": inner, "End": true,
            "ItemBatcher": {"MaxItemsPerBatch": 2, "MaxItemsPerBatchPath": "$.n"}}));
        assert_eq!(validate(&m).len(), 1);
        m["States"]["S"]["ItemBatcher"] = json!({"MaxItemsPerBatchPath": "$.n"});
        assert!(validate(&m).is_empty());
        m["States"]["S"]["ItemReader"] = json!({"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"MaxItems": 1, "MaxItemsPath": "$.m"}});
        assert_eq!(
            validate(&m)[0].location,
            "/States/S/ItemReader/ReaderConfig"
        );
        m["States"]["S"]
            .as_object_mut()
            .unwrap()
            .remove("ItemReader");
        m["States"]["S"]["ItemsPath"] = Value::Null;
        assert_eq!(validate(&m)[0].location, "/States/S/ItemsPath");
    }

    #[test]
    fn aws_wording_for_templates_and_timestamps() {
        let m =
            one_state(json!({"Type": "Pass", "Parameters": {"p.$": "States.Nope()"}, "End": true}));
        assert_eq!(
            crate::diagnostic::invalid_definition_message(&validate(&m)),
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field 'p.$' must be a valid JSONPath or a valid intrinsic function call at /States/S/Parameters'"
        );
        let m = one_state(json!({"Type": "Wait", "Timestamp": "2016-12-05T21:29:29", "End": true}));
        assert_eq!(
            messages(&m, MachineType::Standard),
            ["SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp at /States/S/Timestamp"]
        );
    }
}
