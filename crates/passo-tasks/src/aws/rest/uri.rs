//! The REST protocols' URIs: an operation's `requestUri` template (`/2015-03-31/functions/
//! {FunctionName}/invocations?Qualifier`) with its labels filled in, and query strings.
//!
//! Labels are percent-encoded as SigV4 expects (everything but `A-Z a-z 0-9 - _ . ~`); a
//! greedy label (`{Key+}`) keeps its `/`s. A template's own query part (`?tagging`,
//! `?list-type=2`) comes first, then the members bound to the query string.

/// `s` percent-encoded for a URI path segment or a query key or value; `/` kept when
/// `keep_slash` (greedy labels).
pub fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Why a URI could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("Parameter '{0}' must not be null or empty: it is part of the request's URI")]
    MissingLabel(String),
}

/// The template's path with each `{Label}` (or greedy `{Label+}`) replaced by `label(name)`,
/// and the template's own query pairs.
pub fn expand(
    template: &str,
    label: impl Fn(&str) -> Option<String>,
) -> Result<(String, Vec<(String, String)>), UriError> {
    let (path, query) = template.split_once('?').unwrap_or((template, ""));
    let mut out = String::with_capacity(path.len() + 32);
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let inner = &rest[start + 1..start + end];
        let (name, greedy) = match inner.strip_suffix('+') {
            Some(n) => (n, true),
            None => (inner, false),
        };
        let value = label(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| UriError::MissingLabel(name.to_string()))?;
        out.push_str(&encode(&value, greedy));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect();
    Ok((out, pairs))
}

/// A query string (without the `?`) of `pairs`, encoded; a key without a value is written
/// bare (`?tagging`).
pub fn query(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode(k, false));
        if !v.is_empty() {
            out.push('=');
            out.push_str(&encode(v, false));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(name: &str) -> Option<String> {
        match name {
            "FunctionName" => Some("my fn:1".into()),
            "Key" => Some("a/b c/d.txt".into()),
            "Bucket" => Some("bkt".into()),
            _ => None,
        }
    }

    #[test]
    fn labels_are_encoded_and_greedy_labels_keep_their_slashes() {
        let (path, q) = expand("/2015-03-31/functions/{FunctionName}/invocations", labels).unwrap();
        assert_eq!(path, "/2015-03-31/functions/my%20fn%3A1/invocations");
        assert!(q.is_empty());
        let (path, q) = expand("/{Bucket}/{Key+}?tagging", labels).unwrap();
        assert_eq!(path, "/bkt/a/b%20c/d.txt");
        assert_eq!(q, vec![("tagging".to_string(), String::new())]);
        let (_, q) = expand("/{Bucket}?list-type=2", labels).unwrap();
        assert_eq!(q, vec![("list-type".to_string(), "2".to_string())]);
        assert_eq!(
            expand("/x/{Missing}", labels).unwrap_err(),
            UriError::MissingLabel("Missing".into())
        );
    }

    #[test]
    fn query_strings_encode_keys_and_values() {
        let pairs = vec![
            ("tagging".to_string(), String::new()),
            ("Marker".to_string(), "a b&c=d/é".to_string()),
        ];
        assert_eq!(query(&pairs), "tagging&Marker=a%20b%26c%3Dd%2F%C3%A9");
    }
}
