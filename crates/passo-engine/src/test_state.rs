//! The TestState API: one state run on its own, with a given input, context object,
//! variables and (for Task, Map and Parallel) a mocked result. It reports what each step of
//! the state's input and output processing produced (`inspectionData`), where the state would
//! go next, and what Retry and Catch would do with a failure, without running the retry or
//! the catcher's target: that is the caller's next TestState call.
//!
//! Pure like the interpreter: the time and the random seed come with the call, and a Task
//! that is not mocked comes back as [`Step::Invoke`] for the host to run; the host then runs
//! the state again with the task's outcome ([`Prepared::run`] is deterministic, so the second
//! run evaluates exactly what the first did).
//!
//! What AWS does here was read from the 207 TestState calls recorded against it in
//! `../shared/conformance/asl/test_state` (notes: `docs/research/test-state.md`).

use crate::context::iso_millis;
use crate::driver::Invocation;
use crate::failure::Failure;
use crate::io::{Eval, StatesExtra};
use crate::states::fanout::{jsonata_items, map_number, map_tolerance};
use crate::states::flow::fail_fields;
use crate::states::jsonata::{jsonata_fail_fields, type_error};
use crate::states::no_choice_matched;
use crate::test_state_shapes::{check_mock_result, FieldValidationMode};
use crate::Execution;
use passo_asl::model::*;
use passo_asl::path::{Path, Root};
use passo_asl::{invalid_definition_message, MachineType};
use passo_expr::{ExprError, Scope};
use serde_json::{json, Map, Value};
use std::cell::Cell;

/// How much the response tells: INFO gives the outcome only, DEBUG and TRACE add
/// `inspectionData` (TRACE would add the HTTP request and response of an HTTP Task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InspectionLevel {
    #[default]
    Info,
    Debug,
    Trace,
}

impl InspectionLevel {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "INFO" => Some(Self::Info),
            "DEBUG" => Some(Self::Debug),
            "TRACE" => Some(Self::Trace),
            _ => None,
        }
    }
}

/// A TestState request, as the API takes it (JSON documents as text).
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub definition: String,
    pub role_arn: Option<String>,
    pub input: Option<String>,
    pub inspection_level: InspectionLevel,
    pub reveal_secrets: bool,
    pub variables: Option<String>,
    /// The state to test when `definition` is a whole state machine.
    pub state_name: Option<String>,
    pub mock: Option<MockInput>,
    pub context: Option<String>,
    pub config: StateConfiguration,
}

impl Request {
    /// Reads the API's request body (AWS's camelCase members; JSON documents as text).
    pub fn from_api(body: &Value) -> Result<Request, TestStateError> {
        let text = |k: &str| -> Result<Option<String>, TestStateError> {
            match body.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(invalid(format!("Value at '{k}' must be a string"))),
            }
        };
        let definition = text("definition")?.ok_or_else(|| {
            invalid("1 validation error detected: Value null at 'definition' failed to satisfy constraint: Member must not be null")
        })?;
        let inspection_level = match text("inspectionLevel")? {
            None => InspectionLevel::Info,
            Some(l) => InspectionLevel::parse(&l).ok_or_else(|| {
                invalid(format!("1 validation error detected: Value '{l}' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]"))
            })?,
        };
        let mock = match body.get("mock") {
            None | Some(Value::Null) => None,
            Some(m) => {
                let error_output = match m.get("errorOutput") {
                    None | Some(Value::Null) => None,
                    Some(e) => Some(MockError {
                        error: e.get("error").and_then(Value::as_str).map(String::from),
                        cause: e.get("cause").and_then(Value::as_str).map(String::from),
                    }),
                };
                let field_validation_mode = match m.get("fieldValidationMode").and_then(Value::as_str) {
                    None => FieldValidationMode::default(),
                    Some(f) => FieldValidationMode::parse(f).ok_or_else(|| {
                        invalid(format!("1 validation error detected: Value '{f}' at 'mock.fieldValidationMode' failed to satisfy constraint: Member must satisfy enum value set: [STRICT, PRESENT, NONE]"))
                    })?,
                };
                Some(MockInput {
                    result: m.get("result").and_then(Value::as_str).map(String::from),
                    error_output,
                    field_validation_mode,
                })
            }
        };
        let c = &body["stateConfiguration"];
        let config = StateConfiguration {
            retrier_retry_count: c.get("retrierRetryCount").and_then(Value::as_u64),
            error_caused_by_state: c
                .get("errorCausedByState")
                .and_then(Value::as_str)
                .map(String::from),
            map_iteration_failure_count: c.get("mapIterationFailureCount").and_then(Value::as_u64),
            map_item_reader_data: c
                .get("mapItemReaderData")
                .and_then(Value::as_str)
                .map(String::from),
        };
        Ok(Request {
            definition,
            role_arn: text("roleArn")?,
            input: text("input")?,
            inspection_level,
            reveal_secrets: body
                .get("revealSecrets")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            variables: text("variables")?,
            state_name: text("stateName")?,
            mock,
            context: text("context")?,
            config,
        })
    }
}

/// `mock`: the state's result (a JSON text) or its error, never both.
#[derive(Debug, Clone, Default)]
pub struct MockInput {
    pub result: Option<String>,
    pub error_output: Option<MockError>,
    pub field_validation_mode: FieldValidationMode,
}

#[derive(Debug, Clone, Default)]
pub struct MockError {
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// `stateConfiguration`: what earlier attempts and iterations would have left behind.
#[derive(Debug, Clone, Default)]
pub struct StateConfiguration {
    /// Retries already made (the back-off and whether another retry is left depend on it).
    pub retrier_retry_count: Option<u64>,
    /// The state inside a Map or Parallel that the mocked error comes from.
    pub error_caused_by_state: Option<String>,
    /// Failed iterations of a Map (checked against its tolerated failure thresholds).
    pub map_iteration_failure_count: Option<u64>,
    /// The items an ItemReader would have read (a JSON text).
    pub map_item_reader_data: Option<String>,
}

/// Why a request is refused before anything runs, with AWS's exception names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestStateError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidDefinition(String),
}

impl TestStateError {
    /// The AWS exception name.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "ValidationException",
            Self::InvalidDefinition(_) => "InvalidDefinition",
        }
    }
}

fn invalid(msg: impl Into<String>) -> TestStateError {
    TestStateError::Validation(msg.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed,
    /// The error matched a retrier with attempts left: the state would run again.
    Retriable,
    /// The error matched a catcher: the state's output is the catcher's.
    CaughtError,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Retriable => "RETRIABLE",
            Self::CaughtError => "CAUGHT_ERROR",
        }
    }
}

/// Which retrier or catcher handled an error (`InspectionErrorDetails`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorDetails {
    pub catch_index: Option<usize>,
    pub retry_index: Option<usize>,
    pub retry_backoff_interval_seconds: Option<u64>,
}

/// What each step of the state's processing produced (`InspectionData`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    pub input: Option<Value>,
    pub after_input_path: Option<Value>,
    pub after_parameters: Option<Value>,
    pub after_arguments: Option<Value>,
    pub after_items_path: Option<Value>,
    pub result: Option<Value>,
    pub after_result_selector: Option<Value>,
    pub after_result_path: Option<Value>,
    pub variables: Option<Value>,
    pub max_concurrency: Option<u64>,
    pub tolerated_failure_count: Option<u64>,
    pub tolerated_failure_percentage: Option<f64>,
    pub error_details: Option<ErrorDetails>,
}

impl Inspection {
    /// The API's form: documents as JSON text, counts as numbers.
    pub fn to_api(&self) -> Value {
        let mut m = Map::new();
        let docs = [
            ("input", &self.input),
            ("afterInputPath", &self.after_input_path),
            ("afterParameters", &self.after_parameters),
            ("afterArguments", &self.after_arguments),
            ("afterItemsPath", &self.after_items_path),
            ("result", &self.result),
            ("afterResultSelector", &self.after_result_selector),
            ("afterResultPath", &self.after_result_path),
            ("variables", &self.variables),
        ];
        for (k, v) in docs {
            if let Some(v) = v {
                m.insert(k.into(), Value::String(v.to_string()));
            }
        }
        if let Some(n) = self.max_concurrency {
            m.insert("maxConcurrency".into(), json!(n));
        }
        if let Some(n) = self.tolerated_failure_count {
            m.insert("toleratedFailureCount".into(), json!(n));
        }
        if let Some(p) = self.tolerated_failure_percentage {
            m.insert("toleratedFailurePercentage".into(), json!(p));
        }
        if let Some(d) = &self.error_details {
            let mut e = Map::new();
            if let Some(i) = d.catch_index {
                e.insert("catchIndex".into(), json!(i));
            }
            if let Some(i) = d.retry_index {
                e.insert("retryIndex".into(), json!(i));
            }
            if let Some(s) = d.retry_backoff_interval_seconds {
                e.insert("retryBackoffIntervalSeconds".into(), json!(s));
            }
            m.insert("errorDetails".into(), Value::Object(e));
        }
        Value::Object(m)
    }
}

/// The outcome of a TestState call.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub next_state: Option<String>,
    /// Absent at INFO.
    pub inspection: Option<Box<Inspection>>,
}

impl Response {
    /// The API's response body.
    pub fn to_api(&self) -> Value {
        let mut m = Map::new();
        m.insert("status".into(), json!(self.status.as_str()));
        if let Some(o) = &self.output {
            m.insert("output".into(), Value::String(o.to_string()));
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), json!(e));
        }
        if let Some(c) = &self.cause {
            m.insert("cause".into(), json!(c));
        }
        if let Some(n) = &self.next_state {
            m.insert("nextState".into(), json!(n));
        }
        if let Some(i) = &self.inspection {
            m.insert("inspectionData".into(), i.to_api());
        }
        Value::Object(m)
    }
}

/// What the host gives a call: its clock, randomness and where it runs (for the context
/// object TestState makes up when none is given).
#[derive(Debug, Clone)]
pub struct Environment {
    pub now_ms: i64,
    pub seed: u64,
    pub region: String,
    pub account: String,
}

/// What running the state gave.
#[derive(Debug)]
pub enum Step {
    Done(Response),
    /// The Task is not mocked: run this call, then [`Prepared::run`] again with its outcome.
    Invoke(Invocation),
}

/// The name a single state gets when it is tested on its own (AWS validates it as the only
/// state of a machine, and reports faults at `/States/StateName/...`).
const SINGLE: &str = "StateName";

/// A checked request, ready to run.
#[derive(Debug)]
pub struct Prepared {
    machine: StateMachine,
    state_name: String,
    input: Value,
    context: Value,
    variables: Map<String, Value>,
    mock: Option<Result<Value, Failure>>,
    config: StateConfiguration,
    level: InspectionLevel,
    now_ms: i64,
    seed: u64,
}

/// Checks a request as AWS does, in AWS's order, before anything runs.
pub fn prepare(req: &Request, env: &Environment) -> Result<Prepared, TestStateError> {
    let (machine, state_name) = definition(req)?;
    let state = find(&machine.program, &state_name)
        .ok_or_else(|| invalid("State not found in definition"))?;
    let type_name = state.kind.type_name();
    if let Some(mock) = &req.mock {
        if mock.result.is_some() == mock.error_output.is_some() {
            return Err(invalid(
                "A test mock should have only one of the following fields: [result, errorOutput].",
            ));
        }
        if !matches!(
            state.kind,
            StateKind::Task(_) | StateKind::Map(_) | StateKind::Parallel(_)
        ) {
            return Err(invalid(format!(
                "State type '{type_name}' is not supported when a mock is specified"
            )));
        }
        if req.reveal_secrets {
            return Err(invalid(
                "TestState does not support RevealSecrets when a mock is specified.",
            ));
        }
    }
    if req.config.map_iteration_failure_count.is_some() && req.mock.is_none() {
        return Err(invalid(
            "TestState does not support MapIterationFailureCount when a mock is not specified.",
        ));
    }
    if matches!(state.kind, StateKind::Map(_) | StateKind::Parallel(_)) && req.mock.is_none() {
        return Err(TestStateError::InvalidDefinition(
            "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]".into(),
        ));
    }
    let mock = match &req.mock {
        None => None,
        Some(MockInput {
            error_output: Some(e),
            ..
        }) => Some(Err(Failure {
            error: e.error.clone().unwrap_or_default(),
            cause: e.cause.clone(),
            from_task: true,
        })),
        Some(m) => {
            let text = m.result.as_deref().unwrap_or_default();
            let r: Value = serde_json::from_str(text)
                .map_err(|_| invalid("Mocked result must be valid JSON"))?;
            check_fanout_mock(state, &r, &req.config)?;
            Some(Ok(r))
        }
    };
    let input = match req.input.as_deref() {
        None => Value::Object(Map::new()),
        Some(t) => serde_json::from_str(t)
            .map_err(|e| invalid(format!("Invalid input: the input is not valid JSON ({e})")))?,
    };
    let context = match req.context.as_deref() {
        Some(t) => {
            let c: Value = serde_json::from_str(t).map_err(|_| {
                invalid("Invalid Context object provided: the context is not valid JSON")
            })?;
            check_context(&c, state)?;
            c
        }
        None => made_up_context(req, env, state, &input),
    };
    if let StateKind::Task(t) = &state.kind {
        if req.mock.is_none() && req.role_arn.is_none() {
            return Err(invalid(
                "RoleArn must be specified when testing a Task state",
            ));
        }
        // A real call of these would wait for a worker, a callback or a child execution;
        // AWS's documentation lists them as unsupported (a mock stands in for them).
        let waits = t.resource.contains(":activity:")
            || t.resource.contains(".sync")
            || t.resource.ends_with(".waitForTaskToken");
        if req.mock.is_none() && waits {
            return Err(TestStateError::InvalidDefinition(
                "TestState does not support Activity tasks, .sync or .waitForTaskToken service integration patterns without a mock".into(),
            ));
        }
        if let (Some(Ok(r)), Some(m)) = (&mock, &req.mock) {
            check_mock_result(&t.resource, r, m.field_validation_mode).map_err(invalid)?;
        }
    }
    let variables = match req.variables.as_deref() {
        None => Map::new(),
        Some(t) => match serde_json::from_str(t) {
            Ok(Value::Object(m)) => m,
            _ => return Err(invalid("Variables must be a JSON object")),
        },
    };
    Ok(Prepared {
        machine,
        state_name,
        input,
        context,
        variables,
        mock,
        config: req.config.clone(),
        level: req.inspection_level,
        now_ms: env.now_ms,
        seed: env.seed,
    })
}

/// Parses the definition: a whole machine (with `stateName`), or one state, validated as the
/// only state of a machine. Its transitions may name states that are not there.
fn definition(req: &Request) -> Result<(StateMachine, String), TestStateError> {
    let bad = |d: Vec<passo_asl::Diagnostic>| {
        TestStateError::InvalidDefinition(invalid_definition_message(&d))
    };
    let value = passo_asl::parse_text(&req.definition).map_err(|d| bad(vec![d]))?;
    let whole = value.get("States").is_some();
    if let Some(name) = &req.state_name {
        if name.is_empty() {
            return Err(invalid("1 validation error detected: Value '' at 'stateName' failed to satisfy constraint: Member must have length greater than or equal to 1"));
        }
    }
    match (&req.state_name, whole) {
        (Some(name), _) => {
            let m = passo_asl::parse_for(&value, MachineType::Standard).map_err(bad)?;
            Ok((m, name.clone()))
        }
        (None, true) => {
            let m = passo_asl::parse_for(&value, MachineType::Standard).map_err(bad)?;
            let start = m.program.state(m.program.start_at).name.to_string();
            Ok((m, start))
        }
        (None, false) => {
            let mut states = Map::new();
            states.insert(SINGLE.into(), value.clone());
            for target in targets(&value) {
                if target != SINGLE {
                    states
                        .entry(target)
                        .or_insert_with(|| json!({"Type": "Succeed"}));
                }
            }
            let wrapped = json!({"StartAt": SINGLE, "States": states});
            let m = passo_asl::parse_for(&wrapped, MachineType::Standard).map_err(bad)?;
            Ok((m, SINGLE.into()))
        }
    }
}

/// The states a single state's Next, Default, Choices and Catch name.
fn targets(state: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |v: &Value| {
        if let Some(s) = v.as_str() {
            out.push(s.to_string());
        }
    };
    push(&state["Next"]);
    push(&state["Default"]);
    for list in ["Choices", "Catch"] {
        for r in state[list].as_array().into_iter().flatten() {
            push(&r["Next"]);
        }
    }
    out
}

/// Finds a state by name anywhere in the machine, nested Map processors and Parallel
/// branches included.
fn find<'a>(p: &'a Program, name: &str) -> Option<&'a State> {
    for s in &p.states {
        if *s.name == *name {
            return Some(s);
        }
        let found = match &s.kind {
            StateKind::Map(m) => find(&m.processor, name),
            StateKind::Parallel(par) => par.branches.iter().find_map(|b| find(b, name)),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// A mocked Map result is the array of its iterations' results (an object when a
/// ResultWriter writes them elsewhere); a mocked Parallel result holds one per branch.
fn check_fanout_mock(
    state: &State,
    r: &Value,
    config: &StateConfiguration,
) -> Result<(), TestStateError> {
    match &state.kind {
        StateKind::Map(m) if m.result_writer.is_some() && !r.is_object() => {
            return Err(invalid("Mocked result must be a JSON object."));
        }
        StateKind::Map(m) if m.result_writer.is_some() => {}
        StateKind::Map(_) => {
            let Value::Array(items) = r else {
                return Err(invalid("Mocked result must be an array."));
            };
            if config
                .map_iteration_failure_count
                .is_some_and(|k| k as usize > items.len())
            {
                return Err(invalid(
                    "Map iteration failure count must be less than or equal to the number of Map iterations",
                ));
            }
        }
        StateKind::Parallel(p) => {
            let Value::Array(items) = r else {
                return Err(invalid("Mocked result must be an array."));
            };
            if items.len() != p.branches.len() {
                return Err(invalid(
                    "Mocked result must contain the same number of items as number of Parallel branches.",
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Checks a given context object: only the members a state's context can have, of the right
/// types. It is then used exactly as given (AWS fills nothing in).
fn check_context(c: &Value, state: &State) -> Result<(), TestStateError> {
    let bad = |m: String| invalid(format!("Invalid Context object provided: {m}"));
    let Value::Object(top) = c else {
        return Err(bad("the context object must be a JSON object".into()));
    };
    let waits = matches!(&state.kind, StateKind::Task(t)
        if t.resource.contains(".sync") || t.resource.ends_with(".waitForTaskToken"));
    for (k, v) in top {
        let (fields, strings): (&[&str], &[&str]) = match k.as_str() {
            "Execution" => (
                &["Id", "Input", "Name", "RoleArn", "StartTime", "RedriveCount", "RedriveTime"],
                &["Id", "Name", "RoleArn", "StartTime", "RedriveTime"],
            ),
            "StateMachine" => (&["Id", "Name"], &["Id", "Name"]),
            "State" => (
                &["EnteredTime", "Name", "RetryCount"],
                &["EnteredTime", "Name"],
            ),
            "Task" if waits => (&["Token"], &["Token"]),
            "Task" => return Err(bad("Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern".into())),
            "Map" => return Err(bad("'Map' field is not supported when mocking a Context object".into())),
            other => return Err(bad(format!("Field '{other}' is not allowed"))),
        };
        let Value::Object(members) = v else {
            return Err(bad(format!("{k} must be an object")));
        };
        for (f, x) in members {
            if !fields.contains(&f.as_str()) {
                return Err(bad(format!("Field '{f}' is not allowed")));
            }
            if strings.contains(&f.as_str()) && !x.is_string() {
                return Err(bad(format!("{k}.{f} must be a string")));
            }
            if !strings.contains(&f.as_str()) && f != "Input" && !x.is_number() {
                return Err(bad(format!("{k}.{f} must be a number")));
            }
        }
    }
    Ok(())
}

/// The context object TestState makes up when none is given: an Express execution of a
/// machine with made-up names, the state called "StateName" (as AWS names it whatever the
/// state's own name is).
fn made_up_context(req: &Request, env: &Environment, state: &State, input: &Value) -> Value {
    // Its own stream, so the names do not repeat the state's first `$uuid()` draws.
    let rng = Cell::new(env.seed ^ 0x7e57_57a7e);
    let machine = passo_expr::random::uuid_v4(&rng);
    let execution = passo_expr::random::uuid_v4(&rng);
    let base = format!("arn:aws:states:{}:{}", env.region, env.account);
    let now = iso_millis(env.now_ms);
    let mut st = Map::new();
    st.insert("Name".into(), json!(SINGLE));
    st.insert("EnteredTime".into(), json!(now));
    // AWS leaves RetryCount out for a Pass state (the only other kind recorded is Task/Map).
    if !matches!(state.kind, StateKind::Pass(_)) {
        st.insert(
            "RetryCount".into(),
            json!(req.config.retrier_retry_count.unwrap_or(0)),
        );
    }
    json!({
        "Execution": {
            "Id": format!("{base}:express:{machine}:{execution}"),
            "Input": input,
            "Name": execution,
            "RoleArn": req.role_arn,
            "StartTime": now,
        },
        "StateMachine": {"Id": format!("{base}:stateMachine:{machine}"), "Name": machine},
        "State": st,
    })
}

/// The evaluator of a TestState call: the given context and variables.
struct Env<'a> {
    context: &'a Value,
    vars: &'a Map<String, Value>,
    rng: Cell<u64>,
    now_ms: i64,
}

impl Eval for Env<'_> {
    fn with_scope<R>(&self, input: &Value, f: impl FnOnce(&Scope<'_>) -> R) -> R {
        f(&Scope {
            input,
            context: self.context,
            vars: self.vars,
            rng: &self.rng,
        })
    }

    fn bindings(
        &self,
        input: &Value,
        extra: StatesExtra<'_>,
        with_context: bool,
    ) -> (Value, Vec<(&str, &Value)>) {
        let context = with_context.then(|| self.context.clone());
        let states = crate::io::states_binding(input, context, extra);
        let vars = self.vars.iter().map(|(k, v)| (k.as_str(), v)).collect();
        (states, vars)
    }

    fn with_host<R>(&self, f: impl FnOnce(&passo_expr::jsonata::Host) -> R) -> R {
        crate::io::with_host(self.now_ms, &self.rng, f)
    }
}

/// How the state's own processing ended.
enum Flow {
    Done {
        output: Value,
        next: Option<StateId>,
        assigned: Option<Map<String, Value>>,
    },
    Failed(Failure),
    Invoke(Box<Invocation>),
}

/// Why a state's processing stopped before its output: a failure, or a call to make.
enum Stop {
    Failed(Failure),
    Invoke(Box<Invocation>),
}

impl From<Stop> for Flow {
    fn from(s: Stop) -> Flow {
        match s {
            Stop::Failed(f) => Flow::Failed(f),
            Stop::Invoke(i) => Flow::Invoke(i),
        }
    }
}

fn expr_stop(e: ExprError) -> Stop {
    Stop::Failed(Failure::new(e.error, e.message))
}

/// An expression's error as the state's failure (TestState names no event in the cause).
fn expr_failure(e: ExprError) -> Flow {
    Flow::Failed(Failure::new(e.error, e.message))
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return expr_failure(e),
        }
    };
}

fn next_of(t: Transition) -> Option<StateId> {
    match t {
        Transition::Next(n) => Some(n),
        Transition::End => None,
    }
}

impl Prepared {
    pub fn inspection_level(&self) -> InspectionLevel {
        self.level
    }

    fn state(&self) -> &State {
        find(&self.machine.program, &self.state_name).expect("found when prepared")
    }

    /// The name of state `id` of the program that holds the tested state.
    fn name_of(&self, id: StateId) -> String {
        fn holder<'a>(p: &'a Program, name: &str) -> Option<&'a Program> {
            if p.states.iter().any(|s| *s.name == *name) {
                return Some(p);
            }
            p.states.iter().find_map(|s| match &s.kind {
                StateKind::Map(m) => holder(&m.processor, name),
                StateKind::Parallel(par) => par.branches.iter().find_map(|b| holder(b, name)),
                _ => None,
            })
        }
        holder(&self.machine.program, &self.state_name)
            .map(|p| p.state(id).name.to_string())
            .unwrap_or_default()
    }

    /// Runs the state. `task` is the outcome of the call an earlier run asked for.
    pub fn run(&self, task: Option<Result<Value, Failure>>) -> Step {
        let state = self.state();
        let env = Env {
            context: &self.context,
            vars: &self.variables,
            rng: Cell::new(self.seed),
            now_ms: self.now_ms,
        };
        let mut rec = Inspection {
            input: Some(self.input.clone()),
            ..Inspection::default()
        };
        let flow = match state.query_language {
            QueryLanguage::JsonPath => self.jsonpath(state, &env, &mut rec, task),
            QueryLanguage::Jsonata => self.jsonata(state, &env, &mut rec, task),
        };
        let mut vars = self.variables.clone();
        let mut response = match flow {
            Flow::Invoke(inv) => return Step::Invoke(*inv),
            Flow::Done {
                output,
                next,
                assigned,
            } => {
                vars.extend(assigned.unwrap_or_default());
                Response {
                    status: Status::Succeeded,
                    output: Some(output),
                    error: None,
                    cause: None,
                    next_state: next.map(|n| self.name_of(n)),
                    inspection: None,
                }
            }
            Flow::Failed(f) => self.recover(state, &env, &mut rec, &mut vars, f),
        };
        if self.level != InspectionLevel::Info {
            if !vars.is_empty() {
                rec.variables = Some(Value::Object(vars));
            }
            response.inspection = Some(Box::new(rec));
        }
        Step::Done(response)
    }

    /// The Task's, Map's or Parallel's result: the mock, or the outcome of the real call.
    fn result(
        &self,
        state: &State,
        args: &Value,
        task: Option<Result<Value, Failure>>,
    ) -> Result<Value, Stop> {
        if let Some(m) = &self.mock {
            return m.clone().map_err(Stop::Failed);
        }
        match (task, &state.kind) {
            (Some(r), _) => r.map_err(Stop::Failed),
            (None, StateKind::Task(t)) => Err(Stop::Invoke(Box::new(Invocation {
                state_name: state.name.to_string(),
                resource: t.resource.clone(),
                input: args.clone(),
                attempt: self.config.retrier_retry_count.unwrap_or(0),
                token: self.context["Task"]["Token"].as_str().map(String::from),
                timeout_seconds: match &t.timeout_seconds {
                    Some(Dynamic::Static(n)) => Some(*n),
                    _ => None,
                },
                now_ms: self.now_ms,
            }))),
            // Map and Parallel are refused without a mock when prepared.
            (None, _) => Err(Stop::Failed(Failure::new(
                "States.Runtime",
                "TestState runs Map and Parallel states only with a mock",
            ))),
        }
    }

    fn jsonpath(
        &self,
        state: &State,
        env: &Env<'_>,
        rec: &mut Inspection,
        task: Option<Result<Value, Failure>>,
    ) -> Flow {
        let raw = &self.input;
        // A Parallel, and a Pass with a Result, show no InputPath step (AWS records none).
        let skips_input_path = matches!(&state.kind, StateKind::Parallel(_))
            || matches!(&state.kind, StateKind::Pass(p) if p.result.is_some());
        let eff = if skips_input_path {
            tri!(env.input_path(state.input_path.as_ref(), raw))
        } else {
            let eff = tri!(env.input_path(state.input_path.as_ref(), raw));
            rec.after_input_path = Some(eff.clone());
            eff
        };
        let params = |rec: &mut Inspection| -> Result<Value, ExprError> {
            let p = match &state.parameters {
                Some(t) => env.template(t, &eff)?,
                None => eff.clone(),
            };
            rec.after_parameters = Some(p.clone());
            Ok(p)
        };
        let (result, transition) = match &state.kind {
            StateKind::Choice(c) => {
                let mut chosen = None;
                for rule in &c.choices {
                    let hit = tri!(
                        env.with_scope(&eff, |s| passo_expr::choice::eval(&rule.condition, s))
                    );
                    if hit {
                        chosen = Some(rule);
                        break;
                    }
                }
                let next = match (chosen, c.default) {
                    (Some(r), _) => r.next,
                    (None, Some(d)) => d,
                    (None, None) => return Flow::Failed(no_choice_matched(state)),
                };
                let mut assigned = tri!(assign(env, state.assign.as_ref(), &eff));
                if let Some(extra) = tri!(assign(env, chosen.and_then(|r| r.assign.as_ref()), &eff))
                {
                    assigned.get_or_insert_with(Map::new).extend(extra);
                }
                let output = tri!(env.output_path(state.output_path.as_ref(), eff));
                return Flow::Done {
                    output,
                    next: Some(next),
                    assigned,
                };
            }
            StateKind::Succeed | StateKind::Wait(_) => {
                let assigned = tri!(assign(env, state.assign.as_ref(), &eff));
                let next = match &state.kind {
                    StateKind::Wait(w) => next_of(w.transition),
                    _ => None,
                };
                let output = tri!(env.output_path(state.output_path.as_ref(), eff));
                return Flow::Done {
                    output,
                    next,
                    assigned,
                };
            }
            StateKind::Fail(f) => {
                let (error, cause) = tri!(fail_fields(env, f, raw));
                return Flow::Failed(Failure {
                    error: error.unwrap_or_default(),
                    cause,
                    from_task: false,
                });
            }
            StateKind::Pass(p) => match &p.result {
                Some(r) => {
                    rec.result = Some(r.clone());
                    (r.clone(), p.transition)
                }
                None => (tri!(params(rec)), p.transition),
            },
            StateKind::Task(t) => {
                let args = tri!(params(rec));
                let r = match self.result(state, &args, task) {
                    Ok(r) => r,
                    Err(stop) => return stop.into(),
                };
                rec.result = Some(r.clone());
                (r, t.transition)
            }
            StateKind::Map(m) => {
                if let Err(stop) = self.map_fields(env, state, m, &eff, rec) {
                    return stop.into();
                }
                let r = match self.result(state, &eff, task) {
                    Ok(r) => r,
                    Err(stop) => return stop.into(),
                };
                if let Err(stop) = self.iteration_failures(m, &r, rec) {
                    return stop.into();
                }
                (r, m.transition)
            }
            StateKind::Parallel(p) => {
                let r = match self.result(state, &eff, task) {
                    Ok(r) => r,
                    Err(stop) => return stop.into(),
                };
                (r, p.transition)
            }
        };
        let selected = match &state.result_selector {
            Some(t) if !matches!(state.kind, StateKind::Pass(_)) => tri!(env.template(t, &result)),
            _ => result,
        };
        rec.after_result_selector = Some(selected.clone());
        let assigned = tri!(assign(env, state.assign.as_ref(), &selected));
        let placed = tri!(Execution::apply_result_path(
            state.result_path.as_ref(),
            raw,
            selected
        ));
        rec.after_result_path = Some(placed.clone());
        let output = tri!(env.output_path(state.output_path.as_ref(), placed));
        Flow::Done {
            output,
            next: next_of(transition),
            assigned,
        }
    }

    /// A Map's items (which must be an array), MaxConcurrency and tolerated failures, as the
    /// Map would evaluate them before starting its iterations.
    fn map_fields(
        &self,
        env: &Env<'_>,
        state: &State,
        m: &passo_asl::model::Map,
        eff: &Value,
        rec: &mut Inspection,
    ) -> Result<(), Stop> {
        let jsonata = state.query_language == QueryLanguage::Jsonata;
        if m.item_reader.is_some() {
            // The reader is not run: the items come with the request, when at all.
        } else if jsonata {
            jsonata_items(env, m, eff).map_err(expr_stop)?;
        } else {
            let items = env.read_path(&m.items_path, eff).map_err(expr_stop)?;
            match items {
                Some(Value::Array(a)) => rec.after_items_path = Some(Value::Array(a)),
                _ => {
                    return Err(Stop::Failed(Failure::new(
                        "States.Runtime",
                        format!(
                            "Reference path \"{}\" must point to array.",
                            shown_path(&m.items_path)
                        ),
                    )))
                }
            }
        }
        let field = |f: &str| {
            if jsonata {
                f.to_string()
            } else {
                format!("{f}Path")
            }
        };
        let n = map_number(env, &m.max_concurrency, eff, &field("MaxConcurrency"), true)
            .map_err(expr_stop)?;
        rec.max_concurrency = Some(n);
        if let Some(d) = &m.tolerated_failure_count {
            let c = map_tolerance(env, d, eff, "ToleratedFailureCount", true).map_err(expr_stop)?;
            rec.tolerated_failure_count = Some(c as u64);
        }
        if let Some(d) = &m.tolerated_failure_percentage {
            let p = map_tolerance(env, d, eff, "ToleratedFailurePercentage", false)
                .map_err(expr_stop)?;
            rec.tolerated_failure_percentage = Some(p);
        }
        Ok(())
    }

    /// `mapIterationFailureCount` failed iterations against the Map's tolerated thresholds.
    /// Without a threshold AWS ignores the count (it answered SUCCEEDED).
    fn iteration_failures(
        &self,
        m: &passo_asl::model::Map,
        result: &Value,
        rec: &Inspection,
    ) -> Result<(), Stop> {
        let Some(k) = self.config.map_iteration_failure_count.filter(|k| *k > 0) else {
            return Ok(());
        };
        if m.tolerated_failure_count.is_none() && m.tolerated_failure_percentage.is_none() {
            return Ok(());
        }
        let total = result.as_array().map_or(0, Vec::len).max(1) as f64;
        let count_ok = rec.tolerated_failure_count.is_some_and(|c| k <= c);
        let pct_ok = rec
            .tolerated_failure_percentage
            .is_some_and(|p| k as f64 * 100.0 / total <= p);
        if count_ok || pct_ok {
            return Ok(());
        }
        Err(Stop::Failed(Failure {
            error: "States.ExceedToleratedFailureThreshold".into(),
            cause: Some("The specified tolerated failure threshold was exceeded".into()),
            from_task: true,
        }))
    }

    fn jsonata(
        &self,
        state: &State,
        env: &Env<'_>,
        rec: &mut Inspection,
        task: Option<Result<Value, Failure>>,
    ) -> Flow {
        let input = &self.input;
        let fields = state.jsonata.as_ref();
        let finish = |result: Option<&Value>, next: Option<StateId>| -> Flow {
            let extra = result.map_or(StatesExtra::None, StatesExtra::Result);
            let default = result.cloned().unwrap_or_else(|| input.clone());
            let (output, assigned) = tri!(assign_and_output(
                env,
                fields.and_then(|f| f.assign.as_ref()),
                fields.and_then(|f| f.output.as_ref()),
                input,
                extra,
                default
            ));
            Flow::Done {
                output,
                next,
                assigned,
            }
        };
        match &state.kind {
            StateKind::Pass(p) => finish(None, next_of(p.transition)),
            StateKind::Wait(w) => finish(None, next_of(w.transition)),
            StateKind::Succeed => finish(None, None),
            StateKind::Fail(f) => {
                let (error, cause) = tri!(jsonata_fail_fields(env, f, input));
                Flow::Failed(Failure {
                    error: error.unwrap_or_default(),
                    cause,
                    from_task: false,
                })
            }
            StateKind::Choice(c) => {
                let mut chosen: Option<&ChoiceRule> = None;
                for rule in &c.choices {
                    let Condition::Jsonata(j) = &rule.condition else {
                        continue;
                    };
                    match tri!(env.jexpr(j, input, StatesExtra::None, "Condition")) {
                        Some(Value::Bool(true)) => {
                            chosen = Some(rule);
                            break;
                        }
                        Some(Value::Bool(false)) => {}
                        other => return expr_failure(type_error("a boolean", j.text(), &other)),
                    }
                }
                let next = match (chosen, c.default) {
                    (Some(r), _) => r.next,
                    (None, Some(d)) => d,
                    (None, None) => return Flow::Failed(no_choice_matched(state)),
                };
                let rule_fields = chosen.and_then(|r| r.jsonata.as_ref());
                let pick = |f: fn(&JsonataFields) -> Option<&passo_asl::jtemplate::JTemplate>| {
                    rule_fields.and_then(f).or(fields.and_then(f))
                };
                let (output, assigned) = tri!(assign_and_output(
                    env,
                    pick(|f| f.assign.as_ref()),
                    pick(|f| f.output.as_ref()),
                    input,
                    StatesExtra::None,
                    input.clone()
                ));
                Flow::Done {
                    output,
                    next: Some(next),
                    assigned,
                }
            }
            StateKind::Task(t) => {
                let args = match fields.and_then(|f| f.arguments.as_ref()) {
                    Some(tpl) => tri!(env.jtemplate(tpl, input, StatesExtra::None, "Arguments")),
                    None => input.clone(),
                };
                rec.after_arguments = Some(args.clone());
                let r = match self.result(state, &args, task) {
                    Ok(r) => r,
                    Err(stop) => return stop.into(),
                };
                rec.result = Some(r.clone());
                finish(Some(&r), next_of(t.transition))
            }
            StateKind::Parallel(p) => {
                let r = match self.result(state, input, task) {
                    Ok(r) => r,
                    Err(stop) => return stop.into(),
                };
                finish(Some(&r), next_of(p.transition))
            }
            StateKind::Map(m) => {
                if let Err(stop) = self.map_fields(env, state, m, input, rec) {
                    return stop.into();
                }
                let r = match self.result(state, input, task) {
                    Ok(r) => r,
                    Err(stop) => return stop.into(),
                };
                if let Err(stop) = self.iteration_failures(m, &r, rec) {
                    return stop.into();
                }
                finish(Some(&r), next_of(m.transition))
            }
        }
    }

    /// What Retry and Catch make of a failure: another attempt (RETRIABLE, with the back-off
    /// it would wait), the catcher's output (CAUGHT_ERROR), or the failure (FAILED).
    fn recover(
        &self,
        state: &State,
        env: &Env<'_>,
        rec: &mut Inspection,
        vars: &mut Map<String, Value>,
        f: Failure,
    ) -> Response {
        let (retry, catch): (&[Retrier], &[Catcher]) = match &state.kind {
            StateKind::Task(t) => (&t.retry, &t.catch),
            StateKind::Parallel(p) => (&p.retry, &p.catch),
            StateKind::Map(m) => (&m.retry, &m.catch),
            _ => (&[], &[]),
        };
        let failed = |status: Status| Response {
            status,
            output: None,
            error: Some(f.error.clone()),
            cause: f.cause.clone(),
            next_state: None,
            inspection: None,
        };
        let mut details = ErrorDetails::default();
        if let Some((i, r)) = retry
            .iter()
            .enumerate()
            .find(|(_, r)| f.matches(&r.error_equals))
        {
            let attempts = self.config.retrier_retry_count.unwrap_or(0);
            details.retry_index = Some(i);
            if attempts < r.max_attempts {
                let base = r.interval_seconds as f64 * r.backoff_rate.powf(attempts as f64);
                let capped = r.max_delay_seconds.map_or(base, |m| base.min(m as f64));
                details.retry_backoff_interval_seconds = Some(capped as u64);
                rec.error_details = Some(details);
                return failed(Status::Retriable);
            }
        }
        let Some((j, c)) = catch
            .iter()
            .enumerate()
            .find(|(_, c)| f.matches(&c.error_equals))
        else {
            if details.retry_index.is_some() {
                rec.error_details = Some(details);
            }
            return failed(Status::Failed);
        };
        details.catch_index = Some(j);
        rec.error_details = Some(details);
        let err = f.output();
        let caught = if state.query_language == QueryLanguage::Jsonata {
            let fields = c.jsonata.as_ref();
            assign_and_output(
                env,
                fields.and_then(|x| x.assign.as_ref()),
                fields.and_then(|x| x.output.as_ref()),
                &self.input,
                StatesExtra::ErrorOutput(&err),
                err.clone(),
            )
        } else {
            assign(env, c.assign.as_ref(), &err).and_then(|assigned| {
                Execution::apply_result_path(c.result_path.as_ref(), &self.input, err.clone())
                    .map(|out| (out, assigned))
            })
        };
        match caught {
            Ok((output, assigned)) => {
                vars.extend(assigned.unwrap_or_default());
                Response {
                    output: Some(output),
                    next_state: Some(self.name_of(c.next)),
                    ..failed(Status::CaughtError)
                }
            }
            Err(e) => Response {
                error: Some(e.error.into()),
                cause: Some(e.message),
                ..failed(Status::Failed)
            },
        }
    }
}

/// How AWS prints a Map's ItemsPath in its error: a context path loses its first `$`.
fn shown_path(p: &Path) -> String {
    match p.root {
        Root::Context => p.text.strip_prefix('$').unwrap_or(&p.text).to_string(),
        _ => p.text.clone(),
    }
}

/// A JSONPath Assign, evaluated against `input`.
fn assign(
    env: &Env<'_>,
    t: Option<&passo_asl::template::Template>,
    input: &Value,
) -> Result<Option<Map<String, Value>>, ExprError> {
    let Some(t) = t else { return Ok(None) };
    match env.template(t, input)? {
        Value::Object(m) => Ok(Some(m)),
        _ => Ok(Some(Map::new())),
    }
}

/// A JSONata state's Assign then Output (`default` without an Output).
fn assign_and_output(
    env: &Env<'_>,
    assign: Option<&passo_asl::jtemplate::JTemplate>,
    output: Option<&passo_asl::jtemplate::JTemplate>,
    input: &Value,
    extra: StatesExtra<'_>,
    default: Value,
) -> Result<(Value, Option<Map<String, Value>>), ExprError> {
    let assigned = match assign {
        Some(t) => match env.jtemplate(t, input, extra, "Assign")? {
            Value::Object(m) => Some(m),
            _ => Some(Map::new()),
        },
        None => None,
    };
    let out = match output {
        Some(t) => env.jtemplate(t, input, extra, "Output")?,
        None => default,
    };
    Ok((out, assigned))
}
