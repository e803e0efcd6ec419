//! The AWS query protocol (SNS, IAM, CloudFormation, STS, SES, ...): the parameters as a form
//! (`Action=Publish&Version=...&TopicArn=...`, nested members flattened as the model's shapes
//! say), the answer as XML, turned back into JSON by the output shape so the Task's result
//! has the API's member names and types.

use super::{AwsError, Endpoint};
use serde_json::{Map, Value};

/// Calls `operation` of the service at `endpoint` with `input`.
pub async fn call(
    http: &reqwest::Client,
    endpoint: &Endpoint<'_>,
    operation: &str,
    input: &Value,
) -> Result<Value, AwsError> {
    let model = endpoint.model;
    let op = &model["operations"][operation];
    let mut form = vec![
        ("Action".to_string(), operation.to_string()),
        (
            "Version".to_string(),
            model["metadata"]["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
    ];
    if let Some(shape) = op["input"]["shape"].as_str() {
        flatten(model, shape, input, "", &mut form);
    }
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter())
        .finish()
        .into_bytes();
    let headers = [(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8".to_string(),
    )];
    let resp = super::post(http, endpoint, &headers, body).await?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|e| AwsError::client(&e.to_string()))?;
    let doc = parse_xml(&text);
    if !(200..300).contains(&status) {
        let err = doc.find("Error");
        let code = err.and_then(|e| e.find("Code")).map(|c| c.text.clone());
        return Err(AwsError {
            code: code.map(|c| exception_of(model, &c)),
            message: err
                .and_then(|e| e.find("Message"))
                .map(|m| m.text.clone())
                .unwrap_or_default(),
            status: Some(status),
            request_id: doc
                .find("RequestId")
                .map(|r| r.text.clone())
                .unwrap_or_default(),
        });
    }
    let Some(shape) = op["output"]["shape"].as_str() else {
        return Ok(Value::Object(Map::new()));
    };
    // `<PublishResponse><PublishResult>...</PublishResult>`.
    let root = doc.children.first();
    let result = match op["output"]["resultWrapper"].as_str() {
        Some(w) => root.and_then(|r| r.find(w)),
        None => root,
    };
    Ok(result.map_or(Value::Object(Map::new()), |r| to_json(model, shape, r)))
}

/// The exception shape whose `error.code` is `code` (SNS answers `NotFound` for the shape
/// `NotFoundException`), else the code as given.
fn exception_of(model: &Value, code: &str) -> String {
    model["shapes"]
        .as_object()
        .and_then(|shapes| {
            shapes
                .iter()
                .find(|(_, s)| s["error"]["code"].as_str() == Some(code))
                .map(|(name, _)| name.clone())
        })
        .unwrap_or_else(|| code.to_string())
}

/// Adds `value` (of shape `shape`) to the form under `prefix`, as the query protocol names
/// nested members: `A.B`, lists `A.member.N`, maps `A.entry.N.key`/`.value` (or the
/// locationNames the model gives), flattened lists and maps without `member`/`entry`.
fn flatten(
    model: &Value,
    shape: &str,
    value: &Value,
    prefix: &str,
    out: &mut Vec<(String, String)>,
) {
    let s = &model["shapes"][shape];
    let join = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            format!("{a}.{b}")
        }
    };
    match s["type"].as_str().unwrap_or("string") {
        "structure" => {
            let Some(obj) = value.as_object() else { return };
            for (name, member) in s["members"].as_object().into_iter().flatten() {
                if let Some(v) = obj.get(name).filter(|v| !v.is_null()) {
                    let loc = member["locationName"].as_str().unwrap_or(name);
                    let child = member["shape"].as_str().unwrap_or_default();
                    flatten(model, child, v, &join(prefix, loc), out);
                }
            }
        }
        "list" => {
            let Some(items) = value.as_array() else {
                return;
            };
            let member = &s["member"];
            let base = if s["flattened"] == true {
                prefix.to_string()
            } else {
                join(prefix, member["locationName"].as_str().unwrap_or("member"))
            };
            let child = member["shape"].as_str().unwrap_or_default();
            for (i, v) in items.iter().enumerate() {
                flatten(model, child, v, &format!("{base}.{}", i + 1), out);
            }
        }
        "map" => {
            let Some(obj) = value.as_object() else { return };
            let base = if s["flattened"] == true {
                prefix.to_string()
            } else {
                join(prefix, "entry")
            };
            let key = s["key"]["locationName"].as_str().unwrap_or("key");
            let val = s["value"]["locationName"].as_str().unwrap_or("value");
            let child = s["value"]["shape"].as_str().unwrap_or_default();
            for (i, (k, v)) in obj.iter().enumerate() {
                let at = format!("{base}.{}", i + 1);
                out.push((format!("{at}.{key}"), k.clone()));
                flatten(model, child, v, &format!("{at}.{val}"), out);
            }
        }
        _ => {
            let text = match value {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            out.push((prefix.to_string(), text));
        }
    }
}

/// An XML element: its name, text and children (what the query protocol's answers need).
#[derive(Debug, Default)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    /// The first descendant named `name`, breadth first.
    fn find(&self, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name == name)
            .or_else(|| self.children.iter().find_map(|c| c.find(name)))
    }
}

/// Parses an XML document into a tree (a document root holding the top element).
fn parse_xml(text: &str) -> Element {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack = vec![Element::default()];
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => stack.push(Element {
                name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                ..Element::default()
            }),
            Ok(Event::Empty(e)) => {
                let el = Element {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Element::default()
                };
                if let Some(top) = stack.last_mut() {
                    top.children.push(el);
                }
            }
            Ok(Event::Text(t)) => {
                if let (Some(top), Ok(s)) = (stack.last_mut(), t.decode()) {
                    top.text
                        .push_str(&quick_xml::escape::unescape(&s).unwrap_or_default());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let (Some(top), Ok(name)) = (stack.last_mut(), r.decode()) {
                    let entity = format!("&{name};");
                    top.text
                        .push_str(&quick_xml::escape::unescape(&entity).unwrap_or_default());
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Ok(Event::End(_)) => {
                if stack.len() > 1 {
                    let el = stack.pop().unwrap_or_default();
                    if let Some(top) = stack.last_mut() {
                        top.children.push(el);
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    while stack.len() > 1 {
        let el = stack.pop().unwrap_or_default();
        if let Some(top) = stack.last_mut() {
            top.children.push(el);
        }
    }
    stack.pop().unwrap_or_default()
}

/// The JSON of element `el` read as shape `shape`.
fn to_json(model: &Value, shape: &str, el: &Element) -> Value {
    let s = &model["shapes"][shape];
    match s["type"].as_str().unwrap_or("string") {
        "structure" => {
            let mut out = Map::new();
            for (name, member) in s["members"].as_object().into_iter().flatten() {
                let loc = member["locationName"].as_str().unwrap_or(name);
                let child = member["shape"].as_str().unwrap_or_default();
                let flattened = model["shapes"][child]["flattened"] == true;
                if flattened {
                    let items: Vec<&Element> =
                        el.children.iter().filter(|c| c.name == loc).collect();
                    if !items.is_empty() {
                        let item_shape = model["shapes"][child]["member"]["shape"]
                            .as_str()
                            .unwrap_or_default();
                        let v = items
                            .iter()
                            .map(|i| to_json(model, item_shape, i))
                            .collect();
                        out.insert(name.clone(), Value::Array(v));
                    }
                } else if let Some(c) = el.children.iter().find(|c| c.name == loc) {
                    out.insert(name.clone(), to_json(model, child, c));
                }
            }
            Value::Object(out)
        }
        "list" => {
            let item = s["member"]["shape"].as_str().unwrap_or_default();
            Value::Array(
                el.children
                    .iter()
                    .map(|c| to_json(model, item, c))
                    .collect(),
            )
        }
        "map" => {
            let key = s["key"]["locationName"].as_str().unwrap_or("key");
            let val = s["value"]["locationName"].as_str().unwrap_or("value");
            let vshape = s["value"]["shape"].as_str().unwrap_or_default();
            let mut out = Map::new();
            for entry in &el.children {
                if let (Some(k), Some(v)) = (entry.find(key), entry.find(val)) {
                    out.insert(k.text.clone(), to_json(model, vshape, v));
                }
            }
            Value::Object(out)
        }
        "integer" | "long" => el
            .text
            .trim()
            .parse::<i64>()
            .map_or(Value::Null, Value::from),
        "float" | "double" => el
            .text
            .trim()
            .parse::<f64>()
            .map_or(Value::Null, Value::from),
        "boolean" => Value::Bool(el.text.trim() == "true"),
        _ => Value::String(el.text.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sns() -> std::sync::Arc<Value> {
        crate::aws::models::model("sns").unwrap()
    }

    #[test]
    fn nested_members_flatten_as_the_query_protocol_names_them() {
        let input = serde_json::json!({
            "TopicArn": "arn:t",
            "Message": "hi",
            "MessageAttributes": {"color": {"DataType": "String", "StringValue": "red"}}
        });
        let mut form = Vec::new();
        flatten(&sns(), "PublishInput", &input, "", &mut form);
        let has = |k: &str, v: &str| form.iter().any(|(a, b)| a == k && b == v);
        assert!(has("TopicArn", "arn:t"), "{form:?}");
        assert!(has("MessageAttributes.entry.1.Name", "color"), "{form:?}");
        assert!(
            has("MessageAttributes.entry.1.Value.DataType", "String"),
            "{form:?}"
        );
    }

    #[test]
    fn answers_and_errors_read_back_as_json() {
        let xml = "<ListTopicsResponse xmlns=\"x\"><ListTopicsResult><Topics><member><TopicArn>arn:a</TopicArn></member><member><TopicArn>arn:b</TopicArn></member></Topics></ListTopicsResult></ListTopicsResponse>";
        let doc = parse_xml(xml);
        let result = doc.children[0].find("ListTopicsResult").unwrap();
        let v = to_json(&sns(), "ListTopicsResponse", result);
        assert_eq!(v["Topics"][1]["TopicArn"], "arn:b");
        assert_eq!(exception_of(&sns(), "NotFound"), "NotFoundException");
    }
}
