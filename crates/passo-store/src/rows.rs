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
    /// The ids of the first and last history event of the step (events are numbered from 1
    /// across the steps; a step without events has `first_event = last_event + 1`), so
    /// that a page of history reads only its steps. None in rows written before they were
    /// kept.
    pub first_event: Option<i64>,
    pub last_event: Option<i64>,
}

/// A snapshot of an execution's state after step `seq` (the runtime's encoding, `format`),
/// taken under the machine's revision `revision_id`: rebuilding the execution starts from it
/// and replays only the steps after `seq`. One per execution, the latest.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRow {
    pub execution_arn: String,
    pub seq: i64,
    pub revision_id: String,
    pub format: i64,
    pub state: String,
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
    /// Records the execution's snapshot, replacing the one before.
    PutSnapshot(SnapshotRow),
    /// Forgets an execution's snapshot (one that could not be used).
    DeleteSnapshot(String),
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
    /// Removes executions (with steps, snapshots and timers) that stopped before this time.
    PurgeStoppedBefore(i64),
    /// Creates an event bus; `StoreError::Conflict` when it exists.
    InsertEventBus(EventBusRow),
    /// Deletes an event bus with its rules and their targets.
    DeleteEventBus(String),
    /// Creates or replaces a rule (its targets stay).
    PutRule(RuleRow),
    /// Deletes a rule (bus, name).
    DeleteRule(String, String),
    /// Creates or replaces a target of a rule.
    PutRuleTarget(RuleTargetRow),
    /// Removes a target (bus, rule, id).
    DeleteRuleTarget(String, String, String),
    /// Records a delivery to make (nothing happens when it is recorded already).
    InsertDelivery(DeliveryRow),
    /// A delivery that was handed over (or dead-lettered): forgotten.
    FinishDelivery(String),
    /// A delivery that failed and will be tried again: (id, attempts so far, due time).
    RetryDelivery(String, i64, i64),
    PutDeadLetter(DeadLetterRow),
    /// Creates or replaces an EventBridge Scheduler schedule.
    PutSchedule(ScheduleRow),
    /// Deletes a schedule (group, name).
    DeleteSchedule(String, String),
    /// Records that a schedule fired for this due time (key, due time).
    MarkSchedule(String, i64),
    /// [`Write::MarkSchedule`] for a firing: fails the request with `StoreError::Conflict`
    /// when the schedule is marked for this due time or a later one already (another node
    /// fired it), so that one due time fires once however many nodes plan it.
    ClaimFiring(String, i64),
    DeleteScheduleMark(String),
    /// Creates or replaces a webhook made through the API.
    PutWebhook(WebhookRow),
    DeleteWebhook(String),
    /// A change to queues or topics.
    Messaging(crate::messaging::MessagingWrite),
    /// The lease of a new execution, held by the node that starts it (fence 1). Fails the
    /// request with `StoreError::Conflict` when the key has a lease (its execution exists).
    NewLease(LeaseRow),
    /// Fails the request with `StoreError::LeaseLost` unless `node` still holds the lease
    /// with this fence; extends it to `expires_ms`. Every step a node commits carries one,
    /// so a node whose lease was taken over can never commit a step of that execution.
    HoldLease(LeaseRow),
    /// Gives a lease up (when this node still holds it with this fence): any node may
    /// claim the execution at once.
    ReleaseLease(LeaseRow),
    /// An event for an execution another node owns, kept until that node applies it.
    PutInbox(InboxRow),
    /// An inbox event that was applied (in the same request as its step) or refused.
    DeleteInbox(String),
    /// An activity task queued for a worker polling any node; nothing happens when the
    /// task is queued already (a re-send after a takeover or a restart queues it once).
    QueueActivityTask(ActivityTaskRow),
    /// An activity task no worker may take any more (execution ARN, task id): its
    /// execution closed it while it was queued (it timed out, or the execution ended).
    DeleteActivityTask(String, i64),
}

/// An activity task waiting for a worker, when nodes share the database: the key is the
/// execution and the task id; `input` is the task's input as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityTaskRow {
    pub execution_arn: String,
    pub task: i64,
    pub activity: String,
    pub token: String,
    pub input: String,
    pub created_ms: i64,
}

/// Who owns what, for several nodes on one database: an execution's lease (`key` is its
/// ARN). `node` is None once released; `fence` grows by one at every claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    pub key: String,
    pub node: Option<String>,
    pub fence: i64,
    pub expires_ms: i64,
}

/// A node of a shared database: its name, the URL other nodes reach it at, and when it
/// last said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    pub id: String,
    pub url: String,
    pub seen_ms: i64,
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This node holds the lease now, under `fence`; `from` is the node that held it
    /// before, when its lease had run out without being released (a takeover).
    Held { fence: i64, from: Option<String> },
    /// Another node holds it until `expires_ms`.
    Busy { node: String, expires_ms: i64 },
}

/// One forwarded event: the execution, the event and what it must still expect (both in
/// the runtime's encodings), and when it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub id: String,
    pub execution_arn: String,
    pub event: String,
    pub expect: String,
    pub created_ms: i64,
}

/// An event bus (the `default` bus has a row too, made when the database is opened).
#[derive(Debug, Clone, PartialEq)]
pub struct EventBusRow {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub created_ms: i64,
}

/// A rule on an event bus: an event pattern and/or a schedule, and its state.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRow {
    pub bus: String,
    pub name: String,
    pub arn: String,
    pub event_pattern: Option<String>,
    pub schedule: Option<String>,
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub created_ms: i64,
}

/// A target of a rule: the target as PutTargets gave it (JSON text, the API's member names).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleTargetRow {
    pub bus: String,
    pub rule: String,
    pub id: String,
    pub spec: String,
}

/// One event to hand to one target, kept until it is handed over (or dead-lettered): an
/// accepted event survives a crash. The id is fixed by the event and the target, so the
/// same delivery is never recorded twice.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRow {
    pub id: String,
    /// The whole event (JSON text).
    pub event: String,
    pub rule_arn: String,
    pub rule_name: String,
    /// The target as it was when the event matched (JSON text).
    pub target: String,
    pub ingested_ms: i64,
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_ms: i64,
}

/// An event that could not be delivered: what it was, where it was going and why it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterRow {
    pub id: String,
    pub event: String,
    pub rule_arn: String,
    pub target_id: String,
    pub target_arn: String,
    /// The target's DeadLetterConfig Arn, if it has one.
    pub dead_letter_arn: Option<String>,
    pub error_code: String,
    pub error_message: String,
    pub attempts: i64,
    pub time_ms: i64,
}

/// An EventBridge Scheduler schedule: its settings as the API took them (JSON text).
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRow {
    pub group: String,
    pub name: String,
    pub spec: String,
    pub created_ms: i64,
    pub modified_ms: i64,
}

/// A webhook created through the API: its settings (JSON text).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRow {
    pub name: String,
    pub spec: String,
    pub created_ms: i64,
}
