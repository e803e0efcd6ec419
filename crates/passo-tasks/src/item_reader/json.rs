//! `InputType: JSON`: the elements of the file's top-level array (or of the array that
//! `ItemsPointer` names), read one element at a time.
//!
//! serde_json can only parse whole values, so a small scanner walks the structure around the
//! elements: it finds where each element starts and ends (tracking strings, escapes and
//! nesting), hands those bytes to serde_json, and skips the values an `ItemsPointer` passes
//! over without keeping them. Memory holds one element. A file whose target is not an array
//! fails with AWS's recorded cause, "Attempting to map over non-iterable node."

use super::ReaderError;
use serde_json::Value;
use std::io::BufRead;

/// The items of a JSON body.
pub fn items<R: BufRead + Send + 'static>(
    body: R,
    pointer: Option<&str>,
) -> Result<impl Iterator<Item = Result<Value, ReaderError>> + Send, ReaderError> {
    let mut s = Scanner { r: body, offset: 0 };
    if let Some(p) = pointer.filter(|p| !p.is_empty()) {
        s.descend(p)?;
    }
    s.skip_ws()?;
    if s.peek()? != Some(b'[') {
        return Err(ReaderError::NotIterable);
    }
    s.bump();
    let mut first = true;
    let mut done = false;
    Ok(std::iter::from_fn(move || {
        if done {
            return None;
        }
        let next = s.next_element(&mut first);
        if !matches!(next, Ok(Some(_))) {
            done = true;
        }
        next.transpose()
    }))
}

struct Scanner<R> {
    r: R,
    /// Bytes consumed so far, for error messages.
    offset: u64,
}

impl<R: BufRead> Scanner<R> {
    fn peek(&mut self) -> Result<Option<u8>, ReaderError> {
        Ok(self.r.fill_buf()?.first().copied())
    }

    fn bump(&mut self) {
        self.r.consume(1);
        self.offset += 1;
    }

    fn skip_ws(&mut self) -> Result<(), ReaderError> {
        while let Some(b) = self.peek()? {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                break;
            }
            self.bump();
        }
        Ok(())
    }

    fn malformed(&self, what: &str) -> ReaderError {
        ReaderError::Malformed(format!(
            "The JSON file is not valid JSON: {what} at byte {}",
            self.offset
        ))
    }

    fn expect(&mut self, b: u8) -> Result<(), ReaderError> {
        self.skip_ws()?;
        if self.peek()? == Some(b) {
            self.bump();
            Ok(())
        } else {
            Err(self.malformed(&format!("expected '{}'", b as char)))
        }
    }

    /// The next element of the array being read (`[` already consumed), or `None` after `]`.
    fn next_element(&mut self, first: &mut bool) -> Result<Option<Value>, ReaderError> {
        self.skip_ws()?;
        match self.peek()? {
            Some(b']') => {
                self.bump();
                return Ok(None);
            }
            None => return Err(self.malformed("unexpected end of file inside the array")),
            Some(b',') if !*first => {
                self.bump();
            }
            Some(_) if *first => {}
            Some(_) => return Err(self.malformed("expected ',' or ']'")),
        }
        *first = false;
        let mut buf = Vec::new();
        self.value(Some(&mut buf))?;
        serde_json::from_slice(&buf)
            .map(Some)
            .map_err(|e| self.malformed(&e.to_string()))
    }

    /// Consumes one value, copying its bytes into `keep` if given.
    fn value(&mut self, mut keep: Option<&mut Vec<u8>>) -> Result<(), ReaderError> {
        self.skip_ws()?;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let Some(b) = self.peek()? else {
                if depth == 0 && !in_string {
                    return Ok(());
                }
                return Err(self.malformed("unexpected end of file"));
            };
            // A scalar ends before a structural byte or whitespace; a string or container
            // ends right after its closing byte (below). No value starts with one of these,
            // so a stray one leaves nothing kept and serde_json reports it.
            if depth == 0
                && !in_string
                && matches!(b, b',' | b']' | b'}' | b':' | b' ' | b'\t' | b'\n' | b'\r')
            {
                return Ok(());
            }
            self.bump();
            if let Some(k) = keep.as_deref_mut() {
                k.push(b);
            }
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => {
                        in_string = false;
                        if depth == 0 {
                            return Ok(());
                        }
                    }
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| self.malformed("unbalanced brackets"))?;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
    }

    /// Moves to the value that the JSON Pointer `pointer` names.
    fn descend(&mut self, pointer: &str) -> Result<(), ReaderError> {
        let not_found = || ReaderError::PointerNotFound(pointer.to_owned());
        let Some(rest) = pointer.strip_prefix('/') else {
            return Err(ReaderError::InvalidConfig(format!(
                "ReaderConfig.ItemsPointer must be a JSON Pointer starting with '/', got '{pointer}'"
            )));
        };
        for raw in rest.split('/') {
            let token = raw.replace("~1", "/").replace("~0", "~");
            self.skip_ws()?;
            match self.peek()? {
                Some(b'{') => {
                    self.bump();
                    loop {
                        self.skip_ws()?;
                        if self.peek()? != Some(b'"') {
                            return Err(not_found());
                        }
                        let mut key = Vec::new();
                        self.value(Some(&mut key))?;
                        let key: String = serde_json::from_slice(&key)
                            .map_err(|e| self.malformed(&e.to_string()))?;
                        self.expect(b':')?;
                        if key == token {
                            break;
                        }
                        self.value(None)?;
                        self.skip_ws()?;
                        if self.peek()? == Some(b',') {
                            self.bump();
                        } else {
                            return Err(not_found());
                        }
                    }
                }
                Some(b'[') => {
                    self.bump();
                    let index: usize = token.parse().map_err(|_| not_found())?;
                    for _ in 0..index {
                        self.skip_ws()?;
                        if self.peek()? == Some(b']') {
                            return Err(not_found());
                        }
                        self.value(None)?;
                        self.skip_ws()?;
                        if self.peek()? == Some(b',') {
                            self.bump();
                        } else {
                            return Err(not_found());
                        }
                    }
                    self.skip_ws()?;
                    if self.peek()? == Some(b']') {
                        return Err(not_found());
                    }
                }
                _ => return Err(not_found()),
            }
        }
        Ok(())
    }
}
