//! Property tests on random input, with a seeded generator so failures replay:
//! parsing never panics, matching never panics, and a few laws hold.

use passo_events::Pattern;
use serde_json::{json, Map, Value};

/// xorshift64*: small, deterministic, and enough to shake the parser.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Keys and strings drawn mostly from the pattern language, so random values
/// often reach deep into the parser instead of failing at the first check.
const WORDS: &[&str] = &[
    "prefix",
    "suffix",
    "equals-ignore-case",
    "wildcard",
    "anything-but",
    "numeric",
    "cidr",
    "exists",
    "$or",
    "a",
    "b",
    "detail",
    ">",
    ">=",
    "<",
    "<=",
    "=",
    "10.0.0.0/8",
    "::/0",
    "*",
    "a*b",
    "\\*",
    "\\",
    "**",
    "",
    "x",
];

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let choice = if depth == 0 {
        rng.below(5)
    } else {
        rng.below(8)
    };
    match choice {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!((rng.next() % 2001) as i64 - 1000),
        3 => json!((rng.next() % 1000) as f64 / 7.0),
        4 => json!(rng.pick(WORDS)),
        5 | 6 => {
            let mut map = Map::new();
            for _ in 0..rng.below(4) {
                let key = rng.pick(WORDS).to_string();
                map.insert(key, random_value(rng, depth - 1));
            }
            Value::Object(map)
        }
        _ => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
    }
}

fn pick_byte(rng: &mut Rng, bytes: &[u8]) -> u8 {
    bytes[rng.below(bytes.len())]
}

/// Shaped like a pattern (fields holding lists of values or one-key operator
/// objects with random operands), so that a good share of them is valid.
fn random_pattern(rng: &mut Rng, depth: usize) -> Value {
    let mut map = Map::new();
    for _ in 0..1 + rng.below(3) {
        let key = rng.pick(WORDS).to_string();
        let value = if depth > 0 && rng.below(4) == 0 {
            random_pattern(rng, depth - 1)
        } else if key == "$or" && depth > 0 {
            Value::Array(
                (0..2 + rng.below(2))
                    .map(|_| random_pattern(rng, depth - 1))
                    .collect(),
            )
        } else {
            let items = (0..1 + rng.below(3))
                .map(|_| {
                    if rng.below(3) == 0 {
                        random_value(rng, 0)
                    } else {
                        let mut op = Map::new();
                        op.insert(rng.pick(&WORDS[..8]).to_string(), random_value(rng, 2));
                        Value::Object(op)
                    }
                })
                .collect();
            Value::Array(items)
        };
        map.insert(key, value);
    }
    Value::Object(map)
}

#[test]
fn random_patterns_and_events_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut valid = 0;
    for i in 0..20_000 {
        let pattern = if i % 2 == 0 {
            random_value(&mut rng, 5)
        } else {
            random_pattern(&mut rng, 3)
        };
        if let Ok(parsed) = Pattern::from_value(&pattern) {
            valid += 1;
            for _ in 0..5 {
                parsed.matches(&random_value(&mut rng, 5));
            }
        }
    }
    // The generator must reach valid patterns, or the matcher is untested.
    assert!(valid > 500, "only {valid} random patterns were valid");
}

#[test]
fn random_text_never_panics() {
    let mut rng = Rng(42);
    let base =
        r#"{"detail":{"$or":[{"a":[{"numeric":[">",0,"<=",5]}]},{"b":[{"wildcard":"x*\\*"}]}]}}"#;
    for _ in 0..20_000 {
        let mut bytes = base.as_bytes().to_vec();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = pick_byte(&mut rng, b"{}[]\",:*\\0-e"),
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, pick_byte(&mut rng, b"{}[]\",:*\\")),
            }
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Ok(pattern) = Pattern::parse(text) {
                pattern.matches(&json!({"detail": {"a": 3, "b": "x*"}}));
            }
        }
    }
}

#[test]
fn every_scalar_matches_itself_exactly() {
    let mut rng = Rng(7);
    for _ in 0..5_000 {
        let value = random_value(&mut rng, 0);
        let pattern = Pattern::from_value(&json!({"k": [value.clone()]})).unwrap();
        assert!(pattern.matches(&json!({"k": value.clone()})), "{value}");
        assert!(
            pattern.matches(&json!({"k": [1, value.clone()]})),
            "{value}"
        );
        assert!(!pattern.matches(&json!({"other": value})));
    }
}

#[test]
fn an_escaped_string_is_a_wildcard_matching_only_itself() {
    let mut rng = Rng(99);
    let alphabet = ['a', 'b', '*', '\\', 'é', '/'];
    for _ in 0..5_000 {
        let text: String = (0..rng.below(8))
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let escaped = text.replace('\\', "\\\\").replace('*', "\\*");
        let pattern = Pattern::from_value(&json!({"f": [{"wildcard": escaped}]})).unwrap();
        assert!(pattern.matches(&json!({"f": text.clone()})), "{text}");
        assert!(
            !pattern.matches(&json!({"f": format!("{text}x")})),
            "{text}"
        );
        let starred =
            Pattern::from_value(&json!({"f": [{"wildcard": format!("{escaped}*")}]})).unwrap();
        assert!(
            starred.matches(&json!({"f": format!("{text}anything")})),
            "{text}"
        );
    }
}

#[test]
fn deeply_nested_event_arrays_are_flattened_without_recursion() {
    let mut value = json!("needle");
    for _ in 0..1_000 {
        value = Value::Array(vec![value]);
    }
    let pattern = Pattern::parse(r#"{"k": ["needle"]}"#).unwrap();
    assert!(pattern.matches(&json!({ "k": value })));
}
