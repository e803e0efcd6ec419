//! A Map Run's items from buckets: the interpreter hands over the ItemReader it evaluated
//! (`ItemSource::Reader`), and this opens it as a stream of items, with AWS's
//! `States.ItemReaderFailed` for everything that goes wrong. `passo run`'s driver and the
//! server's Map Runs both read items this way.
//!
//! Reading blocks: bucket calls run on the tokio runtime behind `handle` and the caller
//! waits for them, so call it from a thread that may block (`spawn_blocking` in the server,
//! the main thread in `passo run`).

use crate::item_reader::{self, listing, ItemReader, ReaderError, Source, Transformation};
use crate::s3::Buckets;
use passo_engine::map_run::{ItemSource, MapRunSpec};
use passo_engine::Failure;
use serde_json::Value;
use std::sync::Arc;
use tokio::runtime::Handle;

/// The items of a Map Run, one at a time.
pub type Items = Box<dyn Iterator<Item = Result<Value, Failure>> + Send>;

/// AWS's failure for a reader error.
pub fn reader_failure(e: ReaderError) -> Failure {
    Failure::new(e.aws_name(), e.cause())
}

/// Opens the items of `spec`'s ItemReader (inline items need no buckets).
pub fn open(buckets: &Arc<Buckets>, handle: &Handle, spec: &MapRunSpec) -> Result<Items, Failure> {
    match &spec.items {
        ItemSource::Inline(items) => Ok(Box::new(items.clone().into_iter().map(Ok))),
        ItemSource::Reader {
            resource,
            parameters,
            reader_config,
        } => {
            let reader = ItemReader::parse(resource, Some(reader_config), parameters)
                .map_err(reader_failure)?;
            let items = open_reader(buckets, handle, &reader).map_err(reader_failure)?;
            Ok(Box::new(items.map(|r| r.map_err(reader_failure))))
        }
    }
}

fn open_reader(
    buckets: &Arc<Buckets>,
    handle: &Handle,
    reader: &ItemReader,
) -> Result<item_reader::Items, ReaderError> {
    match (&reader.source, reader.transformation) {
        (Source::GetObject { .. }, _) => {
            handle.block_on(item_reader::open_object(buckets, reader))
        }
        (Source::ListObjects { .. }, Transformation::None) => {
            let objects = handle.block_on(listing::list_all(buckets, reader))?;
            Ok(listing::objects(reader, objects.into_iter().map(Ok)))
        }
        (Source::ListObjects { bucket, .. }, Transformation::LoadAndFlatten) => {
            let objects = handle.block_on(listing::list_all(buckets, reader))?;
            let (b, h, bucket) = (buckets.clone(), handle.clone(), bucket.clone());
            item_reader::open_flattened(reader, objects.into_iter().map(Ok), move |o| {
                let object = h
                    .block_on(b.get(&bucket, &o.key))
                    .map_err(|e| ReaderError::S3(e.cause("passo")))?;
                Ok(Box::new(std::io::Cursor::new(object.body)))
            })
        }
    }
}

/// Opens the ResultWriter's sink of `spec`.
pub fn open_results(
    _buckets: &Arc<Buckets>,
    _handle: &Handle,
    _spec: &MapRunSpec,
) -> Result<Box<dyn passo_engine::driver::ResultSink>, Failure> {
    Err(Failure::new(
        "States.ResultWriterFailed",
        "Passo does not write Map Run results to buckets yet",
    ))
}
