//! XML for the protocols that answer in it (query, ec2, rest-xml): a small element tree read
//! with quick-xml, turned into JSON by the model's shapes (so a Task's result has the API's
//! member names and types), and written from JSON by the shapes (rest-xml request bodies).

use super::shapes::{member as task_member, pascal};
use super::time;
use serde_json::{Map, Value};

/// An XML element: its name, attributes, text and children.
#[derive(Debug, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first descendant named `name`, breadth first.
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find(|c| c.name == name)
            .or_else(|| self.children.iter().find_map(|c| c.find(name)))
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the first descendant named `name`.
    pub fn text_of(&self, name: &str) -> Option<String> {
        self.find(name).map(|e| e.text.clone())
    }
}

fn open(e: &quick_xml::events::BytesStart<'_>) -> Element {
    let attrs = e
        .attributes()
        .flatten()
        .map(|a| {
            (
                String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned(),
                quick_xml::escape::unescape(&String::from_utf8_lossy(&a.value))
                    .map(|v| v.into_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    Element {
        name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
        attrs,
        ..Element::default()
    }
}

/// Parses an XML document into a tree: a nameless root holding the top element. Malformed
/// XML ends the tree where it breaks (an answer is read as far as it goes, never a panic).
pub fn parse(text: &str) -> Element {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack = vec![Element::default()];
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => stack.push(open(&e)),
            Ok(Event::Empty(e)) => {
                let el = open(&e);
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

/// The element name of a structure member: its `locationName`, else its name.
fn member_name<'a>(name: &'a str, member: &'a Value) -> &'a str {
    member["locationName"].as_str().unwrap_or(name)
}

/// The JSON of element `el` read as shape `shape`. Timestamps stay as the service wrote
/// them; blobs stay base64, as the XML carries them.
pub fn to_json(model: &Value, shape: &str, el: &Element) -> Value {
    let s = &model["shapes"][shape];
    match s["type"].as_str().unwrap_or("string") {
        "structure" => {
            let mut out = Map::new();
            for (name, member) in s["members"].as_object().into_iter().flatten() {
                // Members the REST layers read from headers or the status code.
                if member["location"].is_string() {
                    continue;
                }
                let loc = member_name(name, member);
                let child = member["shape"].as_str().unwrap_or_default();
                let cs = &model["shapes"][child];
                if member["xmlAttribute"] == true {
                    if let Some((_, v)) = el.attrs.iter().find(|(k, _)| k == loc) {
                        out.insert(pascal(name).into_owned(), scalar(cs, v));
                    }
                } else if cs["flattened"] == true || member["flattened"] == true {
                    let items: Vec<&Element> =
                        el.children.iter().filter(|c| c.name == loc).collect();
                    if !items.is_empty() {
                        let item = cs["member"]["shape"]
                            .as_str()
                            .or(cs["value"]["shape"].as_str())
                            .unwrap_or_default();
                        if cs["type"] == "map" {
                            out.insert(pascal(name).into_owned(), map_entries(model, cs, &items));
                        } else {
                            let v = items.iter().map(|i| to_json(model, item, i)).collect();
                            out.insert(pascal(name).into_owned(), Value::Array(v));
                        }
                    }
                } else if let Some(c) = el.child(loc) {
                    out.insert(pascal(name).into_owned(), to_json(model, child, c));
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
        "map" => map_entries(model, s, &el.children.iter().collect::<Vec<_>>()),
        _ => scalar(s, &el.text),
    }
}

/// A map's `<entry><key/><value/></entry>` elements (or the locationNames the model gives).
fn map_entries(model: &Value, s: &Value, entries: &[&Element]) -> Value {
    let key = s["key"]["locationName"].as_str().unwrap_or("key");
    let val = s["value"]["locationName"].as_str().unwrap_or("value");
    let vshape = s["value"]["shape"].as_str().unwrap_or_default();
    let mut out = Map::new();
    for entry in entries {
        if let (Some(k), Some(v)) = (entry.child(key), entry.child(val)) {
            out.insert(k.text.clone(), to_json(model, vshape, v));
        }
    }
    Value::Object(out)
}

/// A scalar of shape `s` from its text.
pub fn scalar(s: &Value, text: &str) -> Value {
    match s["type"].as_str().unwrap_or("string") {
        "integer" | "long" | "short" | "byte" => {
            text.trim().parse::<i64>().map_or(Value::Null, Value::from)
        }
        "float" | "double" => text.trim().parse::<f64>().map_or(Value::Null, Value::from),
        "boolean" => Value::Bool(text.trim() == "true"),
        _ => Value::String(text.to_string()),
    }
}

/// The text of a scalar JSON value for an XML element, a form field or a header, with
/// timestamps in `format` (the member's `timestampFormat`, else the protocol's default).
pub fn text(s: &Value, v: &Value, default_format: time::Format) -> String {
    if s["type"] == "timestamp" {
        let format = time::Format::of(s).unwrap_or(default_format);
        if let Some(t) = time::format(v, format) {
            return t;
        }
    }
    match v {
        Value::String(t) => t.clone(),
        other => other.to_string(),
    }
}

/// Writes `value` of shape `shape` as the element `name` (rest-xml request bodies).
pub fn write(
    model: &Value,
    shape: &str,
    name: &str,
    ns: Option<&str>,
    value: &Value,
    out: &mut String,
) {
    let s = &model["shapes"][shape];
    out.push('<');
    out.push_str(name);
    if let Some(ns) = ns {
        out.push_str(&format!(" xmlns=\"{}\"", escape(ns)));
    }
    match s["type"].as_str().unwrap_or("string") {
        "structure" => {
            let obj = value.as_object();
            let members = s["members"].as_object();
            let present = || {
                members.into_iter().flatten().filter_map(|(n, m)| {
                    let v = task_member(obj?, n)?;
                    (!m["location"].is_string()).then_some((n, m, v))
                })
            };
            for (n, m, v) in present().filter(|(_, m, _)| m["xmlAttribute"] == true) {
                let cs = &model["shapes"][m["shape"].as_str().unwrap_or_default()];
                let t = text(cs, v, time::Format::Iso8601);
                out.push_str(&format!(" {}=\"{}\"", member_name(n, m), escape(&t)));
            }
            out.push('>');
            for (n, m, v) in present().filter(|(_, m, _)| m["xmlAttribute"] != true) {
                let child = m["shape"].as_str().unwrap_or_default();
                let cs = &model["shapes"][child];
                let ns = m["xmlNamespace"]["uri"].as_str();
                if cs["type"] == "list" && (cs["flattened"] == true || m["flattened"] == true) {
                    let item = cs["member"]["shape"].as_str().unwrap_or_default();
                    for i in v.as_array().into_iter().flatten() {
                        write(model, item, member_name(n, m), ns, i, out);
                    }
                } else {
                    write(model, child, member_name(n, m), ns, v, out);
                }
            }
        }
        "list" => {
            out.push('>');
            let item = s["member"]["shape"].as_str().unwrap_or_default();
            let iname = s["member"]["locationName"].as_str().unwrap_or("member");
            for i in value.as_array().into_iter().flatten() {
                write(model, item, iname, None, i, out);
            }
        }
        "map" => {
            out.push('>');
            let key = s["key"]["locationName"].as_str().unwrap_or("key");
            let val = s["value"]["locationName"].as_str().unwrap_or("value");
            let vshape = s["value"]["shape"].as_str().unwrap_or_default();
            for (k, v) in value.as_object().into_iter().flatten() {
                out.push_str(&format!("<entry><{key}>{}</{key}>", escape(k)));
                write(model, vshape, val, None, v, out);
                out.push_str("</entry>");
            }
        }
        _ => {
            out.push('>');
            out.push_str(&escape(&text(s, value, time::Format::Iso8601)));
        }
    }
    out.push_str(&format!("</{name}>"));
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_read_back_by_their_shapes() {
        let m = crate::aws::models::model("sns").unwrap();
        let xml = "<ListTopicsResponse xmlns=\"x\"><ListTopicsResult><Topics><member><TopicArn>arn:a</TopicArn></member><member><TopicArn>arn:b&amp;c</TopicArn></member></Topics></ListTopicsResult></ListTopicsResponse>";
        let doc = parse(xml);
        let result = doc.children[0].find("ListTopicsResult").unwrap();
        let v = to_json(&m, "ListTopicsResponse", result);
        assert_eq!(v["Topics"][1]["TopicArn"], "arn:b&c");
    }

    #[test]
    fn broken_xml_reads_as_far_as_it_goes() {
        let doc = parse("<a><b>1</b><c>");
        assert_eq!(doc.children[0].text_of("b").as_deref(), Some("1"));
        assert!(parse("").children.is_empty());
    }

    #[test]
    fn request_bodies_follow_location_names_and_namespaces() {
        let m = crate::aws::models::model("route53").unwrap();
        let mut out = String::new();
        write(
            &m,
            "CreateHostedZoneRequest",
            "CreateHostedZoneRequest",
            Some("https://route53.amazonaws.com/doc/2013-04-01/"),
            &json!({"Name": "a.example.", "CallerReference": "r<1>",
                    "HostedZoneConfig": {"Comment": "c", "PrivateZone": false}}),
            &mut out,
        );
        assert_eq!(
            out,
            "<CreateHostedZoneRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><CallerReference>r&lt;1&gt;</CallerReference><HostedZoneConfig><Comment>c</Comment><PrivateZone>false</PrivateZone></HostedZoneConfig><Name>a.example.</Name></CreateHostedZoneRequest>"
        );
        // Lists: `<member>` or the member's locationName (`ResourceId` in route53's tags).
        let mut out = String::new();
        write(
            &m,
            "ListTagsForResourcesRequest",
            "R",
            None,
            &json!({"ResourceType": "healthcheck", "ResourceIds": ["a", "b"]}),
            &mut out,
        );
        assert_eq!(
            out,
            "<R><ResourceIds><ResourceId>a</ResourceId><ResourceId>b</ResourceId></ResourceIds></R>"
        );
    }
}
