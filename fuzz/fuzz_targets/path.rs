//! Path text -> Path::parse; when it parses, read it against a fixed document and, for
//! reference paths, write through it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passo_asl::path::Path;
use passo_expr::jsonpath;
use serde_json::{json, Value};
use std::sync::OnceLock;

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        json!({
            "a": [{"b": {"c": [1, 2, 3]}}, {"b": "x"}, null],
            "x": {"y": 2, "x": {"y": 0.5, "z": [true, false]}},
            "s": "héllo",
            "n": -3,
            "e": {},
            "arr": [[1, [2, [3, [4]]]], {"x": 1, "y": [5, 6]}, "str", 7.25],
            "weird key": {"a.b": 1, "[0]": 2, "'q'": 3}
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(path) = Path::parse(text) else {
        return;
    };
    let _ = path.normalized();
    let _ = path.to_string();
    let doc = document();
    let _ = jsonpath::select_in(&path, doc);
    if path.is_definite() {
        let _ = jsonpath::set(doc.clone(), &path, json!({"new": [1]}));
        let _ = jsonpath::set(json!([1, 2]), &path, Value::Null);
    }
});
