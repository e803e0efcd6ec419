//! Evaluating payload templates (`Parameters`, `ResultSelector`, `ItemSelector`, `Assign`).

use crate::error::ExprError;
use crate::intrinsics;
use crate::jsonpath::{self, Missing};
use crate::scope::Scope;
use passo_asl::path::{Path, Root};
use passo_asl::template::Template;
use serde_json::{Map, Value};

/// Evaluates a template against a scope.
pub fn eval(t: &Template, scope: &Scope<'_>) -> Result<Value, ExprError> {
    eval_field(
        t,
        scope,
        Field {
            key: "",
            dollar: false,
        },
    )
}

/// A template field's name as AWS's messages write it (`key.$` for a path or a call): built
/// only when a message needs it, not for every field evaluated.
#[derive(Clone, Copy)]
struct Field<'a> {
    key: &'a str,
    dollar: bool,
}

impl std::fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key)?;
        if self.dollar {
            f.write_str(".$")?;
        }
        Ok(())
    }
}

fn eval_field(t: &Template, scope: &Scope<'_>, field: Field<'_>) -> Result<Value, ExprError> {
    match t {
        Template::Literal(v) => Ok(v.clone()),
        Template::Object(members) => {
            let mut out = Map::with_capacity(members.len());
            for (k, v) in members {
                let field = Field {
                    key: k,
                    dollar: matches!(v, Template::Path(_) | Template::Call(_)),
                };
                out.insert(k.clone(), eval_field(v, scope, field)?);
            }
            Ok(Value::Object(out))
        }
        Template::Array(items) => items
            .iter()
            .map(|i| eval_field(i, scope, field))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Template::Path(p) => read_for(p, scope, field),
        Template::Call(c) => intrinsics::eval(c, scope),
    }
}

/// Reads a path for a field, with AWS's message when it names nothing.
pub fn read(p: &Path, scope: &Scope<'_>, field: &str) -> Result<Value, ExprError> {
    read_for(p, scope, field)
}

fn read_for(
    p: &Path,
    scope: &Scope<'_>,
    field: impl std::fmt::Display,
) -> Result<Value, ExprError> {
    match jsonpath::select(p, scope) {
        Ok(v) => Ok(v.into_owned()),
        Err(Missing::Variable(name)) => Err(ExprError::runtime(format!(
            "The JSONPath '{}' specified for the field '{field}' could not be found in the input: variable '{name}' is not defined",
            p.text
        ))),
        Err(Missing::Uncompilable(why)) => Err(jsonpath::uncompilable(p, &why)),
        Err(Missing::Value) => {
            let doc = match &p.root {
                Root::Input => serde_json::to_string(scope.input).unwrap_or_default(),
                Root::Context => serde_json::to_string(&scope.context.context()).unwrap_or_default(),
                Root::Variable(v) => serde_json::to_string(scope.vars.get_var(v).unwrap_or(&Value::Null)).unwrap_or_default(),
            };
            Err(ExprError::runtime(format!(
                "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{doc}'",
                p.text
            )))
        }
    }
}
