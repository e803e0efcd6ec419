//! Validation of large definitions: `cargo bench -p passo-asl`. The time per state should
//! stay flat from 1,000 to 20,000 states (validation is linear in the definition's size;
//! it was quadratic before the scope check counted names instead of rescanning states).

use serde_json::{json, Map, Value};

fn main() {
    divan::main();
}

/// A chain of `n` Task states, each with Parameters, ResultSelector and a Catch.
fn tasks(n: usize) -> Value {
    let mut states = Map::new();
    for i in 0..n {
        let mut s = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload.$": "$.x"},
            "ResultSelector": {"a.$": "$.Payload"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S0"}]});
        if i + 1 < n {
            s["Next"] = json!(format!("S{}", i + 1));
        } else {
            s["End"] = json!(true);
        }
        states.insert(format!("S{i}"), s);
    }
    json!({"StartAt": "S0", "States": states})
}

#[divan::bench(args = [1_000, 5_000, 20_000], sample_count = 10)]
fn validate_task_chain(b: divan::Bencher, n: usize) {
    let def = tasks(n);
    b.bench(|| {
        let diags = passo_asl::validate(divan::black_box(&def));
        assert!(diags.is_empty());
    });
}
