//! `arn:aws:states:::aws-sdk:s3:ACTION`: the SDK integration's parameters (PascalCase, as
//! Step Functions takes them) turned into bucket calls, and the answers into the SDK's result
//! shapes as Step Functions returns them.
//!
//! Shapes follow the executions recorded against AWS in ../shared/conformance/asl (getObject,
//! putObject, NoSuchKey, NoSuchBucket): Step Functions serializes a putObject Body as JSON (a
//! string is stored with its quotes), gives getObject's Body back as text, quotes ETags, and
//! reports the encryption S3 applies by default (SSE-S3, `AES256`). Timestamps are ISO 8601.

use super::{Buckets, Error, ListRequest, ObjectInfo, PutOptions};
use crate::TaskResult;
use serde_json::{json, Map, Value};

/// The prefix of the resources this module answers.
pub const RESOURCE_PREFIX: &str = "arn:aws:states:::aws-sdk:s3:";

/// The action of an `aws-sdk:s3` resource (`getObject`), if it is one.
pub fn action(resource: &str) -> Option<&str> {
    resource.strip_prefix(RESOURCE_PREFIX)
}

fn timestamp(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A listing's CommonPrefixes and Contents, as both versions of ListObjects answer them.
fn listed(page: &super::ListPage) -> Map<String, Value> {
    let mut m = Map::new();
    if !page.common_prefixes.is_empty() {
        let cps: Vec<Value> = page
            .common_prefixes
            .iter()
            .map(|p| json!({ "Prefix": p }))
            .collect();
        m.insert("CommonPrefixes".into(), Value::Array(cps));
    }
    if !page.contents.is_empty() {
        let contents: Vec<Value> = page
            .contents
            .iter()
            .map(|o| {
                json!({
                    "ETag": o.etag,
                    "Key": o.key,
                    "LastModified": timestamp(&o.last_modified),
                    "Size": o.size,
                    "StorageClass": "STANDARD",
                })
            })
            .collect();
        m.insert("Contents".into(), Value::Array(contents));
    }
    m
}

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidArgument(message.into())
}

fn string<'a>(input: &'a Value, field: &str) -> Result<Option<&'a str>, Error> {
    match input.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(format!(
            "Cannot deserialize value of type String from {} for field '{field}'",
            kind(other)
        ))),
    }
}

fn required<'a>(input: &'a Value, field: &str) -> Result<&'a str, Error> {
    string(input, field)?.ok_or_else(|| invalid(format!("Missing required parameter: {field}")))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn object_fields(info: &ObjectInfo) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("AcceptRanges".into(), json!("bytes"));
    m.insert("ContentLength".into(), json!(info.size));
    m.insert("ContentType".into(), json!(info.content_type));
    m.insert("ETag".into(), json!(info.etag));
    m.insert("LastModified".into(), json!(timestamp(&info.last_modified)));
    m.insert("Metadata".into(), json!(info.metadata));
    m.insert("ServerSideEncryption".into(), json!("AES256"));
    m
}

/// `bucket/key` (optionally with a leading `/`, URL-encoded, and `?versionId=`).
fn copy_source(s: &str) -> Result<(String, String), Error> {
    let s = s.split_once("?versionId=").map_or(s, |(a, _)| a);
    let s = percent_decode(s.trim_start_matches('/'));
    match s.split_once('/') {
        Some((b, k)) if !b.is_empty() && !k.is_empty() => Ok((b.to_string(), k.to_string())),
        _ => Err(invalid(
            "Invalid copy source object key: CopySource must be 'bucket/key'",
        )),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn metadata(input: &Value) -> Result<std::collections::BTreeMap<String, String>, Error> {
    let mut out = std::collections::BTreeMap::new();
    match input.get("Metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let v = v
                    .as_str()
                    .ok_or_else(|| invalid(format!("Metadata value for '{k}' must be a string")))?;
                out.insert(k.to_lowercase(), v.to_string());
            }
        }
        Some(other) => {
            return Err(invalid(format!(
                "Metadata must be an object, not {}",
                kind(other)
            )))
        }
    }
    Ok(out)
}

fn list_request(input: &Value) -> Result<ListRequest, Error> {
    let max_keys = match input.get("MaxKeys") {
        None | Some(Value::Null) => super::listing::MAX_KEYS,
        Some(v) => {
            let n = v.as_i64().ok_or_else(|| {
                invalid(format!(
                    "Cannot deserialize value of type Integer from {} for field 'MaxKeys'",
                    kind(v)
                ))
            })?;
            if n < 0 {
                return Err(invalid("MaxKeys must not be negative"));
            }
            (n as usize).min(super::listing::MAX_KEYS)
        }
    };
    Ok(ListRequest {
        prefix: string(input, "Prefix")?.unwrap_or_default().to_string(),
        delimiter: string(input, "Delimiter")?.map(String::from),
        max_keys,
        start_after: string(input, "StartAfter")?.map(String::from),
        continuation_token: string(input, "ContinuationToken")?.map(String::from),
    })
}

async fn dispatch(buckets: &Buckets, action: &str, input: &Value) -> Result<Value, Error> {
    match action {
        "getObject" => {
            let o = buckets
                .get(required(input, "Bucket")?, required(input, "Key")?)
                .await?;
            let mut m = object_fields(&o.info);
            m.insert(
                "Body".into(),
                json!(String::from_utf8_lossy(&o.body).into_owned()),
            );
            Ok(Value::Object(m))
        }
        "headObject" => {
            let info = buckets
                .head(required(input, "Bucket")?, required(input, "Key")?)
                .await?;
            Ok(Value::Object(object_fields(&info)))
        }
        "putObject" => {
            // Step Functions serializes whatever Body is as JSON text.
            let body = match input.get("Body") {
                None | Some(Value::Null) => Vec::new(),
                Some(v) => serde_json::to_vec(v).map_err(|e| Error::Store(e.to_string()))?,
            };
            let crc = crc32fast::hash(&body).to_be_bytes();
            let opts = PutOptions {
                content_type: string(input, "ContentType")?.map(String::from),
                metadata: metadata(input)?,
            };
            let info = buckets
                .put(
                    required(input, "Bucket")?,
                    required(input, "Key")?,
                    body,
                    opts,
                )
                .await?;
            use base64::Engine;
            Ok(json!({
                "ChecksumCRC32": base64::engine::general_purpose::STANDARD.encode(crc),
                "ChecksumType": "FULL_OBJECT",
                "ETag": info.etag,
                "ServerSideEncryption": "AES256",
            }))
        }
        "listObjectsV2" => {
            let bucket = required(input, "Bucket")?;
            let req = list_request(input)?;
            let page = buckets.list(bucket, &req).await?;
            let key_count = page.contents.len() + page.common_prefixes.len();
            let mut m = listed(&page);
            if let Some(t) = &req.continuation_token {
                m.insert("ContinuationToken".into(), json!(t));
            }
            if let Some(d) = &req.delimiter {
                m.insert("Delimiter".into(), json!(d));
            }
            m.insert("IsTruncated".into(), json!(page.is_truncated));
            m.insert("KeyCount".into(), json!(key_count));
            m.insert("MaxKeys".into(), json!(req.max_keys));
            m.insert("Name".into(), json!(bucket));
            if let Some(t) = &page.next_continuation_token {
                m.insert("NextContinuationToken".into(), json!(t));
            }
            m.insert("Prefix".into(), json!(req.prefix));
            if let Some(s) = &req.start_after {
                m.insert("StartAfter".into(), json!(s));
            }
            Ok(Value::Object(m))
        }
        // ListObjects (version 1): Marker where version 2 has StartAfter, NextMarker (with a
        // delimiter) where it has a continuation token.
        "listObjects" => {
            let bucket = required(input, "Bucket")?;
            let mut v2 = input.clone();
            if let Some(o) = v2.as_object_mut() {
                if let Some(m) = o.remove("Marker") {
                    o.insert("StartAfter".into(), m);
                }
            }
            let req = list_request(&v2)?;
            let page = buckets.list(bucket, &req).await?;
            let mut m = listed(&page);
            if let Some(d) = &req.delimiter {
                m.insert("Delimiter".into(), json!(d));
            }
            m.insert("IsTruncated".into(), json!(page.is_truncated));
            m.insert(
                "Marker".into(),
                json!(req.start_after.clone().unwrap_or_default()),
            );
            m.insert("MaxKeys".into(), json!(req.max_keys));
            m.insert("Name".into(), json!(bucket));
            if page.is_truncated && req.delimiter.is_some() {
                let last = page
                    .contents
                    .iter()
                    .map(|o| o.key.as_str())
                    .chain(page.common_prefixes.iter().map(String::as_str))
                    .max();
                if let Some(l) = last {
                    m.insert("NextMarker".into(), json!(l));
                }
            }
            m.insert("Prefix".into(), json!(req.prefix));
            Ok(Value::Object(m))
        }
        "copyObject" => {
            let (from_bucket, from_key) = copy_source(required(input, "CopySource")?)?;
            let info = buckets
                .copy(
                    &from_bucket,
                    &from_key,
                    required(input, "Bucket")?,
                    required(input, "Key")?,
                )
                .await?;
            Ok(json!({
                "CopyObjectResult": {
                    "ETag": info.etag,
                    "LastModified": timestamp(&info.last_modified),
                },
                "ServerSideEncryption": "AES256",
            }))
        }
        "deleteObject" => {
            buckets
                .delete(required(input, "Bucket")?, required(input, "Key")?)
                .await?;
            Ok(json!({}))
        }
        "deleteObjects" => {
            let bucket = required(input, "Bucket")?;
            let delete = input
                .get("Delete")
                .ok_or_else(|| invalid("Missing required parameter: Delete"))?;
            let quiet = delete
                .get("Quiet")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let objects = delete
                .get("Objects")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("Missing required parameter: Delete.Objects"))?;
            let mut deleted = Vec::new();
            let mut errors = Vec::new();
            for o in objects {
                let key = required(o, "Key")?;
                match buckets.delete(bucket, key).await {
                    Ok(()) => deleted.push(json!({ "Key": key })),
                    // A missing bucket fails the whole call, as in S3.
                    Err(Error::NoSuchBucket) => return Err(Error::NoSuchBucket),
                    Err(e) => errors.push(json!({
                        "Code": e.aws_name().trim_start_matches("S3.").trim_end_matches("Exception"),
                        "Key": key,
                        "Message": e.to_string(),
                    })),
                }
            }
            let mut m = Map::new();
            if !deleted.is_empty() && !quiet {
                m.insert("Deleted".into(), Value::Array(deleted));
            }
            if !errors.is_empty() {
                m.insert("Errors".into(), Value::Array(errors));
            }
            Ok(Value::Object(m))
        }
        "createBucket" => {
            let bucket = required(input, "Bucket")?;
            buckets.create_bucket(bucket).await?;
            Ok(json!({ "Location": format!("/{bucket}") }))
        }
        "listBuckets" => {
            let list = buckets.list_buckets().await?;
            let items: Vec<Value> = list
                .iter()
                .map(|b| json!({ "CreationDate": timestamp(&b.creation_date), "Name": b.name }))
                .collect();
            Ok(json!({ "Buckets": items, "Owner": { "ID": "passo" } }))
        }
        other => Err(Error::Unsupported(other.to_string())),
    }
}

/// Runs one `aws-sdk:s3` action; a failure as the Task error AWS would give.
pub async fn call(buckets: &Buckets, action: &str, input: &Value) -> TaskResult {
    dispatch(buckets, action, input).await.map_err(|e| {
        let request_id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        let cause = match &e {
            Error::Unsupported(_) => e.to_string(),
            _ => e.cause(&request_id[..16]),
        };
        (e.aws_name().to_string(), Some(cause))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources_are_bucket_and_key() {
        assert_eq!(
            copy_source("b/dir/k%20x.txt").unwrap(),
            ("b".into(), "dir/k x.txt".into())
        );
        assert_eq!(
            copy_source("/b/k?versionId=3").unwrap(),
            ("b".into(), "k".into())
        );
        assert!(copy_source("nokey").is_err());
        assert!(copy_source("b/").is_err());
    }

    #[test]
    fn max_keys_is_capped_and_typed() {
        assert_eq!(
            list_request(&json!({"MaxKeys": 5000})).unwrap().max_keys,
            1000
        );
        assert_eq!(list_request(&json!({})).unwrap().max_keys, 1000);
        assert!(list_request(&json!({"MaxKeys": "5"})).is_err());
        assert!(list_request(&json!({"MaxKeys": -1})).is_err());
    }
}
