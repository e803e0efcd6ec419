//! `arn:aws:states:::s3:listObjectsV2` items: one per object, its metadata as AWS gives it.
//!
//! The shape is the documented child input (`input-output-itemreader`): `Etag` (so spelled,
//! with S3's quotes), `Key`, `LastModified` in epoch seconds, `Size`, `StorageClass`. The
//! recorded case `test_map_item_reader_base_list_objects_v2` has the same fields (its test
//! rewrote Etag and LastModified before recording).

use super::{ItemReader, Items, ReaderError, Source};
use crate::s3::{Buckets, ListRequest, ObjectInfo};
use serde_json::{json, Value};

/// One object's item.
pub fn item(o: &ObjectInfo) -> Value {
    json!({
        "Etag": o.etag,
        "Key": o.key,
        "LastModified": o.last_modified.timestamp(),
        "Size": o.size,
        // Passo's buckets have one storage class.
        "StorageClass": "STANDARD",
    })
}

/// The items of a listing (objects in S3's key order), up to `reader.max_items`.
pub fn objects(
    reader: &ItemReader,
    objects: impl Iterator<Item = Result<ObjectInfo, ReaderError>> + Send + 'static,
) -> Items {
    Items::new(objects.map(|o| o.map(|o| item(&o))), reader.max_items)
}

/// Every object under the reader's prefix, page by page (1000 keys a page, as S3 pages).
/// The listing is metadata only; content is read later, one object at a time.
pub async fn list_all(
    buckets: &Buckets,
    reader: &ItemReader,
) -> Result<Vec<ObjectInfo>, ReaderError> {
    let Source::ListObjects { bucket, prefix } = &reader.source else {
        return Err(ReaderError::InvalidConfig(
            "list_all needs an arn:aws:states:::s3:listObjectsV2 reader".into(),
        ));
    };
    let mut req = ListRequest {
        prefix: prefix.clone(),
        ..ListRequest::default()
    };
    let mut all = Vec::new();
    loop {
        let page = buckets
            .list(bucket, &req)
            .await
            .map_err(|e| ReaderError::S3(e.cause("passo")))?;
        all.extend(page.contents);
        match page.next_continuation_token {
            Some(t) => req.continuation_token = Some(t),
            None => return Ok(all),
        }
    }
}
