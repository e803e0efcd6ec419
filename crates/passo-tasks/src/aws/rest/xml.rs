//! restXml's bodies: the members not bound elsewhere as one element named by the operation
//! input's `locationName` in its `xmlNamespace`, and its errors: `<ErrorResponse><Error>
//! <Code>` (Route 53, CloudFront) or a bare `<Error><Code>` (S3 style).

use super::super::request::Response;
use super::super::{xml, AwsError};
use serde_json::Value;

/// The XML body of the input's body members, nothing when the shape has none.
pub fn body(
    model: &Value,
    op: &Value,
    shape: &str,
    input: &Value,
) -> (Option<&'static str>, Vec<u8>) {
    let has_body = model["shapes"][shape]["members"]
        .as_object()
        .is_some_and(|m| m.values().any(|m| !m["location"].is_string()));
    if !has_body {
        return (None, Vec::new());
    }
    let name = op["input"]["locationName"].as_str().unwrap_or(shape);
    let ns = op["input"]["xmlNamespace"]["uri"].as_str();
    let mut out = String::new();
    xml::write(model, shape, name, ns, input, &mut out);
    (Some("application/xml"), out.into_bytes())
}

/// An XML body read as `shape` (its top element is the shape's).
pub fn read(model: &Value, shape: &str, bytes: &[u8]) -> Value {
    let doc = xml::parse(&String::from_utf8_lossy(bytes));
    match doc.children.first() {
        Some(root) => xml::to_json(model, shape, root),
        None => Value::Object(Default::default()),
    }
}

/// The error a restXml answer carries.
pub fn error(resp: &Response) -> AwsError {
    let doc = xml::parse(&String::from_utf8_lossy(&resp.body));
    let err = doc.find("Error");
    AwsError {
        code: err
            .and_then(|e| e.text_of("Code"))
            .filter(|c| !c.is_empty()),
        message: err.and_then(|e| e.text_of("Message")).unwrap_or_default(),
        status: Some(resp.status),
        request_id: doc
            .text_of("RequestId")
            .unwrap_or_else(|| resp.request_id()),
    }
}
