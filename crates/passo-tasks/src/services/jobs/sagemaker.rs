//! SageMaker: `createTrainingJob` and `createTransformJob` request-response and `.sync`
//! (DescribeTrainingJob/DescribeTransformJob until Completed, Failed or Stopped; the
//! description is the result); `createModel`, `createEndpointConfig`, `createEndpoint`,
//! `updateEndpoint` are request-response. The job is named by the task's own parameters
//! (the create answers hold only its ARN).

use super::{as_answered, text, Job, Verdict};
use serde_json::{json, Value};

pub(super) const CREATE_TRAINING_JOB: Job = Job {
    service: "sagemaker",
    submit: "createTrainingJob",
    describe: "describeTrainingJob",
    stop: "stopTrainingJob",
    callback: false,
    submitted: as_answered,
    describe_input: |_, input| name(input, "TrainingJobName"),
    stop_input: |_, input| name(input, "TrainingJobName"),
    judge: |d, _| judge(d, "TrainingJobStatus"),
};

pub(super) const CREATE_TRANSFORM_JOB: Job = Job {
    service: "sagemaker",
    submit: "createTransformJob",
    describe: "describeTransformJob",
    stop: "stopTransformJob",
    callback: false,
    submitted: as_answered,
    describe_input: |_, input| name(input, "TransformJobName"),
    stop_input: |_, input| name(input, "TransformJobName"),
    judge: |d, _| judge(d, "TransformJobStatus"),
};

fn name(input: &Value, key: &str) -> Option<Value> {
    Some(json!({ key: text(input, &[key])? }))
}

fn judge(described: Value, status: &str) -> Verdict {
    match text(&described, &[status]) {
        Some("Completed") => Verdict::Succeeded(described),
        Some("Failed" | "Stopped") => Verdict::Failed(described),
        _ => Verdict::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_named_by_the_task_and_end_with_their_status() {
        let input = json!({"TrainingJobName": "t1", "AlgorithmSpecification": {}});
        assert_eq!(
            (CREATE_TRAINING_JOB.describe_input)(&json!({"TrainingJobArn": "arn"}), &input),
            Some(json!({"TrainingJobName": "t1"}))
        );
        let d = |s: &str| json!({"TrainingJobName": "t1", "TrainingJobStatus": s});
        assert_eq!(
            (CREATE_TRAINING_JOB.judge)(d("InProgress"), &json!({})),
            Verdict::Running
        );
        assert_eq!(
            (CREATE_TRAINING_JOB.judge)(d("Stopping"), &json!({})),
            Verdict::Running
        );
        assert_eq!(
            (CREATE_TRAINING_JOB.judge)(d("Completed"), &json!({})),
            Verdict::Succeeded(d("Completed"))
        );
        assert!(matches!(
            (CREATE_TRAINING_JOB.judge)(d("Failed"), &json!({})),
            Verdict::Failed(_)
        ));
        let t = json!({"TransformJobName": "x", "TransformJobStatus": "Stopped"});
        assert!(matches!(
            (CREATE_TRANSFORM_JOB.judge)(t, &json!({})),
            Verdict::Failed(_)
        ));
    }
}
