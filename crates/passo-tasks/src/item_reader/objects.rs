//! Reading a `getObject` reader's object through [`Buckets`]: one stream, a manifest's files in
//! turn, or a Parquet file; and the fetchers that open objects from a thread outside the runtime.

use super::{manifest, parquet, parse_body, InputType, ItemReader, Items, ReaderError, Source};
use crate::s3::Buckets;
use serde_json::Value;

/// The items of a `getObject` reader, streamed from `buckets`: memory holds a chunk of the
/// object and one item, whatever the object's size. Manifests open their files one after
/// another; Parquet files are opened as files (a remote one is downloaded to a temporary file
/// first, since Parquet is read from its end). Iterate the result off the async threads.
pub async fn open_object(buckets: &Buckets, reader: &ItemReader) -> Result<Items, ReaderError> {
    let runtime = tokio::runtime::Handle::current();
    let (buckets, reader) = (buckets.clone(), reader.clone());
    // Opening reads the first bytes (a CSV header row, a JSON array's start, a manifest).
    tokio::task::spawn_blocking(move || open_object_blocking(&buckets, &reader, &runtime))
        .await
        .map_err(|e| ReaderError::Io(format!("The item reader stopped: {e}")))?
}

/// [`open_object`] for a thread outside the runtime, through the runtime's handle.
pub fn open_object_blocking(
    buckets: &Buckets,
    reader: &ItemReader,
    runtime: &tokio::runtime::Handle,
) -> Result<Items, ReaderError> {
    let Source::GetObject { bucket, key, .. } = &reader.source else {
        return Err(ReaderError::InvalidConfig(
            "open_object needs an arn:aws:states:::s3:getObject reader".into(),
        ));
    };
    let mut fetch = fetcher(buckets, runtime);
    let mut fetch_file = file_fetcher(buckets, runtime);
    let inner: Box<dyn Iterator<Item = Result<Value, ReaderError>> + Send> =
        match (reader.manifest_type, reader.input_type) {
            (Some(kind), _) => manifest::items(reader, kind, bucket, key, fetch, fetch_file)?,
            (None, Some(InputType::Parquet)) => parquet::items(fetch_file(bucket, key)?)?,
            (None, Some(input_type)) => parse_body(reader, input_type, fetch(bucket, key)?)?,
            (None, None) => {
                return Err(ReaderError::InvalidConfig(
                    "ReaderConfig.InputType is required to read an object".into(),
                ))
            }
        };
    Ok(Items::new(inner, reader.max_items))
}

fn s3_error(e: crate::s3::Error) -> ReaderError {
    ReaderError::S3(e.cause("passo"))
}

/// Opens objects as streams, from a thread outside the runtime.
pub fn fetcher(buckets: &Buckets, runtime: &tokio::runtime::Handle) -> manifest::Fetch {
    let (buckets, runtime) = (buckets.clone(), runtime.clone());
    Box::new(move |bucket: &str, key: &str| {
        runtime
            .block_on(buckets.get_body(bucket, key))
            .map_err(s3_error)
    })
}

/// Opens objects as files (a remote one downloaded first), from a thread outside the runtime.
pub fn file_fetcher(buckets: &Buckets, runtime: &tokio::runtime::Handle) -> manifest::FetchFile {
    let (buckets, runtime) = (buckets.clone(), runtime.clone());
    Box::new(move |bucket: &str, key: &str| {
        runtime
            .block_on(buckets.get_file(bucket, key))
            .map_err(s3_error)
    })
}
