//! One test per example in AWS's EventBridge documentation (the event pattern,
//! arrays, null values and content filtering pages, and the Event Ruler README
//! that EventBridge's engine documents itself with): pattern, event, expected result.

mod common;

use common::matches;
use serde_json::{json, Value};

fn ec2_event(state: &str) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "us-west-1",
        "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": {"instance-id": "i-1234567890abcdef0", "state": state}
    })
}

/// The sample event of the content filtering examples.
fn ruler_event() -> Value {
    json!({
        "version": "0",
        "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "012345679012",
        "time": "2017-10-02T16:24:49Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
        "detail": {
            "c-count": 5,
            "d-count": 3,
            "x-limit": 301.8,
            "source-ip": "10.0.0.33",
            "instance-id": "i-000000aaaaaa00000",
            "state": "running"
        }
    })
}

#[test]
fn ec2_instance_termination() {
    let pattern = json!({
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
        "detail": {"state": ["terminated"]}
    });
    assert!(matches(pattern.clone(), ec2_event("terminated")));
    assert!(!matches(pattern, ec2_event("running")));
}

#[test]
fn multiple_values_for_source() {
    let pattern = json!({"source": ["aws.ec2", "aws.fargate"]});
    assert!(matches(pattern.clone(), json!({"source": "aws.fargate"})));
    assert!(matches(pattern.clone(), json!({"source": "aws.ec2"})));
    assert!(!matches(pattern, json!({"source": "aws.s3"})));
}

#[test]
fn arrays_intersection() {
    let pattern = json!({"resources": [
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"
    ]});
    let event = json!({"resources": [
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"
    ]});
    assert!(matches(pattern, event));
}

fn null_values_event() -> Value {
    json!({
        "version": "0",
        "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
        "detail-type": "EC2 Instance Launch Successful",
        "source": "aws.autoscaling",
        "account": "123456789012",
        "time": "2015-11-11T21:31:47Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"eventVersion": "", "responseElements": null}
    })
}

#[test]
fn empty_string_value() {
    assert!(matches(
        json!({"detail": {"eventVersion": [""]}}),
        null_values_event()
    ));
}

#[test]
fn null_value() {
    assert!(matches(
        json!({"detail": {"responseElements": [null]}}),
        null_values_event()
    ));
}

#[test]
fn null_and_empty_string_are_not_interchangeable() {
    assert!(!matches(
        json!({"detail": {"responseElements": [""]}}),
        null_values_event()
    ));
    assert!(!matches(
        json!({"detail": {"eventVersion": [null]}}),
        null_values_event()
    ));
}

#[test]
fn prefix_matching() {
    let pattern = json!({"time": [{"prefix": "2017-10-02"}]});
    assert!(matches(
        pattern.clone(),
        json!({"time": "2017-10-02T18:43:48Z"})
    ));
    assert!(!matches(pattern, json!({"time": "2017-10-03T18:43:48Z"})));
}

#[test]
fn prefix_ignoring_case() {
    let pattern = json!({"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}});
    for service in ["EventBridge", "EVENTBRIDGE", "eventbus"] {
        assert!(
            matches(pattern.clone(), json!({"detail": {"service": service}})),
            "{service}"
        );
    }
    assert!(!matches(pattern, json!({"detail": {"service": "Lambda"}})));
}

#[test]
fn suffix_matching() {
    let pattern = json!({"FileName": [{"suffix": ".png"}]});
    assert!(matches(pattern.clone(), json!({"FileName": "image.png"})));
    assert!(!matches(pattern, json!({"FileName": "image.PNG"})));
}

#[test]
fn suffix_ignoring_case() {
    let pattern = json!({"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"FileName": "image.PNG"}})
    ));
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"FileName": "image.png"}})
    ));
    assert!(!matches(
        pattern,
        json!({"detail": {"FileName": "image.jpg"}})
    ));
}

#[test]
fn anything_but_string() {
    let pattern = json!({"detail": {"state": [{"anything-but": "initializing"}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"state": "running"}})
    ));
    assert!(!matches(
        pattern,
        json!({"detail": {"state": "initializing"}})
    ));
}

#[test]
fn anything_but_number() {
    let pattern = json!({"detail": {"x-limit": [{"anything-but": 123}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"x-limit": 456}})
    ));
    assert!(!matches(pattern, json!({"detail": {"x-limit": 123}})));
}

#[test]
fn anything_but_list_of_strings() {
    let pattern = json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"state": "running"}})
    ));
    assert!(!matches(
        pattern.clone(),
        json!({"detail": {"state": "stopped"}})
    ));
    assert!(!matches(
        pattern,
        json!({"detail": {"state": "overloaded"}})
    ));
}

#[test]
fn anything_but_list_of_numbers() {
    let pattern = json!({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"x-limit": 301.8}})
    ));
    assert!(!matches(pattern, json!({"detail": {"x-limit": 200}})));
}

#[test]
fn anything_but_prefix() {
    let pattern = json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"state": "running"}})
    ));
    assert!(!matches(
        pattern,
        json!({"detail": {"state": "initializing"}})
    ));
}

#[test]
fn anything_but_suffix() {
    let pattern = json!({"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"FileName": "notes.md"}})
    ));
    assert!(!matches(
        pattern,
        json!({"detail": {"FileName": "notes.txt"}})
    ));
}

#[test]
fn anything_but_ignoring_case() {
    let pattern =
        json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"state": "running"}})
    ));
    assert!(!matches(
        pattern,
        json!({"detail": {"state": "INITIALIZING"}})
    ));
}

#[test]
fn anything_but_ignoring_case_list() {
    let pattern = json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"state": "running"}})
    ));
    assert!(!matches(
        pattern.clone(),
        json!({"detail": {"state": "Stopped"}})
    ));
    assert!(!matches(
        pattern,
        json!({"detail": {"state": "InItIaLiZiNg"}})
    ));
}

#[test]
fn anything_but_wildcard() {
    let pattern = json!({"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"FilePath": "/usr/bin/env"}})
    ));
    assert!(!matches(
        pattern,
        json!({"detail": {"FilePath": "/usr/lib/libc.so"}})
    ));
}

#[test]
fn anything_but_wildcard_list() {
    let pattern =
        json!({"detail": {"FilePath": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"FilePath": "/etc/hosts"}})
    ));
    assert!(!matches(
        pattern.clone(),
        json!({"detail": {"FilePath": "/usr/bin/env"}})
    ));
    assert!(!matches(
        pattern,
        json!({"detail": {"FilePath": "/usr/lib/x"}})
    ));
}

#[test]
fn numeric_matching() {
    let pattern = json!({"detail": {
        "c-count": [{"numeric": [">", 0, "<=", 5]}],
        "d-count": [{"numeric": ["<", 10]}],
        "x-limit": [{"numeric": ["=", 3.018e2]}]
    }});
    assert!(matches(pattern.clone(), ruler_event()));
    let mut event = ruler_event();
    event["detail"]["c-count"] = json!(0);
    assert!(!matches(pattern, event));
}

#[test]
fn ip_address_matching_ipv4() {
    let pattern = json!({"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"sourceIPAddress": "10.0.0.255"}})
    ));
    assert!(!matches(
        pattern,
        json!({"detail": {"sourceIPAddress": "10.0.1.1"}})
    ));
}

#[test]
fn ip_address_matching_ipv6() {
    let pattern = json!({"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/64"}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"sourceIPAddress": "2001:db8::1"}})
    ));
    assert!(!matches(
        pattern,
        json!({"detail": {"sourceIPAddress": "2001:db8:0:1::1"}})
    ));
}

#[test]
fn exists_true() {
    let pattern = json!({"detail": {"state": [{"exists": true}]}});
    let with_state = json!({
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2015-11-11T21:29:54Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
        "detail": {"instance-id": "i-abcd1111", "state": "pending"}
    });
    let without_state = json!({
        "detail-type": ["EC2 Instance State-change Notification"],
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
        "detail": {"c-count": {"c1": 100}}
    });
    assert!(matches(pattern.clone(), with_state));
    assert!(!matches(pattern, without_state));
}

#[test]
fn exists_false() {
    let pattern = json!({"detail": {"c-count": [{"exists": false}]}});
    let event = json!({
        "detail-type": ["EC2 Instance State-change Notification"],
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
        "detail": {"state": ["initializing", "running"]}
    });
    assert!(matches(pattern, event));
}

#[test]
fn exists_false_on_an_intermediate_node() {
    // c-count is an object here, not a leaf, so the leaf "detail.c-count" is absent.
    let pattern = json!({"detail": {"c-count": [{"exists": false}]}});
    let event = json!({
        "detail-type": ["EC2 Instance State-change Notification"],
        "detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}}
    });
    assert!(matches(pattern, event));
}

#[test]
fn equals_ignore_case() {
    let pattern =
        json!({"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]});
    assert!(matches(pattern.clone(), ec2_event("running")));
    assert!(!matches(
        pattern,
        json!({"detail-type": "EC2 Instance Launch Successful"})
    ));
}

#[test]
fn wildcard_event_bus_arn() {
    let pattern = json!({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]});
    assert!(matches(
        pattern.clone(),
        json!({"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/orders"})
    ));
    assert!(!matches(
        pattern,
        json!({"EventBusArn": "arn:aws:events:us-west-2:123456789012:event-bus/orders"})
    ));
}

#[test]
fn wildcard_simple_service() {
    let pattern = json!({"source": [{"wildcard": "Simple*Service"}]});
    assert!(matches(
        pattern.clone(),
        json!({"source": "SimpleQueueService"})
    ));
    assert!(matches(pattern.clone(), json!({"source": "SimpleService"})));
    assert!(!matches(pattern, json!({"source": "SimpleQueue"})));
}

#[test]
fn suffix_and_equals_ignore_case_on_source() {
    assert!(matches(
        json!({"source": [{"suffix": "ec2"}]}),
        ruler_event()
    ));
    assert!(matches(
        json!({"source": [{"equals-ignore-case": "AWS.EC2"}]}),
        ruler_event()
    ));
}

#[test]
fn complex_example_with_multiple_matching() {
    let pattern = json!({
        "time": [{"prefix": "2017-10-02"}],
        "detail": {
            "state": [{"anything-but": "initializing"}],
            "c-count": [{"numeric": [">", 0, "<=", 5]}],
            "d-count": [{"numeric": ["<", 10]}],
            "x-limit": [{"anything-but": [100, 200, 300]}],
            "source-ip": [{"cidr": "10.0.0.0/8"}]
        }
    });
    assert!(matches(pattern, ruler_event()));
}

#[test]
fn simple_matching_with_arrays_in_event_and_pattern() {
    let pattern = json!({
        "detail-type": ["EC2 Instance State-change Notification"],
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
        "detail": {"state": ["initializing", "running"]}
    });
    assert!(matches(pattern, ruler_event()));
}

#[test]
fn or_across_numeric_fields() {
    let pattern = json!({"detail": {"$or": [
        {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
        {"d-count": [{"numeric": ["<", 10]}]},
        {"x-limit": [{"numeric": ["=", 3.018e2]}]}
    ]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"c-count": 100, "d-count": 100, "x-limit": 301.8}})
    ));
    assert!(!matches(
        pattern,
        json!({"detail": {"c-count": 100, "d-count": 100, "x-limit": 1}})
    ));
}

fn cloudwatch(fields: Value) -> Value {
    let mut event = json!({"source": "aws.cloudwatch"});
    for (k, v) in fields.as_object().unwrap() {
        event[k] = v.clone();
    }
    event
}

#[test]
fn or_normal() {
    let pattern = json!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"namespace": ["AWS/EC2", "AWS/ES"]}
        ]
    });
    assert!(matches(
        pattern.clone(),
        cloudwatch(json!({"metricName": "ReadLatency"}))
    ));
    assert!(matches(
        pattern.clone(),
        cloudwatch(json!({"namespace": "AWS/ES"}))
    ));
    assert!(!matches(
        pattern.clone(),
        cloudwatch(json!({"namespace": "AWS/S3"}))
    ));
    assert!(!matches(
        pattern,
        json!({"source": "aws.ec2", "namespace": "AWS/ES"})
    ));
}

#[test]
fn or_parallel() {
    let pattern = json!({
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"namespace": ["AWS/EC2", "AWS/ES"]}
        ],
        "detail": {"$or": [
            {"source": ["aws.cloudwatch"]},
            {"detail-type": ["CloudWatch Alarm State Change"]}
        ]}
    });
    let event =
        json!({"namespace": "AWS/EC2", "detail": {"detail-type": "CloudWatch Alarm State Change"}});
    assert!(matches(pattern.clone(), event));
    assert!(!matches(
        pattern,
        json!({"namespace": "AWS/EC2", "detail": {"source": "aws.ec2"}})
    ));
}

#[test]
fn or_with_and_inside() {
    let pattern = json!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"]},
            {"scope": ["Service"]}
        ]
    });
    assert!(matches(
        pattern.clone(),
        cloudwatch(json!({"metricType": "MetricType", "namespace": "AWS/EC2"}))
    ));
    assert!(matches(
        pattern.clone(),
        cloudwatch(json!({"scope": "Service"}))
    ));
    assert!(!matches(
        pattern,
        cloudwatch(json!({"namespace": "AWS/EC2"}))
    ));
}

#[test]
fn or_nested_with_and() {
    let pattern = json!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {
                "metricType": ["MetricType"],
                "namespace": ["AWS/EC2", "AWS/ES"],
                "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]
            },
            {"scope": ["Service"]}
        ]
    });
    let both = json!({"metricType": "MetricType", "namespace": "AWS/ES", "spaceId": 1000});
    assert!(matches(pattern.clone(), cloudwatch(both)));
    let neither = json!({"metricType": "MetricType", "namespace": "AWS/ES", "spaceId": 1});
    assert!(!matches(pattern, cloudwatch(neither)));
}

#[test]
fn or_as_an_ordinary_field_name() {
    // "$or" with an object value is a field called "$or", kept for old rules.
    let pattern = json!({
        "source": ["aws.cloudwatch"],
        "$or": {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"]}
    });
    let event = json!({"source": "aws.cloudwatch", "$or": {"metricType": "MetricType", "namespace": "AWS/EC2"}});
    assert!(matches(pattern.clone(), event));
    assert!(!matches(
        pattern,
        json!({"source": "aws.cloudwatch", "metricType": "MetricType"})
    ));
}

#[test]
fn duplicate_key_last_one_counts() {
    let pattern = passo_events::Pattern::parse(
        r#"{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}"#,
    )
    .unwrap();
    assert!(pattern.matches(&json!({"detail": {"location": "eu-west"}})));
    assert!(!pattern.matches(&json!({"detail": {"location": "us-east"}})));
}

#[test]
fn fields_not_in_the_pattern_are_ignored() {
    let pattern = json!({"detail": {"state": ["running"]}});
    assert!(matches(pattern, ruler_event()));
}
