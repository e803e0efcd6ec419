//! ASL paths: the JSONPath subset AWS Step Functions accepts in `InputPath`, `OutputPath`,
//! `ResultPath`, `ItemsPath`, `Variable`, `*Path` fields and `.$` template values.
//!
//! A path is parsed once, when the definition is loaded. Three roots exist: `$` (the state's
//! input), `$$` (the context object) and `$name` (a variable). A path made only of field names
//! and indices is *definite* (a "reference path"): it names at most one value, it can be
//! written to (`ResultPath`), and a missing value is an error. Any wildcard, slice, union,
//! descendant or filter makes it indefinite: it then yields a list (possibly empty), as Jayway
//! JSONPath (which AWS uses) does.

use std::fmt;

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the effective input of the state (or the value a field is evaluated against).
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `.name` or `['name']`.
    Field(String),
    /// `[n]`; negative counts from the end.
    Index(i64),
    /// `.*` or `[*]`.
    Wildcard,
    /// `[start:end:step]`.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
    },
    /// `['a','b']` or `[0,2]`.
    Union(Vec<Selector>),
    /// `..` followed by what it selects (a field, wildcard or bracket).
    Descendant(Box<Segment>),
    /// `[?(...)]`: a filter, evaluated by `serde_json_path` against each node.
    Filter(FilterQuery),
    /// `.length()`: Jayway's length function on an array or string.
    Length,
}

/// A member of a union.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    Field(String),
    Index(i64),
}

/// A compiled filter, kept with its source text.
#[derive(Clone)]
pub struct FilterQuery {
    pub text: String,
    /// The filter compiled, or Jayway's words for why it cannot be compiled although AWS
    /// accepts the definition (see `filter_words.rs`): evaluating the path then fails.
    pub query: Result<serde_json_path::JsonPath, String>,
}

impl fmt::Debug for FilterQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Filter({})", self.text)
    }
}

impl PartialEq for FilterQuery {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// A parsed ASL path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub root: Root,
    pub segments: Vec<Segment>,
    /// The path as written in the definition (used verbatim in AWS's error messages).
    pub text: String,
}

/// Why a path could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at offset {offset})")]
pub struct PathError {
    pub message: String,
    pub offset: usize,
}

impl Path {
    /// Parses any path (`$`, `$$` or `$var` rooted). Whitespace around the path is ignored, as
    /// Jayway's `PathCompiler.compile` trims it (`$$.Execution.Name ` is `$$.Execution.Name`);
    /// `text` keeps the path as written.
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let trimmed = text.trim_start();
        let lead = text.len() - trimmed.len();
        let mut path = Parser::new(trimmed.trim_end())
            .parse()
            .map_err(|e| PathError {
                offset: e.offset + lead,
                ..e
            })?;
        path.text = text.to_string();
        Ok(path)
    }

    /// Jayway's message when the path parses for validation but Jayway cannot compile it, so
    /// that every evaluation fails (a filter comparing with an unquoted word).
    pub fn uncompilable(&self) -> Option<&str> {
        fn of(s: &Segment) -> Option<&str> {
            match s {
                Segment::Filter(f) => f.query.as_ref().err().map(String::as_str),
                Segment::Descendant(inner) => of(inner),
                _ => None,
            }
        }
        self.segments.iter().find_map(of)
    }

    /// True when the path can only name one value (only fields and indices).
    pub fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Field(_) | Segment::Index(_) | Segment::Length))
    }

    /// True for `$` alone.
    pub fn is_root(&self) -> bool {
        self.root == Root::Input && self.segments.is_empty()
    }

    /// The Jayway-normalised form AWS prints in some messages: `$['a']['b'][0]`.
    pub fn normalized(&self) -> String {
        let mut out = match &self.root {
            Root::Input => "$".to_string(),
            Root::Context => "$$".to_string(),
            Root::Variable(v) => format!("${v}"),
        };
        for s in &self.segments {
            match s {
                Segment::Field(f) => out.push_str(&format!("['{f}']")),
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
                Segment::Wildcard => out.push_str("[*]"),
                other => out.push_str(&format!("{other:?}")),
            }
        }
        out
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Characters that end a dot-notation name.
fn ends_name(c: char) -> bool {
    matches!(
        c,
        '.' | '[' | ']' | '(' | ')' | ',' | ' ' | '\t' | '\n' | '\r' | '\'' | '"'
    )
}

/// Deepest nesting of brackets and parentheses accepted in a filter (`[?(...)]`). Parsing a
/// filter recurses per level, and nested filters (`[?(@[?(...)])]`) take time exponential in
/// their depth, so the limit is low; real filters rarely go past three or four levels.
const MAX_FILTER_NESTING: usize = 16;

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser { text, pos: 0 }
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, PathError> {
        Err(PathError {
            message: message.into(),
            offset: self.pos,
        })
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn parse(mut self) -> Result<Path, PathError> {
        if !self.eat('$') {
            return self.err("a path must start with '$'");
        }
        let root = if self.eat('$') {
            Root::Context
        } else if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            let start = self.pos;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                self.bump();
            }
            Root::Variable(self.text[start..self.pos].to_string())
        } else {
            Root::Input
        };
        let mut segments = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                '.' => {
                    self.bump();
                    if self.eat('.') {
                        let inner = match self.peek() {
                            Some('[') => self.bracket()?,
                            Some('*') => {
                                self.bump();
                                Segment::Wildcard
                            }
                            _ => Segment::Field(self.name()?),
                        };
                        segments.push(Segment::Descendant(Box::new(inner)));
                    } else if self.eat('*') {
                        segments.push(Segment::Wildcard);
                    } else if self.peek() == Some('[') {
                        // Jayway's `readDotToken` reads the token after a single dot whatever
                        // it is, so `$.[0]` is `$[0]` and `$.a.['b']` is `$.a['b']`.
                        segments.push(self.bracket()?);
                    } else if self.rest().starts_with("length()") {
                        self.pos += "length()".len();
                        segments.push(Segment::Length);
                    } else {
                        segments.push(Segment::Field(self.name()?));
                    }
                }
                '[' => segments.push(self.bracket()?),
                _ => return self.err(format!("unexpected character '{c}'")),
            }
        }
        Ok(Path {
            root,
            segments,
            text: self.text.to_string(),
        })
    }

    fn name(&mut self) -> Result<String, PathError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| !ends_name(c)) {
            self.bump();
        }
        if start == self.pos {
            return self.err("expected a field name");
        }
        Ok(self.text[start..self.pos].to_string())
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn bracket(&mut self) -> Result<Segment, PathError> {
        let open = self.pos;
        self.bump(); // '['
        self.skip_ws();
        match self.peek() {
            Some('?') => self.filter(open),
            Some('*') => {
                self.bump();
                self.skip_ws();
                self.close()?;
                Ok(Segment::Wildcard)
            }
            Some('\'') | Some('"') => {
                let mut names = vec![self.quoted()?];
                self.skip_ws();
                while self.eat(',') {
                    self.skip_ws();
                    names.push(self.quoted()?);
                    self.skip_ws();
                }
                self.close()?;
                if names.len() == 1 {
                    Ok(Segment::Field(names.pop().unwrap_or_default()))
                } else {
                    Ok(Segment::Union(
                        names.into_iter().map(Selector::Field).collect(),
                    ))
                }
            }
            _ => self.numeric_bracket(),
        }
    }

    fn close(&mut self) -> Result<(), PathError> {
        self.skip_ws();
        if self.eat(']') {
            Ok(())
        } else {
            self.err("expected ']'")
        }
    }

    fn quoted(&mut self) -> Result<String, PathError> {
        let quote = self.bump().unwrap_or('\'');
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return self.err("unterminated quoted name"),
                Some('\\') => match self.bump() {
                    Some(c) => out.push(c),
                    None => return self.err("unterminated escape"),
                },
                Some(c) if c == quote => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn int(&mut self) -> Result<Option<i64>, PathError> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some('-') {
            self.bump();
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        let s = &self.text[start..self.pos];
        if s.is_empty() {
            return Ok(None);
        }
        self.skip_ws();
        s.parse::<i64>()
            .map(Some)
            .or_else(|_| self.err(format!("'{s}' is not an integer")))
    }

    fn numeric_bracket(&mut self) -> Result<Segment, PathError> {
        let first = self.int()?;
        if self.peek() == Some(':') {
            self.bump();
            let end = self.int()?;
            let step = if self.eat(':') { self.int()? } else { None };
            self.close()?;
            if step == Some(0) {
                return self.err("slice step cannot be 0");
            }
            return Ok(Segment::Slice {
                start: first,
                end,
                step,
            });
        }
        let Some(first) = first else {
            return self.err("expected an index, a quoted name, '*' or a filter");
        };
        if self.peek() == Some(',') {
            let mut items = vec![Selector::Index(first)];
            while self.eat(',') {
                match self.int()? {
                    Some(i) => items.push(Selector::Index(i)),
                    None => return self.err("expected an index"),
                }
            }
            self.close()?;
            return Ok(Segment::Union(items));
        }
        self.close()?;
        Ok(Segment::Index(first))
    }

    fn filter(&mut self, open: usize) -> Result<Segment, PathError> {
        // Find the matching ']' while respecting quotes and nesting.
        let mut depth = 1usize;
        // Open parentheses: serde_json_path's parser recurses on them (and on brackets), so
        // deep nesting must be refused here, before it overflows the stack.
        let mut parens = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.bump() {
            match (quote, c) {
                (Some(q), '\\') => {
                    let _ = q;
                    self.bump();
                }
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '(') => parens += 1,
                (None, ')') => parens = parens.saturating_sub(1),
                (None, '[') => depth += 1,
                (None, ']') => {
                    depth -= 1;
                    if depth == 0 {
                        let text = self.text[open..self.pos].to_string();
                        let query = match serde_json_path::JsonPath::parse(&format!("${text}")) {
                            Ok(q) => Ok(q),
                            Err(e) => match crate::filter_words::jayway_refusal(&text) {
                                Some(refusal) => Err(refusal),
                                None => return self.err(format!("invalid filter {text}: {e}")),
                            },
                        };
                        return Ok(Segment::Filter(FilterQuery { text, query }));
                    }
                }
                _ => {}
            }
            if depth + parens > MAX_FILTER_NESTING {
                return self.err(format!(
                    "the filter is nested too deeply (more than {MAX_FILTER_NESTING} levels of brackets and parentheses)"
                ));
            }
        }
        self.err("unterminated filter")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_roots() {
        assert_eq!(Path::parse("$").unwrap().root, Root::Input);
        assert_eq!(Path::parse("$$.Execution.Id").unwrap().root, Root::Context);
        assert_eq!(
            Path::parse("$my_var.x").unwrap().root,
            Root::Variable("my_var".into())
        );
    }

    #[test]
    fn parses_segments() {
        let p = Path::parse("$.a['b c'][0].d-e[-1]").unwrap();
        assert_eq!(
            p.segments,
            vec![
                Segment::Field("a".into()),
                Segment::Field("b c".into()),
                Segment::Index(0),
                Segment::Field("d-e".into()),
                Segment::Index(-1)
            ]
        );
        assert!(p.is_definite());
        let p = Path::parse("$.a[*].b").unwrap();
        assert!(!p.is_definite());
        let p = Path::parse("$..b[1:3]").unwrap();
        assert!(!p.is_definite());
        let p = Path::parse("$.a[?(@.x > 1)]").unwrap();
        assert!(matches!(p.segments[1], Segment::Filter(_)));
    }

    #[test]
    fn deeply_nested_filters_are_refused() {
        // Found by fuzzing: serde_json_path recursed until the stack overflowed.
        let deep = format!("$[?({}@.a{})]", "(".repeat(50_000), ")".repeat(50_000));
        let e = Path::parse(&deep).unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{e}");
        let deep = format!("$.a{}", "[?(@".repeat(10_000));
        assert!(Path::parse(&deep).is_err());
        // Up to the limit is fine.
        let n = MAX_FILTER_NESTING - 2;
        let ok = format!("$[?({}@.a > 1{})]", "(".repeat(n), ")".repeat(n));
        assert!(Path::parse(&ok).is_ok(), "{ok}");
        let n = MAX_FILTER_NESTING / 2 - 1;
        let ok = format!("$[?({}@.a{})]", "@[?(".repeat(n), ")]".repeat(n));
        assert!(Path::parse(&ok).is_ok(), "{ok}");
    }

    #[test]
    fn a_dot_before_a_bracket_is_the_bracket() {
        // Jayway reads whatever token follows a single dot (PathCompiler.readDotToken).
        for (dotted, plain) in [
            ("$.[0]", "$[0]"),
            ("$.Snapshots.[0].State", "$.Snapshots[0].State"),
            ("$.[*].['bucket', 'key']", "$[*]['bucket', 'key']"),
            ("$.a.['b']", "$.a['b']"),
            ("$.[1:2]", "$[1:2]"),
            ("$$.Map.[0]", "$$.Map[0]"),
        ] {
            assert_eq!(
                Path::parse(dotted).unwrap().segments,
                Path::parse(plain).unwrap().segments,
                "{dotted}"
            );
        }
        let p = Path::parse("$.[?(@.OU > 0)]").unwrap();
        assert!(matches!(p.segments[0], Segment::Filter(_)));
        // Still refused: a dot that leads nowhere, or two dots then a dot.
        for bad in ["$.[", "$...a", "$.[0]."] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn whitespace_around_a_path_is_ignored() {
        // Jayway's PathCompiler.compile trims the path before reading it.
        let p = Path::parse("$$.Execution.Name ").unwrap();
        assert_eq!(p.root, Root::Context);
        assert_eq!(
            p.segments,
            vec![
                Segment::Field("Execution".into()),
                Segment::Field("Name".into())
            ]
        );
        assert_eq!(p.text, "$$.Execution.Name ");
        assert_eq!(
            Path::parse(" $.a\n").unwrap().segments,
            vec![Segment::Field("a".into())]
        );
        // Inside a path a blank still ends it.
        assert!(Path::parse("$.a b").is_err());
        assert_eq!(Path::parse("  $.a[x]").unwrap_err().offset, 6);
    }

    #[test]
    fn a_filter_with_an_unquoted_word_parses_but_cannot_be_compiled() {
        let p = Path::parse("$[?(@.lang==es)].TranslatedText").unwrap();
        assert_eq!(
            p.uncompilable(),
            Some("Failed to parse filter: [?(@.lang==es)], error on position: 11, char: e")
        );
        let p = Path::parse("$..x[?(@.a == Receipt)]").unwrap();
        assert!(p.uncompilable().is_some());
        assert_eq!(
            Path::parse("$[?(@.lang=='es')]").unwrap().uncompilable(),
            None
        );
        // A word is no excuse for a filter broken otherwise.
        assert!(Path::parse("$[?(@.lang==es &&)]").is_err());
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "a.b",
            "$.",
            "$[",
            "$['a'",
            "$.a[x]",
            "$.a[1:2:0]",
            "$.a b",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad} should not parse");
        }
    }
}
