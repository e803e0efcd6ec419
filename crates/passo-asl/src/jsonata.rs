//! JSONata expressions in definitions (`{% expr %}`), parsed once with `jsonata-core` when
//! the definition loads; `passo-expr` evaluates them.

use jsonata_core::ast::{AstNode, PathStep};
use serde_json::Value;
use std::fmt;

/// A parsed JSONata expression and its text (AWS quotes the text in its error messages).
#[derive(Clone)]
pub struct Jsonata {
    text: String,
    ast: AstNode,
    simple: Option<Simple>,
}

/// The forms most expressions in workflows take, which `passo-expr` evaluates without the
/// general evaluator (it costs a conversion of every bound value and an evaluator each time).
#[derive(Debug, Clone, PartialEq)]
pub enum Simple {
    /// A literal string, number, boolean or null, as JSON.
    Literal(Value),
    /// `$name` or `$name.field.field...`: a variable and plain field names (no predicates,
    /// wildcards, bindings or `[]`).
    Path { var: String, fields: Vec<String> },
}

/// The simple form of an expression, if it has one.
fn simple(ast: &AstNode) -> Option<Simple> {
    use jsonata_core::value::JValue;
    let literal = |v: JValue| serde_json::to_value(&v).ok().map(Simple::Literal);
    match ast {
        AstNode::String(s) => literal(JValue::from(s.as_str())),
        AstNode::Number(n) if n.is_finite() => literal(JValue::from(*n)),
        AstNode::Boolean(b) => literal(JValue::from(*b)),
        AstNode::Null => Some(Simple::Literal(Value::Null)),
        AstNode::Variable(v) if !v.is_empty() => Some(Simple::Path {
            var: v.clone(),
            fields: Vec::new(),
        }),
        AstNode::Path { steps } => {
            let plain = |s: &PathStep| {
                s.stages.is_empty()
                    && s.focus.is_none()
                    && s.index_var.is_none()
                    && s.ancestor_label.is_none()
                    && !s.is_tuple
                    && !s.inner_tuple
            };
            let (first, rest) = steps.split_first()?;
            let var = match &first.node {
                AstNode::Variable(v) if !v.is_empty() && plain(first) => v.clone(),
                _ => return None,
            };
            let fields = rest
                .iter()
                .map(|s| match &s.node {
                    AstNode::Name(n) if plain(s) => Some(n.clone()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Simple::Path { var, fields })
        }
        _ => None,
    }
}

impl fmt::Debug for Jsonata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Jsonata({})", self.text)
    }
}

impl PartialEq for Jsonata {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Jsonata {
    /// Parses an expression (the text inside `{% %}`). The error is the engine's message,
    /// which starts with the JSONata error code (`S0201: ...`) where there is one.
    pub fn parse(text: &str) -> Result<Jsonata, String> {
        jsonata_core::parser::parse(text)
            .map(|ast| Jsonata {
                text: text.to_string(),
                simple: simple(&ast),
                ast,
            })
            .map_err(|e| e.display_message())
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn ast(&self) -> &AstNode {
        &self.ast
    }

    /// The expression's simple form, when it is a literal or a plain variable path.
    pub fn simple(&self) -> Option<&Simple> {
        self.simple.as_ref()
    }

    /// Whether the expression may read `$states.context`: it names `context`, or uses
    /// `$states` other than through `.input`, `.result` or `.errorOutput`. Building the
    /// context object is skipped for the others.
    pub fn may_read_context(&self) -> bool {
        let t = &self.text;
        t.contains("context")
            || t.match_indices("$states").any(|(i, m)| {
                let rest = &t[i + m.len()..];
                !(rest.starts_with(".input")
                    || rest.starts_with(".result")
                    || rest.starts_with(".errorOutput"))
            })
    }

    /// Whether the expression mentions `$name` (a variable or function it may use).
    pub fn mentions(&self, name: &str) -> bool {
        let b = self.text.as_bytes();
        self.text.match_indices(name).any(|(i, m)| {
            let after = b.get(i + m.len()).copied().unwrap_or(b' ');
            i > 0 && b[i - 1] == b'$' && !(after.is_ascii_alphanumeric() || after == b'_')
        })
    }
}

/// The expression inside a `{% expr %}` string, without the whitespace around it. AWS's
/// documentation writes one space on each side, but AWS accepts any whitespace there, none
/// included (`{%$states.input %}`, `{% $x%}`, an expression on lines of its own): published
/// definitions in `shared/conformance/wild` use all of these.
pub fn inner(s: &str) -> Result<&str, String> {
    let inner = s
        .strip_prefix("{%")
        .and_then(|x| x.strip_suffix("%}"))
        .ok_or_else(|| {
            "JSONata expressions must be surrounded like so: '{% <JSONata expression> %}'"
                .to_string()
        })?;
    Some(inner.trim())
        .filter(|x| !x.is_empty())
        .ok_or_else(|| "The JSONata expression inside '{% %}' is empty".to_string())
}

/// Checks a whole `{% expr %}` string: the surround, then the expression's syntax.
pub fn check_string(s: &str) -> Result<(), String> {
    check_expression(inner(s)?)
}

/// Checks an expression's syntax with the real parser.
pub fn check_expression(expr: &str) -> Result<(), String> {
    Jsonata::parse(expr).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_plain_variable_paths_are_simple() {
        let j = |t: &str| Jsonata::parse(t).unwrap().simple().cloned();
        let path = |v: &str, f: &[&str]| {
            Some(Simple::Path {
                var: v.into(),
                fields: f.iter().map(|s| s.to_string()).collect(),
            })
        };
        assert_eq!(j("1"), Some(Simple::Literal(serde_json::json!(1))));
        assert_eq!(j("1.5"), Some(Simple::Literal(serde_json::json!(1.5))));
        assert_eq!(j("'a'"), Some(Simple::Literal(serde_json::json!("a"))));
        assert_eq!(j("null"), Some(Simple::Literal(Value::Null)));
        assert_eq!(j("$states.input"), path("states", &["input"]));
        assert_eq!(j("$states.input.a.b"), path("states", &["input", "a", "b"]));
        assert_eq!(j("$x"), path("x", &[]));
        for general in [
            "$states.input.a[0]",
            "$states.input.*",
            "$states.input.a[]",
            "$",
            "a.b",
            "$x + 1",
            "$f()",
            "$states.input.`a b`.c[x>1]",
        ] {
            assert_eq!(j(general), None, "{general}");
        }
    }

    #[test]
    fn knows_what_an_expression_may_read() {
        let j = |t: &str| Jsonata::parse(t).unwrap();
        assert!(!j("$states.input.a + $states.result").may_read_context());
        assert!(j("$states.context.Execution.Id").may_read_context());
        assert!(j("$keys($states)").may_read_context());
        assert!(j("$lookup($states, 'context')").may_read_context());
        assert!(j("$x + $hash('a', 'MD5')").mentions("x"));
        assert!(j("$x + $hash('a', 'MD5')").mentions("hash"));
        assert!(!j("$xy").mentions("x"));
        assert!(!j("'hash'").mentions("hash"));
    }

    #[test]
    fn accepts_common_expressions() {
        for ok in [
            "{% $states.input %}",
            "{% $states.input.items[price > 10].name %}",
            "{% $sum($states.input.items.numbers) %}",
            "{% 'a' & \"b\" %}",
            "{% -1 + 2 * 3 %}",
            "{% $x ? 1 : 2 %}",
            "{% $match($s, /ab+c/i) %}",
            "{% ($a := 1; $b := 2; $a + $b) %}",
            "{% $states.input.* %}",
            "{% Account.Order.Product^(>Price).Description %}",
            "{% $states.input ~> | Account | {'x': 1} | %}",
            "{% function($x){ $x * 2 }(3) %}",
            "{% [1..5] %}",
            "{% {'a': 1, 'b': [1, 2]} %}",
            "{% $exists($x) and $y in [1,2] or true %}",
            "{% $states.context.Execution.Id %}",
            "{% 420.5 %}",
            "{% 1e3 %}",
            "{% Product#$i.{'i': $i} %}",
            "{% library.loans@$l.books@$b[$l.isbn=$b.isbn] %}",
            "{% $.a %}",
            "{% [] %}",
            "{% $a & ' ' & $b  %}",
            "{% /* note */ 1 %}",
            // Whitespace around the expression is free, as AWS accepts it.
            "{%$states.input %}",
            "{% $states.input.Items%}",
            "{%10%}",
            "{% \n10         %}",
            "{%\n  $x\n%}",
            "{%\t$x %}",
        ] {
            assert_eq!(check_string(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_broken_expressions() {
        for bad in [
            "{% 10 %",
            "10 %}",
            "{%  %}",
            "{%%}",
            "{%\n%}",
            "{ % 10 %}",
            "{% 10 % }",
            "{% 10 + * 2 %}",
            "{% $.store.book[?(@.price < 10)].title %}",
            "{% $sum($states.input.items.numbers %}",
            "{% 420. %}",
            "{% 'abc %}",
            "{% 1 2 %}",
            "{% (1)) %}",
            "{% 1 + %}",
        ] {
            assert!(check_string(bad).is_err(), "{bad:?}");
        }
    }
}
