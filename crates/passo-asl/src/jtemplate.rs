//! JSONata-mode templates (`Arguments`, `Output`, `Assign`, `Items`, `ItemSelector`, ...):
//! JSON in which a string written `{% expr %}` is an expression, at any depth. Parsed once;
//! subtrees with no expression collapse into one literal.

use crate::jsonata::{inner, Jsonata};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum JTemplate {
    Literal(Value),
    Expr(Jsonata),
    Object(Vec<(String, JTemplate)>),
    Array(Vec<JTemplate>),
}

impl JTemplate {
    /// Parses a template; the error names the first malformed expression.
    pub fn parse(v: &Value) -> Result<JTemplate, String> {
        parse_at(v, 0)
    }

    pub fn is_literal(&self) -> bool {
        matches!(self, JTemplate::Literal(_))
    }

    /// Every expression in the template.
    pub fn expressions(&self) -> Vec<&Jsonata> {
        match self {
            JTemplate::Literal(_) => Vec::new(),
            JTemplate::Expr(j) => vec![j],
            JTemplate::Object(m) => m.iter().flat_map(|(_, t)| t.expressions()).collect(),
            JTemplate::Array(a) => a.iter().flat_map(JTemplate::expressions).collect(),
        }
    }

    /// Whether any expression of the template may read `$states.context`.
    pub fn may_read_context(&self) -> bool {
        match self {
            JTemplate::Literal(_) => false,
            JTemplate::Expr(j) => j.may_read_context(),
            JTemplate::Object(m) => m.iter().any(|(_, t)| t.may_read_context()),
            JTemplate::Array(a) => a.iter().any(JTemplate::may_read_context),
        }
    }
}

/// Whether a string is meant as an expression (AWS evaluates exactly `{% ... %}` strings).
pub fn is_expression(s: &str) -> bool {
    s.starts_with("{%") && s.ends_with("%}") && s.len() >= 4
}

fn parse_at(v: &Value, depth: usize) -> Result<JTemplate, String> {
    if depth > 512 {
        return Err("the template is nested too deeply".into());
    }
    match v {
        Value::String(s) if is_expression(s) => Jsonata::parse(inner(s)?).map(JTemplate::Expr),
        Value::Object(m) => {
            let members = m
                .iter()
                .map(|(k, x)| parse_at(x, depth + 1).map(|t| (k.clone(), t)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if members.iter().all(|(_, t)| t.is_literal()) {
                JTemplate::Literal(v.clone())
            } else {
                JTemplate::Object(members)
            })
        }
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| parse_at(x, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if items.iter().all(JTemplate::is_literal) {
                JTemplate::Literal(v.clone())
            } else {
                JTemplate::Array(items)
            })
        }
        other => Ok(JTemplate::Literal(other.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expressions_anywhere_literals_collapse() {
        let t = JTemplate::parse(&json!({"a": [1, "{% $x %}"], "b": {"c": "plain"}})).unwrap();
        let JTemplate::Object(m) = t else { panic!() };
        assert!(matches!(m[0].1, JTemplate::Array(_)));
        assert!(matches!(m[1].1, JTemplate::Literal(_)));
        assert!(JTemplate::parse(&json!("{% 1 + %}")).is_err());
        assert!(JTemplate::parse(&json!("{%% not quite"))
            .unwrap()
            .is_literal());
    }
}
