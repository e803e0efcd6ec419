//! Cheap syntax checks of JSONata expressions (`{% expr %}`) at load time.
//!
//! This is not a JSONata parser: it tokenises the expression and catches the mistakes that
//! need no grammar (unbalanced brackets, unterminated strings, two operands or two infix
//! operators in a row, an expression ending in an operator, JSONPath's `@`). Anything it does
//! not understand it lets through; the evaluator reports the rest at run time.

/// Checks a whole string that is meant to be a JSONata expression: `{% expr %}`, with a
/// space on each side of a non-empty expression and no more whitespace after the opening `{% `
/// (the rule asl-validator applies; more spaces before the closing ` %}` are accepted).
pub fn check_string(s: &str) -> Result<(), String> {
    let inner = s
        .strip_prefix("{%")
        .and_then(|x| x.strip_suffix("%}"))
        .ok_or_else(|| {
            "JSONata expressions must be surrounded like so: '{% <JSONata expression> %}'"
                .to_string()
        })?;
    let expr = inner
        .strip_prefix(' ')
        .and_then(|x| x.strip_suffix(' '))
        .filter(|x| !x.is_empty() && !x.starts_with(char::is_whitespace))
        .ok_or_else(|| {
            "JSONata expressions must be written as '{% <JSONata expression> %}', with one space after '{%' and before '%}'"
                .to_string()
        })?;
    check_expression(expr)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Want {
    /// An operand must come next (start, after an infix operator or an opening bracket).
    Operand,
    /// An operator, a closing bracket or the end must come next.
    Operator,
    /// Not sure (after `|` or `;`): check nothing about the next token.
    Either,
}

/// Infix-only operators: they cannot start an operand.
const INFIX: &[&str] = &[
    "~>", ":=", "!=", "<=", ">=", "..", "??", "?:", "+", "/", "&", "=", ".", ",", "?", ":", "#",
    "@", "^",
];

fn err(msg: impl Into<String>) -> Result<(), String> {
    Err(format!(
        "The JSONata expression is not valid: {}",
        msg.into()
    ))
}

/// Checks the expression between the delimiters.
pub fn check_expression(expr: &str) -> Result<(), String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    let mut want = Want::Operand;
    let mut stack: Vec<char> = Vec::new();
    // The previous token was `@` or `#`, which a variable must follow.
    let mut binding = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        // Comments.
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut j = i + 2;
            while j + 1 < chars.len() && !(chars[j] == '*' && chars[j + 1] == '/') {
                j += 1;
            }
            if j + 1 >= chars.len() {
                return err("unterminated comment");
            }
            i = j + 2;
            continue;
        }
        let after_binding = std::mem::take(&mut binding);
        let operand = |want: Want| -> Result<Want, String> {
            if want == Want::Operator {
                return Err("The JSONata expression is not valid: two operands in a row".into());
            }
            Ok(Want::Operator)
        };
        match c {
            '"' | '\'' | '`' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != c {
                    if chars[j] == '\\' && c != '`' {
                        j += 1;
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return err("unterminated string");
                }
                want = operand(want)?;
                i = j + 1;
            }
            '/' if want == Want::Operand => {
                // A regular expression literal.
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '/' {
                    if chars[j] == '\\' {
                        j += 1;
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return err("unterminated regular expression");
                }
                j += 1;
                while j < chars.len() && chars[j].is_ascii_alphabetic() {
                    j += 1;
                }
                want = Want::Operator;
                i = j;
            }
            '(' | '[' | '{' => {
                stack.push(c);
                want = Want::Operand;
                i += 1;
                if let Some(close) = chars[i..].iter().find(|c| !c.is_whitespace()) {
                    if matches!((c, close), ('(', ')') | ('[', ']') | ('{', '}')) {
                        want = Want::Either;
                    }
                }
            }
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return err(format!("unexpected '{c}'"));
                }
                if want == Want::Operand {
                    return err(format!("expected an operand before '{c}'"));
                }
                want = Want::Operator;
                i += 1;
            }
            '|' | ';' => {
                want = Want::Either;
                i += 1;
            }
            c if c.is_ascii_digit() => {
                let mut j = i;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
                if chars.get(j) == Some(&'.') && chars.get(j + 1).is_some_and(char::is_ascii_digit)
                {
                    j += 1;
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                }
                if matches!(chars.get(j), Some('e' | 'E')) {
                    let mut k = j + 1;
                    if matches!(chars.get(k), Some('+' | '-')) {
                        k += 1;
                    }
                    if chars.get(k).is_some_and(char::is_ascii_digit) {
                        j = k;
                        while j < chars.len() && chars[j].is_ascii_digit() {
                            j += 1;
                        }
                    }
                }
                want = operand(want)?;
                i = j;
            }
            c if c == '$' || c == '_' || c.is_alphabetic() => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j] == '_' || chars[j].is_alphanumeric()) {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                if want == Want::Operator && matches!(word.as_str(), "and" | "or" | "in") {
                    want = Want::Operand;
                } else {
                    want = operand(want)?;
                }
                if after_binding && !word.starts_with('$') {
                    return err("'@' and '#' must be followed by a variable");
                }
                i = j;
            }
            _ => {
                // Operators: longest match first.
                let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
                let two = ["~>", ":=", "!=", "<=", ">=", "..", "??", "?:", "**"]
                    .into_iter()
                    .find(|op| rest.starts_with(op));
                let op: String = match two {
                    Some(op) => op.to_string(),
                    None => c.to_string(),
                };
                let len = op.chars().count();
                let op = op.as_str();
                match op {
                    "*" | "**" | "%" if want != Want::Operator => {
                        // Wildcard, descendant wildcard, parent: operands.
                        want = Want::Operator;
                    }
                    "-" if want != Want::Operator => {
                        // Unary minus.
                        want = Want::Operand;
                    }
                    "<" | ">" if want != Want::Operator => {
                        // Sort direction in an order-by: `^(<price)`.
                        want = Want::Operand;
                    }
                    "*" | "**" | "%" | "-" | "<" | ">" => want = Want::Operand,
                    op if INFIX.contains(&op) => {
                        if want == Want::Operand {
                            return err(format!("unexpected '{op}'"));
                        }
                        want = Want::Operand;
                    }
                    "!" => return err("unexpected '!'"),
                    _ => {
                        // Unknown character (λ and the like): stop checking order.
                        want = Want::Either;
                    }
                }
                binding = matches!(op, "@" | "#");
                i += len;
            }
        }
    }
    if let Some(open) = stack.last() {
        return err(format!("'{open}' is not closed"));
    }
    if want == Want::Operand {
        return err("the expression ends with an operator");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ] {
            assert_eq!(check_string(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_broken_expressions() {
        for bad in [
            "{% 10 %",
            "10 %}",
            "{%10%}",
            "{% \n10         %}",
            "{%  %}",
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
