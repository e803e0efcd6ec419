//! ValidateStateMachineDefinition against the responses AWS gave (recorded in
//! ../shared/conformance/validation/aws_recorded): result, and each diagnostic's code,
//! message and location.

use serde_json::{json, Value};
use std::path::Path;

#[test]
fn validate_answers_match_aws_recordings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/validation/aws_recorded");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} not found", dir.display());
        return;
    };
    let (mut total, mut same) = (0, 0);
    let mut misses = Vec::new();
    for e in entries.flatten() {
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
        if case["operation"] != "validate_state_machine_definition" {
            continue;
        }
        total += 1;
        let definition = match (&case["definition_raw"], &case["definition"]) {
            (Value::String(raw), _) => raw.clone(),
            (_, d) => d.to_string(),
        };
        let mut req = json!({"definition": definition});
        if let Some(t) = case["request"]["type"].as_str() {
            req["type"] = json!(t);
        }
        let got = passo_server::api::validate_state_machine_definition(&req).unwrap();
        let want = &case["expected_response"];
        let strip = |v: &Value| -> Value {
            json!({"result": v["result"], "diagnostics": v["diagnostics"], "truncated": v["truncated"]})
        };
        if strip(&got) == strip(want) {
            same += 1;
        } else {
            misses.push(format!(
                "{}:\n  want {}\n  got  {}",
                case["id"],
                strip(want),
                strip(&got)
            ));
        }
    }
    println!("ValidateStateMachineDefinition recorded: {same}/{total}");
    for m in &misses {
        println!("MISS {m}");
    }
    assert!(total > 0);
    assert!(same * 100 >= total * 90, "{same}/{total}");
}
