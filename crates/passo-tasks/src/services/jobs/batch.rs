//! `batch:submitJob`: request-response, `.sync` (DescribeJobs until SUCCEEDED or FAILED;
//! the job's description is the result) and `.waitForTaskToken`. Batch speaks restJson1.

use super::{as_answered, text, Job, Verdict};
use serde_json::{json, Value};

pub(super) const SUBMIT_JOB: Job = Job {
    service: "batch",
    submit: "submitJob",
    describe: "describeJobs",
    stop: "terminateJob",
    callback: true,
    submitted: as_answered,
    describe_input: |s, _| Some(json!({"Jobs": [text(s, &["JobId"])?]})),
    stop_input: |s, _| {
        Some(json!({"JobId": text(s, &["JobId"])?, "Reason": "Terminated by AWS Step Functions"}))
    },
    judge,
};

fn judge(described: Value, _: &Value) -> Verdict {
    let Some(job) = described.get("Jobs").and_then(|j| j.get(0)).cloned() else {
        return Verdict::Failed(described);
    };
    match text(&job, &["Status"]) {
        Some("SUCCEEDED") => Verdict::Succeeded(job),
        Some("FAILED") => Verdict::Failed(job),
        _ => Verdict::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_ends_succeeded_or_failed() {
        let j = |status: &str| json!({"Jobs": [{"JobId": "j", "Status": status}]});
        assert_eq!(judge(j("RUNNABLE"), &json!({})), Verdict::Running);
        assert_eq!(
            judge(j("SUCCEEDED"), &json!({})),
            Verdict::Succeeded(json!({"JobId": "j", "Status": "SUCCEEDED"}))
        );
        assert!(matches!(judge(j("FAILED"), &json!({})), Verdict::Failed(_)));
        assert!(matches!(
            judge(json!({"Jobs": []}), &json!({})),
            Verdict::Failed(_)
        ));
        assert_eq!(
            (SUBMIT_JOB.describe_input)(&json!({"JobId": "j"}), &json!({})),
            Some(json!({"Jobs": ["j"]}))
        );
    }
}
