//! `glue:startJobRun`: request-response and `.sync` (GetJobRun until the run ends). Step
//! Functions adds the JobName to the StartJobRun answer and to the final JobRun, which is
//! the `.sync` result; a run that ends FAILED, TIMEOUT or ERROR fails the task with it
//! (STOPPED ends it without failure, as AWS records it).

use super::{text, Job, Verdict};
use serde_json::{json, Value};

pub(super) const START_JOB_RUN: Job = Job {
    service: "glue",
    submit: "startJobRun",
    describe: "getJobRun",
    stop: "batchStopJobRun",
    callback: false,
    submitted: |mut answer, input, _| {
        if let (Some(o), Some(name)) = (answer.as_object_mut(), input.get("JobName")) {
            o.insert("JobName".into(), name.clone());
        }
        Ok(answer)
    },
    describe_input: |s, _| {
        Some(json!({"JobName": text(s, &["JobName"])?, "RunId": text(s, &["JobRunId"])?}))
    },
    stop_input: |s, _| {
        Some(json!({"JobName": text(s, &["JobName"])?, "JobRunIds": [text(s, &["JobRunId"])?]}))
    },
    judge,
};

fn judge(described: Value, submitted: &Value) -> Verdict {
    let Some(mut run) = described.get("JobRun").cloned() else {
        return Verdict::Failed(described);
    };
    if let (Some(o), Some(name)) = (run.as_object_mut(), submitted.get("JobName")) {
        o.insert("JobName".into(), name.clone());
    }
    match text(&run, &["JobRunState"]) {
        Some("SUCCEEDED" | "STOPPED") => Verdict::Succeeded(run),
        Some("FAILED" | "TIMEOUT" | "ERROR") => Verdict::Failed(run),
        _ => Verdict::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::Pattern;

    #[test]
    fn the_run_is_followed_by_job_name_and_run_id() {
        let s = (START_JOB_RUN.submitted)(
            json!({"JobRunId": "jr_1"}),
            &json!({"JobName": "etl"}),
            Pattern::Sync,
        )
        .unwrap();
        assert_eq!(s, json!({"JobRunId": "jr_1", "JobName": "etl"}));
        assert_eq!(
            (START_JOB_RUN.describe_input)(&s, &json!({})),
            Some(json!({"JobName": "etl", "RunId": "jr_1"}))
        );
        assert_eq!(
            (START_JOB_RUN.stop_input)(&s, &json!({})),
            Some(json!({"JobName": "etl", "JobRunIds": ["jr_1"]}))
        );
    }

    #[test]
    fn a_run_ends_with_its_state() {
        let s = json!({"JobName": "etl"});
        let run = |state: &str| json!({"JobRun": {"Id": "jr_1", "JobRunState": state}});
        assert_eq!(judge(run("RUNNING"), &s), Verdict::Running);
        assert_eq!(
            judge(run("SUCCEEDED"), &s),
            Verdict::Succeeded(json!({"Id": "jr_1", "JobRunState": "SUCCEEDED", "JobName": "etl"}))
        );
        assert!(matches!(judge(run("ERROR"), &s), Verdict::Failed(d) if d["JobName"] == "etl"));
        assert!(matches!(judge(run("TIMEOUT"), &s), Verdict::Failed(_)));
    }
}
