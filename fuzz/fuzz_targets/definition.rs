//! Definition text (JSON or YAML) -> parse and validate: must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = passo_asl::parse_str(text);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = passo_asl::validate(&value);
    }
});
