//! `codebuild:startBuild`: request-response and `.sync` (BatchGetBuilds until the build
//! ends; the result is `{"Build": ...}`, as StartBuild answers). A build that ends FAILED,
//! FAULT, TIMED_OUT or STOPPED fails the task with that document.

use super::{as_answered, text, Job, Verdict};
use serde_json::{json, Value};

pub(super) const START_BUILD: Job = Job {
    service: "codebuild",
    submit: "startBuild",
    describe: "batchGetBuilds",
    stop: "stopBuild",
    callback: false,
    submitted: as_answered,
    describe_input: |s, _| Some(json!({"Ids": [text(s, &["Build", "Id"])?]})),
    stop_input: |s, _| Some(json!({"Id": text(s, &["Build", "Id"])?})),
    judge,
};

fn judge(described: Value, _: &Value) -> Verdict {
    let Some(build) = described.get("Builds").and_then(|b| b.get(0)).cloned() else {
        return Verdict::Failed(described);
    };
    let doc = json!({ "Build": build });
    match text(&doc, &["Build", "BuildStatus"]) {
        Some("SUCCEEDED") => Verdict::Succeeded(doc),
        Some("IN_PROGRESS") | None => Verdict::Running,
        Some(_) => Verdict::Failed(doc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_ends_with_its_status() {
        let b = |status: &str| json!({"Builds": [{"Id": "p:1", "BuildStatus": status}]});
        assert_eq!(judge(b("IN_PROGRESS"), &json!({})), Verdict::Running);
        assert_eq!(
            judge(b("SUCCEEDED"), &json!({})),
            Verdict::Succeeded(json!({"Build": {"Id": "p:1", "BuildStatus": "SUCCEEDED"}}))
        );
        for bad in ["FAILED", "FAULT", "TIMED_OUT", "STOPPED"] {
            assert!(
                matches!(judge(b(bad), &json!({})), Verdict::Failed(_)),
                "{bad}"
            );
        }
        assert_eq!(
            (START_BUILD.stop_input)(&json!({"Build": {"Id": "p:1"}}), &json!({})),
            Some(json!({"Id": "p:1"}))
        );
    }
}
