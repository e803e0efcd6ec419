//! Buckets as folders: `<dir>/<bucket>/<key>`, written through object_store's
//! `LocalFileSystem` (a put lands in a temporary file and is renamed into place, so a reader
//! never sees half an object).
//!
//! What S3 keeps beside an object (its MD5 ETag, content type, user metadata) lives in a
//! sidecar `<dir>/.passo-meta/<bucket>/<md5 of the key>.json`, outside the bucket's folder so
//! listings never see it (bucket names cannot start with a dot). A sidecar counts only while
//! it names the file's current local tag (inode, mtime, size): a file dropped in or rewritten
//! by hand gets its ETag computed from its content and S3's default content type.

use super::stream::{self, Body};
use super::{
    etag_of, key_path, store_error, BucketInfo, Error, Object, ObjectInfo, PutOptions,
    DEFAULT_CONTENT_TYPE,
};
use object_store::local::LocalFileSystem;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const META_DIR: &str = ".passo-meta";

pub struct LocalBuckets {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Sidecar {
    /// object_store's tag of the file this describes.
    local_tag: String,
    etag: String,
    content_type: String,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

fn io_error(e: std::io::Error) -> Error {
    Error::Store(e.to_string())
}

impl LocalBuckets {
    pub fn new(root: &Path) -> LocalBuckets {
        LocalBuckets {
            root: root.to_path_buf(),
        }
    }

    fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    pub(crate) fn store(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, Error> {
        let dir = self.bucket_dir(bucket);
        if !dir.is_dir() {
            return Err(Error::NoSuchBucket);
        }
        let fs = LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| Error::Store(e.to_string()))?
            .with_automatic_cleanup(true);
        Ok(Arc::new(fs))
    }

    fn sidecar_path(&self, bucket: &str, key: &str) -> PathBuf {
        let name = etag_of(key.as_bytes()).trim_matches('"').to_string();
        self.root
            .join(META_DIR)
            .join(bucket)
            .join(format!("{name}.json"))
    }

    async fn sidecar(&self, bucket: &str, meta: &ObjectMeta) -> Option<Sidecar> {
        let path = self.sidecar_path(bucket, meta.location.as_ref());
        let text = tokio::fs::read(path).await.ok()?;
        let s: Sidecar = serde_json::from_slice(&text).ok()?;
        (Some(&s.local_tag) == meta.e_tag.as_ref()).then_some(s)
    }

    /// The object's description; `body` saves reading the file again to hash it.
    async fn info(
        &self,
        bucket: &str,
        store: &dyn ObjectStore,
        meta: ObjectMeta,
        body: Option<&[u8]>,
    ) -> Result<ObjectInfo, Error> {
        let key = meta.location.to_string();
        let (etag, content_type, metadata) = match self.sidecar(bucket, &meta).await {
            Some(s) => (s.etag, s.content_type, s.metadata),
            None => {
                let etag = match body {
                    Some(b) => etag_of(b),
                    None => {
                        // Hashed chunk by chunk: a large file dropped in by hand is never
                        // held in memory whole.
                        use futures::TryStreamExt;
                        use md5::{Digest, Md5};
                        let mut chunks = store
                            .get(&meta.location)
                            .await
                            .map_err(|e| store_error(e, Error::NoSuchKey))?
                            .into_stream();
                        let mut md5 = Md5::new();
                        while let Some(chunk) = chunks
                            .try_next()
                            .await
                            .map_err(|e| store_error(e, Error::NoSuchKey))?
                        {
                            md5.update(&chunk);
                        }
                        super::quoted_hex(&md5.finalize())
                    }
                };
                (etag, DEFAULT_CONTENT_TYPE.to_string(), BTreeMap::new())
            }
        };
        Ok(ObjectInfo {
            key,
            size: meta.size,
            etag,
            last_modified: meta.last_modified,
            content_type,
            metadata,
        })
    }

    pub async fn get(&self, bucket: &str, key: &str) -> Result<Object, Error> {
        let store = self.store(bucket)?;
        let path = key_path(key)?;
        let got = store
            .get(&path)
            .await
            .map_err(|e| store_error(e, Error::NoSuchKey))?;
        let meta = got.meta.clone();
        let body = got
            .bytes()
            .await
            .map_err(|e| store_error(e, Error::NoSuchKey))?
            .to_vec();
        let info = self.info(bucket, store.as_ref(), meta, Some(&body)).await?;
        Ok(Object { info, body })
    }

    /// The object's file, opened for reading (no ETag computed: see [`Self::get_reader`]).
    pub async fn get_body(&self, bucket: &str, key: &str) -> Result<Body, Error> {
        let store = self.store(bucket)?;
        let got = store
            .get(&key_path(key)?)
            .await
            .map_err(|e| store_error(e, Error::NoSuchKey))?;
        stream::body(got)
    }

    /// object_store's answer to a get, body unread.
    pub(crate) async fn get_raw(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<object_store::GetResult, Error> {
        self.store(bucket)?
            .get(&key_path(key)?)
            .await
            .map_err(|e| store_error(e, Error::NoSuchKey))
    }

    /// The object's description and its file. Without a sidecar the ETag needs one pass over
    /// the file first (chunked, so memory stays bounded).
    pub async fn get_reader(&self, bucket: &str, key: &str) -> Result<(ObjectInfo, Body), Error> {
        let store = self.store(bucket)?;
        let got = store
            .get(&key_path(key)?)
            .await
            .map_err(|e| store_error(e, Error::NoSuchKey))?;
        let info = self
            .info(bucket, store.as_ref(), got.meta.clone(), None)
            .await?;
        Ok((info, stream::body(got)?))
    }

    pub async fn head(&self, bucket: &str, key: &str) -> Result<ObjectInfo, Error> {
        let store = self.store(bucket)?;
        let path = key_path(key)?;
        let meta = store
            .head(&path)
            .await
            .map_err(|e| store_error(e, Error::NoSuchKey))?;
        self.info(bucket, store.as_ref(), meta, None).await
    }

    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        opts: PutOptions,
    ) -> Result<ObjectInfo, Error> {
        let store = self.store(bucket)?;
        let path = key_path(key)?;
        let etag = etag_of(&body);
        store
            .put(&path, PutPayload::from(body))
            .await
            .map_err(|e| store_error(e, Error::NoSuchBucket))?;
        // The tag to remember is the one the file has now (the put's own may differ in mtime
        // precision from what a later head reads).
        let meta = store
            .head(&path)
            .await
            .map_err(|e| store_error(e, Error::NoSuchKey))?;
        let sidecar = Sidecar {
            local_tag: meta.e_tag.clone().unwrap_or_default(),
            etag: etag.clone(),
            content_type: opts
                .content_type
                .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string()),
            metadata: opts.metadata,
        };
        let side = self.sidecar_path(bucket, key);
        if let Some(dir) = side.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io_error)?;
        }
        let text = serde_json::to_vec(&sidecar).map_err(|e| Error::Store(e.to_string()))?;
        // Written whole then renamed, like the object itself.
        let tmp = side.with_extension("json.tmp");
        tokio::fs::write(&tmp, text).await.map_err(io_error)?;
        tokio::fs::rename(&tmp, &side).await.map_err(io_error)?;
        Ok(ObjectInfo {
            key: key.to_string(),
            size: meta.size,
            etag,
            last_modified: meta.last_modified,
            content_type: sidecar.content_type,
            metadata: sidecar.metadata,
        })
    }

    /// Every object under `dir` (whole path segments), any order.
    pub async fn list(
        &self,
        bucket: &str,
        dir: Option<object_store::path::Path>,
    ) -> Result<Vec<ObjectInfo>, Error> {
        use futures::TryStreamExt;
        let store = self.store(bucket)?;
        let metas: Vec<ObjectMeta> = store
            .list(dir.as_ref())
            .try_collect()
            .await
            .map_err(|e| store_error(e, Error::NoSuchBucket))?;
        let mut out = Vec::with_capacity(metas.len());
        for m in metas {
            out.push(self.info(bucket, store.as_ref(), m, None).await?);
        }
        Ok(out)
    }

    pub async fn copy(
        &self,
        from_bucket: &str,
        from_key: &str,
        to_bucket: &str,
        to_key: &str,
    ) -> Result<ObjectInfo, Error> {
        let source = self.get(from_bucket, from_key).await?;
        let opts = PutOptions {
            content_type: Some(source.info.content_type),
            metadata: source.info.metadata,
        };
        self.put(to_bucket, to_key, source.body, opts).await
    }

    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), Error> {
        let store = self.store(bucket)?;
        let path = key_path(key)?;
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(store_error(e, Error::NoSuchKey)),
        }
        match tokio::fs::remove_file(self.sidecar_path(bucket, key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(e)),
            _ => Ok(()),
        }
    }

    pub async fn create_bucket(&self, bucket: &str) -> Result<(), Error> {
        tokio::fs::create_dir_all(&self.root)
            .await
            .map_err(io_error)?;
        match tokio::fs::create_dir(self.bucket_dir(bucket)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Error::BucketAlreadyOwnedByYou)
            }
            Err(e) => Err(io_error(e)),
        }
    }

    pub async fn list_buckets(&self) -> Result<Vec<BucketInfo>, Error> {
        let mut out = Vec::new();
        let mut dir = match tokio::fs::read_dir(&self.root).await {
            Ok(d) => d,
            // No buckets made yet.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io_error(e)),
        };
        while let Some(entry) = dir.next_entry().await.map_err(io_error)? {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let meta = entry.metadata().await.map_err(io_error)?;
            if !meta.is_dir() || super::check_bucket(&name).is_err() {
                continue;
            }
            let when = meta
                .created()
                .or_else(|_| meta.modified())
                .map_err(io_error)?;
            out.push(BucketInfo {
                name,
                creation_date: when.into(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
