//! Buckets on an S3-compatible endpoint (AWS S3, MinIO, moto, ...): objects through
//! object_store's `AmazonS3` (one client per bucket, kept), and the two bucket-level calls it
//! does not make, CreateBucket and ListBuckets, as plain requests signed with `aws-sigv4`.

use super::credentials::{self, Credentials};
use super::stream::{self, Body};
use super::{
    key_path, store_error, BucketInfo, Error, Object, ObjectInfo, PutOptions, DEFAULT_CONTENT_TYPE,
};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{Attribute, Attributes, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// `[buckets]` with an endpoint, from passo.toml.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemoteConfig {
    /// `http(s)://host[:port]`; None: AWS's regional endpoint.
    pub endpoint: Option<String>,
    /// None: from the environment or the shared config file.
    pub region: Option<String>,
    /// `https://host/bucket/key` rather than `https://bucket.host/key`.
    pub path_style: bool,
}

pub struct RemoteBuckets {
    endpoint: String,
    region: String,
    path_style: bool,
    credentials: Option<Credentials>,
    stores: Mutex<HashMap<String, Arc<AmazonS3>>>,
    http: reqwest::Client,
}

fn quoted(etag: Option<String>) -> String {
    match etag {
        Some(e) if e.starts_with('"') => e,
        Some(e) => format!("\"{e}\""),
        None => String::new(),
    }
}

fn info(meta: ObjectMeta, attributes: &Attributes) -> ObjectInfo {
    let mut content_type = DEFAULT_CONTENT_TYPE.to_string();
    let mut metadata = BTreeMap::new();
    for (k, v) in attributes {
        match k {
            Attribute::ContentType => content_type = v.to_string(),
            Attribute::Metadata(name) => {
                metadata.insert(name.to_lowercase(), v.to_string());
            }
            _ => {}
        }
    }
    ObjectInfo {
        key: meta.location.to_string(),
        size: meta.size,
        etag: quoted(meta.e_tag),
        last_modified: meta.last_modified,
        content_type,
        metadata,
    }
}

/// The text of the first `<tag>...</tag>` in `xml` (S3's answers are small and flat enough).
fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

impl RemoteBuckets {
    pub fn new(cfg: &RemoteConfig) -> Result<RemoteBuckets, Error> {
        let region = cfg
            .region
            .clone()
            .unwrap_or_else(credentials::default_region);
        let endpoint = cfg
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let endpoint = endpoint.trim_end_matches('/').to_string();
        url::Url::parse(&endpoint)
            .map_err(|e| Error::Store(format!("buckets endpoint '{endpoint}': {e}")))?;
        Ok(RemoteBuckets {
            endpoint,
            region,
            path_style: cfg.path_style,
            credentials: credentials::resolve(),
            stores: Mutex::new(HashMap::new()),
            http: reqwest::Client::new(),
        })
    }

    /// `scheme://host` for the bucket, as the addressing style wants it.
    fn bucket_url(&self, bucket: &str) -> String {
        if self.path_style {
            return format!("{}/{bucket}", self.endpoint);
        }
        match self.endpoint.split_once("://") {
            Some((scheme, host)) => format!("{scheme}://{bucket}.{host}"),
            None => format!("{bucket}.{}", self.endpoint),
        }
    }

    pub(crate) fn store(&self, bucket: &str) -> Result<Arc<AmazonS3>, Error> {
        let mut stores = self.stores.lock().expect("the store map is never poisoned");
        if let Some(s) = stores.get(bucket) {
            return Ok(s.clone());
        }
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&self.region)
            // Path style: object_store adds the bucket to the path itself.
            .with_endpoint(if self.path_style {
                self.endpoint.clone()
            } else {
                self.bucket_url(bucket)
            })
            .with_allow_http(true)
            .with_virtual_hosted_style_request(!self.path_style);
        b = match &self.credentials {
            Some(c) => {
                let b = b
                    .with_access_key_id(&c.key_id)
                    .with_secret_access_key(&c.secret);
                match &c.session_token {
                    Some(t) => b.with_token(t),
                    None => b,
                }
            }
            None => b.with_skip_signature(true),
        };
        let s = Arc::new(b.build().map_err(|e| Error::Store(e.to_string()))?);
        stores.insert(bucket.to_string(), s.clone());
        Ok(s)
    }

    pub async fn get(&self, bucket: &str, key: &str) -> Result<Object, Error> {
        let store = self.store(bucket)?;
        let got = store
            .get(&key_path(key)?)
            .await
            .map_err(|e| store_error(e, Error::NoSuchKey))?;
        let info = info(got.meta.clone(), &got.attributes);
        let body = got
            .bytes()
            .await
            .map_err(|e| store_error(e, Error::NoSuchKey))?
            .to_vec();
        Ok(Object { info, body })
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

    /// The object's description and its body, streamed as the reader takes it.
    pub async fn get_reader(&self, bucket: &str, key: &str) -> Result<(ObjectInfo, Body), Error> {
        let store = self.store(bucket)?;
        let got = store
            .get(&key_path(key)?)
            .await
            .map_err(|e| store_error(e, Error::NoSuchKey))?;
        let info = info(got.meta.clone(), &got.attributes);
        Ok((info, stream::body(got)?))
    }

    pub async fn head(&self, bucket: &str, key: &str) -> Result<ObjectInfo, Error> {
        let store = self.store(bucket)?;
        let opts = object_store::GetOptions::new().with_head(true);
        let got = store
            .get_opts(&key_path(key)?, opts)
            .await
            .map_err(|e| store_error(e, Error::NoSuchKey))?;
        Ok(info(got.meta, &got.attributes))
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
        let mut attributes = Attributes::new();
        if let Some(ct) = &opts.content_type {
            attributes.insert(Attribute::ContentType, ct.clone().into());
        }
        for (k, v) in &opts.metadata {
            attributes.insert(
                Attribute::Metadata(k.to_lowercase().into()),
                v.clone().into(),
            );
        }
        let size = body.len() as u64;
        let put = object_store::PutOptions {
            attributes,
            ..Default::default()
        };
        let r = store
            .put_opts(&path, PutPayload::from(body), put)
            .await
            .map_err(|e| store_error(e, Error::NoSuchBucket))?;
        Ok(ObjectInfo {
            key: key.to_string(),
            size,
            etag: quoted(r.e_tag),
            last_modified: chrono::Utc::now(),
            content_type: opts
                .content_type
                .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string()),
            metadata: opts.metadata,
        })
    }

    pub async fn list(
        &self,
        bucket: &str,
        dir: Option<object_store::path::Path>,
        after: Option<String>,
    ) -> Result<Vec<ObjectInfo>, Error> {
        use futures::TryStreamExt;
        let store = self.store(bucket)?;
        // S3 can start the listing after a key, so later pages do not fetch earlier ones.
        let stream = match after.as_deref().map(key_path) {
            Some(Ok(offset)) => store.list_with_offset(dir.as_ref(), &offset),
            _ => store.list(dir.as_ref()),
        };
        let metas: Vec<ObjectMeta> = stream
            .try_collect()
            .await
            .map_err(|e| store_error(e, Error::NoSuchBucket))?;
        Ok(metas
            .into_iter()
            .map(|m| info(m, &Attributes::new()))
            .collect())
    }

    pub async fn copy(
        &self,
        from_bucket: &str,
        from_key: &str,
        to_bucket: &str,
        to_key: &str,
    ) -> Result<ObjectInfo, Error> {
        if from_bucket == to_bucket {
            let store = self.store(from_bucket)?;
            store
                .copy(&key_path(from_key)?, &key_path(to_key)?)
                .await
                .map_err(|e| store_error(e, Error::NoSuchKey))?;
            return self.head(to_bucket, to_key).await;
        }
        // object_store's clients each hold one bucket: across buckets, read then write.
        let source = self.get(from_bucket, from_key).await?;
        let opts = PutOptions {
            content_type: Some(source.info.content_type),
            metadata: source.info.metadata,
        };
        self.put(to_bucket, to_key, source.body, opts).await?;
        self.head(to_bucket, to_key).await
    }

    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), Error> {
        let store = self.store(bucket)?;
        // S3 answers 204 for a key that is not there; a 404 means the bucket is missing.
        store
            .delete(&key_path(key)?)
            .await
            .map_err(|e| store_error(e, Error::NoSuchBucket))
    }

    /// A signed request to the endpoint; the body of a 2xx answer, else S3's error.
    async fn signed(&self, method: &str, url: &str, body: Vec<u8>) -> Result<String, Error> {
        use aws_sigv4::http_request::{
            sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
            SigningSettings, UriPathNormalizationMode,
        };
        let mut req = http::Request::builder()
            .method(method)
            .uri(url)
            .body(body.clone())
            .map_err(|e| Error::Store(e.to_string()))?;
        if let Some(c) = &self.credentials {
            // S3's flavour of SigV4: the payload's hash in a header, paths as they are.
            let mut settings = SigningSettings::default();
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            let identity = aws_credential_types::Credentials::new(
                &c.key_id,
                &c.secret,
                c.session_token.clone(),
                None,
                "passo",
            )
            .into();
            let params = aws_sigv4::sign::v4::SigningParams::builder()
                .identity(&identity)
                .region(&self.region)
                .name("s3")
                .time(std::time::SystemTime::now())
                .settings(settings)
                .build()
                .map_err(|e| Error::Store(e.to_string()))?
                .into();
            let signable =
                SignableRequest::new(method, url, std::iter::empty(), SignableBody::Bytes(&body))
                    .map_err(|e| Error::Store(e.to_string()))?;
            let (instructions, _) = sign(signable, &params)
                .map_err(|e| Error::Store(e.to_string()))?
                .into_parts();
            instructions.apply_to_request_http1x(&mut req);
        }
        let req = reqwest::Request::try_from(req).map_err(|e| Error::Store(e.to_string()))?;
        let resp = self
            .http
            .execute(req)
            .await
            .map_err(|e| Error::Store(format!("{url}: {e}")))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| Error::Store(format!("{url}: {e}")))?;
        if status.is_success() {
            return Ok(text);
        }
        Err(match xml_text(&text, "Code") {
            Some("NoSuchBucket") => Error::NoSuchBucket,
            Some("BucketAlreadyOwnedByYou") => Error::BucketAlreadyOwnedByYou,
            Some("BucketAlreadyExists") => Error::BucketAlreadyExists,
            Some("InvalidBucketName") => Error::InvalidBucketName,
            _ => Error::Store(
                xml_text(&text, "Message")
                    .map(unescape)
                    .unwrap_or_else(|| format!("{url} answered {status}")),
            ),
        })
    }

    pub async fn create_bucket(&self, bucket: &str) -> Result<(), Error> {
        // Outside us-east-1, S3 wants the region named in the body.
        let body = if self.region == "us-east-1" {
            Vec::new()
        } else {
            format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                self.region
            )
            .into_bytes()
        };
        self.signed("PUT", &self.bucket_url(bucket), body)
            .await
            .map(|_| ())
    }

    pub async fn list_buckets(&self) -> Result<Vec<BucketInfo>, Error> {
        let xml = self
            .signed("GET", &format!("{}/", self.endpoint), Vec::new())
            .await?;
        let mut out = Vec::new();
        let mut rest = xml.as_str();
        while let Some(i) = rest.find("<Bucket>") {
            let end = rest[i..].find("</Bucket>").map_or(rest.len(), |e| i + e);
            let one = &rest[i..end];
            if let Some(name) = xml_text(one, "Name") {
                let creation_date = xml_text(one, "CreationDate")
                    .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                    .map(|d| d.with_timezone(&chrono::Utc))
                    .unwrap_or_default();
                out.push(BucketInfo {
                    name: unescape(name),
                    creation_date,
                });
            }
            rest = &rest[end..];
        }
        Ok(out)
    }
}
