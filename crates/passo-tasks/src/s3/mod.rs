//! Buckets: the object store that `aws-sdk:s3:*` Tasks read and write (and, later, Distributed
//! Map's ItemReader and ResultWriter).
//!
//! One small interface, [`Buckets`], over two backends built on `object_store`:
//! - [`local`]: one folder per bucket under a directory (the default);
//! - [`remote`]: any S3-compatible endpoint (`[buckets] endpoint = ...` in passo.toml).
//!
//! [`calls`] maps the SDK integration's parameters (PascalCase, as Step Functions takes them)
//! to these calls and their answers to the SDK's result shapes; [`Error`] carries AWS's error
//! names and messages. Keys are object_store paths: a key with an empty segment (`a//b`), a
//! `.`/`..` segment or a trailing `/` is refused, which is what keeps a local bucket's keys
//! inside its folder.

pub mod calls;
pub mod credentials;
mod listing;
pub mod local;
pub mod observe;
pub mod remote;
pub mod stream;

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use listing::{ListPage, ListRequest};
pub use stream::Body;

/// A stored object's description.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// Quoted, as S3 gives it: `"<md5 hex>"` for objects written in one piece.
    pub etag: String,
    pub last_modified: DateTime<Utc>,
    pub content_type: String,
    /// User metadata (`x-amz-meta-*`), names lower-cased as S3 keeps them.
    pub metadata: BTreeMap<String, String>,
}

/// An object and its content.
#[derive(Debug, Clone)]
pub struct Object {
    pub info: ObjectInfo,
    pub body: Vec<u8>,
}

/// What a put writes besides the body.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// A bucket as listBuckets describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketInfo {
    pub name: String,
    pub creation_date: DateTime<Utc>,
}

/// The largest file [`Buckets::put_file`] sends in one put, and its multipart part size.
pub const PUT_FILE_WHOLE: u64 = 16 * 1024 * 1024;

/// S3's default when a put names no content type.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// A failed bucket call, by the S3 error it stands for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("The specified key does not exist.")]
    NoSuchKey,
    #[error("The specified bucket does not exist")]
    NoSuchBucket,
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou,
    #[error("The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")]
    BucketAlreadyExists,
    #[error("The specified bucket is not valid.")]
    InvalidBucketName,
    /// A parameter S3 would refuse (a key object_store cannot hold, a bad MaxKeys, ...).
    #[error("{0}")]
    InvalidArgument(String),
    /// An action of the S3 integration Passo does not answer.
    #[error("Passo does not implement the S3 action '{0}'")]
    Unsupported(String),
    /// The store itself failed: a disk error, an unreachable endpoint, an answer not understood.
    #[error("{0}")]
    Store(String),
}

impl Error {
    /// AWS's error name as a Task failure carries it (`S3.` + the SDK's exception name).
    pub fn aws_name(&self) -> &'static str {
        match self {
            Error::NoSuchKey => "S3.NoSuchKeyException",
            Error::NoSuchBucket => "S3.NoSuchBucketException",
            Error::BucketAlreadyOwnedByYou => "S3.BucketAlreadyOwnedByYouException",
            Error::BucketAlreadyExists => "S3.BucketAlreadyExistsException",
            // The SDK has no modelled exception for these: they arrive as the service's base one.
            Error::InvalidBucketName | Error::InvalidArgument(_) | Error::Store(_) => {
                "S3.S3Exception"
            }
            Error::Unsupported(_) => "States.TaskFailed",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Error::NoSuchKey | Error::NoSuchBucket => 404,
            Error::BucketAlreadyOwnedByYou | Error::BucketAlreadyExists => 409,
            Error::InvalidBucketName | Error::InvalidArgument(_) | Error::Unsupported(_) => 400,
            Error::Store(_) => 500,
        }
    }

    /// The cause as Step Functions writes it: the message, then the SDK's
    /// `(Service: S3, Status Code: N, Request ID: ..., Extended Request ID: ...)`.
    pub fn cause(&self, request_id: &str) -> String {
        format!(
            "{self} (Service: S3, Status Code: {}, Request ID: {request_id}, Extended Request ID: {request_id})",
            self.status()
        )
    }
}

/// Where buckets live.
#[derive(Debug, Clone, PartialEq)]
pub enum Config {
    /// One folder per bucket under this directory.
    Local { dir: PathBuf },
    /// An S3-compatible endpoint.
    Remote(remote::RemoteConfig),
}

/// S3's bucket naming rules (3-63 lower-case letters, digits, dots and hyphens, starting and
/// ending with a letter or digit, no `..`): they also keep a local bucket one plain folder.
pub fn check_bucket(name: &str) -> Result<(), Error> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..");
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidBucketName)
    }
}

/// The check for every call but CreateBucket: a name outside the rules cannot be a bucket,
/// so it does not exist (S3 answers NoSuchBucket for `GET` of `Some-Name`; only CreateBucket
/// says InvalidBucketName). Checked before any path is made of it.
pub fn existing_bucket(name: &str) -> Result<(), Error> {
    check_bucket(name).map_err(|_| Error::NoSuchBucket)
}

/// A key as an object_store path, refusing what would not round-trip (and so cannot escape a
/// local bucket's folder).
pub(crate) fn key_path(key: &str) -> Result<object_store::path::Path, Error> {
    if key.is_empty() || key.len() > 1024 {
        return Err(Error::InvalidArgument(
            "Object keys must be 1 to 1024 bytes long".into(),
        ));
    }
    let p = object_store::path::Path::parse(key)
        .map_err(|e| Error::InvalidArgument(format!("The key '{key}' is not supported: {e}")))?;
    if p.as_ref() != key {
        return Err(Error::InvalidArgument(format!(
            "The key '{key}' is not supported: empty path segments and a trailing '/' cannot be stored"
        )));
    }
    Ok(p)
}

/// The buckets Tasks reach. A clone shares the same backend (and its kept S3 clients), so an
/// ItemReader or ResultWriter can hold one while the Task integrations keep theirs.
#[derive(Clone)]
pub struct Buckets {
    backend: Arc<Backend>,
    /// Told of changes to local objects (shared by every clone).
    observer: observe::Slot,
}

enum Backend {
    Local(local::LocalBuckets),
    Remote(remote::RemoteBuckets),
}

impl Buckets {
    /// Buckets as configured.
    pub fn new(config: &Config) -> Result<Buckets, Error> {
        let backend = match config {
            Config::Local { dir } => Backend::Local(local::LocalBuckets::new(dir)),
            Config::Remote(r) => Backend::Remote(remote::RemoteBuckets::new(r)?),
        };
        Ok(Buckets {
            backend: Arc::new(backend),
            observer: observe::Slot::default(),
        })
    }

    /// Buckets in local folders under `dir`.
    pub fn local(dir: &Path) -> Buckets {
        Buckets {
            backend: Arc::new(Backend::Local(local::LocalBuckets::new(dir))),
            observer: observe::Slot::default(),
        }
    }

    /// Sets who hears of objects created and deleted in local buckets (once; every clone
    /// of these buckets, made before or after, tells it).
    pub fn set_observer(&self, o: Arc<dyn observe::ObjectObserver>) {
        self.observer.set(o);
    }

    pub async fn get(&self, bucket: &str, key: &str) -> Result<Object, Error> {
        existing_bucket(bucket)?;
        match self.backend.as_ref() {
            Backend::Local(b) => b.get(bucket, key).await,
            Backend::Remote(b) => b.get(bucket, key).await,
        }
    }

    /// An object's description and its content as a blocking reader that holds a few chunks
    /// at a time, never the whole object. Read the body off the async threads
    /// (`spawn_blocking` or a plain thread); see [`stream`].
    pub async fn get_reader(&self, bucket: &str, key: &str) -> Result<(ObjectInfo, Body), Error> {
        existing_bucket(bucket)?;
        match self.backend.as_ref() {
            Backend::Local(b) => b.get_reader(bucket, key).await,
            Backend::Remote(b) => b.get_reader(bucket, key).await,
        }
    }

    /// An object's content only, as [`Self::get_reader`] gives it; cheaper for a local object
    /// that has no stored ETag (nothing is hashed).
    pub async fn get_body(&self, bucket: &str, key: &str) -> Result<Body, Error> {
        existing_bucket(bucket)?;
        match self.backend.as_ref() {
            Backend::Local(b) => b.get_body(bucket, key).await,
            Backend::Remote(b) => Ok(b.get_reader(bucket, key).await?.1),
        }
    }

    /// An object as a file that can be read anywhere in it: a local object's own file, a
    /// remote one downloaded into an unnamed temporary file (disk, not memory, holds it).
    pub async fn get_file(&self, bucket: &str, key: &str) -> Result<std::fs::File, Error> {
        existing_bucket(bucket)?;
        let got = match self.backend.as_ref() {
            Backend::Local(b) => b.get_raw(bucket, key).await?,
            Backend::Remote(b) => b.get_raw(bucket, key).await?,
        };
        stream::file(got).await
    }

    /// [`Self::get_reader`] from a thread outside the runtime, through its handle.
    pub fn get_reader_blocking(
        &self,
        runtime: &tokio::runtime::Handle,
        bucket: &str,
        key: &str,
    ) -> Result<(ObjectInfo, Body), Error> {
        runtime.block_on(self.get_reader(bucket, key))
    }

    pub async fn head(&self, bucket: &str, key: &str) -> Result<ObjectInfo, Error> {
        existing_bucket(bucket)?;
        match self.backend.as_ref() {
            Backend::Local(b) => b.head(bucket, key).await,
            Backend::Remote(b) => b.head(bucket, key).await,
        }
    }

    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        opts: PutOptions,
    ) -> Result<ObjectInfo, Error> {
        existing_bucket(bucket)?;
        match self.backend.as_ref() {
            Backend::Local(b) => {
                let info = b.put(bucket, key, body, opts).await?;
                let change = observe::created(bucket, &info, "PutObject");
                self.observer.tell(change).await;
                Ok(info)
            }
            Backend::Remote(b) => b.put(bucket, key, body, opts).await,
        }
    }

    /// Writes a file's content as an object without holding it in memory: up to
    /// [`PUT_FILE_WHOLE`] bytes in one put (with its ETag, content type and metadata), more as
    /// a multipart upload read from the file a part at a time.
    pub async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        file: std::fs::File,
        opts: PutOptions,
    ) -> Result<ObjectInfo, Error> {
        use object_store::ObjectStoreExt;
        use tokio::io::AsyncReadExt;
        existing_bucket(bucket)?;
        let io = |e: std::io::Error| Error::Store(e.to_string());
        let size = file.metadata().map_err(io)?.len();
        let mut file = tokio::fs::File::from_std(file);
        if size <= PUT_FILE_WHOLE {
            let mut body = Vec::with_capacity(size as usize);
            file.read_to_end(&mut body).await.map_err(io)?;
            return self.put(bucket, key, body, opts).await;
        }
        let store: Arc<dyn object_store::ObjectStore> = match self.backend.as_ref() {
            Backend::Local(b) => b.store(bucket)?,
            Backend::Remote(b) => b.store(bucket)?,
        };
        let path = key_path(key)?;
        let upload = store
            .put_multipart(&path)
            .await
            .map_err(|e| store_error(e, Error::NoSuchBucket))?;
        let part = PUT_FILE_WHOLE as usize;
        let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, part);
        let mut buf = vec![0u8; part];
        loop {
            let n = file.read(&mut buf).await.map_err(io)?;
            if n == 0 {
                break;
            }
            // At most two parts in flight, so memory stays a few parts.
            writer
                .wait_for_capacity(2)
                .await
                .map_err(|e| store_error(e, Error::NoSuchBucket))?;
            writer.write(&buf[..n]);
        }
        writer
            .finish()
            .await
            .map_err(|e| store_error(e, Error::NoSuchBucket))?;
        let info = self.head(bucket, key).await?;
        if let Backend::Local(_) = self.backend.as_ref() {
            let change = observe::created(bucket, &info, "CompleteMultipartUpload");
            self.observer.tell(change).await;
        }
        Ok(info)
    }

    /// One page of a bucket's keys, in S3's order (byte order of the keys).
    pub async fn list(&self, bucket: &str, req: &ListRequest) -> Result<ListPage, Error> {
        existing_bucket(bucket)?;
        let all = match self.backend.as_ref() {
            Backend::Local(b) => b.list(bucket, req.dir_prefix()).await?,
            Backend::Remote(b) => b.list(bucket, req.dir_prefix(), req.after()).await?,
        };
        req.page(all)
    }

    /// Copies an object (with its content type and metadata), across buckets too.
    pub async fn copy(
        &self,
        from_bucket: &str,
        from_key: &str,
        to_bucket: &str,
        to_key: &str,
    ) -> Result<ObjectInfo, Error> {
        existing_bucket(from_bucket)?;
        existing_bucket(to_bucket)?;
        match self.backend.as_ref() {
            Backend::Local(b) => {
                let info = b.copy(from_bucket, from_key, to_bucket, to_key).await?;
                let change = observe::created(to_bucket, &info, "CopyObject");
                self.observer.tell(change).await;
                Ok(info)
            }
            Backend::Remote(b) => b.copy(from_bucket, from_key, to_bucket, to_key).await,
        }
    }

    /// Deletes an object; as in S3, a key that is not there is no error.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), Error> {
        existing_bucket(bucket)?;
        match self.backend.as_ref() {
            Backend::Local(b) => {
                b.delete(bucket, key).await?;
                let change = observe::ObjectChange::Deleted {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                    reason: "DeleteObject",
                };
                self.observer.tell(change).await;
                Ok(())
            }
            Backend::Remote(b) => b.delete(bucket, key).await,
        }
    }

    pub async fn create_bucket(&self, bucket: &str) -> Result<(), Error> {
        check_bucket(bucket)?; // the one call that names a bucket that may not exist yet
        match self.backend.as_ref() {
            Backend::Local(b) => b.create_bucket(bucket).await,
            Backend::Remote(b) => b.create_bucket(bucket).await,
        }
    }

    /// Every bucket, by name.
    pub async fn list_buckets(&self) -> Result<Vec<BucketInfo>, Error> {
        match self.backend.as_ref() {
            Backend::Local(b) => b.list_buckets().await,
            Backend::Remote(b) => b.list_buckets().await,
        }
    }
}

/// `"<md5 hex>"`: the ETag S3 gives an object written in one piece.
pub(crate) fn etag_of(body: &[u8]) -> String {
    use md5::{Digest, Md5};
    quoted_hex(&Md5::digest(body))
}

/// A digest as S3 quotes an ETag.
pub(crate) fn quoted_hex(digest: &[u8]) -> String {
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// An object_store error as the S3 error it means (`missing` is what a NotFound stands for).
pub(crate) fn store_error(e: object_store::Error, missing: Error) -> Error {
    match e {
        object_store::Error::NotFound { ref source, .. } => {
            // S3 says which one is missing in its error body.
            if source.to_string().contains("NoSuchBucket") {
                Error::NoSuchBucket
            } else {
                missing
            }
        }
        object_store::Error::InvalidPath { source } => Error::InvalidArgument(source.to_string()),
        other => {
            let text = other.to_string();
            if text.contains("NoSuchBucket") {
                Error::NoSuchBucket
            } else {
                Error::Store(text)
            }
        }
    }
}

#[cfg(test)]
mod tests;
