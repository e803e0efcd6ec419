//! A step's history events as SQLite keeps them: JSON text of more than a few hundred bytes
//! is stored Snappy-compressed as a BLOB (history is repetitive JSON: W1's start step of 23
//! events, ~4 KB, shrinks to about a quarter), shorter text as TEXT. The column's type
//! tells the two apart, so databases written before keep reading as they are.
//! (PostgreSQL compresses long text itself: TOAST.)

use rusqlite::types::{FromSqlError, ToSqlOutput, ValueRef};

/// Text at least this long is compressed (below it, Snappy's gain does not pay its cost).
const COMPRESS_FROM: usize = 512;

/// The column value for `history`.
pub(super) fn encode(history: &str) -> ToSqlOutput<'_> {
    if history.len() < COMPRESS_FROM {
        return ToSqlOutput::Borrowed(ValueRef::Text(history.as_bytes()));
    }
    match snap::raw::Encoder::new().compress_vec(history.as_bytes()) {
        Ok(packed) if packed.len() < history.len() => ToSqlOutput::from(packed),
        _ => ToSqlOutput::Borrowed(ValueRef::Text(history.as_bytes())),
    }
}

/// The history text of a column value (TEXT as is, a BLOB decompressed).
pub(super) fn decode(v: ValueRef<'_>) -> Result<String, FromSqlError> {
    match v {
        ValueRef::Text(t) => {
            String::from_utf8(t.to_vec()).map_err(|e| FromSqlError::Other(e.into()))
        }
        ValueRef::Blob(b) => {
            let raw = snap::raw::Decoder::new()
                .decompress_vec(b)
                .map_err(|e| FromSqlError::Other(e.into()))?;
            String::from_utf8(raw).map_err(|e| FromSqlError::Other(e.into()))
        }
        _ => Err(FromSqlError::InvalidType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> (bool, String) {
        let stored = encode(text);
        let v = match &stored {
            ToSqlOutput::Borrowed(v) => *v,
            ToSqlOutput::Owned(v) => ValueRef::from(v),
            _ => unreachable!(),
        };
        (matches!(v, ValueRef::Blob(_)), decode(v).unwrap())
    }

    #[test]
    fn long_history_is_compressed_and_reads_back_the_same() {
        let event = r#"{"id":1,"type":"PassStateEntered","stateEnteredEventDetails":{"name":"A","input":"{}"}}"#;
        let long = format!("[{}]", vec![event; 40].join(","));
        assert_eq!(round_trip(&long), (true, long.clone()));
        let short = format!("[{event}]");
        assert_eq!(round_trip(&short), (false, short.clone()));
        // Text that does not shrink (random-looking) stays text.
        let noise: String = (0..2000u32)
            .map(|i| char::from(b'!' + ((i.wrapping_mul(2_654_435_761) >> 13) % 90) as u8))
            .collect();
        assert_eq!(round_trip(&noise).1, noise);
    }

    #[test]
    fn a_blob_that_is_not_snappy_is_an_error_not_a_panic() {
        assert!(decode(ValueRef::Blob(b"\xff\xff\xff\xffnot snappy")).is_err());
    }
}
