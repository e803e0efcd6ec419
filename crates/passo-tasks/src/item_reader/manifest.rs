//! Manifests: an object that names other objects, whose rows are the items.
//!
//! - `S3_INVENTORY` (`InputType: MANIFEST`, the default `ManifestType`): an S3 Inventory
//!   `manifest.json`. Its `files` are gzipped CSV files without a header row in the
//!   `destinationBucket`; `fileSchema` names their columns. Each row is one item, an object
//!   of strings keyed by those names (`{"Bucket": ..., "Key": ..., "Size": ...}`), built as
//!   the CSV reader builds items, so keys come in the same Java HashMap order AWS gives.
//!   Only `fileFormat: CSV` inventories can be read, as on AWS.
//! - `ATHENA_DATA` (with `InputType` CSV, JSONL or PARQUET): an Athena UNLOAD data manifest,
//!   one `s3://bucket/key` URI a line; the rows of those files, read by `InputType`, are the
//!   items.
//!
//! Files are opened one at a time, when the previous one is used up, and a gzipped file
//! (found by its magic bytes, whatever its name) is inflated as it is read.

use super::{csv, jsonl, parquet, CsvHeaders, InputType, ItemReader, ReaderError};
use crate::s3::Body;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};

/// `ReaderConfig.ManifestType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestType {
    S3Inventory,
    AthenaData,
}

/// Opens an object (bucket, key) for reading.
pub type Fetch = Box<dyn FnMut(&str, &str) -> Result<Body, ReaderError> + Send>;

/// Opens an object as a file, for readers that need random access (Parquet).
pub type FetchFile = Box<dyn FnMut(&str, &str) -> Result<std::fs::File, ReaderError> + Send>;

type ItemIter = Box<dyn Iterator<Item = Result<Value, ReaderError>> + Send>;

/// A manifest is small; a bigger one is not a manifest.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

/// The items of the manifest at `bucket`/`key`, without the MaxItems limit.
pub fn items(
    reader: &ItemReader,
    kind: ManifestType,
    bucket: &str,
    key: &str,
    mut fetch: Fetch,
    fetch_file: FetchFile,
) -> Result<ItemIter, ReaderError> {
    let mut text = String::new();
    fetch(bucket, key)?
        .take(MAX_MANIFEST_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| ReaderError::Malformed(format!("The manifest could not be read: {e}")))?;
    let files = match kind {
        ManifestType::S3Inventory => inventory_files(&text, bucket)?,
        ManifestType::AthenaData => athena_files(&text)?,
    };
    let format = match kind {
        ManifestType::S3Inventory => Format::Inventory(inventory_schema(&text)?),
        ManifestType::AthenaData => match reader.input_type {
            Some(InputType::Csv) => Format::Csv(reader.csv_headers.clone(), reader.csv_delimiter),
            Some(InputType::Jsonl) => Format::Jsonl,
            Some(InputType::Parquet) => Format::Parquet,
            _ => {
                return Err(ReaderError::InvalidConfig(
                    "ManifestType ATHENA_DATA needs InputType CSV, JSONL or PARQUET".into(),
                ))
            }
        },
    };
    let mut fetch_file = fetch_file;
    let per_file = files.into_iter().flat_map(move |(b, k)| {
        let opened = match &format {
            Format::Parquet => fetch_file(&b, &k).and_then(parquet::items),
            other => fetch(&b, &k).and_then(|body| other.parse(gunzip(body)?)),
        };
        match opened {
            Ok(it) => it,
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    });
    Ok(Box::new(per_file))
}

enum Format {
    /// Column names from `fileSchema`.
    Inventory(Vec<String>),
    Csv(CsvHeaders, u8),
    Jsonl,
    Parquet,
}

impl Format {
    fn parse(&self, body: Body) -> Result<ItemIter, ReaderError> {
        Ok(match self {
            Format::Inventory(names) => {
                Box::new(csv::items(body, &CsvHeaders::Given(names.clone()), b',')?)
            }
            Format::Csv(headers, delimiter) => Box::new(csv::items(body, headers, *delimiter)?),
            Format::Jsonl => Box::new(jsonl::items(body)),
            Format::Parquet => unreachable!("Parquet files are opened as files"),
        })
    }
}

fn manifest_json(text: &str) -> Result<Value, ReaderError> {
    serde_json::from_str(text).map_err(|e| {
        ReaderError::Malformed(format!("The S3 inventory manifest is not valid JSON: {e}"))
    })
}

/// The inventory's column names, from `fileSchema` (`"Bucket, Key, Size"`).
fn inventory_schema(text: &str) -> Result<Vec<String>, ReaderError> {
    let m = manifest_json(text)?;
    match m.get("fileFormat").and_then(Value::as_str) {
        Some(f) if f.eq_ignore_ascii_case("CSV") => {}
        other => {
            return Err(ReaderError::Malformed(format!(
                "The S3 inventory manifest's fileFormat is {}: only CSV inventories can be read",
                other.map_or("missing".to_string(), |f| format!("'{f}'"))
            )))
        }
    }
    let schema = m.get("fileSchema").and_then(Value::as_str).ok_or_else(|| {
        ReaderError::Malformed("The S3 inventory manifest has no fileSchema".into())
    })?;
    Ok(schema.split(',').map(|c| c.trim().to_string()).collect())
}

/// The inventory's data files: `files[].key` in `destinationBucket` (`arn:aws:s3:::name`),
/// or in the manifest's own bucket when the manifest names none.
fn inventory_files(text: &str, own_bucket: &str) -> Result<Vec<(String, String)>, ReaderError> {
    let m = manifest_json(text)?;
    let bucket = m
        .get("destinationBucket")
        .and_then(Value::as_str)
        .map(|b| b.rsplit(":::").next().unwrap_or(b).to_string())
        .unwrap_or_else(|| own_bucket.to_string());
    let files = m.get("files").and_then(Value::as_array).ok_or_else(|| {
        ReaderError::Malformed("The S3 inventory manifest has no files array".into())
    })?;
    files
        .iter()
        .map(|f| match f.get("key").and_then(Value::as_str) {
            Some(k) => Ok((bucket.clone(), k.to_string())),
            None => Err(ReaderError::Malformed(
                "An entry of the S3 inventory manifest's files has no key".into(),
            )),
        })
        .collect()
}

/// The data files of an Athena manifest: one `s3://bucket/key` a line.
fn athena_files(text: &str) -> Result<Vec<(String, String)>, ReaderError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|uri| {
            uri.strip_prefix("s3://")
                .and_then(|rest| rest.split_once('/'))
                .filter(|(b, k)| !b.is_empty() && !k.is_empty())
                .map(|(b, k)| (b.to_string(), k.to_string()))
                .ok_or_else(|| {
                    ReaderError::Malformed(format!(
                        "The Athena manifest line '{uri}' is not an s3://bucket/key URI"
                    ))
                })
        })
        .collect()
}

/// The body inflated if it starts with gzip's magic bytes, else as it is.
pub fn gunzip(mut body: Body) -> Result<Body, ReaderError> {
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        let n = body.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let whole = std::io::Cursor::new(head[..got].to_vec()).chain(body);
    if head[..got] == [0x1f, 0x8b] {
        let inflated = flate2::read::MultiGzDecoder::new(whole);
        Ok(Box::new(BufReader::with_capacity(64 * 1024, inflated)))
    } else {
        Ok(Box::new(BufReader::new(whole)) as Box<dyn BufRead + Send>)
    }
}
