//! The context object (`$$`), built only when an expression reads it.

use crate::execution::ExecutionInfo;
use chrono::{DateTime, SecondsFormat, Utc};
use passo_expr::ContextObject;
use serde_json::{json, Map, Value};

/// Formats epoch milliseconds as AWS writes times in the context object.
pub fn iso_millis(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What the context object of one state holds.
pub struct Context<'a> {
    pub info: &'a ExecutionInfo,
    pub input: &'a Value,
    pub state_name: &'a str,
    pub entered_time_ms: i64,
    pub retry_count: u64,
    pub map_item: Option<(usize, &'a Value)>,
    pub task_token: Option<&'a str>,
    pub redrive_count: u64,
}

impl ContextObject for Context<'_> {
    fn context(&self) -> Value {
        let mut root = Map::new();
        root.insert(
            "Execution".into(),
            json!({
                "Id": self.info.execution_arn,
                "Input": self.input,
                "StartTime": iso_millis(self.info.start_time_ms),
                "Name": self.info.execution_name,
                "RoleArn": self.info.role_arn,
                "RedriveCount": self.redrive_count,
            }),
        );
        root.insert(
            "StateMachine".into(),
            json!({"Id": self.info.state_machine_arn, "Name": self.info.state_machine_name}),
        );
        root.insert(
            "State".into(),
            json!({
                "EnteredTime": iso_millis(self.entered_time_ms),
                "Name": self.state_name,
                "RetryCount": self.retry_count,
            }),
        );
        if let Some(token) = self.task_token {
            root.insert("Task".into(), json!({ "Token": token }));
        }
        if let Some((index, value)) = self.map_item {
            root.insert(
                "Map".into(),
                json!({"Item": {"Index": index, "Value": value}}),
            );
        }
        Value::Object(root)
    }
}
