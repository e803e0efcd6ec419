//! Intrinsic call text -> Call::parse; when it parses, evaluate it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passo_asl::intrinsic::Call;
use passo_expr::{intrinsics, Scope};
use serde_json::{json, Value};
use std::cell::Cell;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(call) = Call::parse(text) else {
        return;
    };
    let _ = call.to_string();
    let input = json!({
        "a": "text {} with \\ braces",
        "b": [1, 2, 2, "x", {"k": [1]}, null],
        "n": 3,
        "f": 2.5,
        "big": 9007199254740993i64,
        "neg": -1,
        "s": "a,b;;c",
        "j": "{\"x\": [1, 2]}",
        "o": {"x": {"y": 1}, "z": [true]},
        "t": true
    });
    let context = json!({
        "Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:m:e", "Input": {}},
        "State": {"Name": "S", "EnteredTime": "2024-01-01T00:00:00Z"}
    });
    let mut vars: HashMap<String, Value> = HashMap::new();
    vars.insert("v".into(), json!({"x": [1, 2, 3], "s": "str"}));
    vars.insert("num".into(), json!(42));
    let rng = Cell::new(0x5eed);
    let scope = Scope {
        input: &input,
        context: &context,
        vars: &vars,
        rng: &rng,
    };
    let _ = intrinsics::eval(&call, &scope);
});
