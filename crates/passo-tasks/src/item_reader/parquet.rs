//! `InputType: PARQUET`: one item per row, a JSON object of its columns in schema order.
//!
//! Rows come from the parquet crate's record API (no arrow), one row group's pages at a time,
//! so memory holds a row group's column chunks, not the file. Values keep their JSON kinds:
//! integers and floats are numbers, booleans booleans, strings strings, nulls null, nested
//! groups objects, lists arrays and maps objects; decimals, dates and timestamps are strings
//! and binary is base64 text (the record API's JSON forms).
//!
//! Parquet is read from its end (the footer holds the schema and row group offsets), so the
//! reader takes a file: a local object's own file, a downloaded remote one, or a body spooled
//! to an unnamed temporary file by [`spool`].

use super::ReaderError;
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::record::reader::RowIter;
use serde_json::Value;
use std::io::BufRead;

/// The items of a Parquet file.
pub fn items(
    file: std::fs::File,
) -> Result<Box<dyn Iterator<Item = Result<Value, ReaderError>> + Send>, ReaderError> {
    let reader = SerializedFileReader::new(file).map_err(malformed)?;
    let rows = RowIter::from_file_into(Box::new(reader) as Box<dyn FileReader>);
    let mut failed = false;
    Ok(Box::new(rows.map_while(move |row| {
        if failed {
            return None;
        }
        Some(match row {
            Ok(row) => Ok(row.to_json_value()),
            Err(e) => {
                failed = true;
                Err(malformed(e))
            }
        })
    })))
}

/// Copies a body into an unnamed temporary file, for when the object came as a stream.
pub fn spool(mut body: impl BufRead) -> Result<std::fs::File, ReaderError> {
    use std::io::{Seek, SeekFrom};
    let mut file = tempfile::tempfile()?;
    std::io::copy(&mut body, &mut file)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

fn malformed(e: parquet::errors::ParquetError) -> ReaderError {
    ReaderError::Malformed(format!("The Parquet file could not be read: {e}"))
}
