//! The records the store keeps, and the writes it accepts.

/// A state machine (its current revision).
#[derive(Debug, Clone, PartialEq)]
pub struct MachineRow {
    pub arn: String,
    pub name: String,
    /// `STANDARD` or `EXPRESS`.
    pub kind: String,
    pub definition: String,
    pub role_arn: String,
    pub revision_id: String,
    pub description: String,
    pub created_ms: i64,
    /// The LoggingConfiguration, TracingConfiguration and EncryptionConfiguration as given
    /// (JSON text), echoed back by DescribeStateMachine.
    pub logging: String,
    pub tracing: String,
    pub encryption: String,
}

/// A published version: a frozen revision, numbered from 1.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    pub arn: String,
    pub machine_arn: String,
    pub version: i64,
    pub revision_id: String,
    pub description: String,
    pub created_ms: i64,
}

/// An alias: a name routing executions to one or two versions by weight.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasRow {
    pub arn: String,
    pub machine_arn: String,
    pub name: String,
    pub description: String,
    /// `[{"stateMachineVersionArn":..., "weight":...}]` as JSON text.
    pub routing: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// One revision of a machine's definition (every create and update makes one); executions
/// point at the revision they run, so later updates do not change them.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionRow {
    pub machine_arn: String,
    pub revision_id: String,
    pub definition: String,
    pub role_arn: String,
    pub kind: String,
}

/// An execution: what DescribeExecution shows, plus what it takes to rebuild it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRow {
    pub arn: String,
    /// The unqualified state machine ARN.
    pub machine_arn: String,
    pub revision_id: String,
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
    pub name: String,
    pub status: String,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
    /// The interpreter's start parameters (seed, limits) as JSON text.
    pub params: String,
    /// Task invocations out when the last step was committed (re-issued after a crash).
    pub pending_tasks: i64,
    pub trace_header: Option<String>,
    pub redrive_count: i64,
    pub redrive_ms: Option<i64>,
}

/// The part of an execution that changes as it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionUpdate {
    pub arn: String,
    pub status: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub stop_ms: Option<i64>,
    pub pending_tasks: i64,
    pub redrive_count: i64,
    pub redrive_ms: Option<i64>,
}

/// One step of an execution: the event given to the interpreter at `now_ms` (JSON text;
/// step 0 is the start) and the history events it produced (a JSON array).
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    pub execution_arn: String,
    pub seq: i64,
    pub now_ms: i64,
    pub event: String,
    pub history: String,
}

/// A timer an execution waits on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerRow {
    pub fire_at_ms: i64,
    pub execution_arn: String,
    pub timer_id: i64,
}

/// An activity: a named queue of tasks that workers poll with GetActivityTask.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    pub arn: String,
    pub name: String,
    pub created_ms: i64,
}

/// A function created through the API (its spec: the JSON of a passo.toml function table).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionRow {
    pub name: String,
    pub spec: String,
    pub created_ms: i64,
}

/// A Distributed Map's Map Run. Its children are executions of the machine
/// `state_machine_arn` (`PARENT/LABEL`, a revision of its own named by the run's id).
#[derive(Debug, Clone, PartialEq)]
pub struct MapRunRow {
    pub arn: String,
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub status: String,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
    /// Concurrency, tolerated failures and the counts at the end, as JSON text.
    pub config: String,
}

/// One change to the store; a request is a list of them, applied atomically.
#[derive(Debug, Clone)]
pub enum Write {
    PutMachine(MachineRow),
    DeleteMachine(String),
    PutRevision(RevisionRow),
    PutVersion(VersionRow),
    DeleteVersion(String),
    PutAlias(AliasRow),
    DeleteAlias(String),
    PutTags(String, Vec<(String, String)>),
    /// Creates an activity (nothing happens when it exists).
    PutActivity(ActivityRow),
    DeleteActivity(String),
    PutFunction(FunctionRow),
    DeleteFunction(String),
    RemoveTags(String, Vec<String>),
    /// Fails the request with `StoreError::Conflict` when the ARN exists.
    InsertExecution(ExecutionRow),
    UpdateExecution(ExecutionUpdate),
    AppendStep(StepRow),
    PutTimer(TimerRow),
    DeleteTimer(String, i64),
    DeleteTimers(String),
    /// Records a Map Run (nothing happens when it exists: a recovered run keeps its start).
    PutMapRun(MapRunRow),
    /// A Map Run's status, stop time (none while it runs again after a redrive) and config
    /// with its counts.
    UpdateMapRun {
        arn: String,
        status: String,
        stop_ms: Option<i64>,
        config: String,
    },
    /// Removes executions (with steps and timers) that stopped before this time.
    PurgeStoppedBefore(i64),
    /// A change to queues or topics.
    Messaging(crate::messaging::MessagingWrite),
}
