//! ItemReader: the items a Distributed Map iterates, read from a bucket as a stream.
//!
//! The engine evaluates the state's `ItemReader` (`Parameters`/`Arguments`, and `MaxItemsPath`
//! into `MaxItems`) and hands the result to [`ItemReader::parse`], which validates it the way
//! AWS does. [`open`] then turns an object's bytes (any [`BufRead`]) into [`Items`], an
//! iterator of `serde_json::Value` that reads incrementally: memory holds one item, never the
//! file. [`listing::objects`] gives `listObjectsV2`'s items (object metadata) and
//! [`open_flattened`] its `LOAD_AND_FLATTEN` form (the items of every listed object, in turn).
//!
//! - [`csv`]: `InputType: CSV` (values are strings; headers `FIRST_ROW` or `GIVEN`);
//! - [`json`]: `InputType: JSON` (a top-level array, or the array `ItemsPointer` names);
//! - [`jsonl`]: `InputType: JSONL` (one value per line);
//! - [`manifest`]: `InputType: MANIFEST` (an S3 Inventory) and `ManifestType: ATHENA_DATA`
//!   (an Athena UNLOAD manifest): the rows of the files a manifest names;
//! - [`parquet`]: `InputType: PARQUET` (one item per row, an object of its columns).
//!
//! [`open_object`] reads through [`Buckets`](crate::s3::Buckets) as a stream (a manifest's
//! files one after another); the [`Items`] it returns block while reading, so iterate them on
//! `spawn_blocking` or a plain thread, never on a runtime worker.
//!
//! Every failure is a [`ReaderError`], which Step Functions reports as
//! `States.ItemReaderFailed` with the cause [`ReaderError::cause`] gives.

pub mod csv;
pub mod json;
pub mod jsonl;
pub mod listing;
pub mod manifest;
mod objects;
pub mod parquet;

use serde_json::Value;
use std::io::BufRead;

pub use manifest::ManifestType;
pub use objects::{fetcher, file_fetcher, open_object, open_object_blocking};

/// AWS reads at most this many items, whatever `MaxItems` says (and when it says 0).
pub const MAX_ITEMS_LIMIT: u64 = 100_000_000;

/// Where the items come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// `arn:aws:states:::s3:getObject`: one object's content.
    GetObject {
        bucket: String,
        key: String,
        version_id: Option<String>,
    },
    /// `arn:aws:states:::s3:listObjectsV2`: the bucket's objects under a prefix.
    ListObjects { bucket: String, prefix: String },
}

/// `ReaderConfig.InputType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    Json,
    Jsonl,
    Csv,
    Manifest,
    Parquet,
}

/// Where a CSV file's column names come from.
#[derive(Debug, Clone, PartialEq)]
pub enum CsvHeaders {
    FirstRow,
    Given(Vec<String>),
}

/// `ReaderConfig.Transformation` (listObjectsV2 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transformation {
    None,
    LoadAndFlatten,
}

/// A validated, evaluated ItemReader.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReader {
    pub source: Source,
    /// `None` only for a listObjectsV2 reader without `LOAD_AND_FLATTEN`.
    pub input_type: Option<InputType>,
    pub csv_headers: CsvHeaders,
    /// The field separator byte (`CSVDelimiter`).
    pub csv_delimiter: u8,
    /// How many items to read, already clipped to [`MAX_ITEMS_LIMIT`].
    pub max_items: u64,
    /// `ItemsPointer`: a JSON Pointer (RFC 6901) to the array inside a JSON file.
    pub items_pointer: Option<String>,
    pub transformation: Transformation,
    /// `ManifestType`: set when the object is a manifest (always with `InputType: MANIFEST`).
    pub manifest_type: Option<ManifestType>,
}

/// Why reading items failed. Step Functions reports all of them as `States.ItemReaderFailed`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReaderError {
    /// The recorded AWS cause (case `test_map_item_reader_csv_headers_decl_duplicate_headers`).
    #[error("CSV headers cannot contain duplicates.")]
    DuplicateHeaders,
    /// The recorded AWS cause for a JSON file that is not an array
    /// (case `test_map_item_reader_json_no_json_list_object`).
    #[error("Attempting to map over non-iterable node.")]
    NotIterable,
    /// The recorded AWS cause for a negative MaxItems (case `csv_max_items_paths.-1`).
    #[error("field MaxItems must be positive")]
    MaxItemsNegative,
    /// MaxItems is not an integer.
    #[error("The MaxItems field refers to value '{0}' which is not a valid integer")]
    MaxItemsNotInteger(String),
    /// An ItemReader AWS would not accept (unknown resource, InputType, delimiter, ...).
    #[error("{0}")]
    InvalidConfig(String),
    /// `ItemsPointer` names nothing in the file.
    #[error("The ItemsPointer '{0}' does not refer to a value in the file.")]
    PointerNotFound(String),
    /// The object's content is not what `InputType` says.
    #[error("{0}")]
    Malformed(String),
    /// An input type Passo does not read yet.
    #[error("Passo does not read ItemReader InputType {0} yet")]
    Unsupported(&'static str),
    /// Reading the object failed.
    #[error("{0}")]
    Io(String),
    /// The bucket call failed (missing bucket or key, ...): S3's message and status.
    #[error("{0}")]
    S3(String),
}

impl ReaderError {
    /// AWS's error name for every ItemReader failure.
    pub fn aws_name(&self) -> &'static str {
        "States.ItemReaderFailed"
    }

    /// The cause as the MapRunFailed / ExecutionFailed event carries it.
    pub fn cause(&self) -> String {
        self.to_string()
    }
}

impl From<std::io::Error> for ReaderError {
    fn from(e: std::io::Error) -> Self {
        ReaderError::Io(e.to_string())
    }
}

/// `MaxItems` as AWS reads it: negative is an error, 0 means no limit, and no more than
/// [`MAX_ITEMS_LIMIT`] items are read (cases `csv_max_items_paths.{-1,0,100000001}`).
/// A string holding an integer counts as that integer.
pub fn max_items(value: &Value) -> Result<u64, ReaderError> {
    let n = match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64().unwrap_or(i64::MAX),
        // 2.0 is an integer to Step Functions.
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
            n.as_f64().unwrap_or(0.0) as i64
        }
        // A string holding an integer is one too: a MaxItemsPath to `"2"` reads 2 items
        // (case `test_reference_in_map_state_max_items_path.MAP_STATE_REFERENCE_IN_MAX_ITEMS_PATH`).
        Value::String(s) if s.trim().parse::<i64>().is_ok() => s.trim().parse().unwrap_or(0),
        other => return Err(ReaderError::MaxItemsNotInteger(other.to_string())),
    };
    if n < 0 {
        return Err(ReaderError::MaxItemsNegative);
    }
    let n = n as u64;
    Ok(if n == 0 {
        MAX_ITEMS_LIMIT
    } else {
        n.min(MAX_ITEMS_LIMIT)
    })
}

fn field<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn string_field(obj: &Value, name: &str, ctx: &str) -> Result<Option<String>, ReaderError> {
    match field(obj, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ReaderError::InvalidConfig(format!(
            "{ctx}.{name} must be a string, got {other}"
        ))),
    }
}

impl ItemReader {
    /// Validates an evaluated ItemReader: its `Resource`, its `ReaderConfig` (as written,
    /// with `MaxItems` a number) and its evaluated `Parameters`/`Arguments`.
    pub fn parse(
        resource: &str,
        reader_config: Option<&Value>,
        parameters: &Value,
    ) -> Result<ItemReader, ReaderError> {
        let empty = Value::Object(Default::default());
        let rc = reader_config.unwrap_or(&empty);
        let bucket = string_field(parameters, "Bucket", "Parameters")?.ok_or_else(|| {
            ReaderError::InvalidConfig("The ItemReader's Parameters must name a Bucket".into())
        })?;
        let input_type = match string_field(rc, "InputType", "ReaderConfig")?.as_deref() {
            None => None,
            Some("JSON") => Some(InputType::Json),
            Some("JSONL") => Some(InputType::Jsonl),
            Some("CSV") => Some(InputType::Csv),
            Some("MANIFEST") => Some(InputType::Manifest),
            Some("PARQUET") => Some(InputType::Parquet),
            Some(other) => {
                return Err(ReaderError::InvalidConfig(format!(
                    "ReaderConfig.InputType must be one of CSV, JSON, JSONL, PARQUET, MANIFEST, got '{other}'"
                )))
            }
        };
        let transformation = match string_field(rc, "Transformation", "ReaderConfig")?.as_deref() {
            None | Some("NONE") => Transformation::None,
            Some("LOAD_AND_FLATTEN") => Transformation::LoadAndFlatten,
            Some(other) => {
                return Err(ReaderError::InvalidConfig(format!(
                    "ReaderConfig.Transformation must be NONE or LOAD_AND_FLATTEN, got '{other}'"
                )))
            }
        };
        let source = match resource {
            "arn:aws:states:::s3:getObject" => {
                let key = string_field(parameters, "Key", "Parameters")?.ok_or_else(|| {
                    ReaderError::InvalidConfig(
                        "The ItemReader's Parameters must name a Key".into(),
                    )
                })?;
                if input_type.is_none() {
                    return Err(ReaderError::InvalidConfig(
                        "ReaderConfig.InputType is required with arn:aws:states:::s3:getObject"
                            .into(),
                    ));
                }
                Source::GetObject {
                    bucket,
                    key,
                    version_id: string_field(parameters, "VersionId", "Parameters")?,
                }
            }
            "arn:aws:states:::s3:listObjectsV2" => {
                if transformation == Transformation::LoadAndFlatten && input_type.is_none() {
                    return Err(ReaderError::InvalidConfig(
                        "ReaderConfig.InputType is required with Transformation LOAD_AND_FLATTEN"
                            .into(),
                    ));
                }
                Source::ListObjects {
                    bucket,
                    prefix: string_field(parameters, "Prefix", "Parameters")?.unwrap_or_default(),
                }
            }
            other => {
                return Err(ReaderError::InvalidConfig(format!(
                    "The ItemReader resource '{other}' is not supported: use arn:aws:states:::s3:getObject or arn:aws:states:::s3:listObjectsV2"
                )))
            }
        };
        let csv_headers = match string_field(rc, "CSVHeaderLocation", "ReaderConfig")?.as_deref() {
            None | Some("FIRST_ROW") => CsvHeaders::FirstRow,
            Some("GIVEN") => {
                let Some(Value::Array(hs)) = field(rc, "CSVHeaders") else {
                    return Err(ReaderError::InvalidConfig(
                        "ReaderConfig.CSVHeaders must be an array of strings when CSVHeaderLocation is GIVEN".into(),
                    ));
                };
                let names: Option<Vec<String>> =
                    hs.iter().map(|h| h.as_str().map(str::to_owned)).collect();
                CsvHeaders::Given(names.ok_or_else(|| {
                    ReaderError::InvalidConfig(
                        "ReaderConfig.CSVHeaders must be an array of strings".into(),
                    )
                })?)
            }
            Some(other) => {
                return Err(ReaderError::InvalidConfig(format!(
                    "ReaderConfig.CSVHeaderLocation must be FIRST_ROW or GIVEN, got '{other}'"
                )))
            }
        };
        let csv_delimiter = match string_field(rc, "CSVDelimiter", "ReaderConfig")?.as_deref() {
            None | Some("COMMA") => b',',
            Some("PIPE") => b'|',
            Some("SEMICOLON") => b';',
            Some("SPACE") => b' ',
            Some("TAB") => b'\t',
            Some(other) => {
                return Err(ReaderError::InvalidConfig(format!(
                    "ReaderConfig.CSVDelimiter must be one of COMMA, PIPE, SEMICOLON, SPACE, TAB, got '{other}'"
                )))
            }
        };
        let manifest_type = manifest_type(rc, input_type, &source)?;
        let max_items = match field(rc, "MaxItems") {
            None => MAX_ITEMS_LIMIT,
            Some(v) => max_items(v)?,
        };
        Ok(ItemReader {
            source,
            input_type,
            csv_headers,
            csv_delimiter,
            max_items,
            items_pointer: string_field(rc, "ItemsPointer", "ReaderConfig")?,
            transformation,
            manifest_type,
        })
    }
}

/// `ManifestType` against `InputType`: `S3_INVENTORY` (the default with `MANIFEST`) goes with
/// `MANIFEST` (or `CSV`, the inventory files' format); `ATHENA_DATA` with the data files' format,
/// CSV, JSONL or PARQUET. A manifest is one object, so only `getObject` reads one.
fn manifest_type(
    rc: &Value,
    input_type: Option<InputType>,
    source: &Source,
) -> Result<Option<ManifestType>, ReaderError> {
    let named = string_field(rc, "ManifestType", "ReaderConfig")?;
    let kind = match (named.as_deref(), input_type) {
        (None, Some(InputType::Manifest)) => Some(ManifestType::S3Inventory),
        (None, _) => None,
        (Some("S3_INVENTORY"), Some(InputType::Manifest | InputType::Csv)) => {
            Some(ManifestType::S3Inventory)
        }
        (Some("ATHENA_DATA"), Some(InputType::Csv | InputType::Jsonl | InputType::Parquet)) => {
            Some(ManifestType::AthenaData)
        }
        (Some("S3_INVENTORY"), _) => {
            return Err(ReaderError::InvalidConfig(
                "ManifestType S3_INVENTORY needs InputType MANIFEST".into(),
            ))
        }
        (Some("ATHENA_DATA"), _) => {
            return Err(ReaderError::InvalidConfig(
                "ManifestType ATHENA_DATA needs InputType CSV, JSONL or PARQUET".into(),
            ))
        }
        (Some(other), _) => {
            return Err(ReaderError::InvalidConfig(format!(
                "ReaderConfig.ManifestType must be S3_INVENTORY or ATHENA_DATA, got '{other}'"
            )))
        }
    };
    if kind.is_some() && !matches!(source, Source::GetObject { .. }) {
        return Err(ReaderError::InvalidConfig(
            "A manifest is read with arn:aws:states:::s3:getObject".into(),
        ));
    }
    Ok(kind)
}

/// The items of a reader, one at a time. Stops after `MaxItems`; after an `Err` it yields
/// nothing more (a Map Run fails on the first bad item).
pub struct Items {
    inner: Box<dyn Iterator<Item = Result<Value, ReaderError>> + Send>,
    remaining: u64,
}

impl Items {
    pub(crate) fn new(
        inner: impl Iterator<Item = Result<Value, ReaderError>> + Send + 'static,
        max_items: u64,
    ) -> Items {
        Items {
            inner: Box::new(inner),
            remaining: max_items,
        }
    }
}

impl Iterator for Items {
    type Item = Result<Value, ReaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let item = self.inner.next()?;
        // An error ends the stream, as it ends the Map Run.
        self.remaining = if item.is_ok() { self.remaining - 1 } else { 0 };
        Some(item)
    }
}

type Body = Box<dyn BufRead + Send>;

/// The items of one object's content, parsed by `input_type`, without the MaxItems limit.
pub(crate) fn parse_body(
    reader: &ItemReader,
    input_type: InputType,
    body: Body,
) -> Result<Box<dyn Iterator<Item = Result<Value, ReaderError>> + Send>, ReaderError> {
    Ok(match input_type {
        InputType::Json => Box::new(json::items(body, reader.items_pointer.as_deref())?),
        InputType::Jsonl => Box::new(jsonl::items(body)),
        InputType::Csv => Box::new(csv::items(body, &reader.csv_headers, reader.csv_delimiter)?),
        // Both need more than one stream: [`open_object`] reads them through the buckets.
        InputType::Manifest => return Err(ReaderError::Unsupported("MANIFEST from one body")),
        InputType::Parquet => parquet::items(parquet::spool(body)?)?,
    })
}

/// The items of a `getObject` reader, from the object's content.
pub fn open(
    reader: &ItemReader,
    body: impl BufRead + Send + 'static,
) -> Result<Items, ReaderError> {
    let input_type = reader.input_type.ok_or_else(|| {
        ReaderError::InvalidConfig("ReaderConfig.InputType is required to read an object".into())
    })?;
    Ok(Items::new(
        parse_body(reader, input_type, Box::new(body))?,
        reader.max_items,
    ))
}

/// The items of a `listObjectsV2` reader with `LOAD_AND_FLATTEN`: each listed object is
/// opened by `fetch` in turn and its items follow the previous object's.
pub fn open_flattened<F>(
    reader: &ItemReader,
    objects: impl Iterator<Item = Result<crate::s3::ObjectInfo, ReaderError>> + Send + 'static,
    mut fetch: F,
) -> Result<Items, ReaderError>
where
    F: FnMut(&crate::s3::ObjectInfo) -> Result<Body, ReaderError> + Send + 'static,
{
    let input_type = reader.input_type.ok_or_else(|| {
        ReaderError::InvalidConfig(
            "ReaderConfig.InputType is required with Transformation LOAD_AND_FLATTEN".into(),
        )
    })?;
    let r = reader.clone();
    let per_object = objects.flat_map(move |o| {
        let items = o.and_then(|o| parse_body(&r, input_type, fetch(&o)?));
        match items {
            Ok(it) => it,
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    });
    Ok(Items::new(per_object, reader.max_items))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_objects;
