//! Subscription filter policies. SNS's policy language is EventBridge's event-pattern
//! language applied to a document made from the message: its attributes (the default
//! `MessageAttributes` scope: String values as strings, Number values as numbers,
//! String.Array values as the array they spell; Binary attributes are never matched) or its
//! body parsed as JSON (`MessageBody` scope). So `passo-events` matches them.

use super::error::SnsError;
use passo_events::Pattern;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    MessageAttributes,
    MessageBody,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pattern: Pattern,
    scope: Scope,
}

impl Filter {
    /// The filter of a subscription's FilterPolicy and FilterPolicyScope attributes.
    pub fn parse(policy: &str, scope: Option<&str>) -> Result<Filter, SnsError> {
        let scope = match scope {
            None | Some("MessageAttributes") => Scope::MessageAttributes,
            Some("MessageBody") => Scope::MessageBody,
            Some(other) => {
                return Err(SnsError::InvalidParameter(format!(
                    "Attributes Reason: FilterPolicyScope: Invalid value [{other}]. Please use either MessageBody or MessageAttributes"
                )))
            }
        };
        let pattern = Pattern::parse(policy)
            .map_err(|e| SnsError::InvalidParameter(format!("Filter policy is invalid: {e}")))?;
        Ok(Filter { pattern, scope })
    }

    /// Whether a message with `body` and `attributes` (Publish's MessageAttributes) passes.
    pub fn matches(&self, body: &str, attributes: &Map<String, Value>) -> bool {
        match self.scope {
            Scope::MessageBody => match serde_json::from_str::<Value>(body) {
                Ok(v @ Value::Object(_)) => self.pattern.matches(&v),
                _ => false,
            },
            Scope::MessageAttributes => self.pattern.matches(&document(attributes)),
        }
    }
}

fn document(attributes: &Map<String, Value>) -> Value {
    let mut doc = Map::new();
    for (name, a) in attributes {
        let data_type = a["DataType"].as_str().unwrap_or_default();
        let Some(text) = a["StringValue"].as_str() else {
            continue;
        };
        let v = if data_type.starts_with("Number") {
            serde_json::from_str::<Value>(text.trim())
                .ok()
                .filter(Value::is_number)
                .unwrap_or_else(|| Value::String(text.to_string()))
        } else if data_type == "String.Array" {
            serde_json::from_str::<Value>(text)
                .ok()
                .filter(Value::is_array)
                .unwrap_or_else(|| Value::String(text.to_string()))
        } else {
            Value::String(text.to_string())
        };
        doc.insert(name.clone(), v);
    }
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn attribute_policies_match_as_sns_documents_them() {
        let f = Filter::parse(
            r#"{"store": ["example_corp"], "price_usd": [{"numeric": [">=", 100]}], "event": [{"anything-but": "order_cancelled"}]}"#,
            None,
        )
        .unwrap();
        let m = attrs(json!({
            "store": {"DataType": "String", "StringValue": "example_corp"},
            "price_usd": {"DataType": "Number", "StringValue": "210.75"},
            "event": {"DataType": "String", "StringValue": "order_placed"}
        }));
        assert!(f.matches("", &m));
        let mut cheap = m.clone();
        cheap["price_usd"]["StringValue"] = json!("5");
        assert!(!f.matches("", &cheap));
        assert!(!f.matches("", &Map::new()));
        let arrays = Filter::parse(r#"{"color": ["red"]}"#, None).unwrap();
        let m = attrs(
            json!({"color": {"DataType": "String.Array", "StringValue": "[\"blue\",\"red\"]"}}),
        );
        assert!(arrays.matches("", &m));
    }

    #[test]
    fn body_policies_look_into_the_json_body() {
        let f = Filter::parse(r#"{"order": {"kind": ["big"]}}"#, Some("MessageBody")).unwrap();
        assert!(f.matches(r#"{"order": {"kind": "big"}}"#, &Map::new()));
        assert!(!f.matches(r#"{"order": {"kind": "small"}}"#, &Map::new()));
        assert!(!f.matches("not json", &Map::new()));
        assert!(Filter::parse("{}", Some("Nowhere")).is_err());
        assert!(Filter::parse(r#"{"a": "b"}"#, None).is_err());
    }
}
