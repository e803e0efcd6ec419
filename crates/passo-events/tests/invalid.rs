//! Patterns EventBridge refuses with `InvalidEventPatternException`: which error,
//! where, and that the message says so.

use passo_events::{Pattern, PatternError};
use serde_json::json;

fn error(pattern: serde_json::Value) -> PatternError {
    match Pattern::from_value(&pattern) {
        Ok(parsed) => panic!("pattern should be refused: {pattern} parsed as {parsed:?}"),
        Err(e) => {
            assert_eq!(e.code(), "InvalidEventPatternException");
            assert!(
                e.to_string()
                    .starts_with("Event pattern is not valid. Reason: "),
                "{e}"
            );
            e
        }
    }
}

/// The error is an `InvalidOperand` of `operator` at `path` whose reason contains `needle`.
fn operand_error(pattern: serde_json::Value, operator: &str, path: &str, needle: &str) {
    match error(pattern.clone()) {
        PatternError::InvalidOperand {
            path: p,
            operator: o,
            reason,
        } => {
            assert_eq!((p.as_str(), o), (path, operator), "{pattern}");
            assert!(
                reason.contains(needle),
                "{reason:?} lacks {needle:?} for {pattern}"
            );
        }
        other => panic!("{pattern}: expected an operand error, got {other:?}"),
    }
}

#[test]
fn not_json() {
    let e = Pattern::parse("{\"source\": [").unwrap_err();
    assert!(matches!(e, PatternError::NotJson { .. }));
    assert_eq!(e.code(), "InvalidEventPatternException");
    assert_eq!(e.path(), "");
}

#[test]
fn pattern_and_field_values_must_be_objects_or_arrays() {
    assert_eq!(
        error(json!(["aws.ec2"])),
        PatternError::NotObjectOrArray {
            path: String::new()
        }
    );
    let e = error(json!({"detail": {"state": "running"}}));
    assert_eq!(
        e,
        PatternError::NotObjectOrArray {
            path: "detail.state".into()
        }
    );
    assert!(e
        .to_string()
        .contains("\"detail.state\" must be an object or an array"));
    assert_eq!(error(json!({"n": 5})).path(), "n");
}

#[test]
fn empty_objects_and_arrays() {
    assert_eq!(
        error(json!({})),
        PatternError::EmptyObject {
            path: String::new()
        }
    );
    assert_eq!(
        error(json!({"detail": {}})),
        PatternError::EmptyObject {
            path: "detail".into()
        }
    );
    assert_eq!(
        error(json!({"source": []})),
        PatternError::EmptyArray {
            path: "source".into()
        }
    );
}

#[test]
fn match_values_must_be_scalars_or_expressions() {
    assert_eq!(
        error(json!({"a": [["x"]]})),
        PatternError::InvalidMatchValue { path: "a".into() }
    );
    assert_eq!(
        error(json!({"a": [{"contains": "x"}]})),
        PatternError::UnrecognizedMatchType {
            path: "a".into(),
            name: "contains".into()
        }
    );
    assert_eq!(
        error(json!({"a": [{}]})),
        PatternError::MatchExpressionKeys { path: "a".into() }
    );
    assert_eq!(
        error(json!({"a": [{"prefix": "x", "suffix": "y"}]})),
        PatternError::MatchExpressionKeys { path: "a".into() }
    );
}

#[test]
fn string_operators_need_strings() {
    operand_error(
        json!({"a": [{"prefix": 5}]}),
        "prefix",
        "a",
        "must be a string",
    );
    operand_error(
        json!({"a": [{"suffix": ["x"]}]}),
        "suffix",
        "a",
        "must be a string",
    );
    operand_error(
        json!({"a": [{"equals-ignore-case": null}]}),
        "equals-ignore-case",
        "a",
        "must be a string",
    );
    operand_error(
        json!({"a": [{"wildcard": true}]}),
        "wildcard",
        "a",
        "must be a string",
    );
    operand_error(
        json!({"a": [{"cidr": 10}]}),
        "cidr",
        "a",
        "must be a string",
    );
    operand_error(
        json!({"a": [{"prefix": {"equals-ignore-case": 1}}]}),
        "prefix",
        "a",
        "must be a string",
    );
    operand_error(
        json!({"a": [{"prefix": {"wildcard": "x"}}]}),
        "prefix",
        "a",
        "equals-ignore-case",
    );
}

#[test]
fn exists_needs_a_boolean() {
    operand_error(
        json!({"a": [{"exists": "true"}]}),
        "exists",
        "a",
        "either true or false",
    );
}

#[test]
fn numeric_ranges() {
    let p = |range: serde_json::Value| json!({"detail": {"n": [{"numeric": range}]}});
    operand_error(p(json!(5)), "numeric", "detail.n", "must be an array");
    operand_error(p(json!([])), "numeric", "detail.n", "pairs");
    operand_error(p(json!([">", 0, "<"])), "numeric", "detail.n", "pairs");
    operand_error(
        p(json!([">", "0"])),
        "numeric",
        "detail.n",
        "must be numeric",
    );
    operand_error(
        p(json!(["!=", 0])),
        "numeric",
        "detail.n",
        "Unrecognized numeric range operator",
    );
    operand_error(p(json!([5, 0])), "numeric", "detail.n", "Invalid member");
    operand_error(
        p(json!([">", 0, ">", 1])),
        "numeric",
        "detail.n",
        "Too many bounds",
    );
    operand_error(
        p(json!(["=", 1, "<", 2])),
        "numeric",
        "detail.n",
        "only operator",
    );
    operand_error(
        p(json!([">", 5, "<", 5])),
        "numeric",
        "detail.n",
        "Bottom must be less than top",
    );
    operand_error(
        p(json!([">", 6, "<=", 5])),
        "numeric",
        "detail.n",
        "Bottom must be less than top",
    );
    operand_error(
        p(json!([">", 5.0e9 + 1.0])),
        "numeric",
        "detail.n",
        "between -5.0E9 and 5.0E9",
    );
    assert!(Pattern::from_value(&p(json!([">=", 5, "<=", 5]))).is_ok());
}

#[test]
fn cidr_blocks() {
    for bad in ["10.0.0.0", "10.0.0.0/33", "300.0.0.0/8", "::/129", "cidr"] {
        operand_error(
            json!({"ip": [{"cidr": bad}]}),
            "cidr",
            "ip",
            "Nonsensical CIDR",
        );
    }
}

#[test]
fn wildcard_syntax() {
    operand_error(
        json!({"f": [{"wildcard": "a**b"}]}),
        "wildcard",
        "f",
        "Consecutive wildcard",
    );
    operand_error(
        json!({"f": [{"wildcard": "a\\b"}]}),
        "wildcard",
        "f",
        "Invalid escape",
    );
    operand_error(
        json!({"f": [{"wildcard": "a\\"}]}),
        "wildcard",
        "f",
        "Invalid escape",
    );
    operand_error(
        json!({"f": [{"anything-but": {"wildcard": ["ok*", "**"]}}]}),
        "anything-but",
        "f",
        "Consecutive",
    );
}

#[test]
fn anything_but_operands() {
    let p = |operand: serde_json::Value| json!({"s": [{"anything-but": operand}]});
    operand_error(p(json!(null)), "anything-but", "s", "null and boolean");
    operand_error(p(json!(true)), "anything-but", "s", "null and boolean");
    operand_error(p(json!([])), "anything-but", "s", "at least one");
    operand_error(
        p(json!(["a", 1])),
        "anything-but",
        "s",
        "all values must be strings or all must be numbers",
    );
    operand_error(
        p(json!([true])),
        "anything-but",
        "s",
        "all values must be strings",
    );
    operand_error(
        p(json!({"prefix": ["a", "b"]})),
        "anything-but",
        "s",
        "must be a string",
    );
    operand_error(
        p(json!({"suffix": 1})),
        "anything-but",
        "s",
        "must be a string",
    );
    operand_error(
        p(json!({"equals-ignore-case": [1]})),
        "anything-but",
        "s",
        "string or a list of strings",
    );
    operand_error(
        p(json!({"numeric": [">", 1]})),
        "anything-but",
        "s",
        "Unsupported anything-but pattern: numeric",
    );
    operand_error(
        p(json!({"prefix": "a", "suffix": "b"})),
        "anything-but",
        "s",
        "Only one key",
    );
}

#[test]
fn or_alternatives_are_validated_with_their_position() {
    let e = error(json!({"detail": {"$or": [{"a": ["x"]}, {"b": "y"}]}}));
    assert_eq!(
        e,
        PatternError::NotObjectOrArray {
            path: "detail.$or[1].b".into()
        }
    );
    let e = error(json!({"$or": [{"a": ["x"]}, {}]}));
    assert_eq!(
        e,
        PatternError::EmptyObject {
            path: "$or[1]".into()
        }
    );
    // One alternative is not an "$or": its objects are then match expressions.
    let e = error(json!({"$or": [{"a": ["x"]}]}));
    assert_eq!(
        e,
        PatternError::UnrecognizedMatchType {
            path: "$or".into(),
            name: "a".into()
        }
    );
}

#[test]
fn nesting_is_bounded() {
    let mut pattern = json!({"leaf": ["x"]});
    for _ in 0..40 {
        pattern = json!({ "n": pattern });
    }
    assert!(matches!(
        error(pattern),
        PatternError::TooDeep { max: 32, .. }
    ));
}
