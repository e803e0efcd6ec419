//! Choice rules: comparisons, type tests and Boolean combinations, as AWS evaluates them.
//! A comparison of mismatched types is false, not an error; a missing `Variable` is an error.

use crate::error::ExprError;
use crate::jsonpath::{self, Missing};
use crate::scope::Scope;
use passo_asl::model::{Comparison, Condition, Operand, TypeTest};
use passo_asl::path::Path;
use passo_asl::timestamp;
use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

/// Evaluates a JSONPath-mode condition.
pub fn eval(cond: &Condition, scope: &Scope<'_>) -> Result<bool, ExprError> {
    match cond {
        Condition::And(cs) => {
            for c in cs {
                if !eval(c, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Condition::Or(cs) => {
            for c in cs {
                if eval(c, scope)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Condition::Not(c) => Ok(!eval(c, scope)?),
        Condition::Test {
            variable,
            test,
            expected,
        } => {
            let found = jsonpath::select(variable, scope);
            if let Err(Missing::Uncompilable(why)) = &found {
                return Err(jsonpath::uncompilable(variable, why));
            }
            let result = match test {
                TypeTest::IsPresent => found.is_ok(),
                _ => match found {
                    Err(_) => false,
                    Ok(v) => match test {
                        TypeTest::IsNull => v.is_null(),
                        TypeTest::IsNumeric => v.is_number(),
                        TypeTest::IsString => v.is_string(),
                        TypeTest::IsBoolean => v.is_boolean(),
                        TypeTest::IsTimestamp => {
                            v.as_str().is_some_and(|s| timestamp::parse(s).is_some())
                        }
                        TypeTest::IsPresent => true,
                    },
                },
            };
            Ok(result == *expected)
        }
        Condition::Compare {
            variable,
            op,
            operand,
        } => {
            let left = lookup(variable, scope)?;
            let right = match operand {
                Operand::Value(v) => Cow::Borrowed(v),
                Operand::Path(p) => lookup(p, scope)?,
            };
            Ok(compare(*op, &left, &right))
        }
        Condition::Jsonata(_) => Err(ExprError::runtime(
            "JSONata conditions are not supported yet",
        )),
    }
}

fn lookup<'v>(p: &Path, scope: &'v Scope<'_>) -> Result<Cow<'v, Value>, ExprError> {
    jsonpath::select(p, scope).map_err(|m| match m {
        Missing::Variable(name) => ExprError::runtime(format!(
            "Invalid path '{}': variable '{name}' is not defined",
            p.text
        )),
        Missing::Uncompilable(why) => jsonpath::uncompilable(p, &why),
        Missing::Value => ExprError::runtime(format!(
            "Invalid path '{}': The choice state's condition path references an invalid value.",
            p.text
        )),
    })
}

fn order(op: Comparison, o: Ordering) -> bool {
    use Comparison::*;
    match op {
        StringEquals | NumericEquals | TimestampEquals => o == Ordering::Equal,
        StringLessThan | NumericLessThan | TimestampLessThan => o == Ordering::Less,
        StringGreaterThan | NumericGreaterThan | TimestampGreaterThan => o == Ordering::Greater,
        StringLessThanEquals | NumericLessThanEquals | TimestampLessThanEquals => {
            o != Ordering::Greater
        }
        StringGreaterThanEquals | NumericGreaterThanEquals | TimestampGreaterThanEquals => {
            o != Ordering::Less
        }
        BooleanEquals | StringMatches => false,
    }
}

/// Applies a comparison operator to two values.
pub fn compare(op: Comparison, left: &Value, right: &Value) -> bool {
    use Comparison::*;
    match op {
        StringEquals
        | StringLessThan
        | StringGreaterThan
        | StringLessThanEquals
        | StringGreaterThanEquals => match (left.as_str(), right.as_str()) {
            (Some(a), Some(b)) => order(op, a.cmp(b)),
            _ => false,
        },
        StringMatches => match (left.as_str(), right.as_str()) {
            (Some(a), Some(b)) => string_matches(a, b),
            _ => false,
        },
        NumericEquals
        | NumericLessThan
        | NumericGreaterThan
        | NumericLessThanEquals
        | NumericGreaterThanEquals => match (left.as_f64(), right.as_f64()) {
            (Some(a), Some(b)) if left.is_number() && right.is_number() => {
                a.partial_cmp(&b).is_some_and(|o| order(op, o))
            }
            _ => false,
        },
        BooleanEquals => match (left.as_bool(), right.as_bool()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        TimestampEquals
        | TimestampLessThan
        | TimestampGreaterThan
        | TimestampLessThanEquals
        | TimestampGreaterThanEquals => {
            match (
                left.as_str().and_then(timestamp::parse),
                right.as_str().and_then(timestamp::parse),
            ) {
                (Some(a), Some(b)) => order(op, a.cmp(&b)),
                _ => false,
            }
        }
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literals.
pub fn string_matches(text: &str, pattern: &str) -> bool {
    enum Tok {
        Lit(char),
        Star,
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => toks.push(Tok::Lit(n)),
                None => toks.push(Tok::Lit('\\')),
            },
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Lit(c)),
        }
    }
    let t: Vec<char> = text.chars().collect();
    // Iterative wildcard matching with backtracking to the last star.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match toks.get(pi) {
            Some(Tok::Lit(c)) if *c == t[ti] => {
                ti += 1;
                pi += 1;
            }
            Some(Tok::Star) => {
                star = Some((pi, ti));
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[pi..].iter().all(|t| matches!(t, Tok::Star))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("", "*"));
        assert!(!string_matches("abc", "ab"));
    }

    #[test]
    fn mismatched_types_are_false() {
        assert!(!compare(Comparison::NumericEquals, &json!("1"), &json!(1)));
        assert!(compare(Comparison::NumericEquals, &json!(1.0), &json!(1)));
        assert!(compare(
            Comparison::TimestampLessThan,
            &json!("2016-01-01T00:00:00Z"),
            &json!("2017-01-01T00:00:00Z")
        ));
    }
}
