//! The AWS query protocol (SNS, IAM, CloudFormation, STS, SES, ...) and its EC2 dialect: the
//! parameters as a form (`Action=Publish&Version=...&TopicArn=...`, nested members flattened
//! as the model's shapes say), the answer as XML, turned back into JSON by the output shape so
//! the Task's result has the API's member names and types.
//!
//! EC2's dialect differs in three ways: a member's form name is its `queryName`, else its
//! `locationName` capitalised; every list is flattened (`Filter.1.Name`, no `.member`); the
//! answer has no result wrapper and errors come as `<Response><Errors><Error>`.

use super::request::{self, Request};
use super::{time, xml, AwsError, Endpoint};
use serde_json::{Map, Value};

/// Which form rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Query,
    Ec2,
}

/// Calls `operation` of the service at `endpoint` with `input`.
pub async fn call(
    http: &reqwest::Client,
    endpoint: &Endpoint<'_>,
    dialect: Dialect,
    operation: &str,
    input: &Value,
) -> Result<Value, AwsError> {
    let model = endpoint.model;
    let op = &model["operations"][operation];
    let body = form(model, dialect, operation, input).into_bytes();
    let headers = vec![(
        "content-type".to_string(),
        "application/x-www-form-urlencoded; charset=utf-8".to_string(),
    )];
    let resp = request::send(http, endpoint, Request::post(headers, body)).await?;
    let text = String::from_utf8_lossy(&resp.body);
    let doc = xml::parse(&text);
    if !resp.ok() {
        return Err(error(&doc, resp.status));
    }
    let Some(shape) = op["output"]["shape"].as_str() else {
        return Ok(Value::Object(Map::new()));
    };
    // `<PublishResponse><PublishResult>...</PublishResult>`; EC2: `<DescribeVpcsResponse>...`.
    let root = doc.children.first();
    let result = match op["output"]["resultWrapper"].as_str() {
        Some(w) => root.and_then(|r| r.child(w)),
        None => root,
    };
    Ok(result.map_or(Value::Object(Map::new()), |r| xml::to_json(model, shape, r)))
}

/// The form body of a call: `Action`, `Version` and the flattened input.
pub fn form(model: &Value, dialect: Dialect, operation: &str, input: &Value) -> String {
    let mut pairs = vec![
        ("Action".to_string(), operation.to_string()),
        (
            "Version".to_string(),
            model["metadata"]["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
    ];
    if let Some(shape) = model["operations"][operation]["input"]["shape"].as_str() {
        flatten(model, dialect, shape, input, "", &mut pairs);
    }
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish()
}

/// A query error (`<ErrorResponse><Error><Code>`, EC2's `<Response><Errors><Error>`).
fn error(doc: &xml::Element, status: u16) -> AwsError {
    let err = doc.find("Error");
    AwsError {
        code: err.and_then(|e| e.text_of("Code")),
        message: err.and_then(|e| e.text_of("Message")).unwrap_or_default(),
        status: Some(status),
        request_id: doc
            .text_of("RequestId")
            .or_else(|| doc.text_of("RequestID"))
            .unwrap_or_default(),
    }
}

/// A structure member's name in the form.
fn form_name(dialect: Dialect, name: &str, member: &Value) -> String {
    match dialect {
        Dialect::Query => member["locationName"].as_str().unwrap_or(name).to_string(),
        Dialect::Ec2 => member["queryName"].as_str().map_or_else(
            || {
                let loc = member["locationName"].as_str().unwrap_or(name);
                let mut c = loc.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            },
            str::to_string,
        ),
    }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

/// Adds `value` (of shape `shape`) to the form under `prefix`, as the query protocol names
/// nested members: `A.B`, lists `A.member.N`, maps `A.entry.N.key`/`.value` (or the
/// locationNames the model gives), flattened lists and maps without `member`/`entry`.
fn flatten(
    model: &Value,
    dialect: Dialect,
    shape: &str,
    value: &Value,
    prefix: &str,
    out: &mut Vec<(String, String)>,
) {
    let s = &model["shapes"][shape];
    match s["type"].as_str().unwrap_or("string") {
        "structure" => {
            let Some(obj) = value.as_object() else { return };
            for (name, member) in s["members"].as_object().into_iter().flatten() {
                if let Some(v) = super::shapes::member(obj, name) {
                    let child = member["shape"].as_str().unwrap_or_default();
                    let at = join(prefix, &form_name(dialect, name, member));
                    flatten(model, dialect, child, v, &at, out);
                }
            }
        }
        "list" => {
            let Some(items) = value.as_array() else {
                return;
            };
            let member = &s["member"];
            if items.is_empty() && dialect == Dialect::Query {
                // An empty list is sent as the bare name, as the SDKs do.
                out.push((prefix.to_string(), String::new()));
                return;
            }
            let base = if s["flattened"] == true || dialect == Dialect::Ec2 {
                prefix.to_string()
            } else {
                join(prefix, member["locationName"].as_str().unwrap_or("member"))
            };
            let child = member["shape"].as_str().unwrap_or_default();
            for (i, v) in items.iter().enumerate() {
                flatten(model, dialect, child, v, &format!("{base}.{}", i + 1), out);
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
                flatten(model, dialect, child, v, &format!("{at}.{val}"), out);
            }
        }
        _ => out.push((
            prefix.to_string(),
            xml::text(s, value, time::Format::Iso8601),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(service: &str, dialect: Dialect, op: &str, input: Value) -> Vec<(String, String)> {
        let m = crate::aws::models::model(service).unwrap();
        form_urlencoded::parse(form(&m, dialect, op, &input).as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn nested_members_flatten_as_the_query_protocol_names_them() {
        let form = pairs(
            "sns",
            Dialect::Query,
            "Publish",
            json!({
                "TopicArn": "arn:t",
                "Message": "hi",
                "MessageAttributes": {"color": {"DataType": "String", "StringValue": "red"}}
            }),
        );
        let has = |k: &str, v: &str| form.iter().any(|(a, b)| a == k && b == v);
        assert!(
            has("Action", "Publish") && has("Version", "2010-03-31"),
            "{form:?}"
        );
        assert!(has("TopicArn", "arn:t"), "{form:?}");
        assert!(has("MessageAttributes.entry.1.Name", "color"), "{form:?}");
        assert!(
            has("MessageAttributes.entry.1.Value.DataType", "String"),
            "{form:?}"
        );
    }

    #[test]
    fn ec2_lists_are_flattened_and_names_capitalised() {
        let form = pairs(
            "ec2",
            Dialect::Ec2,
            "DescribeVpcs",
            json!({"VpcIds": ["vpc-1", "vpc-2"], "DryRun": false,
                   "Filters": [{"Name": "cidr", "Values": ["10.0.0.0/16"]}]}),
        );
        let has = |k: &str, v: &str| form.iter().any(|(a, b)| a == k && b == v);
        // VpcIds has the queryName `VpcId`; Filters the locationName `Filter`.
        assert!(
            has("VpcId.1", "vpc-1") && has("VpcId.2", "vpc-2"),
            "{form:?}"
        );
        assert!(has("Filter.1.Name", "cidr"), "{form:?}");
        assert!(has("Filter.1.Value.1", "10.0.0.0/16"), "{form:?}");
        assert!(has("DryRun", "false"), "{form:?}");
    }

    #[test]
    fn errors_of_both_dialects_read_back() {
        let q = xml::parse("<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>r-1</RequestId></ErrorResponse>");
        let e = error(&q, 404);
        assert_eq!(e.code.as_deref(), Some("NotFound"));
        assert_eq!(e.message, "Topic does not exist");
        assert_eq!(e.request_id, "r-1");
        let ec2 = xml::parse("<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>The vpc ID 'vpc-1' does not exist</Message></Error></Errors><RequestID>r-2</RequestID></Response>");
        let e = error(&ec2, 400);
        assert_eq!(e.code.as_deref(), Some("InvalidVpcID.NotFound"));
        assert_eq!(e.request_id, "r-2");
    }

    #[test]
    fn ec2_answers_have_no_result_wrapper() {
        let m = crate::aws::models::model("ec2").unwrap();
        let doc = xml::parse("<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><vpcSet><item><vpcId>vpc-1</vpcId><cidrBlock>10.0.0.0/16</cidrBlock><isDefault>false</isDefault><tagSet><item><key>k</key><value>v</value></item></tagSet></item></vpcSet></DescribeVpcsResponse>");
        let v = xml::to_json(&m, "DescribeVpcsResult", &doc.children[0]);
        assert_eq!(v["Vpcs"][0]["VpcId"], "vpc-1");
        assert_eq!(v["Vpcs"][0]["IsDefault"], false);
        assert_eq!(v["Vpcs"][0]["Tags"][0]["Value"], "v");
    }
}
