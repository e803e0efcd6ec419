//! `ecs:runTask`: request-response, `.sync` (DescribeTasks until the task is STOPPED) and
//! `.waitForTaskToken`. The `.sync` result is the stopped task's description. A task whose
//! RunTask answer lists Failures cannot be followed (`AmazonECS.Unknown`, as Step
//! Functions fails it); a stopped task fails the state unless every container exited 0.

use super::{text, Job, Pattern, Verdict};
use crate::services::Failure;
use serde_json::{json, Value};

pub(super) const RUN_TASK: Job = Job {
    service: "ecs",
    submit: "runTask",
    describe: "describeTasks",
    stop: "stopTask",
    callback: true,
    submitted: |answer, _, pattern| match placement_failed(&answer) {
        Some(e) if pattern == Pattern::Sync => Err(e),
        _ => Ok(answer),
    },
    describe_input: |s, _| {
        let (cluster, task) = first_task(s)?;
        Some(json!({"Cluster": cluster, "Tasks": [task]}))
    },
    stop_input: |s, _| {
        let (cluster, task) = first_task(s)?;
        Some(json!({"Cluster": cluster, "Task": task, "Reason": "Stopped by AWS Step Functions"}))
    },
    judge,
};

fn first_task(submitted: &Value) -> Option<(&str, &str)> {
    let t = submitted.get("Tasks")?.get(0)?;
    Some((text(t, &["ClusterArn"])?, text(t, &["TaskArn"])?))
}

fn judge(described: Value, _: &Value) -> Verdict {
    let Some(task) = described.get("Tasks").and_then(|t| t.get(0)).cloned() else {
        // The task is gone from ECS (described as a Failure): nothing will end it well.
        return Verdict::Failed(described);
    };
    if text(&task, &["LastStatus"]) != Some("STOPPED") {
        return Verdict::Running;
    }
    let containers = task.get("Containers").and_then(Value::as_array);
    let all_zero = containers.is_some_and(|cs| {
        !cs.is_empty()
            && cs
                .iter()
                .all(|c| c.get("ExitCode").and_then(Value::as_i64) == Some(0))
    });
    if all_zero {
        Verdict::Succeeded(task)
    } else {
        Verdict::Failed(task)
    }
}

/// RunTask's Failures (no task could be placed): Step Functions fails a `.sync` task then.
fn placement_failed(answer: &Value) -> Option<Failure> {
    let failures = answer.get("Failures")?.as_array()?;
    (!failures.is_empty()).then(|| {
        (
            "AmazonECS.Unknown".to_string(),
            Some(Value::Array(failures.clone()).to_string()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_task_succeeds_only_when_every_container_exited_0() {
        let task =
            |codes: Value| json!({"Tasks": [{"LastStatus": "STOPPED", "Containers": codes}]});
        assert!(
            matches!(judge(task(json!([{"ExitCode": 0}, {"ExitCode": 0}])), &json!({})), Verdict::Succeeded(t) if t["LastStatus"] == "STOPPED")
        );
        assert!(matches!(
            judge(task(json!([{"ExitCode": 0}, {"ExitCode": 2}])), &json!({})),
            Verdict::Failed(_)
        ));
        assert!(matches!(
            judge(task(json!([{"Name": "never ran"}])), &json!({})),
            Verdict::Failed(_)
        ));
        assert_eq!(
            judge(json!({"Tasks": [{"LastStatus": "RUNNING"}]}), &json!({})),
            Verdict::Running
        );
        assert!(matches!(
            judge(
                json!({"Tasks": [], "Failures": [{"Reason": "MISSING"}]}),
                &json!({})
            ),
            Verdict::Failed(_)
        ));
    }

    #[test]
    fn the_task_is_described_and_stopped_by_its_cluster_and_arn() {
        let s = json!({"Tasks": [{"ClusterArn": "arn:c", "TaskArn": "arn:t"}], "Failures": []});
        assert_eq!(
            (RUN_TASK.describe_input)(&s, &json!({})),
            Some(json!({"Cluster": "arn:c", "Tasks": ["arn:t"]}))
        );
        assert_eq!(
            (RUN_TASK.stop_input)(&s, &json!({})).unwrap()["Task"],
            "arn:t"
        );
        assert!(placement_failed(&s).is_none());
        assert!(placement_failed(&json!({"Failures": [{"Reason": "RESOURCE:CPU"}]})).is_some());
    }
}
