//! Edge cases the documentation implies but shows no example of.

mod common;

use common::matches;
use passo_events::Pattern;
use serde_json::json;

#[test]
fn a_missing_field_matches_nothing_but_exists_false() {
    let event = json!({"detail": {"state": "running"}});
    assert!(!matches(json!({"detail": {"other": ["x"]}}), event.clone()));
    assert!(!matches(
        json!({"detail": {"other": [{"anything-but": "x"}]}}),
        event.clone()
    ));
    assert!(!matches(
        json!({"detail": {"other": [{"prefix": ""}]}}),
        event.clone()
    ));
    assert!(!matches(
        json!({"detail": {"other": [{"exists": true}]}}),
        event.clone()
    ));
    assert!(matches(
        json!({"detail": {"other": [{"exists": false}]}}),
        event.clone()
    ));
    // The parent itself missing: the leaf is absent too.
    assert!(matches(
        json!({"nothing": {"here": [{"exists": false}]}}),
        event.clone()
    ));
    assert!(!matches(
        json!({"nothing": {"here": [{"exists": true}]}}),
        event
    ));
}

#[test]
fn empty_arrays_in_the_event_have_no_leaf_value() {
    let event = json!({"resources": []});
    assert!(matches(
        json!({"resources": [{"exists": false}]}),
        event.clone()
    ));
    assert!(!matches(
        json!({"resources": [{"exists": true}]}),
        event.clone()
    ));
    assert!(!matches(
        json!({"resources": [{"anything-but": "x"}]}),
        event.clone()
    ));
    assert!(!matches(json!({"resources": [""]}), event));
}

#[test]
fn exists_true_on_null_and_on_array_values() {
    assert!(matches(
        json!({"a": [{"exists": true}]}),
        json!({"a": null})
    ));
    assert!(matches(
        json!({"a": [{"exists": true}]}),
        json!({"a": [1, 2]})
    ));
    assert!(!matches(
        json!({"a": [{"exists": false}]}),
        json!({"a": [1, 2]})
    ));
    // An object is not a leaf.
    assert!(!matches(
        json!({"a": [{"exists": true}]}),
        json!({"a": {"b": 1}})
    ));
}

#[test]
fn numbers_compare_numerically_and_only_with_numbers() {
    let pattern = json!({"x": [300]});
    assert!(matches(pattern.clone(), json!({"x": 300})));
    assert!(matches(pattern.clone(), json!({"x": 300.0})));
    assert!(matches(pattern.clone(), json!({"x": 3.0e2})));
    assert!(!matches(pattern.clone(), json!({"x": "300"})));
    assert!(!matches(json!({"x": ["300"]}), json!({"x": 300})));
    assert!(!matches(
        json!({"x": [{"numeric": [">", 0]}]}),
        json!({"x": "5"})
    ));
    assert!(!matches(pattern, json!({"x": 301})));
}

#[test]
fn numeric_bounds() {
    let open = json!({"x": [{"numeric": [">", 0, "<", 5]}]});
    let closed = json!({"x": [{"numeric": [">=", 0, "<=", 5]}]});
    for (x, in_open, in_closed) in [
        (0, false, true),
        (5, false, true),
        (3, true, true),
        (-1, false, false),
    ] {
        assert_eq!(matches(open.clone(), json!({"x": x})), in_open, "{x}");
        assert_eq!(matches(closed.clone(), json!({"x": x})), in_closed, "{x}");
    }
    // Bounds may come in either order.
    assert!(matches(
        json!({"x": [{"numeric": ["<", 10, ">", 0]}]}),
        json!({"x": 9.5})
    ));
    assert!(matches(
        json!({"x": [{"numeric": [">=", -5e9]}]}),
        json!({"x": -5e9})
    ));
    assert!(matches(
        json!({"x": [{"numeric": ["=", 0]}]}),
        json!({"x": -0.0})
    ));
}

#[test]
fn booleans_are_exact_values() {
    assert!(matches(json!({"ok": [true]}), json!({"ok": true})));
    assert!(!matches(json!({"ok": [true]}), json!({"ok": "true"})));
    assert!(!matches(json!({"ok": [false]}), json!({"ok": null})));
}

#[test]
fn string_operators_ignore_non_strings() {
    for pattern in [
        json!({"x": [{"prefix": "1"}]}),
        json!({"x": [{"suffix": "1"}]}),
        json!({"x": [{"equals-ignore-case": "1"}]}),
        json!({"x": [{"wildcard": "*"}]}),
        json!({"x": [{"cidr": "0.0.0.0/0"}]}),
        json!({"x": [{"anything-but": {"prefix": "z"}}]}),
    ] {
        assert!(!matches(pattern.clone(), json!({"x": 1})), "{pattern}");
        assert!(!matches(pattern.clone(), json!({"x": null})), "{pattern}");
    }
}

#[test]
fn anything_but_applies_to_each_array_element() {
    let pattern = json!({"state": [{"anything-but": "stopped"}]});
    assert!(matches(
        pattern.clone(),
        json!({"state": ["stopped", "running"]})
    ));
    assert!(!matches(pattern.clone(), json!({"state": ["stopped"]})));
    // A value of another type is not the excluded one.
    assert!(matches(pattern, json!({"state": 5})));
}

#[test]
fn alternatives_in_one_field_are_or() {
    let pattern = json!({"x": [{"prefix": "a"}, {"numeric": [">", 10]}, "zzz", {"exists": false}]});
    assert!(matches(pattern.clone(), json!({"x": "abc"})));
    assert!(matches(pattern.clone(), json!({"x": 11})));
    assert!(matches(pattern.clone(), json!({"x": "zzz"})));
    assert!(matches(pattern.clone(), json!({"y": 1})));
    assert!(!matches(pattern, json!({"x": "bcd"})));
}

#[test]
fn arrays_of_objects_and_nested_arrays_are_flattened() {
    let pattern = json!({"items": {"sku": ["B"]}});
    assert!(matches(
        pattern.clone(),
        json!({"items": [{"sku": "A"}, {"sku": "B"}]})
    ));
    assert!(!matches(pattern, json!({"items": [{"sku": "A"}]})));
    assert!(matches(json!({"a": [3]}), json!({"a": [[1], [2, [3]]]})));
    assert!(matches(
        json!({"a": {"b": {"c": ["x"]}}}),
        json!({"a": [{"b": [{"c": ["y", "x"]}]}]})
    ));
}

#[test]
fn a_nested_pattern_needs_an_object_in_the_event() {
    let pattern = json!({"detail": {"state": ["running"]}});
    assert!(!matches(pattern.clone(), json!({"detail": "running"})));
    assert!(!matches(pattern.clone(), json!({"detail": ["running"]})));
    // And a leaf pattern does not look into an object.
    assert!(!matches(
        json!({"detail": ["running"]}),
        json!({"detail": {"state": "running"}})
    ));
}

#[test]
fn events_that_are_not_objects_match_nothing() {
    let pattern = Pattern::parse(r#"{"a": [{"exists": true}]}"#).unwrap();
    for event in [json!(null), json!([{"a": 1}]), json!("a"), json!(1)] {
        assert!(!pattern.matches(&event), "{event}");
    }
    assert!(!pattern.matches_str("not json"));
    assert!(pattern.matches_str(r#"{"a": 1}"#));
}

#[test]
fn ignore_case_handles_unicode() {
    assert!(matches(
        json!({"n": [{"equals-ignore-case": "ÉCOLE"}]}),
        json!({"n": "école"})
    ));
    assert!(matches(
        json!({"n": [{"prefix": {"equals-ignore-case": "ÉC"}}]}),
        json!({"n": "école"})
    ));
}

#[test]
fn wildcards_with_escapes_in_patterns() {
    assert!(matches(
        json!({"f": [{"wildcard": "a\\*b"}]}),
        json!({"f": "a*b"})
    ));
    assert!(!matches(
        json!({"f": [{"wildcard": "a\\*b"}]}),
        json!({"f": "aXb"})
    ));
    assert!(matches(
        json!({"f": [{"wildcard": "C:\\\\*"}]}),
        json!({"f": "C:\\dir"})
    ));
    assert!(matches(json!({"f": [{"wildcard": ""}]}), json!({"f": ""})));
    assert!(!matches(
        json!({"f": [{"wildcard": ""}]}),
        json!({"f": "x"})
    ));
}

#[test]
fn or_inside_nested_objects_and_with_missing_fields() {
    let pattern = json!({"detail": {"$or": [{"a": [{"exists": false}]}, {"b": [1]}]}});
    assert!(matches(
        pattern.clone(),
        json!({"detail": {"b": 1, "a": 1}})
    ));
    assert!(matches(pattern.clone(), json!({"detail": {"c": 1}})));
    assert!(!matches(pattern, json!({"detail": {"a": 1, "b": 2}})));
}

#[test]
fn patterns_compare_and_print() {
    let a = Pattern::parse(r#"{"a": ["x"]}"#).unwrap();
    let b: Pattern = r#"{"a": ["x"]}"#.parse().unwrap();
    assert_eq!(a, b);
    assert!(format!("{a:?}").contains("Exact"));
}
