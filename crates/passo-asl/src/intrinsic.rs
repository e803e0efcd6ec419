//! Intrinsic function calls (`States.Format('{}', $.x)` and the 17 others), parsed once.
//!
//! Arguments are literals (single-quoted strings with `\'`, `\{`, `\}`, `\\` escapes, numbers,
//! `true`, `false`, `null`), paths (`$.x`, `$$.x`, `$var.x`) or nested calls.
//!
//! String literals are unescaped when parsed (`'a\\b'` is the string `a\b`), except the first
//! argument of `States.Format` when it is a literal: there `\{`, `\}` and `\\` stay escaped (only
//! `\'` is resolved), so the template can tell a literal brace from a `{}` placeholder without
//! ambiguity; the evaluator resolves those escapes while it formats.

use crate::path::{Path, PathError};
use serde_json::Value;
use std::fmt;

/// The intrinsic functions AWS Step Functions provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Function {
    pub const ALL: [Function; 18] = [
        Function::Format,
        Function::StringToJson,
        Function::JsonToString,
        Function::Array,
        Function::ArrayPartition,
        Function::ArrayContains,
        Function::ArrayRange,
        Function::ArrayGetItem,
        Function::ArrayLength,
        Function::ArrayUnique,
        Function::Base64Encode,
        Function::Base64Decode,
        Function::Hash,
        Function::JsonMerge,
        Function::MathRandom,
        Function::MathAdd,
        Function::StringSplit,
        Function::Uuid,
    ];

    /// The name as written after `States.`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Format => "Format",
            Function::StringToJson => "StringToJson",
            Function::JsonToString => "JsonToString",
            Function::Array => "Array",
            Function::ArrayPartition => "ArrayPartition",
            Function::ArrayContains => "ArrayContains",
            Function::ArrayRange => "ArrayRange",
            Function::ArrayGetItem => "ArrayGetItem",
            Function::ArrayLength => "ArrayLength",
            Function::ArrayUnique => "ArrayUnique",
            Function::Base64Encode => "Base64Encode",
            Function::Base64Decode => "Base64Decode",
            Function::Hash => "Hash",
            Function::JsonMerge => "JsonMerge",
            Function::MathRandom => "MathRandom",
            Function::MathAdd => "MathAdd",
            Function::StringSplit => "StringSplit",
            Function::Uuid => "UUID",
        }
    }

    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    /// True when argument `i` (from 0) must be a number: a literal of another type there can
    /// never work.
    pub fn numeric_arg(self, i: usize) -> bool {
        match self {
            Function::MathAdd | Function::MathRandom | Function::ArrayRange => true,
            Function::ArrayPartition | Function::ArrayGetItem => i == 1,
            _ => false,
        }
    }

    /// Allowed number of arguments (inclusive range).
    pub fn arity(self) -> (usize, usize) {
        match self {
            Function::Format => (1, usize::MAX),
            Function::Array => (0, usize::MAX),
            Function::StringToJson
            | Function::JsonToString
            | Function::ArrayLength
            | Function::ArrayUnique
            | Function::Base64Encode
            | Function::Base64Decode => (1, 1),
            Function::ArrayPartition
            | Function::ArrayContains
            | Function::ArrayGetItem
            | Function::Hash
            | Function::MathAdd
            | Function::StringSplit => (2, 2),
            Function::MathRandom => (2, 3),
            Function::ArrayRange | Function::JsonMerge => (3, 3),
            Function::Uuid => (0, 0),
        }
    }
}

/// An argument of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Literal(Value),
    Path(Path),
    Call(Call),
}

/// A parsed intrinsic call.
///
/// String literals hold their unescaped value, except a literal first argument of
/// `States.Format`, which keeps `\{`, `\}` and `\\` escaped (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub function: Function,
    pub args: Vec<Arg>,
}

/// Why an intrinsic call could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IntrinsicError {
    pub message: String,
    pub offset: usize,
}

impl From<PathError> for IntrinsicError {
    fn from(e: PathError) -> Self {
        IntrinsicError {
            message: e.message,
            offset: e.offset,
        }
    }
}

impl Call {
    /// Parses a whole intrinsic call; nothing but whitespace may follow it.
    pub fn parse(text: &str) -> Result<Call, IntrinsicError> {
        let mut p = Parser {
            text,
            pos: 0,
            depth: 0,
        };
        p.ws();
        let call = p.call()?;
        p.ws();
        if p.pos != text.len() {
            return p.err("unexpected text after the closing ')'");
        }
        Ok(call)
    }

    /// True if this looks like an intrinsic call (starts with `States.`), as AWS decides
    /// which parser a `.$` value goes to.
    pub fn looks_like(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "States.{}(", self.function.name())?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match a {
                Arg::Literal(Value::String(s)) => {
                    // A Format template keeps its brace and backslash escapes already.
                    let template = i == 0 && self.function == Function::Format;
                    f.write_str("'")?;
                    for c in s.chars() {
                        if c == '\'' || (!template && matches!(c, '{' | '}' | '\\')) {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                    f.write_str("'")?
                }
                Arg::Literal(v) => write!(f, "{v}")?,
                Arg::Path(p) => write!(f, "{p}")?,
                Arg::Call(c) => write!(f, "{c}")?,
            }
        }
        f.write_str(")")
    }
}

const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, IntrinsicError> {
        Err(IntrinsicError {
            message: message.into(),
            offset: self.pos,
        })
    }
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }
    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn call(&mut self) -> Result<Call, IntrinsicError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("intrinsic functions are nested too deeply");
        }
        if !self.text[self.pos..].starts_with("States.") {
            return self.err("expected an intrinsic function name starting with 'States.'");
        }
        self.pos += "States.".len();
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            self.bump();
        }
        let name = &self.text[start..self.pos];
        let Some(function) = Function::from_name(name) else {
            return self.err(format!("unknown intrinsic function 'States.{name}'"));
        };
        self.ws();
        if self.bump() != Some('(') {
            return self.err(format!("expected '(' after States.{name}"));
        }
        let mut args = Vec::new();
        self.ws();
        if self.peek() == Some(')') {
            self.bump();
        } else {
            loop {
                self.ws();
                let template = function == Function::Format && args.is_empty();
                args.push(self.arg(template)?);
                self.ws();
                match self.bump() {
                    Some(',') => continue,
                    Some(')') => break,
                    _ => return self.err("expected ',' or ')'"),
                }
            }
        }
        self.depth -= 1;
        let (min, max) = function.arity();
        if args.len() < min || args.len() > max {
            return self.err(format!(
                "States.{name} takes {} arguments, not {}",
                if min == max {
                    min.to_string()
                } else if max == usize::MAX {
                    format!("at least {min}")
                } else {
                    format!("{min} to {max}")
                },
                args.len()
            ));
        }
        for (i, a) in args.iter().enumerate() {
            if let Arg::Literal(v) = a {
                if function.numeric_arg(i) && !v.is_number() {
                    return self.err(format!(
                        "argument {} of States.{name} must be a number or a path",
                        i + 1
                    ));
                }
            }
        }
        Ok(Call { function, args })
    }

    /// One argument; `template` is true for the first argument of States.Format.
    fn arg(&mut self, template: bool) -> Result<Arg, IntrinsicError> {
        match self.peek() {
            Some('\'') => self
                .string(template)
                .map(|s| Arg::Literal(Value::String(s))),
            Some('$') => {
                let start = self.pos;
                let mut depth = 0i32;
                let mut quote = None;
                while let Some(c) = self.peek() {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, '\'' | '"') if depth > 0 => quote = Some(c),
                        (None, '[' | '(') => depth += 1,
                        (None, ']') => depth -= 1,
                        (None, ')') if depth > 0 => depth -= 1,
                        (None, ',' | ')') if depth == 0 => break,
                        (None, c) if c.is_whitespace() && depth == 0 => break,
                        _ => {}
                    }
                    self.bump();
                }
                let text = &self.text[start..self.pos];
                let path = Path::parse(text).map_err(|e| IntrinsicError {
                    message: format!("invalid path '{text}': {}", e.message),
                    offset: start + e.offset,
                })?;
                Ok(Arg::Path(path))
            }
            Some('S') => self.call().map(Arg::Call),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                {
                    self.bump();
                }
                let text = &self.text[start..self.pos];
                match serde_json::from_str::<serde_json::Number>(text) {
                    Ok(n) => Ok(Arg::Literal(Value::Number(n))),
                    Err(_) => self.err(format!("'{text}' is not a number")),
                }
            }
            _ => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.text[self.pos..].starts_with(word) {
                        self.pos += word.len();
                        return Ok(Arg::Literal(value));
                    }
                }
                self.err("expected a string, number, boolean, null, path or intrinsic function")
            }
        }
    }

    /// A single-quoted string literal. With `keep_escapes` (a States.Format template), `\{`,
    /// `\}` and `\\` stay escaped; otherwise every escape is resolved.
    fn string(&mut self, keep_escapes: bool) -> Result<String, IntrinsicError> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return self.err("unterminated string literal"),
                Some('\\') => match self.bump() {
                    Some(c @ ('\'' | '{' | '}' | '\\')) => {
                        if keep_escapes && c != '\'' {
                            out.push('\\');
                        }
                        out.push(c)
                    }
                    Some(c) => return self.err(format!("illegal escape sequence '\\{c}'")),
                    None => return self.err("unterminated escape"),
                },
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_calls() {
        let c =
            Call::parse("States.Format('a {} b', States.ArrayLength($.x), 1.5, $$.Execution.Id)")
                .unwrap();
        assert_eq!(c.function, Function::Format);
        assert_eq!(c.args.len(), 4);
        assert!(matches!(c.args[1], Arg::Call(_)));
    }

    #[test]
    fn rejects_bad_calls() {
        for bad in [
            "States.Nope()",
            "States.Format('a'",
            "States.Format('a') x",
            "States.Format('\\q')",
            "States.Format(foo)",
            "States.MathAdd(1,'-1')",
            "States.MathAdd(1)",
            "States.UUID(1)",
            "States.ArrayGetItem($.a, 'x')",
        ] {
            assert!(Call::parse(bad).is_err(), "{bad}");
        }
    }
}
