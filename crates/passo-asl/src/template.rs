//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`, `Assign` in JSONPath
//! states): JSON in which a key ending in `.$` takes its value from a path or an intrinsic
//! function. Parsed once; subtrees with nothing dynamic collapse into one literal so that
//! evaluating them is a clone.

use crate::intrinsic::Call;
use crate::path::Path;
use serde_json::Value;

/// A parsed payload template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// A value with nothing to evaluate.
    Literal(Value),
    /// An object with at least one dynamic member somewhere below it.
    Object(Vec<(String, Template)>),
    /// An array with at least one dynamic element somewhere below it.
    Array(Vec<Template>),
    /// `"key.$": "$.path"` (or `$$.path`, `$var.path`).
    Path(Path),
    /// `"key.$": "States.Function(...)"`.
    Call(Call),
}

/// A problem found while parsing a template: the JSON pointer below the template and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    pub pointer: String,
    pub message: String,
}

impl Template {
    /// Parses a template; every problem is collected.
    pub fn parse(value: &Value) -> Result<Template, Vec<TemplateProblem>> {
        let mut problems = Vec::new();
        let t = parse_value(value, "", &mut problems, 0);
        if problems.is_empty() {
            Ok(t)
        } else {
            Err(problems)
        }
    }

    /// True when evaluating this template never looks at the input.
    pub fn is_literal(&self) -> bool {
        matches!(self, Template::Literal(_))
    }
}

/// Parses the string of a `.$` field: an intrinsic call or a path.
pub fn parse_dynamic(text: &str) -> Result<Template, String> {
    if Call::looks_like(text) {
        Call::parse(text).map(Template::Call).map_err(|e| {
            format!(
                "The value for the field must be a valid intrinsic function: {}",
                e.message
            )
        })
    } else {
        Path::parse(text)
            .map(Template::Path)
            .map_err(|e| format!("The value for the field must be a valid JSONPath or a valid intrinsic function call: {}", e.message))
    }
}

const MAX_DEPTH: usize = 512;

fn parse_value(
    value: &Value,
    pointer: &str,
    problems: &mut Vec<TemplateProblem>,
    depth: usize,
) -> Template {
    if depth > MAX_DEPTH {
        problems.push(TemplateProblem {
            pointer: pointer.to_string(),
            message: "The template is nested too deeply".into(),
        });
        return Template::Literal(Value::Null);
    }
    match value {
        Value::Object(map) => {
            let mut members = Vec::with_capacity(map.len());
            let mut dynamic = false;
            for (key, v) in map {
                let child = format!("{pointer}/{}", escape_pointer(key));
                if let Some(name) = key.strip_suffix(".$") {
                    if map.contains_key(name) {
                        problems.push(TemplateProblem {
                            pointer: child.clone(),
                            message: format!(
                                "The field \"{name}\" is defined more than once (\"{name}\" and \"{key}\")"
                            ),
                        });
                    }
                    dynamic = true;
                    match v {
                        // AWS names the key and points at the object holding it.
                        Value::String(s) => match parse_dynamic(s) {
                            Ok(t) => members.push((name.to_string(), t)),
                            Err(_) => problems.push(TemplateProblem {
                                pointer: pointer.to_string(),
                                message: format!(
                                    "The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"
                                ),
                            }),
                        },
                        _ => problems.push(TemplateProblem {
                            pointer: child,
                            message: format!(
                                "The value for the field '{key}' must be a STRING that contains a JSONPath or an intrinsic function"
                            ),
                        }),
                    }
                } else {
                    let t = parse_value(v, &child, problems, depth + 1);
                    dynamic |= !t.is_literal();
                    members.push((key.clone(), t));
                }
            }
            if dynamic {
                Template::Object(members)
            } else {
                Template::Literal(value.clone())
            }
        }
        Value::Array(items) => {
            let parsed: Vec<Template> = items
                .iter()
                .enumerate()
                .map(|(i, v)| parse_value(v, &format!("{pointer}/{i}"), problems, depth + 1))
                .collect();
            if parsed.iter().all(Template::is_literal) {
                Template::Literal(value.clone())
            } else {
                Template::Array(parsed)
            }
        }
        other => Template::Literal(other.clone()),
    }
}

/// Escapes a key for a JSON pointer (RFC 6901).
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literal_subtrees_collapse() {
        let t = Template::parse(&json!({"a": {"b": [1, 2]}, "c.$": "$.x"})).unwrap();
        match t {
            Template::Object(m) => {
                assert!(matches!(m[0].1, Template::Literal(_)));
                assert!(matches!(m[1].1, Template::Path(_)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reports_duplicates_and_bad_paths() {
        let problems =
            Template::parse(&json!({"a": 1, "a.$": "$.x", "b.$": "nope", "c.$": 3})).unwrap_err();
        assert_eq!(problems.len(), 3);
    }
}
