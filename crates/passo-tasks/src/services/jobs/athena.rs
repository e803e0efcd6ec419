//! `athena:startQueryExecution`: request-response and `.sync` (GetQueryExecution until the
//! query ends; its answer is the result); `getQueryResults` and the others are
//! request-response. A query that ends FAILED or CANCELLED fails the task with it.

use super::{as_answered, text, Job, Verdict};
use serde_json::{json, Value};

pub(super) const START_QUERY_EXECUTION: Job = Job {
    service: "athena",
    submit: "startQueryExecution",
    describe: "getQueryExecution",
    stop: "stopQueryExecution",
    callback: false,
    submitted: as_answered,
    describe_input: id,
    stop_input: id,
    judge,
};

fn id(s: &Value, _: &Value) -> Option<Value> {
    Some(json!({"QueryExecutionId": text(s, &["QueryExecutionId"])?}))
}

fn judge(described: Value, _: &Value) -> Verdict {
    match text(&described, &["QueryExecution", "Status", "State"]) {
        Some("SUCCEEDED") => Verdict::Succeeded(described),
        Some("FAILED" | "CANCELLED") => Verdict::Failed(described),
        Some(_) => Verdict::Running,
        None => Verdict::Failed(described),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_ends_with_its_state() {
        let q = |state: &str| json!({"QueryExecution": {"QueryExecutionId": "q", "Status": {"State": state}}});
        assert_eq!(judge(q("QUEUED"), &json!({})), Verdict::Running);
        assert_eq!(judge(q("RUNNING"), &json!({})), Verdict::Running);
        assert_eq!(
            judge(q("SUCCEEDED"), &json!({})),
            Verdict::Succeeded(q("SUCCEEDED"))
        );
        assert_eq!(
            judge(q("CANCELLED"), &json!({})),
            Verdict::Failed(q("CANCELLED"))
        );
        assert_eq!(
            id(&json!({"QueryExecutionId": "q"}), &json!({})),
            Some(json!({"QueryExecutionId": "q"}))
        );
    }
}
