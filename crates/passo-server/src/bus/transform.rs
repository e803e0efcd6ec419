//! A target's InputTransformer: values picked from the event by JSON paths
//! (`InputPathsMap`), put into a template (`InputTemplate`) at their `<placeholders>`.
//!
//! AWS's rules, as its "Transforming target input" page gives them:
//! - a template that is JSON (it starts with `{`, `[` or `"`) takes a placeholder inside a
//!   string literal as text (a string's characters, escaped for JSON; other values as their
//!   JSON), and a placeholder outside string literals as a JSON value: a string gets its
//!   quotes (`{"instance": <instance>}` gives `{"instance": "i-123"}`);
//! - any other template is text: every value goes in as its text, strings without quotes;
//! - a path that finds nothing gives `null` outside strings and nothing inside them;
//! - the predefined `<aws.events.rule-name>`, `<aws.events.rule-arn>`,
//!   `<aws.events.event.ingestion-time>` (ISO 8601), `<aws.events.event>` (the event without
//!   its `detail`) and `<aws.events.event.json>` (the whole event) need no path; the two
//!   event ones go in unescaped, so they belong outside strings;
//! - `<anything else>` that is no variable stays as written.

use super::error::EventsError;
use passo_asl::path::Path;
use serde_json::Value;

/// A parsed InputTransformer.
#[derive(Debug, Clone)]
pub struct Transformer {
    paths: Vec<(String, Path)>,
    template: String,
}

/// What the predefined variables stand for in one delivery.
pub struct Predefined<'a> {
    pub rule_name: &'a str,
    pub rule_arn: &'a str,
    /// ISO 8601.
    pub ingestion_time: &'a str,
}

fn key_ok(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 256
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Transformer {
    /// Parses `{"InputPathsMap": {...}, "InputTemplate": "..."}` as PutTargets checks it.
    pub fn parse(v: &Value, target_id: &str) -> Result<Transformer, EventsError> {
        let invalid = |why: &str| {
            EventsError::Validation(format!(
                "InputTransformer for target {target_id} is not valid: {why}"
            ))
        };
        let template = match v.get("InputTemplate") {
            Some(Value::String(t)) if !t.is_empty() && t.chars().count() <= 8192 => t.clone(),
            Some(Value::String(_)) => {
                return Err(invalid("InputTemplate must have 1 to 8192 characters"))
            }
            _ => return Err(EventsError::missing("inputTransformer.inputTemplate")),
        };
        let mut paths = Vec::new();
        match v.get("InputPathsMap") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                if m.len() > 100 {
                    return Err(invalid("InputPathsMap has more than 100 entries"));
                }
                for (k, p) in m {
                    if !key_ok(k) {
                        return Err(invalid(&format!(
                            "the key '{k}' must match [A-Za-z0-9\\_\\-]+"
                        )));
                    }
                    let text = p
                        .as_str()
                        .ok_or_else(|| invalid(&format!("the path of '{k}' must be a string")))?;
                    let path = Path::parse(text)
                        .ok()
                        .filter(|p| matches!(p.root, passo_asl::path::Root::Input))
                        .ok_or_else(|| invalid(&format!("'{text}' is not a valid JSON path")))?;
                    paths.push((k.clone(), path));
                }
            }
            Some(_) => return Err(invalid("InputPathsMap must be an object")),
        }
        Ok(Transformer { paths, template })
    }

    /// The target's input for `event`.
    pub fn apply(&self, event: &Value, pre: &Predefined<'_>) -> String {
        let json_mode = matches!(
            self.template.trim_start().chars().next(),
            Some('{' | '[' | '"')
        );
        let mut out = String::with_capacity(self.template.len());
        let mut in_string = false;
        let mut escaped = false;
        let mut rest = self.template.as_str();
        while let Some(c) = rest.chars().next() {
            if c == '<' {
                if let Some((name, after)) = placeholder(rest) {
                    if let Some(value) = self.lookup(name, event, pre) {
                        insert(&mut out, &value, json_mode, in_string);
                        rest = after;
                        continue;
                    }
                }
            }
            if json_mode {
                if escaped {
                    escaped = false;
                } else if in_string && c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = !in_string;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// What a placeholder stands for; `None` when the name is no variable.
    fn lookup(&self, name: &str, event: &Value, pre: &Predefined<'_>) -> Option<Fill> {
        let text = |s: &str| Some(Fill::Value(Value::String(s.to_string())));
        match name {
            "aws.events.rule-name" => return text(pre.rule_name),
            "aws.events.rule-arn" => return text(pre.rule_arn),
            "aws.events.event.ingestion-time" => return text(pre.ingestion_time),
            "aws.events.event" => {
                let mut e = event.clone();
                if let Some(o) = e.as_object_mut() {
                    o.remove("detail");
                }
                return Some(Fill::Unescaped(e));
            }
            "aws.events.event.json" => return Some(Fill::Unescaped(event.clone())),
            _ => {}
        }
        let (_, path) = self.paths.iter().find(|(k, _)| k == name)?;
        Some(match passo_expr::jsonpath::select_in(path, event) {
            Ok(v) => Fill::Value(v.into_owned()),
            Err(_) => Fill::Missing,
        })
    }
}

/// What goes in at a placeholder.
enum Fill {
    /// The path found nothing.
    Missing,
    Value(Value),
    /// The predefined event variables: their JSON as is, wherever they stand.
    Unescaped(Value),
}

/// `<name>` at the start of `s`: the name and what follows the `>`.
fn placeholder(s: &str) -> Option<(&str, &str)> {
    let end = s.find('>')?;
    let name = &s[1..end];
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    ok.then(|| (name, &s[end + 1..]))
}

fn insert(out: &mut String, fill: &Fill, json_mode: bool, in_string: bool) {
    match fill {
        Fill::Unescaped(v) => out.push_str(&v.to_string()),
        Fill::Missing if json_mode && !in_string => out.push_str("null"),
        Fill::Missing => {}
        Fill::Value(Value::String(s)) if json_mode && in_string => {
            let quoted = Value::String(s.clone()).to_string();
            out.push_str(&quoted[1..quoted.len() - 1]);
        }
        Fill::Value(Value::String(s)) if !json_mode => out.push_str(s),
        Fill::Value(v) => out.push_str(&v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The EC2 event of AWS's "Transforming target input" examples.
    fn event() -> Value {
        json!({
            "version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
            "account": "123456789012", "time": "2015-11-11T21:29:54Z", "region": "us-east-1",
            "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
            "detail": {"instance-id": "i-0123456789", "state": "RUNNING"}
        })
    }

    fn pre() -> Predefined<'static> {
        Predefined {
            rule_name: "r",
            rule_arn: "arn:aws:events:us-east-1:123456789012:rule/r",
            ingestion_time: "2015-11-11T21:29:55Z",
        }
    }

    fn transform(template: &str) -> String {
        let t = Transformer::parse(
            &json!({
                "InputPathsMap": {"instance": "$.detail.instance-id", "state": "$.detail.state",
                                  "missing": "$.detail.nothing"},
                "InputTemplate": template,
            }),
            "t",
        )
        .unwrap();
        t.apply(&event(), &pre())
    }

    #[test]
    fn a_json_template_quotes_strings_outside_string_literals() {
        assert_eq!(
            transform(
                r#"{"instance": <instance>, "state": [9, <state>, true], "Transformed": "Yes"}"#
            ),
            r#"{"instance": "i-0123456789", "state": [9, "RUNNING", true], "Transformed": "Yes"}"#
        );
    }

    #[test]
    fn inside_a_string_a_value_is_text() {
        assert_eq!(
            transform(r#""instance <instance> is in <state>""#),
            r#""instance i-0123456789 is in RUNNING""#
        );
        assert_eq!(
            transform(r#"{"myStatus": "<instance> is in state \"<state>\""}"#),
            r#"{"myStatus": "i-0123456789 is in state \"RUNNING\""}"#
        );
    }

    #[test]
    fn a_text_template_takes_values_as_text() {
        assert_eq!(
            transform("<instance> is in state <state>"),
            "i-0123456789 is in state RUNNING"
        );
    }

    #[test]
    fn predefined_variables_and_missing_paths() {
        let out = transform(
            r#"{"rule": "<aws.events.rule-name>", "at": <aws.events.event.ingestion-time>, "e": <aws.events.event>, "all": <aws.events.event.json>, "m": <missing>, "ms": "<missing>", "html": "<b>"}"#,
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["rule"], "r");
        assert_eq!(v["at"], "2015-11-11T21:29:55Z");
        assert_eq!(v["e"]["source"], "aws.ec2");
        assert!(v["e"].get("detail").is_none());
        assert_eq!(v["all"]["detail"]["state"], "RUNNING");
        assert_eq!(v["m"], Value::Null);
        assert_eq!(v["ms"], "");
        assert_eq!(v["html"], "<b>");
    }

    #[test]
    fn strings_with_quotes_stay_valid_json() {
        let t = Transformer::parse(
            &json!({"InputPathsMap": {"s": "$.detail.s"}, "InputTemplate": r#"{"a": "<s>", "b": <s>}"#}),
            "t",
        )
        .unwrap();
        let out = t.apply(&json!({"detail": {"s": "say \"hi\""}}), &pre());
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v, json!({"a": "say \"hi\"", "b": "say \"hi\""}));
    }

    #[test]
    fn bad_transformers_are_refused() {
        let bad = [
            json!({"InputPathsMap": {"a": "$.x"}}),
            json!({"InputPathsMap": {"a b": "$.x"}, "InputTemplate": "<a>"}),
            json!({"InputPathsMap": {"a": "detail"}, "InputTemplate": "<a>"}),
            json!({"InputTemplate": ""}),
        ];
        for b in bad {
            assert_eq!(
                Transformer::parse(&b, "t").unwrap_err().code(),
                "ValidationException",
                "{b}"
            );
        }
    }
}
