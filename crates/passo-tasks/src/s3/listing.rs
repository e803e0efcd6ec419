//! ListObjectsV2's semantics over a plain listing: string prefixes (object_store lists by
//! whole path segments), any delimiter, StartAfter, MaxKeys and continuation tokens.
//!
//! Each common prefix counts once toward MaxKeys, as in S3. A continuation token is the last
//! entry a page returned (a key, or a common prefix whose keys are then all skipped), base64
//! encoded so callers treat it as opaque.

use super::{Error, ObjectInfo};
use base64::Engine;

/// S3's largest page, and its default.
pub const MAX_KEYS: usize = 1000;

#[derive(Debug, Clone)]
pub struct ListRequest {
    pub prefix: String,
    pub delimiter: Option<String>,
    pub max_keys: usize,
    pub start_after: Option<String>,
    pub continuation_token: Option<String>,
}

impl Default for ListRequest {
    fn default() -> Self {
        ListRequest {
            prefix: String::new(),
            delimiter: None,
            max_keys: MAX_KEYS,
            start_after: None,
            continuation_token: None,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListPage {
    pub contents: Vec<ObjectInfo>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    pub next_continuation_token: Option<String>,
}

enum Resume {
    Key(String),
    Prefix(String),
}

fn encode(r: &Resume) -> String {
    let raw = match r {
        Resume::Key(k) => format!("k{k}"),
        Resume::Prefix(p) => format!("p{p}"),
    };
    base64::engine::general_purpose::STANDARD.encode(raw)
}

fn decode(token: &str) -> Result<Resume, Error> {
    let bad = || Error::InvalidArgument("The continuation token provided is incorrect".into());
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    match raw.split_at_checked(1) {
        Some(("k", k)) => Ok(Resume::Key(k.to_string())),
        Some(("p", p)) => Ok(Resume::Prefix(p.to_string())),
        _ => Err(bad()),
    }
}

impl ListRequest {
    /// The whole path segments of the prefix: what object_store can narrow a listing by.
    pub(crate) fn dir_prefix(&self) -> Option<object_store::path::Path> {
        let dir = &self.prefix[..self.prefix.rfind('/')?];
        super::key_path(dir).ok()
    }

    /// The key listing can start after (keys at or before it are never on this page).
    pub(crate) fn after(&self) -> Option<String> {
        let token = self
            .continuation_token
            .as_deref()
            .and_then(|t| decode(t).ok())
            .map(|r| match r {
                Resume::Key(k) | Resume::Prefix(k) => k,
            });
        match (token, self.start_after.clone()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// This request's page of `all` (the bucket's objects under `dir_prefix`, any order).
    pub(crate) fn page(&self, mut all: Vec<ObjectInfo>) -> Result<ListPage, Error> {
        let resume = match &self.continuation_token {
            Some(t) => Some(decode(t)?),
            None => None,
        };
        all.sort_by(|a, b| a.key.cmp(&b.key));
        let mut page = ListPage::default();
        let mut count = 0usize;
        for o in all {
            if !o.key.starts_with(&self.prefix) {
                continue;
            }
            if self.start_after.as_ref().is_some_and(|s| o.key <= *s) {
                continue;
            }
            match &resume {
                Some(Resume::Key(k)) if o.key <= *k => continue,
                Some(Resume::Prefix(p)) if o.key <= *p || o.key.starts_with(p.as_str()) => continue,
                _ => {}
            }
            let rest = &o.key[self.prefix.len()..];
            let common = self
                .delimiter
                .as_deref()
                .filter(|d| !d.is_empty())
                .and_then(|d| {
                    rest.find(d)
                        .map(|i| format!("{}{}", self.prefix, &rest[..i + d.len()]))
                });
            if let Some(cp) = &common {
                if page.common_prefixes.last() == Some(cp) {
                    continue;
                }
            }
            if count == self.max_keys {
                page.is_truncated = true;
                break;
            }
            count += 1;
            match common {
                Some(cp) => page.common_prefixes.push(cp),
                None => page.contents.push(o),
            }
        }
        if page.is_truncated {
            // The last entry of the page, whichever list it went to.
            let last_key = page.contents.last().map(|o| o.key.clone());
            let last_prefix = page.common_prefixes.last().cloned();
            let resume = match (last_key, last_prefix) {
                (Some(k), Some(p)) if p > k => Resume::Prefix(p),
                (Some(k), _) => Resume::Key(k),
                (None, Some(p)) => Resume::Prefix(p),
                (None, None) => Resume::Key(String::new()),
            };
            page.next_continuation_token = Some(encode(&resume));
        }
        Ok(page)
    }
}
