//! The REST layers' requests and answers, checked against the bundled models.

use super::*;
use crate::aws::models::model;
use serde_json::json;

fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    Response {
        status,
        headers: map,
        body: bytes::Bytes::from(body.to_string()),
    }
}

#[test]
fn uri_labels_headers_and_a_blob_payload() {
    let m = model("lambda").unwrap();
    let r = build(
        &m,
        Body::Json,
        "Invoke",
        &json!({"FunctionName": "my-fn", "Qualifier": "live", "InvocationType": "Event",
                "Payload": "{\"a\":1}"}),
        true,
    )
    .unwrap();
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.path_and_query,
        "/2015-03-31/functions/my-fn/invocations?Qualifier=live"
    );
    assert_eq!(header(&r, "X-Amz-Invocation-Type"), Some("Event"));
    assert_eq!(header(&r, "content-type"), Some("application/octet-stream"));
    assert_eq!(r.body, b"{\"a\":1}");
}

#[test]
fn query_members_and_an_empty_json_body() {
    let m = model("lambda").unwrap();
    let r = build(
        &m,
        Body::Json,
        "ListFunctions",
        &json!({"MaxItems": 5, "Marker": "a b"}),
        true,
    )
    .unwrap();
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.path_and_query,
        "/2015-03-31/functions?Marker=a%20b&MaxItems=5"
    );
    assert!(r.body.is_empty());
    // API Gateway's members are camelCase: the Task gives them in PascalCase.
    let m = model("apigateway").unwrap();
    let r = build(
        &m,
        Body::Json,
        "CreateRestApi",
        &json!({"Name": "orders", "Description": "d"}),
        true,
    )
    .unwrap();
    assert_eq!(r.path_and_query, "/restapis");
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body, json!({"name": "orders", "description": "d"}));
    // A map bound to the query string: each key its own parameter.
    let r = build(
        &m,
        Body::Json,
        "ImportRestApi",
        &json!({"Body": "{}", "Parameters": {"endpointConfigurationTypes": "REGIONAL"}, "FailOnWarnings": true}),
        true,
    )
    .unwrap();
    assert_eq!(
        r.path_and_query,
        "/restapis?mode=import&failonwarnings=true&endpointConfigurationTypes=REGIONAL"
    );
    let err = build(&m, Body::Json, "GetRestApi", &json!({}), true).unwrap_err();
    assert!(err.message.contains("restapi_id"), "{}", err.message);
}

#[test]
fn prefixed_headers_and_host_prefixes_on_aws_endpoints_only() {
    let m = model("s3").unwrap();
    let r = build(
        &m,
        Body::Xml,
        "PutObject",
        &json!({"Bucket": "b", "Key": "dir/a b.txt", "Body": "hi", "Metadata": {"color": "red"}}),
        true,
    )
    .unwrap();
    assert_eq!(r.method, "PUT");
    assert!(
        r.path_and_query.starts_with("/b/dir/a%20b.txt"),
        "{}",
        r.path_and_query
    );
    assert_eq!(header(&r, "x-amz-meta-color"), Some("red"));
    let m = model("s3control").unwrap();
    let input = json!({"AccountId": "123456789012"});
    let aws = build(&m, Body::Xml, "ListAccessPoints", &input, false).unwrap();
    assert_eq!(aws.host_prefix.as_deref(), Some("123456789012."));
    let custom = build(&m, Body::Xml, "ListAccessPoints", &input, true).unwrap();
    assert_eq!(custom.host_prefix, None);
}

#[test]
fn xml_bodies_and_answers_from_headers_and_body() {
    let m = model("route53").unwrap();
    let r = build(
        &m,
        Body::Xml,
        "CreateHostedZone",
        &json!({"Name": "example.com", "CallerReference": "r1"}),
        true,
    )
    .unwrap();
    assert_eq!(r.path_and_query, "/2013-04-01/hostedzone");
    assert_eq!(header(&r, "content-type"), Some("application/xml"));
    let body = String::from_utf8(r.body).unwrap();
    assert!(
        body.starts_with("<CreateHostedZoneRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><CallerReference>r1</CallerReference>"),
        "{body}"
    );
    let resp = response(
        201,
        &[("location", "https://route53/2013-04-01/hostedzone/Z1")],
        "<CreateHostedZoneResponse><HostedZone><Id>/hostedzone/Z1</Id><Name>example.com.</Name><Config><PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone><DelegationSet><NameServers><NameServer>ns1</NameServer></NameServers></DelegationSet></CreateHostedZoneResponse>",
    );
    let v = read(&m, Body::Xml, "CreateHostedZone", &resp).unwrap();
    assert_eq!(v["Location"], "https://route53/2013-04-01/hostedzone/Z1");
    assert_eq!(v["HostedZone"]["Id"], "/hostedzone/Z1");
    assert_eq!(v["HostedZone"]["ResourceRecordSetCount"], 2);
    assert_eq!(v["HostedZone"]["Config"]["PrivateZone"], false);
    assert_eq!(v["DelegationSet"]["NameServers"][0], "ns1");
}

#[test]
fn status_codes_header_members_and_blob_payloads_come_back() {
    let m = model("lambda").unwrap();
    let resp = response(
        200,
        &[("x-amz-function-error", "Unhandled")],
        "{\"ok\":true}",
    );
    let v = read(&m, Body::Json, "Invoke", &resp).unwrap();
    assert_eq!(v["StatusCode"], 200);
    assert_eq!(v["FunctionError"], "Unhandled");
    assert_eq!(v["Payload"], "eyJvayI6dHJ1ZX0=");
}

#[test]
fn errors_of_both_bodies() {
    let e = json::error(&response(
        404,
        &[
            (
                "x-amzn-errortype",
                "ResourceNotFoundException:http://internal/",
            ),
            ("x-amzn-requestid", "r1"),
        ],
        "{\"Message\":\"Function not found\"}",
    ));
    assert_eq!(e.code.as_deref(), Some("ResourceNotFoundException"));
    assert_eq!(e.message, "Function not found");
    assert_eq!(e.request_id, "r1");
    let e = json::error(&response(
        400,
        &[],
        "{\"code\":\"BadRequestException\",\"message\":\"m\"}",
    ));
    assert_eq!(e.code.as_deref(), Some("BadRequestException"));
    let e = xml::error(&response(
        404,
        &[],
        "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchHostedZone</Code><Message>No hosted zone found</Message></Error><RequestId>r2</RequestId></ErrorResponse>",
    ));
    assert_eq!(e.code.as_deref(), Some("NoSuchHostedZone"));
    assert_eq!(e.message, "No hosted zone found");
    assert_eq!(e.request_id, "r2");
    let e = xml::error(&response(
        404,
        &[("x-amz-request-id", "r3")],
        "<Error><Code>NoSuchKey</Code><Message>m</Message></Error>",
    ));
    assert_eq!(
        (e.code.as_deref(), e.request_id.as_str()),
        (Some("NoSuchKey"), "r3")
    );
}
