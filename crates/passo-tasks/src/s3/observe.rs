//! Watching local buckets: a host (`passo server`) sets an observer that hears of every
//! object Passo writes or deletes in a local bucket (Tasks, ResultWriter, any S3 call Passo
//! serves), and waits for it to be recorded before the write answers. Files copied into a
//! bucket's folder by hand are not seen. Remote buckets are not observed: their own service
//! sends their events.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

/// What happened to an object.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectChange {
    Created {
        bucket: String,
        key: String,
        size: u64,
        /// Without S3's quotes, as its event notifications give it.
        etag: String,
        /// The API call, as S3 names it: PutObject, CopyObject, CompleteMultipartUpload.
        reason: &'static str,
    },
    Deleted {
        bucket: String,
        key: String,
        reason: &'static str,
    },
}

pub type ObserveFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

pub trait ObjectObserver: Send + Sync + 'static {
    /// Records the change; the write that made it answers once this is done.
    fn changed(&self, change: ObjectChange) -> ObserveFuture<'_>;
}

/// The observer slot every clone of a `Buckets` shares.
#[derive(Clone, Default)]
pub(crate) struct Slot(Arc<OnceLock<Arc<dyn ObjectObserver>>>);

impl Slot {
    pub(crate) fn set(&self, o: Arc<dyn ObjectObserver>) {
        let _ = self.0.set(o);
    }

    pub(crate) async fn tell(&self, change: ObjectChange) {
        if let Some(o) = self.0.get() {
            o.changed(change).await;
        }
    }
}

pub(crate) fn created(
    bucket: &str,
    info: &super::ObjectInfo,
    reason: &'static str,
) -> ObjectChange {
    ObjectChange::Created {
        bucket: bucket.to_string(),
        key: info.key.clone(),
        size: info.size,
        etag: info.etag.trim_matches('"').to_string(),
        reason,
    }
}
