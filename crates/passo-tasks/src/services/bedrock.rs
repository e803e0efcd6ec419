//! `bedrock:invokeModel`: Bedrock Runtime's InvokeModel (restJson1, through `aws::call`).
//! Step Functions' parameters: `ModelId`, `Body` (the model's own request: JSON is sent as
//! its text, a string as it is), `ContentType` and `Accept` (both `application/json` unless
//! given), `Trace`, `GuardrailIdentifier`, `GuardrailVersion`, `PerformanceConfigLatency`.
//! The result is `{"Body": ..., "ContentType": ...}`, the body parsed when its content type
//! is JSON. `Input`/`Output` (S3 URIs for large bodies) are refused for now.

use super::jobs::Calls;
use super::{Context, Failure};
use crate::TaskResult;
use serde_json::{json, Map, Value};

const JSON: &str = "application/json";

fn invalid(why: String) -> Failure {
    ("States.Runtime".to_string(), Some(why))
}

/// The InvokeModel call's parameters from the task's.
pub fn request(input: &Value) -> Result<Value, Failure> {
    let Some(p) = input.as_object() else {
        return Err(invalid(
            "The parameters of bedrock:invokeModel must be an object".into(),
        ));
    };
    for k in ["Input", "Output"] {
        if p.contains_key(k) {
            return Err(invalid(format!(
                "bedrock:invokeModel's '{k}' (an S3 location for the body) is not supported by Passo yet: give the Body"
            )));
        }
    }
    if !p.get("ModelId").is_some_and(Value::is_string) {
        return Err(invalid(
            "bedrock:invokeModel needs a ModelId (a string)".into(),
        ));
    }
    if !p.contains_key("Body") {
        return Err(invalid("bedrock:invokeModel needs a Body".into()));
    }
    let mut out: Map<String, Value> = p.clone();
    for k in ["ContentType", "Accept"] {
        out.entry(k).or_insert_with(|| json!(JSON));
    }
    Ok(Value::Object(out))
}

/// The task's result from InvokeModel's answer: the aws layer gives a payload blob as its
/// text (base64 only when it is not UTF-8, which no JSON body is).
pub fn result(answer: &Value) -> Value {
    let content_type = answer["ContentType"].as_str().unwrap_or(JSON).to_string();
    let text = answer["Body"].as_str().unwrap_or_default().to_string();
    let body = if is_json(&content_type) {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    } else {
        Value::String(text)
    };
    json!({"Body": body, "ContentType": content_type})
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(JSON) || essence.to_ascii_lowercase().ends_with("+json")
}

pub async fn invoke_model(cx: &Context<'_>, input: &Value) -> TaskResult {
    let params = request(input)?;
    let answer = Calls::of(cx)
        .call("bedrock-runtime", "invokeModel", &params, cx.deadline)
        .await?;
    Ok(result(&answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_goes_on_with_default_types() {
        let r = request(
            &json!({"ModelId": "amazon.titan-text-express-v1", "Body": {"inputText": "hi"}}),
        )
        .unwrap();
        assert_eq!(r["ModelId"], "amazon.titan-text-express-v1");
        assert_eq!(r["ContentType"], "application/json");
        assert_eq!(r["Accept"], "application/json");
        assert_eq!(r["Body"], json!({"inputText": "hi"}));
        let typed =
            request(&json!({"ModelId": "m", "Body": "x", "ContentType": "text/plain"})).unwrap();
        assert_eq!(typed["ContentType"], "text/plain");
    }

    #[test]
    fn missing_or_unsupported_parameters_are_refused() {
        assert!(request(&json!({"Body": {}})).is_err());
        assert!(request(&json!({"ModelId": "m"})).is_err());
        assert!(
            request(&json!({"ModelId": "m", "Body": {}, "Input": {"S3Uri": "s3://b/k"}})).is_err()
        );
        assert!(request(&json!("text")).is_err());
    }

    #[test]
    fn a_json_answer_is_parsed_and_others_stay_text() {
        assert_eq!(
            result(
                &json!({"Body": r#"{"results":[{"outputText":"x"}]}"#, "ContentType": "application/json"})
            ),
            json!({"Body": {"results": [{"outputText": "x"}]}, "ContentType": "application/json"})
        );
        assert_eq!(
            result(&json!({"Body": "plain", "ContentType": "text/plain"})),
            json!({"Body": "plain", "ContentType": "text/plain"})
        );
    }
}
