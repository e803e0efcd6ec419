//! ResultWriter: a Distributed Map's child results, written to a bucket as AWS lays them out.
//!
//! The engine evaluates the state's `ResultWriter` (`Parameters`/`Arguments`) and hands it to
//! [`WriterSpec::parse`]; a [`ResultSink`] then takes each child's [`ChildResult`] as it ends
//! and, when the Map Run is over, writes
//! `{Prefix}/{map run id}/SUCCEEDED_0.json`, `FAILED_0.json`, `PENDING_0.json` (one more file
//! per status each time one reaches [`sink::MAX_FILE_BYTES`]) and last `manifest.json`:
//!
//! ```json
//! {"DestinationBucket": "b", "MapRunArn": "arn:...:mapRun:sm/Map:id",
//!  "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": [{"Key": "p/id/SUCCEEDED_0.json", "Size": 2161}]}}
//! ```
//!
//! The Map state's output is then `{"MapRunArn": ..., "ResultWriterDetails": {"Bucket": ...,
//! "Key": ".../manifest.json"}}` (recorded case `test_map_state_result_writer`). With only a
//! `WriterConfig` nothing is written and the output is the transformed results.
//!
//! `WriterConfig.Transformation`: `NONE` (the default when exporting) writes each child's full
//! entry (ARN, input and output as JSON text, dates, status); `COMPACT` writes only the
//! outputs; `FLATTEN` the outputs with arrays spliced in. A failed child's entry is always the
//! full one. `OutputType` `JSON` writes a file as one array, `JSONL` one entry a line.
//!
//! Every failure is a [`WriterError`], reported as `States.ResultWriterFailed`.

pub mod sink;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

pub use sink::ResultSink;

/// The one resource a ResultWriter calls.
pub const PUT_OBJECT: &str = "arn:aws:states:::s3:putObject";

/// `WriterConfig.OutputType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputType {
    Json,
    Jsonl,
}

/// `WriterConfig.Transformation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transformation {
    None,
    Compact,
    Flatten,
}

/// A validated, evaluated ResultWriter.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterSpec {
    /// Bucket and prefix to export to; `None` with only a `WriterConfig`.
    pub destination: Option<Destination>,
    pub output_type: OutputType,
    pub transformation: Transformation,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    pub bucket: String,
    /// As given (`""` when absent); keys are `{prefix}/{id}/...`, one `/` between.
    pub prefix: String,
}

/// Why writing results failed; Step Functions reports each as `States.ResultWriterFailed`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WriterError {
    /// A ResultWriter AWS would not accept.
    #[error("{0}")]
    InvalidConfig(String),
    /// A bucket call failed: which object, then S3's message.
    #[error("Failed to write s3://{bucket}/{key}: {cause}")]
    S3 {
        bucket: String,
        key: String,
        cause: String,
    },
    /// The temporary files holding the results failed.
    #[error("Failed to keep the Map Run's results: {0}")]
    Io(String),
}

impl WriterError {
    pub fn aws_name(&self) -> &'static str {
        "States.ResultWriterFailed"
    }

    pub fn cause(&self) -> String {
        self.to_string()
    }
}

impl From<std::io::Error> for WriterError {
    fn from(e: std::io::Error) -> Self {
        WriterError::Io(e.to_string())
    }
}

fn string_field(obj: &Value, name: &str, ctx: &str) -> Result<Option<String>, WriterError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(WriterError::InvalidConfig(format!(
            "{ctx}.{name} must be a string, got {other}"
        ))),
    }
}

impl WriterSpec {
    /// Validates an evaluated ResultWriter: `Resource` with its `Parameters`/`Arguments`
    /// (Bucket required, Prefix optional), a `WriterConfig`, or both; never neither.
    pub fn parse(
        resource: Option<&str>,
        evaluated_parameters: Option<&Value>,
        writer_config: Option<&Value>,
    ) -> Result<WriterSpec, WriterError> {
        let destination = match (resource, evaluated_parameters) {
            (None, None) => None,
            (Some(PUT_OBJECT), Some(p)) => {
                let bucket = string_field(p, "Bucket", "Parameters")?.ok_or_else(|| {
                    WriterError::InvalidConfig(
                        "The ResultWriter's Parameters must name a Bucket".into(),
                    )
                })?;
                crate::s3::check_bucket(&bucket)
                    .map_err(|e| WriterError::InvalidConfig(format!("Bucket '{bucket}': {e}")))?;
                let prefix = string_field(p, "Prefix", "Parameters")?.unwrap_or_default();
                Some(Destination { bucket, prefix })
            }
            (Some(PUT_OBJECT), None) => {
                return Err(WriterError::InvalidConfig(
                    "The ResultWriter's Resource needs Parameters with a Bucket".into(),
                ))
            }
            (Some(other), _) => {
                return Err(WriterError::InvalidConfig(format!(
                    "The ResultWriter resource '{other}' is not supported: use {PUT_OBJECT}"
                )))
            }
            (None, Some(_)) => {
                return Err(WriterError::InvalidConfig(
                    "The ResultWriter's Parameters need Resource arn:aws:states:::s3:putObject"
                        .into(),
                ))
            }
        };
        let empty = Value::Object(Map::new());
        let wc = writer_config.unwrap_or(&empty);
        if destination.is_none() && writer_config.is_none() {
            return Err(WriterError::InvalidConfig(
                "The ResultWriter field cannot be empty: give Resource and Parameters, a WriterConfig, or both".into(),
            ));
        }
        let output_type = match string_field(wc, "OutputType", "WriterConfig")?.as_deref() {
            None | Some("JSON") => OutputType::Json,
            Some("JSONL") => OutputType::Jsonl,
            Some(other) => {
                return Err(WriterError::InvalidConfig(format!(
                    "WriterConfig.OutputType must be JSON or JSONL, got '{other}'"
                )))
            }
        };
        let transformation = match string_field(wc, "Transformation", "WriterConfig")?.as_deref() {
            None if destination.is_some() => Transformation::None,
            None => Transformation::Compact,
            Some("NONE") => Transformation::None,
            Some("COMPACT") => Transformation::Compact,
            Some("FLATTEN") => Transformation::Flatten,
            Some(other) => {
                return Err(WriterError::InvalidConfig(format!(
                    "WriterConfig.Transformation must be NONE, COMPACT or FLATTEN, got '{other}'"
                )))
            }
        };
        Ok(WriterSpec {
            destination,
            output_type,
            transformation,
        })
    }
}

/// How a child execution ended (or that it never did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStatus {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    /// Not started, or still running, when the Map Run ended: written to `PENDING` files.
    Pending,
}

impl ChildStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChildStatus::Succeeded => "SUCCEEDED",
            ChildStatus::Failed => "FAILED",
            ChildStatus::TimedOut => "TIMED_OUT",
            ChildStatus::Aborted => "ABORTED",
            ChildStatus::Pending => "PENDING",
        }
    }

    /// The result file group: SUCCEEDED, PENDING, or FAILED for every other ending.
    pub fn group(self) -> sink::Group {
        match self {
            ChildStatus::Succeeded => sink::Group::Succeeded,
            ChildStatus::Pending => sink::Group::Pending,
            _ => sink::Group::Failed,
        }
    }
}

/// One child execution's result, as the Map Run saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildResult {
    /// The item's position, for the order of a Map output built without export.
    pub index: u64,
    pub execution_arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub status: ChildStatus,
    /// JSON text, as the execution received it.
    pub input: String,
    /// JSON text; only for a succeeded child.
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start_date: DateTime<Utc>,
    pub stop_date: Option<DateTime<Utc>>,
    pub redrive_count: u64,
}

fn date(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl ChildResult {
    /// The full entry (`Transformation: NONE`), keys in AWS's alphabetical order.
    pub fn entry(&self) -> Value {
        let mut e = Map::new();
        if let Some(c) = &self.cause {
            e.insert("Cause".into(), json!(c));
        }
        if let Some(x) = &self.error {
            e.insert("Error".into(), json!(x));
        }
        e.insert("ExecutionArn".into(), json!(self.execution_arn));
        e.insert("Input".into(), json!(self.input));
        e.insert("InputDetails".into(), json!({"Included": true}));
        e.insert("Name".into(), json!(self.name));
        if let Some(o) = &self.output {
            e.insert("Output".into(), json!(o));
            e.insert("OutputDetails".into(), json!({"Included": true}));
        }
        e.insert("RedriveCount".into(), json!(self.redrive_count));
        if self.status == ChildStatus::Succeeded {
            e.insert("RedriveStatus".into(), json!("NOT_REDRIVABLE"));
            e.insert(
                "RedriveStatusReason".into(),
                json!("Execution is SUCCEEDED and cannot be redriven"),
            );
        } else {
            // A child of a Map Run is redriven with the Map Run, not on its own.
            e.insert("RedriveStatus".into(), json!("REDRIVABLE_BY_MAP_RUN"));
        }
        e.insert("StartDate".into(), json!(date(self.start_date)));
        e.insert("StateMachineArn".into(), json!(self.state_machine_arn));
        e.insert("Status".into(), json!(self.status.as_str()));
        if let Some(d) = self.stop_date {
            e.insert("StopDate".into(), json!(date(d)));
        }
        Value::Object(e)
    }

    /// The child's output as a value (`null` when it has none or it is not JSON).
    pub fn output_value(&self) -> Value {
        self.output
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok())
            .unwrap_or(Value::Null)
    }

    /// What this child contributes under `transformation`: one entry, or a flattened
    /// array's elements. A child that did not succeed always gives its full entry.
    pub fn transformed(&self, transformation: Transformation) -> Vec<Value> {
        if self.status != ChildStatus::Succeeded {
            return vec![self.entry()];
        }
        match transformation {
            Transformation::None => vec![self.entry()],
            Transformation::Compact => vec![self.output_value()],
            Transformation::Flatten => match self.output_value() {
                Value::Array(items) => items,
                other => vec![other],
            },
        }
    }
}

#[cfg(test)]
mod tests;
