//! `InputType: JSONL`: one item per line, each line one JSON value.
//!
//! Lines are read one at a time; a line holding only whitespace (a blank line, the last
//! newline, a `\r` of a CRLF file) is no item. A line that is not JSON fails the reader,
//! naming the line.

use super::ReaderError;
use serde_json::Value;
use std::io::BufRead;

/// The items of a JSON Lines body.
pub fn items<R: BufRead + Send + 'static>(
    mut body: R,
) -> impl Iterator<Item = Result<Value, ReaderError>> + Send {
    let mut line = String::new();
    let mut number = 0u64;
    let mut done = false;
    std::iter::from_fn(move || loop {
        if done {
            return None;
        }
        line.clear();
        number += 1;
        match body.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) if line.trim().is_empty() => continue,
            Ok(_) => {
                return Some(serde_json::from_str(&line).map_err(|e| {
                    done = true;
                    ReaderError::Malformed(format!(
                        "The JSONL file is not valid JSON at line {number}: {e}"
                    ))
                }))
            }
            Err(e) => {
                done = true;
                return Some(Err(e.into()));
            }
        }
    })
}
