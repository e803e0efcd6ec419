//! The AWS query protocol as a server speaks it (SNS): a form (`Action=Publish&TopicArn=...`,
//! nested members flattened as `A.member.N`, `A.entry.N.key`) read into JSON by the
//! operation's input shape, and a JSON result written as XML by its output shape, so the
//! service itself works on the same JSON the AWS JSON protocols and `LocalServices` carry.

use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;

/// A decoded form: name -> value.
pub type Form = BTreeMap<String, String>;

pub fn parse_form(body: &[u8]) -> Form {
    form_urlencoded::parse(body).into_owned().collect()
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

/// Whether the form has `prefix` itself or anything under it.
fn present(form: &Form, prefix: &str) -> bool {
    form.contains_key(prefix)
        || form
            .range(format!("{prefix}.")..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&format!("{prefix}.")))
}

/// The value of shape `shape` found under `prefix` in the form.
pub fn decode(model: &Value, shape: &str, form: &Form, prefix: &str) -> Value {
    let s = &model["shapes"][shape];
    match s["type"].as_str().unwrap_or("string") {
        "structure" => {
            let mut out = Map::new();
            for (name, member) in s["members"].as_object().into_iter().flatten() {
                let at = join(prefix, member["locationName"].as_str().unwrap_or(name));
                if present(form, &at) {
                    let child = member["shape"].as_str().unwrap_or_default();
                    out.insert(name.clone(), decode(model, child, form, &at));
                }
            }
            Value::Object(out)
        }
        "list" => {
            let member = &s["member"];
            let base = if s["flattened"] == true {
                prefix.to_string()
            } else {
                join(prefix, member["locationName"].as_str().unwrap_or("member"))
            };
            let child = member["shape"].as_str().unwrap_or_default();
            let items = (1..)
                .map(|i| format!("{base}.{i}"))
                .take_while(|at| present(form, at))
                .map(|at| decode(model, child, form, &at))
                .collect();
            Value::Array(items)
        }
        "map" => {
            let base = if s["flattened"] == true {
                prefix.to_string()
            } else {
                join(prefix, "entry")
            };
            let key = s["key"]["locationName"].as_str().unwrap_or("key");
            let val = s["value"]["locationName"].as_str().unwrap_or("value");
            let child = s["value"]["shape"].as_str().unwrap_or_default();
            let mut out = Map::new();
            for i in 1.. {
                let at = format!("{base}.{i}");
                let Some(k) = form.get(&format!("{at}.{key}")) else {
                    break;
                };
                out.insert(
                    k.clone(),
                    decode(model, child, form, &format!("{at}.{val}")),
                );
            }
            Value::Object(out)
        }
        kind => {
            let text = form.get(prefix).cloned().unwrap_or_default();
            match kind {
                "integer" | "long" => text.parse::<i64>().map_or(Value::String(text), Value::from),
                "float" | "double" => text
                    .parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map_or(Value::String(text.clone()), Value::Number),
                "boolean" => Value::Bool(text == "true"),
                _ => Value::String(text),
            }
        }
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes `value` (of shape `shape`) as the children of an element.
pub fn encode(model: &Value, shape: &str, value: &Value, out: &mut String) {
    let s = &model["shapes"][shape];
    match s["type"].as_str().unwrap_or("string") {
        "structure" => {
            for (name, member) in s["members"].as_object().into_iter().flatten() {
                let Some(v) = value.get(name).filter(|v| !v.is_null()) else {
                    continue;
                };
                let loc = member["locationName"].as_str().unwrap_or(name);
                let child = member["shape"].as_str().unwrap_or_default();
                if model["shapes"][child]["flattened"] == true {
                    let item = model["shapes"][child]["member"]["shape"]
                        .as_str()
                        .unwrap_or_default();
                    for i in v.as_array().into_iter().flatten() {
                        element(model, loc, item, i, out);
                    }
                } else {
                    element(model, loc, child, v, out);
                }
            }
        }
        "list" => {
            let loc = s["member"]["locationName"].as_str().unwrap_or("member");
            let item = s["member"]["shape"].as_str().unwrap_or_default();
            for i in value.as_array().into_iter().flatten() {
                element(model, loc, item, i, out);
            }
        }
        "map" => {
            let key = s["key"]["locationName"].as_str().unwrap_or("key");
            let val = s["value"]["locationName"].as_str().unwrap_or("value");
            let vshape = s["value"]["shape"].as_str().unwrap_or_default();
            for (k, v) in value.as_object().into_iter().flatten() {
                out.push_str(&format!("<entry><{key}>{}</{key}>", escape(k)));
                element(model, val, vshape, v, out);
                out.push_str("</entry>");
            }
        }
        _ => match value {
            Value::String(t) => out.push_str(&escape(t)),
            other => out.push_str(&escape(&other.to_string())),
        },
    }
}

fn element(model: &Value, name: &str, shape: &str, value: &Value, out: &mut String) {
    out.push_str(&format!("<{name}>"));
    encode(model, shape, value, out);
    out.push_str(&format!("</{name}>"));
}

/// A whole answer: `<OpResponse><OpResult>...</OpResult><ResponseMetadata>...`.
pub fn response(model: &Value, operation: &str, result: &Value, request_id: &str) -> String {
    let ns = model["metadata"]["xmlNamespace"]
        .as_str()
        .unwrap_or_default();
    let op = &model["operations"][operation];
    let mut body = String::new();
    if let (Some(shape), Some(wrapper)) = (
        op["output"]["shape"].as_str(),
        op["output"]["resultWrapper"].as_str(),
    ) {
        body.push_str(&format!("<{wrapper}>"));
        encode(model, shape, result, &mut body);
        body.push_str(&format!("</{wrapper}>"));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<{operation}Response xmlns=\"{ns}\">{body}<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>"
    )
}

/// An error answer in the query protocol's shape.
pub fn error(model: &Value, code: &str, message: &str, sender: bool, request_id: &str) -> String {
    let ns = model["metadata"]["xmlNamespace"]
        .as_str()
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{ns}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        if sender { "Sender" } else { "Receiver" },
        escape(code),
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sns() -> std::sync::Arc<Value> {
        passo_tasks::aws::models::model("sns").unwrap()
    }

    #[test]
    fn a_publish_form_reads_back_as_the_api_json() {
        let form = parse_form(
            b"Action=Publish&TopicArn=arn%3At&Message=hi&MessageAttributes.entry.1.Name=color&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=red",
        );
        let v = decode(&sns(), "PublishInput", &form, "");
        assert_eq!(v["TopicArn"], "arn:t");
        assert_eq!(v["MessageAttributes"]["color"]["StringValue"], "red");
        let batch = parse_form(
            b"PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=x&PublishBatchRequestEntries.member.2.Id=b&PublishBatchRequestEntries.member.2.Message=y",
        );
        let v = decode(&sns(), "PublishBatchInput", &batch, "");
        assert_eq!(v["PublishBatchRequestEntries"][1]["Id"], "b");
    }

    #[test]
    fn results_write_as_sns_xml() {
        let xml = response(
            &sns(),
            "ListTopics",
            &serde_json::json!({"Topics": [{"TopicArn": "arn:a&b"}]}),
            "r1",
        );
        assert!(
            xml.contains("<ListTopicsResult><Topics><member><TopicArn>arn:a&amp;b</TopicArn></member></Topics></ListTopicsResult>"),
            "{xml}"
        );
        let xml = response(
            &sns(),
            "GetTopicAttributes",
            &serde_json::json!({"Attributes": {"TopicArn": "x"}}),
            "r1",
        );
        assert!(
            xml.contains(
                "<Attributes><entry><key>TopicArn</key><value>x</value></entry></Attributes>"
            ),
            "{xml}"
        );
    }
}
