//! `bedrock:invokeModel`: Bedrock Runtime's InvokeModel (restJson1, through `aws::call`).
//! Step Functions' parameters: `ModelId`, `Body` (the model's own request: a JSON body is
//! sent as JSON text), `ContentType` and `Accept` (both `application/json` unless given),
//! `Trace`, `GuardrailIdentifier`, `GuardrailVersion`, `PerformanceConfigLatency`. The
//! result is `{"Body": ..., "ContentType": ...}`, the body parsed when its content type is
//! JSON. `Input`/`Output` (S3 URIs for large bodies) are refused for now.
//!
//! A blob payload crosses `aws::call`'s JSON interface base64-encoded, as the JSON protocols
//! carry blobs.

use super::jobs::Calls;
use super::Failure;
use crate::TaskResult;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::time::Duration;

const JSON: &str = "application/json";

fn invalid(why: String) -> Failure {
    ("States.Runtime".to_string(), Some(why))
}

/// The InvokeModel call's parameters (API member names) from the task's.
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
    let model_id = p
        .get("ModelId")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("bedrock:invokeModel needs a ModelId (a string)".into()))?;
    let content_type = p.get("ContentType").and_then(Value::as_str).unwrap_or(JSON);
    let body = match p.get("Body") {
        None => return Err(invalid("bedrock:invokeModel needs a Body".into())),
        // A text body of another type is sent as its text; anything else as JSON.
        Some(Value::String(s)) if !is_json(content_type) => s.clone().into_bytes(),
        Some(v) => v.to_string().into_bytes(),
    };
    let mut out = Map::new();
    out.insert("modelId".into(), json!(model_id));
    out.insert("contentType".into(), json!(content_type));
    out.insert(
        "accept".into(),
        json!(p.get("Accept").and_then(Value::as_str).unwrap_or(JSON)),
    );
    out.insert(
        "body".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(body)),
    );
    for (ours, theirs) in [
        ("Trace", "trace"),
        ("GuardrailIdentifier", "guardrailIdentifier"),
        ("GuardrailVersion", "guardrailVersion"),
        ("PerformanceConfigLatency", "performanceConfigLatency"),
    ] {
        if let Some(v) = p.get(ours) {
            out.insert(theirs.into(), v.clone());
        }
    }
    Ok(Value::Object(out))
}

/// The task's result from InvokeModel's answer (`body` base64, `contentType`).
pub fn result(answer: &Value) -> Value {
    let content_type = answer["contentType"].as_str().unwrap_or(JSON).to_string();
    let bytes = answer["body"]
        .as_str()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
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

pub async fn invoke_model(
    calls: &Calls<'_>,
    input: &Value,
    deadline: Option<Duration>,
) -> TaskResult {
    let params = request(input)?;
    let answer = crate::aws::call(
        calls.http,
        calls.local,
        "bedrock-runtime",
        "invokeModel",
        &params,
        deadline,
    )
    .await?;
    Ok(result(&answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_body_goes_out_as_json_text_with_default_types() {
        let r = request(
            &json!({"ModelId": "amazon.titan-text-express-v1", "Body": {"inputText": "hi"}}),
        )
        .unwrap();
        assert_eq!(r["modelId"], "amazon.titan-text-express-v1");
        assert_eq!(r["contentType"], "application/json");
        assert_eq!(r["accept"], "application/json");
        let sent = base64::engine::general_purpose::STANDARD
            .decode(r["body"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&sent).unwrap(),
            json!({"inputText": "hi"})
        );
    }

    #[test]
    fn missing_or_unsupported_parameters_are_refused() {
        assert!(request(&json!({"Body": {}})).is_err());
        assert!(request(&json!({"ModelId": "m"})).is_err());
        assert!(request(&json!({"ModelId": "m", "Input": {"S3Uri": "s3://b/k"}})).is_err());
        assert!(request(&json!("text")).is_err());
    }

    #[test]
    fn a_json_answer_is_parsed_and_others_stay_text() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            result(
                &json!({"body": b64(r#"{"results":[{"outputText":"x"}]}"#), "contentType": "application/json"})
            ),
            json!({"Body": {"results": [{"outputText": "x"}]}, "ContentType": "application/json"})
        );
        assert_eq!(
            result(&json!({"body": b64("plain"), "contentType": "text/plain"})),
            json!({"Body": "plain", "ContentType": "text/plain"})
        );
    }
}
