//! Filters that compare with an unquoted word (`$[?(@.lang==es)]`): AWS accepts them in a
//! definition, Jayway (the JSONPath library AWS evaluates paths with) cannot compile them.
//!
//! What Jayway does, read in `json-path/JsonPath`,
//! `json-path/src/main/java/com/jayway/jsonpath/internal/filter/FilterCompiler.java` (2.x):
//! `readValueNode` sends anything that does not start with `@` or `$` to `readLiteral`, which
//! knows quotes, `t`/`f` (true, false), `n` (null), `-`, `{`, `[` and `/`; every other first
//! character goes to `readNumberLiteral`. That one reads the characters `isNumberCharacter`
//! allows (digits, `-`, `.`; `CharacterIndex.java`), so for `es` it reads nothing and
//! `ValueNode.createNumberNode("")` runs `new BigDecimal("")` (`ValueNodes.java`), which throws
//! a NumberFormatException. `FilterCompiler.compile` turns that into
//! `InvalidPathException("Failed to parse filter: <filter>, error on position: <n>, char: <c>")`.
//! The word is never read as a string (only the pre-2.0 `ArrayEvalFilter` did that).
//!
//! So the path is valid for CreateStateMachine (the published definitions in
//! `shared/conformance/wild` prove AWS accepts it) and fails whenever it is evaluated.

/// Jayway's compile error for a filter (`[?(...)]`) whose only fault is a comparison with an
/// unquoted word; `None` when quoting those words does not make it a valid filter either.
pub(crate) fn jayway_refusal(filter: &str) -> Option<String> {
    let (quoted, first) = quote_bare_words(filter)?;
    serde_json_path::JsonPath::parse(&format!("${quoted}")).ok()?;
    let position = filter[..first].chars().count();
    let c = filter[first..].chars().next().unwrap_or(' ');
    Some(format!(
        "Failed to parse filter: {filter}, error on position: {position}, char: {c}"
    ))
}

/// The filter with every word that follows a comparison operator quoted, and the byte offset
/// of the first such word; `None` when there is none.
fn quote_bare_words(filter: &str) -> Option<(String, usize)> {
    let mut out = String::with_capacity(filter.len() + 8);
    let mut first = None;
    let mut quote: Option<char> = None;
    let mut after_operator = false;
    let mut chars = filter.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' {
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if matches!(c, '=' | '<' | '>') {
            after_operator = true;
            out.push(c);
            continue;
        }
        if after_operator && c == ' ' {
            out.push(c);
            continue;
        }
        if after_operator && (c.is_alphabetic() || c == '_') {
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = chars.peek() {
                if !(n.is_alphanumeric() || n == '_' || n == '-') {
                    break;
                }
                end = j + n.len_utf8();
                chars.next();
            }
            let word = &filter[i..end];
            if matches!(word, "true" | "false" | "null") {
                out.push_str(word);
            } else {
                first.get_or_insert(i);
                out.push('\'');
                out.push_str(word);
                out.push('\'');
            }
            after_operator = false;
            continue;
        }
        after_operator = false;
        if matches!(c, '\'' | '"') {
            quote = Some(c);
        }
        out.push(c);
    }
    first.map(|f| (out, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_after_a_comparison_is_refused_as_jayway_refuses_it() {
        assert_eq!(
            jayway_refusal("[?(@.lang==es)]").as_deref(),
            Some("Failed to parse filter: [?(@.lang==es)], error on position: 11, char: e")
        );
        assert_eq!(
            jayway_refusal("[?(@.Type.Text == AMOUNT_PAID && @.n > 1)]").as_deref(),
            Some("Failed to parse filter: [?(@.Type.Text == AMOUNT_PAID && @.n > 1)], error on position: 18, char: A")
        );
    }

    #[test]
    fn other_broken_filters_are_not_excused() {
        // Nothing unquoted: the filter is broken for another reason.
        assert_eq!(jayway_refusal("[?(@.a == 'x' &&)]"), None);
        // A word, but the rest is broken too.
        assert_eq!(jayway_refusal("[?(@.a == x &&)]"), None);
        // Keywords and quoted text are left alone.
        assert_eq!(quote_bare_words("[?(@.a == true)]"), None);
        assert_eq!(quote_bare_words("[?(@.a == 'x==y')]"), None);
    }
}
