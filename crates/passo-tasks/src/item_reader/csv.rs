//! `InputType: CSV`: one item per record, an object of strings keyed by the headers.
//!
//! AWS's rules, as documented and recorded (`test_map_item_reader_*csv*` cases):
//! - every value is a string; a record with fewer fields than headers gets `""` for the
//!   missing ones, a record with more has the extra fields dropped;
//! - headers come from the first record (`FIRST_ROW`) or the definition (`GIVEN`); duplicate
//!   headers fail the reader ("CSV headers cannot contain duplicates."), an empty header is a
//!   name like any other;
//! - double quotes enclose fields holding delimiters or newlines, `""` is a quote;
//! - blank lines are no records (the `csv` crate skips them); a line of spaces is one field.
//!
//! Key order: AWS builds each item as a Java `HashMap`, so its keys come out in that map's
//! iteration order, not the header order. The recorded cases (`{"0","{}","True"}` from headers
//! `0,True,{}`; `{"","H1"}` from `H1,`) and the documentation's example (`rating, movieId,
//! userId, timestamp` from `userId,movieId,rating,timestamp`) all follow it, so
//! [`java_hashmap_order`] reproduces it.

use super::{CsvHeaders, ReaderError};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::io::Read;

/// The items of a CSV body.
pub fn items<R: Read + Send + 'static>(
    body: R,
    headers: &CsvHeaders,
    delimiter: u8,
) -> Result<impl Iterator<Item = Result<Value, ReaderError>> + Send, ReaderError> {
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body);
    let names: Vec<String> = match headers {
        CsvHeaders::Given(h) => h.clone(),
        CsvHeaders::FirstRow => {
            let mut first = ::csv::StringRecord::new();
            if !rdr.read_record(&mut first).map_err(csv_error)? {
                // An empty file has no header row and so no items.
                Vec::new()
            } else {
                first.iter().map(str::to_owned).collect()
            }
        }
    };
    let mut seen = HashSet::new();
    if !names.iter().all(|n| seen.insert(n.as_str())) {
        return Err(ReaderError::DuplicateHeaders);
    }
    let order = java_hashmap_order(&names);
    let mut record = ::csv::StringRecord::new();
    let mut failed = false;
    Ok(std::iter::from_fn(move || {
        if failed {
            return None;
        }
        match rdr.read_record(&mut record) {
            Ok(false) => None,
            Ok(true) => {
                let mut item = Map::with_capacity(names.len());
                for &i in &order {
                    let v = record.get(i).unwrap_or("");
                    item.insert(names[i].clone(), Value::String(v.to_owned()));
                }
                Some(Ok(Value::Object(item)))
            }
            Err(e) => {
                failed = true;
                Some(Err(csv_error(e)))
            }
        }
    }))
}

fn csv_error(e: ::csv::Error) -> ReaderError {
    let at = e
        .position()
        .map(|p| format!(" at line {}", p.line()))
        .unwrap_or_default();
    match e.into_kind() {
        ::csv::ErrorKind::Io(io) => ReaderError::Io(io.to_string()),
        ::csv::ErrorKind::Utf8 { err, .. } => {
            ReaderError::Malformed(format!("The CSV file is not valid UTF-8{at}: {err}"))
        }
        other => ReaderError::Malformed(format!("The CSV file could not be read{at}: {other:?}")),
    }
}

/// Java's `String.hashCode` (over UTF-16 code units), spread as `HashMap.hash` spreads it.
fn java_hash(s: &str) -> u32 {
    let h = s
        .encode_utf16()
        .fold(0u32, |h, u| h.wrapping_mul(31).wrapping_add(u32::from(u)));
    h ^ (h >> 16)
}

/// The order a `java.util.HashMap` built with `new HashMap<>()` and filled with `names` in
/// turn iterates its keys: by bucket of the final table (16 buckets, doubled whenever more
/// than 3/4 full), and by insertion within a bucket (a resize keeps that relative order).
pub fn java_hashmap_order(names: &[String]) -> Vec<usize> {
    let mut cap: usize = 16;
    while names.len() * 4 > cap * 3 {
        cap *= 2;
    }
    let mut order: Vec<usize> = (0..names.len()).collect();
    // A stable sort keeps insertion order inside a bucket.
    order.sort_by_key(|&i| java_hash(&names[i]) as usize & (cap - 1));
    order
}
