//! Unit tests of the 18 intrinsic functions: results and argument checks.

use passo_asl::intrinsic::Call;
use passo_expr::{intrinsics, ExprError, Scope};
use serde_json::{json, Value};
use std::cell::Cell;

fn eval_with(text: &str, input: &Value, seed: u64) -> Result<Value, ExprError> {
    let call = Call::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let ctx =
        json!({"Execution": {"Name": "exec-1"}, "StateMachine": {"Id": "arn:sm", "Name": "sm"}});
    let rng = Cell::new(seed);
    let scope = Scope {
        input,
        context: &ctx,
        vars: &(),
        rng: &rng,
    };
    intrinsics::eval(&call, &scope)
}

fn eval(text: &str, input: Value) -> Value {
    eval_with(text, &input, 42).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err(text: &str, input: Value) -> ExprError {
    match eval_with(text, &input, 42) {
        Ok(v) => panic!("{text}: expected an error, got {v}"),
        Err(e) => e,
    }
}

/// Wrong argument counts and literals of the wrong type are definition errors: the parser
/// rejects them, as AWS rejects the definition.
fn rejected(text: &str) {
    assert!(Call::parse(text).is_err(), "{text} should not parse");
}

fn intrinsic_failure(text: &str, input: Value) -> String {
    let e = err(text, input);
    assert_eq!(e.error, "States.IntrinsicFailure", "{text}: {e}");
    e.message
}

// States.Format ----------------------------------------------------------------------------

#[test]
fn format_values_as_aws_prints_them() {
    let input = json!({
        "s": "x", "n": null, "i": 1, "f": 1.1, "g": 1.0, "big": 1e20, "b": true,
        "o": {"Arg1": 1, "Arg2": [], "s": "t"}, "a": [1, "two", null, {"k": 2.5}],
    });
    assert_eq!(eval("States.Format('{}', $.s)", input.clone()), json!("x"));
    assert_eq!(
        eval("States.Format('{}', $.n)", input.clone()),
        json!("null")
    );
    assert_eq!(
        eval("States.Format('{}|{}', $.i, $.f)", input.clone()),
        json!("1|1.1")
    );
    assert_eq!(
        eval("States.Format('{}', $.g)", input.clone()),
        json!("1.0")
    );
    assert_eq!(
        eval("States.Format('{}', $.big)", input.clone()),
        json!("1.0E20")
    );
    assert_eq!(
        eval("States.Format('{}', $.b)", input.clone()),
        json!("true")
    );
    assert_eq!(
        eval("States.Format('{}', $.o)", input.clone()),
        json!("{Arg1=1, Arg2=[], s=t}")
    );
    assert_eq!(
        eval("States.Format('{}', $.a)", input.clone()),
        json!("[1, two, null, {k=2.5}]")
    );
    assert_eq!(
        eval("States.Format('no placeholders')", json!({})),
        json!("no placeholders")
    );
    assert_eq!(
        eval("States.Format('Format:{}', 101)", json!({})),
        json!("Format:101")
    );
    assert_eq!(
        eval("States.Format($.t, $.s)", json!({"t": "a {} b", "s": "x"})),
        json!("a x b")
    );
}

#[test]
fn format_escapes() {
    // \{ \} are literal braces, not a placeholder; \\ is a backslash; \' a quote.
    assert_eq!(
        eval(r"States.Format('\{\} {} \\{} it\'s', 1, 2)", json!({})),
        json!(r"{} 1 \2 it's")
    );
    assert_eq!(eval(r"States.Format('a\{b\}c')", json!({})), json!("a{b}c"));
    // A lone brace is just a character.
    assert_eq!(
        eval("States.Format('{ } {}', 1)", json!({})),
        json!("{ } 1")
    );
}

#[test]
fn format_checks() {
    intrinsic_failure("States.Format('{} {}', 1)", json!({}));
    intrinsic_failure("States.Format('{}', 1, 2)", json!({}));
    intrinsic_failure("States.Format($.t)", json!({"t": 1}));
    rejected("States.Format()");
}

// JSON manipulation ------------------------------------------------------------------------

#[test]
fn string_to_json() {
    assert_eq!(
        eval("States.StringToJson($.s)", json!({"s": ""})),
        Value::Null
    );
    assert_eq!(
        eval("States.StringToJson($.s)", json!({"s": "  "})),
        Value::Null
    );
    let zero = eval("States.StringToJson($.s)", json!({"s": "-0"}));
    assert_eq!(zero, json!(0));
    assert_eq!(zero.to_string(), "0");
    assert_eq!(
        eval(
            "States.StringToJson($.s)",
            json!({"s": "{\"b\": 1, \"a\": [1.5]}"})
        ),
        json!({"b": 1, "a": [1.5]})
    );
    assert_eq!(
        eval(r#"States.StringToJson('{"k": "v"}')"#, json!({})),
        json!({"k": "v"})
    );
    intrinsic_failure("States.StringToJson($.s)", json!({"s": "{not json"}));
    intrinsic_failure("States.StringToJson($.s)", json!({"s": "1 2"}));
    intrinsic_failure("States.StringToJson($.s)", json!({"s": 1}));
    rejected("States.StringToJson($.s, $.s)");
}

#[test]
fn json_to_string() {
    assert_eq!(
        eval(
            "States.JsonToString($.v)",
            json!({"v": {"Arg1": 1, "Arg2": [], "f": 1.0}})
        ),
        json!("{\"Arg1\":1,\"Arg2\":[],\"f\":1.0}")
    );
    assert_eq!(
        eval("States.JsonToString($.v)", json!({"v": "s"})),
        json!("\"s\"")
    );
    assert_eq!(
        eval("States.JsonToString($.v)", json!({"v": null})),
        json!("null")
    );
    assert_eq!(
        eval("States.JsonToString($.v)", json!({"v": 1.1})),
        json!("1.1")
    );
    rejected("States.JsonToString()");
}

#[test]
fn json_merge() {
    let input = json!({
        "a": {"a": {"a1": 1}, "b": 2, "d": 3},
        "b": {"a": {"a3": 1}, "c": 3, "d": 4},
    });
    let merged = eval("States.JsonMerge($.a, $.b, false)", input.clone());
    assert_eq!(merged, json!({"a": {"a3": 1}, "b": 2, "c": 3, "d": 4}));
    let keys: Vec<&String> = merged.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["a", "b", "c", "d"]);
    intrinsic_failure("States.JsonMerge($.a, $.b, true)", input.clone());
    intrinsic_failure("States.JsonMerge($.a, $.b, 'false')", input.clone());
    intrinsic_failure("States.JsonMerge($.a, $.a.b, false)", input.clone());
    rejected("States.JsonMerge($.a, $.b)");
}

// Arrays -----------------------------------------------------------------------------------

#[test]
fn array() {
    assert_eq!(eval("States.Array()", json!({})), json!([]));
    assert_eq!(
        eval(
            "States.Array('a', 1, null, true, $.x, States.Array())",
            json!({"x": {"k": 1}})
        ),
        json!(["a", 1, null, true, {"k": 1}, []])
    );
}

#[test]
fn array_partition() {
    let input = json!({"a": [0, 1, 2, 3]});
    assert_eq!(
        eval("States.ArrayPartition($.a, 3)", input.clone()),
        json!([[0, 1, 2], [3]])
    );
    assert_eq!(
        eval("States.ArrayPartition($.a, 5)", input.clone()),
        json!([[0, 1, 2, 3]])
    );
    assert_eq!(
        eval("States.ArrayPartition(States.Array(), 2)", json!({})),
        json!([])
    );
    intrinsic_failure("States.ArrayPartition($.a, 0)", input.clone());
    intrinsic_failure("States.ArrayPartition($.a, -1)", input.clone());
    rejected("States.ArrayPartition($.a, 'x')");
    intrinsic_failure("States.ArrayPartition($.a, $.a)", input.clone());
    intrinsic_failure("States.ArrayPartition('x', 1)", input.clone());
    rejected("States.ArrayPartition($.a)");
}

#[test]
fn array_contains() {
    let input = json!({"a": [[1, 2, 3], 2, {"k": []}, true, 1.0]});
    assert_eq!(
        eval("States.ArrayContains($.a, 2)", input.clone()),
        json!(true)
    );
    assert_eq!(
        eval("States.ArrayContains($.a, $.a[0])", input.clone()),
        json!(true)
    );
    assert_eq!(
        eval("States.ArrayContains($.a, 1)", input.clone()),
        json!(true)
    );
    assert_eq!(
        eval("States.ArrayContains($.a, null)", input.clone()),
        json!(false)
    );
    assert_eq!(
        eval("States.ArrayContains($.a, false)", input.clone()),
        json!(false)
    );
    intrinsic_failure("States.ArrayContains($.a[1], 2)", input.clone());
    rejected("States.ArrayContains($.a)");
}

#[test]
fn array_range() {
    assert_eq!(
        eval("States.ArrayRange(1, 9, 2)", json!({})),
        json!([1, 3, 5, 7, 9])
    );
    assert_eq!(
        eval("States.ArrayRange(0, 10, 3)", json!({})),
        json!([0, 3, 6, 9])
    );
    assert_eq!(eval("States.ArrayRange(1, 9, 9)", json!({})), json!([1]));
    assert_eq!(
        eval("States.ArrayRange(5, 1, -2)", json!({})),
        json!([5, 3, 1])
    );
    assert_eq!(eval("States.ArrayRange(5, 1, 2)", json!({})), json!([]));
    assert_eq!(
        eval("States.ArrayRange(1, 1000, 1)", json!({}))
            .as_array()
            .unwrap()
            .len(),
        1000
    );
    let m = intrinsic_failure("States.ArrayRange(1, 1001, 1)", json!({}));
    assert!(m.contains("1000"), "{m}");
    intrinsic_failure("States.ArrayRange(0, 5000, 2)", json!({}));
    intrinsic_failure("States.ArrayRange(1, 5, 0)", json!({}));
    rejected("States.ArrayRange('1', 5, 1)");
    intrinsic_failure("States.ArrayRange($.s, 5, 1)", json!({"s": "1"}));
    rejected("States.ArrayRange(1, 5)");
}

#[test]
fn array_get_item() {
    let input = json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]});
    assert_eq!(eval("States.ArrayGetItem($.a, 5)", input.clone()), json!(6));
    assert_eq!(eval("States.ArrayGetItem($.a, 0)", input.clone()), json!(1));
    intrinsic_failure("States.ArrayGetItem($.a, 9)", input.clone());
    intrinsic_failure("States.ArrayGetItem($.a, -1)", input.clone());
    intrinsic_failure("States.ArrayGetItem($.a, 1.5)", input.clone());
    rejected("States.ArrayGetItem($.a, '1')");
    intrinsic_failure("States.ArrayGetItem($.a, $.a[0])", json!({"a": ["1"]}));
    intrinsic_failure("States.ArrayGetItem('abc', 1)", input);
}

#[test]
fn array_length_and_unique() {
    let input = json!({"a": [1, 2, 2, "x", "x", [null], [null], {"a": 1}, {"a": 1}, {"a": 2}]});
    assert_eq!(eval("States.ArrayLength($.a)", input.clone()), json!(10));
    assert_eq!(
        eval("States.ArrayLength(States.Array())", json!({})),
        json!(0)
    );
    assert_eq!(
        eval("States.ArrayUnique($.a)", input.clone()),
        json!([1, 2, "x", [null], {"a": 1}, {"a": 2}])
    );
    intrinsic_failure("States.ArrayLength($.a[0])", input.clone());
    intrinsic_failure("States.ArrayUnique('abc')", input.clone());
    rejected("States.ArrayLength($.a, $.a)");
}

// Encoding and hashing ---------------------------------------------------------------------

#[test]
fn base64() {
    assert_eq!(
        eval("States.Base64Encode('Data to encode')", json!({})),
        json!("RGF0YSB0byBlbmNvZGU=")
    );
    assert_eq!(eval("States.Base64Encode('')", json!({})), json!(""));
    assert_eq!(
        eval("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", json!({})),
        json!("Data to encode")
    );
    assert_eq!(eval("States.Base64Decode('')", json!({})), json!(""));
    let limit = json!({"ok": "a".repeat(10_000), "long": "a".repeat(10_001)});
    eval("States.Base64Encode($.ok)", limit.clone());
    intrinsic_failure("States.Base64Encode($.long)", limit.clone());
    let encoded = json!({"ok": "QUFB".repeat(2500), "long": "QUFB".repeat(2501)});
    eval("States.Base64Decode($.ok)", encoded.clone());
    intrinsic_failure("States.Base64Decode($.long)", encoded);
    intrinsic_failure("States.Base64Decode('not base64!')", json!({}));
    intrinsic_failure("States.Base64Encode(1)", json!({}));
    intrinsic_failure("States.Base64Decode(null)", json!({}));
}

#[test]
fn hash() {
    for (alg, want) in [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("SHA-256", "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
        ("SHA-384", "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562"),
        ("SHA-512", "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4"),
    ] {
        assert_eq!(
            eval(&format!("States.Hash('input data', '{alg}')"), json!({})),
            json!(want)
        );
    }
    let m = intrinsic_failure("States.Hash('input data', 'SHA-999')", json!({}));
    assert!(m.contains("SHA-999"), "{m}");
    intrinsic_failure("States.Hash('input data', 'sha-256')", json!({}));
    intrinsic_failure("States.Hash('input data', 1)", json!({}));
    intrinsic_failure(
        "States.Hash($.long, 'MD5')",
        json!({"long": "a".repeat(10_001)}),
    );
    rejected("States.Hash('input data')");
}

// Math -------------------------------------------------------------------------------------

#[test]
fn math_add_rounds_like_java() {
    for (a, b, want) in [
        (json!(-9), json!(3), -6),
        (json!(1.49), json!(1.5), 3),
        (json!(1.5), json!(1.51), 4),
        (json!(-1.5), json!(0), -1),
        (json!(-2.5), json!(0), -2),
        (json!(-0.5), json!(0.5), 1),
        (json!(-1.51), json!(0), -2),
    ] {
        let got = eval("States.MathAdd($.a, $.b)", json!({"a": a, "b": b}));
        assert_eq!(got, json!(want), "{a} + {b}");
        assert!(got.is_i64());
    }
    assert_eq!(eval("States.MathAdd(1, -1)", json!({})), json!(0));
    rejected("States.MathAdd('1', 1)");
    intrinsic_failure("States.MathAdd($.s, 1)", json!({"s": "1"}));
    intrinsic_failure("States.MathAdd(1, $.n)", json!({"n": null}));
    rejected("States.MathAdd(1, null)");
    intrinsic_failure("States.MathAdd(2147483648, 1)", json!({}));
    rejected("States.MathAdd(1)");
}

#[test]
fn math_random() {
    for seed in 0..50 {
        let v = eval_with("States.MathRandom(12.5, 44.51)", &json!({}), seed).unwrap();
        let n = v.as_i64().unwrap();
        assert!((13..45).contains(&n), "{n}");
        let v = eval_with("States.MathRandom(-99999, -9999)", &json!({}), seed).unwrap();
        assert!((-99999..-9999).contains(&v.as_i64().unwrap()));
    }
    // Same generator state, same number (replay); a seed alone decides the number.
    assert_eq!(
        eval_with("States.MathRandom(0, 1000000)", &json!({}), 7).unwrap(),
        eval_with("States.MathRandom(0, 1000000)", &json!({}), 7).unwrap()
    );
    assert_eq!(
        eval_with("States.MathRandom(0, 1000000, 3)", &json!({}), 1).unwrap(),
        eval_with("States.MathRandom(0, 1000000, 3)", &json!({}), 2).unwrap()
    );
    intrinsic_failure("States.MathRandom(5, 5)", json!({}));
    rejected("States.MathRandom('a', 5)");
    intrinsic_failure("States.MathRandom($.s, 5)", json!({"s": "a"}));
    rejected("States.MathRandom(1, 5, 'seed')");
    intrinsic_failure("States.MathRandom(1, 5, $.s)", json!({"s": "seed"}));
    rejected("States.MathRandom(1)");
}

// Strings and ids --------------------------------------------------------------------------

#[test]
fn string_split() {
    assert_eq!(
        eval("States.StringSplit($.s, ',')", json!({"s": "1,2,3,4,5"})),
        json!(["1", "2", "3", "4", "5"])
    );
    assert_eq!(
        eval("States.StringSplit($.s, ',')", json!({"s": ", , ,"})),
        json!([" ", " "])
    );
    assert_eq!(
        eval("States.StringSplit($.s, ',')", json!({"s": ",,,,"})),
        json!([])
    );
    assert_eq!(
        eval(
            "States.StringSplit($.s, $.d)",
            json!({"s": "split on T and \nnew line", "d": "T\n"})
        ),
        json!(["split on ", " and ", "new line"])
    );
    assert_eq!(
        eval(
            "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)",
            json!({})
        ),
        json!("sm")
    );
    intrinsic_failure("States.StringSplit(1, ',')", json!({}));
    intrinsic_failure("States.StringSplit('a,b', 1)", json!({}));
    rejected("States.StringSplit('a,b')");
}

#[test]
fn uuid() {
    let a = eval_with("States.UUID()", &json!({}), 9).unwrap();
    let b = eval_with("States.UUID()", &json!({}), 9).unwrap();
    let c = eval_with("States.UUID()", &json!({}), 10).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let s = a.as_str().unwrap();
    assert_eq!(s.len(), 36);
    assert_eq!(&s[14..15], "4");
    rejected("States.UUID(1)");
}

// Paths and nesting ------------------------------------------------------------------------

#[test]
fn nested_calls_and_paths() {
    assert_eq!(
        eval(
            "States.ArrayGetItem(States.StringSplit($.s, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($.s, '-')), -1))",
            json!({"s": "a-b-c"})
        ),
        json!("c")
    );
    assert_eq!(
        eval("States.Format('{}', $$.Execution.Name)", json!({})),
        json!("exec-1")
    );
    let e = err("States.Format('{}', $.missing)", json!({"x": 1}));
    assert_eq!(e.error, "States.Runtime");
    assert!(e.message.contains("$.missing"), "{}", e.message);
    // A failure inside a nested call surfaces as it is.
    intrinsic_failure("States.Array(States.ArrayRange(1, 5, 0))", json!({}));
}

#[test]
fn display_round_trips() {
    for text in [
        r"States.Format('\{\} {} \\ it\'s', 1)",
        r"States.StringSplit('a\{b\\', ',')",
        "States.Array($.a, 1.5, null, true, States.UUID())",
    ] {
        let c = Call::parse(text).unwrap();
        assert_eq!(Call::parse(&c.to_string()).unwrap(), c, "{text}");
    }
    // Outside a Format template escapes are resolved.
    let c = Call::parse(r"States.StringSplit('a\{b\\\'', ',')").unwrap();
    assert_eq!(
        c.args[0],
        passo_asl::intrinsic::Arg::Literal(json!("a{b\\'"))
    );
    assert_eq!(
        eval(r"States.StringSplit('a\{b\}c', '{')", json!({})),
        json!(["a", "b}c"])
    );
}

#[test]
fn illegal_escapes_do_not_parse() {
    // AWS rejects these definitions (SCHEMA_VALIDATION_FAILED); recorded in
    // validation/aws_recorded/scenarios.test_base_scenarios.test_illegal_escapes.*.
    for text in [
        r#"States.StringToJson('{"text":"An \"escaped double quote\" here"}')"#,
        r#"States.Format('He said, \"Hello, {}!\"', 'Test \"Name\" Here')"#,
        r"States.Format('\n')",
    ] {
        assert!(Call::parse(text).is_err(), "{text}");
    }
}
