//! A Map Run's items from buckets, and its results back to them: the interpreter hands over the ItemReader it evaluated
//! (`ItemSource::Reader`), and this opens it as a stream of items, with AWS's
//! `States.ItemReaderFailed` for everything that goes wrong. `passo run`'s driver and the
//! server's Map Runs both read items this way.
//!
//! Reading blocks: bucket calls run on the tokio runtime behind `handle` and the caller
//! waits for them, so call it from a thread that may block (`spawn_blocking` in the server,
//! the main thread in `passo run`).

use crate::item_reader::{self, listing, ItemReader, ReaderError, Source, Transformation};
use crate::result_writer::{
    self, ChildResult, ChildStatus as WriterStatus, WriterError, WriterSpec,
};
use crate::s3::Buckets;
use passo_engine::driver::ResultSink;
use passo_engine::map_run::{ChildRecord, ItemSource, MapRunSpec};
use passo_engine::{Failure, Status};
use serde_json::Value;
use tokio::runtime::Handle;

/// The items of a Map Run, one at a time.
pub type Items = Box<dyn Iterator<Item = Result<Value, Failure>> + Send>;

/// AWS's failure for a reader error.
pub fn reader_failure(e: ReaderError) -> Failure {
    Failure::new(e.aws_name(), e.cause())
}

/// Opens the items of `spec`'s ItemReader (inline items need no buckets).
pub fn open(buckets: &Buckets, handle: &Handle, spec: &MapRunSpec) -> Result<Items, Failure> {
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
    buckets: &Buckets,
    handle: &Handle,
    reader: &ItemReader,
) -> Result<item_reader::Items, ReaderError> {
    match (&reader.source, reader.transformation) {
        (Source::GetObject { .. }, _) => item_reader::open_object_blocking(buckets, reader, handle),
        (Source::ListObjects { .. }, Transformation::None) => {
            let objects = handle.block_on(listing::list_all(buckets, reader))?;
            Ok(listing::objects(reader, objects.into_iter().map(Ok)))
        }
        (Source::ListObjects { bucket, .. }, Transformation::LoadAndFlatten) => {
            let objects = handle.block_on(listing::list_all(buckets, reader))?;
            let mut fetch = item_reader::fetcher(buckets, handle);
            let bucket = bucket.clone();
            item_reader::open_flattened(reader, objects.into_iter().map(Ok), move |o| {
                fetch(&bucket, &o.key)
            })
        }
    }
}

/// Opens the ResultWriter's sink of `spec` (which has one). Its `finish` blocks on the
/// uploads through `handle`, like reading does.
pub fn open_results(
    buckets: &Buckets,
    handle: &Handle,
    spec: &MapRunSpec,
) -> Result<Box<dyn ResultSink>, Failure> {
    let Some(w) = &spec.writer else {
        return Err(Failure::new(
            "States.ResultWriterFailed",
            "The Map state has no ResultWriter",
        ));
    };
    let parsed = WriterSpec::parse(
        w.resource.as_deref(),
        w.parameters.as_ref(),
        w.writer_config.as_ref(),
    )
    .map_err(writer_failure)?;
    Ok(Box::new(BucketSink {
        sink: Some(result_writer::ResultSink::new(
            buckets,
            parsed,
            &spec.map_run_arn,
        )),
        handle: handle.clone(),
    }))
}

/// AWS's failure for a writer error.
pub fn writer_failure(e: WriterError) -> Failure {
    Failure::new(e.aws_name(), e.cause())
}

struct BucketSink {
    sink: Option<result_writer::ResultSink>,
    handle: Handle,
}

impl ResultSink for BucketSink {
    fn push(&mut self, child: ChildRecord<'_>) -> Result<(), Failure> {
        let Some(sink) = self.sink.as_mut() else {
            return Ok(());
        };
        sink.push(child_result(&child)).map_err(writer_failure)
    }

    fn finish(mut self: Box<Self>) -> Result<Value, Failure> {
        let Some(sink) = self.sink.take() else {
            return Err(Failure::new(
                "States.ResultWriterFailed",
                "The results were already written",
            ));
        };
        self.handle.block_on(sink.finish()).map_err(writer_failure)
    }
}

/// A child's end as the writer records it.
pub fn child_result(c: &ChildRecord<'_>) -> ChildResult {
    let o = c.outcome;
    let date = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    ChildResult {
        index: c.index,
        execution_arn: c.info.execution_arn.clone(),
        name: c.info.execution_name.clone(),
        state_machine_arn: c.info.state_machine_arn.clone(),
        status: match o.status {
            Status::Succeeded => WriterStatus::Succeeded,
            Status::Failed => WriterStatus::Failed,
            Status::TimedOut => WriterStatus::TimedOut,
            Status::Aborted => WriterStatus::Aborted,
            Status::Running => WriterStatus::Pending,
        },
        input: c.input.to_string(),
        output: o.output.as_ref().map(Value::to_string),
        error: o.error.clone(),
        cause: o.cause.clone(),
        start_date: date(c.info.start_time_ms),
        stop_date: Some(date(c.stop_ms)),
        redrive_count: 0,
    }
}
