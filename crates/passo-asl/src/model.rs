//! The typed, validated model of a state machine that the interpreter runs.
//!
//! Invariants established by [`crate::parse`]: every `Next`, `Default` and Catch target is an
//! index into the `states` of the same [`Program`]; a state has `Next` or `End` (never both,
//! never neither) unless it is a Choice, Succeed or Fail; every path, template and intrinsic
//! call is already parsed.

use crate::intrinsic::Call;
use crate::jsonata::Jsonata;
use crate::jtemplate::JTemplate;
use crate::path::Path;
use crate::template::Template;
use serde_json::Value;

/// Index of a state within its [`Program`].
pub type StateId = usize;

/// Which language a state evaluates its fields with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    #[default]
    JsonPath,
    Jsonata,
}

impl QueryLanguage {
    pub fn as_str(self) -> &'static str {
        match self {
            QueryLanguage::JsonPath => "JSONPath",
            QueryLanguage::Jsonata => "JSONata",
        }
    }
}

/// A whole definition.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub comment: Option<String>,
    pub version: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub query_language: QueryLanguage,
    pub program: Program,
}

/// A set of states with a start: the top level, a Parallel branch or a Map's processor.
#[derive(Debug, Clone)]
pub struct Program {
    pub start_at: StateId,
    pub states: Vec<State>,
}

impl Program {
    pub fn state(&self, id: StateId) -> &State {
        &self.states[id]
    }
}

/// Where a state goes when it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Next(StateId),
    End,
}

/// A value given in the definition or read from the input at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic<T> {
    Static(T),
    Path(Path),
    /// An intrinsic call (allowed in Fail's `ErrorPath` and `CausePath`).
    Intrinsic(Call),
    /// A JSONata expression (`{% ... %}`).
    Jsonata(Jsonata),
}

/// A state: what every state type shares, and its kind.
#[derive(Debug, Clone)]
pub struct State {
    /// Shared: every history event of the state names it.
    pub name: std::sync::Arc<str>,
    pub comment: Option<String>,
    pub query_language: QueryLanguage,
    /// `InputPath`; `None` when the definition set it to null (the input becomes `{}`).
    pub input_path: Option<Path>,
    /// `OutputPath`; `None` when set to null (the output becomes `{}`).
    pub output_path: Option<Path>,
    /// `ResultPath`; `None` when set to null (the result is discarded).
    pub result_path: Option<Path>,
    /// `Parameters` (or `ItemSelector` for Map).
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub assign: Option<Template>,
    /// JSONata `Arguments`, `Output` and `Assign`, raw until JSONata lands.
    pub jsonata: Option<JsonataFields>,
    pub kind: StateKind,
}

/// JSONata-mode fields, parsed.
#[derive(Debug, Clone, Default)]
pub struct JsonataFields {
    pub arguments: Option<JTemplate>,
    pub output: Option<JTemplate>,
    pub assign: Option<JTemplate>,
}

/// What a state does.
// Map is much larger than Succeed; boxing it would change the public model, so allow it.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StateKind {
    Pass(Pass),
    Task(Task),
    Choice(Choice),
    Wait(Wait),
    Succeed,
    Fail(Fail),
    Parallel(Parallel),
    Map(Map),
}

impl StateKind {
    /// The prefix AWS uses for this state's history events (`Pass` -> `PassStateEntered`).
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pass {
    pub result: Option<Value>,
    pub transition: Transition,
}

/// A Task's `Credentials` (the role the task assumes), evaluated like its Parameters or
/// Arguments before each invocation; its `RoleArn` appears in TaskScheduled.
#[derive(Debug, Clone)]
pub enum Credentials {
    JsonPath(crate::template::Template),
    Jsonata(crate::jtemplate::JTemplate),
}

#[derive(Debug, Clone)]
pub struct Task {
    pub resource: String,
    pub timeout_seconds: Option<Dynamic<u64>>,
    pub heartbeat_seconds: Option<Dynamic<u64>>,
    pub credentials: Option<Credentials>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub choices: Vec<ChoiceRule>,
    pub default: Option<StateId>,
}

/// One entry of `Choices`: a condition and where it leads.
#[derive(Debug, Clone)]
pub struct ChoiceRule {
    pub condition: Condition,
    pub next: StateId,
    pub assign: Option<Template>,
    /// A JSONata rule's `Output` and `Assign`.
    pub jsonata: Option<JsonataFields>,
}

/// A Boolean expression of a Choice rule.
#[derive(Debug, Clone)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    /// A comparison of the value at `variable` with a literal or another path.
    Compare {
        variable: Path,
        op: Comparison,
        operand: Operand,
    },
    /// `IsPresent`, `IsNull`, `IsNumeric`, ...: `expected` is the Boolean in the rule.
    Test {
        variable: Path,
        test: TypeTest,
        expected: bool,
    },
    /// A JSONata `Condition`.
    Jsonata(Jsonata),
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone)]
pub enum Operand {
    Value(Value),
    Path(Path),
}

/// Comparison operators, without their `Path` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
}

impl Comparison {
    pub const ALL: [(&'static str, Comparison); 17] = [
        ("StringEquals", Comparison::StringEquals),
        ("StringLessThan", Comparison::StringLessThan),
        ("StringGreaterThan", Comparison::StringGreaterThan),
        ("StringLessThanEquals", Comparison::StringLessThanEquals),
        (
            "StringGreaterThanEquals",
            Comparison::StringGreaterThanEquals,
        ),
        ("StringMatches", Comparison::StringMatches),
        ("NumericEquals", Comparison::NumericEquals),
        ("NumericLessThan", Comparison::NumericLessThan),
        ("NumericGreaterThan", Comparison::NumericGreaterThan),
        ("NumericLessThanEquals", Comparison::NumericLessThanEquals),
        (
            "NumericGreaterThanEquals",
            Comparison::NumericGreaterThanEquals,
        ),
        ("BooleanEquals", Comparison::BooleanEquals),
        ("TimestampEquals", Comparison::TimestampEquals),
        ("TimestampLessThan", Comparison::TimestampLessThan),
        ("TimestampGreaterThan", Comparison::TimestampGreaterThan),
        (
            "TimestampLessThanEquals",
            Comparison::TimestampLessThanEquals,
        ),
        (
            "TimestampGreaterThanEquals",
            Comparison::TimestampGreaterThanEquals,
        ),
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeTest {
    IsPresent,
    IsNull,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

impl TypeTest {
    pub const ALL: [(&'static str, TypeTest); 6] = [
        ("IsPresent", TypeTest::IsPresent),
        ("IsNull", TypeTest::IsNull),
        ("IsNumeric", TypeTest::IsNumeric),
        ("IsString", TypeTest::IsString),
        ("IsBoolean", TypeTest::IsBoolean),
        ("IsTimestamp", TypeTest::IsTimestamp),
    ];
}

#[derive(Debug, Clone)]
pub struct Wait {
    pub duration: WaitFor,
    pub transition: Transition,
}

#[derive(Debug, Clone)]
pub enum WaitFor {
    Seconds(Dynamic<u64>),
    /// An ISO-8601 timestamp, as written (validated at parse time when static).
    Timestamp(Dynamic<String>),
}

#[derive(Debug, Clone)]
pub struct Fail {
    pub error: Option<Dynamic<String>>,
    pub cause: Option<Dynamic<String>>,
}

#[derive(Debug, Clone)]
pub struct Parallel {
    pub branches: Vec<Program>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub transition: Transition,
}

/// How a Map runs its iterations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapMode {
    Inline,
    Distributed,
}

#[derive(Debug, Clone)]
pub struct Map {
    pub items_path: Path,
    /// JSONata `Items` (an expression or a literal array).
    pub items: Option<JTemplate>,
    /// JSONata `ItemSelector` (JSONPath's is the state's `parameters`).
    pub item_selector: Option<JTemplate>,
    pub processor: Program,
    /// The processor as a state machine definition of its own (its `StartAt` and `States`,
    /// with its query language): a Distributed Map's children run it, and a server that
    /// keeps them durable stores it.
    pub processor_definition: std::sync::Arc<Value>,
    pub mode: MapMode,
    pub execution_type: Option<String>,
    pub max_concurrency: Dynamic<u64>,
    pub tolerated_failure_count: Option<Dynamic<f64>>,
    pub tolerated_failure_percentage: Option<Dynamic<f64>>,
    pub label: Option<String>,
    pub item_reader: Option<Value>,
    pub item_batcher: Option<Value>,
    pub result_writer: Option<Value>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    pub transition: Transition,
}

/// `FULL` jitter randomises each back-off between 0 and its computed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    None,
    Full,
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: StateId,
    pub result_path: Option<Path>,
    pub assign: Option<Template>,
    pub jsonata: Option<JsonataFields>,
}
