//! [`ResultSink`]: child results in, result files and the Map's output out.
//!
//! Each status group's entries go to a temporary file as they arrive (already in the file's
//! final format), so a Map Run of a million children holds one entry in memory, not a
//! million. A file that would pass [`MAX_FILE_BYTES`] is closed and the next entries start
//! `{GROUP}_{n+1}`. [`ResultSink::finish`] uploads the files (large ones as multipart uploads
//! read from disk) and then the manifest; the Map's output names the manifest only once every
//! put has succeeded, so a failed write never looks like a result.

use super::{ChildResult, Destination, OutputType, WriterError, WriterSpec};
use crate::s3::{Buckets, PutOptions};
use serde_json::{json, Value};
use std::io::{BufWriter, Seek, SeekFrom, Write};

/// The largest result file written, as AWS caps them (5 GB).
pub const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// The manifest's result file groups, in the order it lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Failed,
    Pending,
    Succeeded,
}

impl Group {
    const ALL: [Group; 3] = [Group::Failed, Group::Pending, Group::Succeeded];

    fn name(self) -> &'static str {
        match self {
            Group::Failed => "FAILED",
            Group::Pending => "PENDING",
            Group::Succeeded => "SUCCEEDED",
        }
    }
}

/// One group's files: the closed ones and the one being written.
#[derive(Default)]
struct Files {
    done: Vec<std::fs::File>,
    open: Option<Part>,
}

struct Part {
    file: BufWriter<std::fs::File>,
    bytes: u64,
}

/// Takes a Map Run's child results and writes them where the ResultWriter says.
pub struct ResultSink {
    buckets: Buckets,
    spec: WriterSpec,
    map_run_arn: String,
    max_file_bytes: u64,
    files: [Files; 3],
    /// Without a destination the results are the Map's output, small enough to keep.
    preview: Vec<(u64, Vec<Value>)>,
}

impl ResultSink {
    pub fn new(buckets: &Buckets, spec: WriterSpec, map_run_arn: &str) -> ResultSink {
        ResultSink {
            buckets: buckets.clone(),
            spec,
            map_run_arn: map_run_arn.to_string(),
            max_file_bytes: MAX_FILE_BYTES,
            files: Default::default(),
            preview: Vec::new(),
        }
    }

    /// A smaller file size cap, to see files split without writing gigabytes.
    pub fn with_max_file_bytes(mut self, max: u64) -> ResultSink {
        self.max_file_bytes = max.max(1);
        self
    }

    /// Adds one child's result (blocking file I/O, a few microseconds an entry).
    pub fn push(&mut self, child: ChildResult) -> Result<(), WriterError> {
        let values = child.transformed(self.spec.transformation);
        if self.spec.destination.is_none() {
            self.preview.push((child.index, values));
            return Ok(());
        }
        let group = child.status.group();
        for v in values {
            self.write(group, &v)?;
        }
        Ok(())
    }

    fn write(&mut self, group: Group, value: &Value) -> Result<(), WriterError> {
        let text = serde_json::to_string(value).map_err(|e| WriterError::Io(e.to_string()))?;
        let jsonl = self.spec.output_type == OutputType::Jsonl;
        let max = self.max_file_bytes;
        let files = &mut self.files[Group::ALL.iter().position(|g| *g == group).unwrap_or(0)];
        // The bytes this entry adds: a separator (or the opening bracket) and the text.
        let adds = text.len() as u64 + 1;
        if let Some(part) = &files.open {
            if part.bytes + adds + 1 > max {
                let part = files.open.take().expect("checked above");
                files.done.push(close(part, jsonl)?);
            }
        }
        let first = files.open.is_none();
        if first {
            files.open = Some(Part {
                file: BufWriter::new(tempfile::tempfile()?),
                bytes: 0,
            });
        }
        let part = files.open.as_mut().expect("opened above");
        let lead: &[u8] = match (jsonl, first) {
            (true, _) => b"",
            (false, true) => b"[",
            (false, false) => b",",
        };
        part.file.write_all(lead)?;
        part.file.write_all(text.as_bytes())?;
        if jsonl {
            part.file.write_all(b"\n")?;
        }
        part.bytes += adds;
        Ok(())
    }

    /// Writes the files and the manifest; the Map state's output. Without a destination,
    /// the transformed results in item order.
    pub async fn finish(mut self) -> Result<Value, WriterError> {
        let Some(dest) = self.spec.destination.clone() else {
            self.preview.sort_by_key(|(i, _)| *i);
            let all = self.preview.into_iter().flat_map(|(_, v)| v).collect();
            return Ok(Value::Array(all));
        };
        let jsonl = self.spec.output_type == OutputType::Jsonl;
        let base = base_key(&dest, &self.map_run_arn);
        let ext = if jsonl { "jsonl" } else { "json" };
        let mut listed = serde_json::Map::new();
        for (slot, group) in Group::ALL.iter().enumerate() {
            let mut files = std::mem::take(&mut self.files[slot]);
            if let Some(part) = files.open.take() {
                files.done.push(close(part, jsonl)?);
            }
            let mut entries = Vec::new();
            for (n, file) in files.done.into_iter().enumerate() {
                let key = format!("{base}{}_{n}.{ext}", group.name());
                let info = self.put(&dest.bucket, &key, file).await?;
                entries.push(json!({"Key": key, "Size": info.size}));
            }
            listed.insert(group.name().into(), Value::Array(entries));
        }
        let manifest = json!({
            "DestinationBucket": dest.bucket,
            "MapRunArn": self.map_run_arn,
            "ResultFiles": listed,
        });
        let key = format!("{base}manifest.json");
        let opts = PutOptions {
            content_type: Some("application/json".into()),
            ..PutOptions::default()
        };
        self.buckets
            .put(&dest.bucket, &key, manifest.to_string().into_bytes(), opts)
            .await
            .map_err(|e| s3_error(&dest.bucket, &key, e))?;
        Ok(json!({
            "MapRunArn": self.map_run_arn,
            "ResultWriterDetails": {"Bucket": dest.bucket, "Key": key},
        }))
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        file: std::fs::File,
    ) -> Result<crate::s3::ObjectInfo, WriterError> {
        let opts = PutOptions {
            content_type: Some("application/json".into()),
            ..PutOptions::default()
        };
        self.buckets
            .put_file(bucket, key, file, opts)
            .await
            .map_err(|e| s3_error(bucket, key, e))
    }
}

fn s3_error(bucket: &str, key: &str, e: crate::s3::Error) -> WriterError {
    WriterError::S3 {
        bucket: bucket.to_string(),
        key: key.to_string(),
        cause: e.cause("passo"),
    }
}

/// Ends a part (the closing bracket of a JSON array) and rewinds it for the upload.
fn close(mut part: Part, jsonl: bool) -> Result<std::fs::File, WriterError> {
    if !jsonl {
        part.file.write_all(b"]")?;
    }
    let mut file = part
        .file
        .into_inner()
        .map_err(|e| WriterError::Io(e.to_string()))?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// `{prefix}/{map run id}/`: the id is the Map Run ARN's last part; one `/` after a prefix.
pub fn base_key(dest: &Destination, map_run_arn: &str) -> String {
    let id = map_run_arn.rsplit(':').next().unwrap_or(map_run_arn);
    let prefix = dest.prefix.trim_end_matches('/');
    if prefix.is_empty() {
        format!("{id}/")
    } else {
        format!("{prefix}/{id}/")
    }
}
