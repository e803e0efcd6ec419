//! Validation rules specific to JSONata states.

use serde_json::json;

fn problems(def: serde_json::Value) -> Vec<String> {
    passo_asl::validate(&def)
        .into_iter()
        .map(|d| format!("{} {}", d.location, d.message))
        .collect()
}

#[test]
fn states_result_only_where_a_result_exists() {
    let p = problems(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": "{% $states.result %}", "End": true}}}),
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("/States/P/Output") && p[0].contains("$states.result"));
    let ok = problems(
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Output": "{% $states.result.Payload %}",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "D"}], "End": true},
        "D": {"Type": "Succeed"}}}),
    );
    assert!(ok.is_empty(), "{ok:?}");
    let p = problems(
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Arguments": "{% $states.errorOutput %}", "End": true}}}),
    );
    assert!(
        p.iter()
            .any(|x| x.contains("/States/T/Arguments") && x.contains("$states.errorOutput")),
        "{p:?}"
    );
}

#[test]
fn assign_sets_whole_variables() {
    let p = problems(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Assign": {"a.b": 1, "ok_name": 2}, "End": true}}}),
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("/States/P/Assign/a.b"));
}

#[test]
fn malformed_expressions_are_reported_with_their_place() {
    let p = problems(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": {"x": "{% 1 + %}"}, "End": true}}}),
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("/States/P/Output/x"), "{p:?}");
}

#[test]
fn inner_scopes_do_not_shadow_outer_variables() {
    let def = |mode: &str| {
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "M"},
            "M": {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": mode}, "StartAt": "I", "States": {
                "I": {"Type": "Pass", "Assign": {"x": 2, "y": 3}, "End": true}}},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"y": 4}, "Next": "E"}], "End": true},
            "E": {"Type": "Succeed"}}})
    };
    let p = problems(def("INLINE"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("/States/M/ItemProcessor/States/I/Assign") && p[0].contains("'x'"),
        "{p:?}"
    );
    // Distributed children see no outer variables, so they may reuse the name.
    assert!(problems(def("DISTRIBUTED")).is_empty());
}
