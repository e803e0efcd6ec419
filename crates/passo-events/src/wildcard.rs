//! `wildcard` patterns: `*` stands for any run of characters (none included).
//!
//! EventBridge's escaping rules: `\*` is a literal asterisk, `\\` a literal
//! backslash, a backslash before anything else is an error, and two `*` in a row
//! are refused (they would mean nothing more than one).

/// A compiled wildcard: the literal pieces between the stars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wildcard {
    /// Literal text between stars; `pieces.len() - 1` stars separate them, so
    /// `"a*b"` is `["a", "b"]`, `"*"` is `["", ""]` and `"abc"` is `["abc"]`.
    pieces: Vec<String>,
}

impl Wildcard {
    pub(crate) fn compile(text: &str) -> Result<Wildcard, String> {
        let mut pieces = vec![String::new()];
        let mut chars = text.chars().enumerate().peekable();
        let mut previous_star = false;
        while let Some((pos, c)) = chars.next() {
            match c {
                '*' => {
                    if previous_star {
                        return Err(format!("Consecutive wildcard characters at pos {pos}"));
                    }
                    previous_star = true;
                    pieces.push(String::new());
                    continue;
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('*' | '\\'))) => last(&mut pieces).push(escaped),
                    _ => return Err(format!("Invalid escape character at pos {pos}")),
                },
                other => last(&mut pieces).push(other),
            }
            previous_star = false;
        }
        Ok(Wildcard { pieces })
    }

    pub(crate) fn is_match(&self, text: &str) -> bool {
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return text.is_empty(),
        };
        let Some((final_piece, middle)) = rest.split_last() else {
            return text == first;
        };
        let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        // Taking each middle piece at its earliest position leaves the most room
        // for the rest: with `*` as the only metacharacter that is never wrong.
        for piece in middle {
            match remaining.find(piece.as_str()) {
                Some(at) => remaining = &remaining[at + piece.len()..],
                None => return false,
            }
        }
        remaining.len() >= final_piece.len() && remaining.ends_with(final_piece.as_str())
    }
}

fn last(pieces: &mut [String]) -> &mut String {
    pieces.last_mut().expect("compile starts with one piece")
}

#[cfg(test)]
mod tests {
    use super::Wildcard;

    fn m(pattern: &str, text: &str) -> bool {
        Wildcard::compile(pattern).unwrap().is_match(text)
    }

    #[test]
    fn stars_match_any_run() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("a*", "a"));
        assert!(m("*/lib/*", "/usr/lib/x"));
        assert!(!m("*/lib/*", "/usr/lib"));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "acb"));
        assert!(!m("ab*ba", "aba"));
        assert!(m("ab*ba", "abba"));
        assert!(m("abc", "abc") && !m("abc", "abcd"));
    }

    #[test]
    fn escapes() {
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "axb"));
        assert!(m(r"a\\b", r"a\b"));
        assert!(m(r"\\*", r"\anything"));
        assert!(Wildcard::compile(r"a\b").is_err());
        assert!(Wildcard::compile("a\\").is_err());
        assert!(Wildcard::compile("a**b").is_err());
        assert!(Wildcard::compile(r"a*\**b").is_ok());
    }
}
