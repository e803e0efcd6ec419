//! `emr-serverless:startJobRun`: request-response and `.sync` (GetJobRun until SUCCESS,
//! FAILED or CANCELLED; the GetJobRun answer is the result). EMR Serverless speaks
//! restJson1.

use super::{as_answered, text, Job, Verdict};
use serde_json::{json, Value};

pub(super) const START_JOB_RUN: Job = Job {
    service: "emr-serverless",
    submit: "startJobRun",
    describe: "getJobRun",
    stop: "cancelJobRun",
    callback: false,
    submitted: as_answered,
    describe_input: ids,
    stop_input: ids,
    judge,
};

fn ids(s: &Value, _: &Value) -> Option<Value> {
    Some(json!({
        "ApplicationId": text(s, &["ApplicationId"])?,
        "JobRunId": text(s, &["JobRunId"])?,
    }))
}

fn judge(described: Value, _: &Value) -> Verdict {
    match text(&described, &["JobRun", "State"]) {
        Some("SUCCESS") => Verdict::Succeeded(described),
        Some("FAILED" | "CANCELLED") => Verdict::Failed(described),
        Some(_) => Verdict::Running,
        None => Verdict::Failed(described),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_ends_with_its_state() {
        let r = |s: &str| json!({"JobRun": {"JobRunId": "r", "State": s}});
        assert_eq!(judge(r("RUNNING"), &json!({})), Verdict::Running);
        assert_eq!(
            judge(r("SUCCESS"), &json!({})),
            Verdict::Succeeded(r("SUCCESS"))
        );
        assert!(matches!(
            judge(r("CANCELLED"), &json!({})),
            Verdict::Failed(_)
        ));
        assert_eq!(
            ids(
                &json!({"ApplicationId": "a", "JobRunId": "r", "Arn": "x"}),
                &json!({})
            ),
            Some(json!({"ApplicationId": "a", "JobRunId": "r"}))
        );
    }
}
