//! The local store and the call shapes, on a temporary directory.

use super::*;
use serde_json::json;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn bucket_with(keys: &[&str]) -> (tempfile::TempDir, Buckets) {
    let dir = tempfile::tempdir().unwrap();
    let b = Buckets::local(dir.path());
    b.create_bucket("data").await.unwrap();
    for k in keys {
        b.put("data", k, k.as_bytes().to_vec(), PutOptions::default())
            .await
            .unwrap();
    }
    (dir, b)
}

#[test]
fn put_get_head_keep_etag_type_and_metadata() {
    rt().block_on(async {
        let (_d, b) = bucket_with(&[]).await;
        let opts = PutOptions {
            content_type: Some("text/csv".into()),
            metadata: [("owner".to_string(), "ana".to_string())].into(),
        };
        let put = b
            .put("data", "in/a.csv", b"x,y\n".to_vec(), opts)
            .await
            .unwrap();
        assert_eq!(put.etag, etag_of(b"x,y\n"));
        let got = b.get("data", "in/a.csv").await.unwrap();
        assert_eq!(got.body, b"x,y\n");
        assert_eq!(got.info.content_type, "text/csv");
        assert_eq!(got.info.metadata["owner"], "ana");
        assert_eq!(got.info.etag, put.etag);
        let head = b.head("data", "in/a.csv").await.unwrap();
        assert_eq!(head.size, 4);
        assert_eq!(head.etag, put.etag);
    });
}

#[test]
fn a_file_placed_by_hand_is_an_object() {
    rt().block_on(async {
        let (d, b) = bucket_with(&["k"]).await;
        std::fs::create_dir_all(d.path().join("data/hand")).unwrap();
        std::fs::write(d.path().join("data/hand/made.txt"), "hello").unwrap();
        // Rewriting an object by hand makes its sidecar stale.
        std::fs::write(d.path().join("data/k"), "changed!").unwrap();
        let o = b.get("data", "hand/made.txt").await.unwrap();
        assert_eq!(o.info.etag, etag_of(b"hello"));
        assert_eq!(o.info.content_type, DEFAULT_CONTENT_TYPE);
        let k = b.head("data", "k").await.unwrap();
        assert_eq!(k.etag, etag_of(b"changed!"));
    });
}

#[test]
fn missing_keys_and_buckets_are_s3_errors() {
    rt().block_on(async {
        let (_d, b) = bucket_with(&["k"]).await;
        assert_eq!(b.get("data", "nope").await.unwrap_err(), Error::NoSuchKey);
        assert_eq!(b.head("data", "nope").await.unwrap_err(), Error::NoSuchKey);
        assert_eq!(b.get("other", "k").await.unwrap_err(), Error::NoSuchBucket);
        assert_eq!(
            b.list("other", &ListRequest::default()).await.unwrap_err(),
            Error::NoSuchBucket
        );
        assert_eq!(
            b.create_bucket("data").await.unwrap_err(),
            Error::BucketAlreadyOwnedByYou
        );
        // Deleting what is not there is no error, as in S3.
        b.delete("data", "nope").await.unwrap();
    });
}

#[test]
fn keys_and_buckets_cannot_escape_the_directory() {
    rt().block_on(async {
        let (d, b) = bucket_with(&[]).await;
        for key in ["../x", "a/../../x", "a//b", "a/", "/abs", "./x", ""] {
            let e = b
                .put("data", key, b"x".to_vec(), PutOptions::default())
                .await
                .unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{key}: {e:?}");
        }
        // A name outside S3's rules is no bucket: NoSuchBucket, as S3 answers a GET of one,
        // and no path is made of it. Only CreateBucket says the name is invalid.
        for bucket in ["..", "../data", "a/b", ".passo-meta", "UP", "ab"] {
            assert_eq!(
                b.get(bucket, "k").await.unwrap_err(),
                Error::NoSuchBucket,
                "{bucket}"
            );
            assert_eq!(
                b.create_bucket(bucket).await.unwrap_err(),
                Error::InvalidBucketName,
                "{bucket}"
            );
        }
        assert!(!d.path().join("x").exists());
    });
}

#[test]
fn lists_by_prefix_and_delimiter_in_pages() {
    rt().block_on(async {
        let keys = ["a/1", "a/2", "a/sub/3", "a/sub/4", "a/t/5", "ab", "b"];
        let (_d, b) = bucket_with(&keys).await;
        let all = b.list("data", &ListRequest::default()).await.unwrap();
        let names: Vec<&str> = all.contents.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(names, keys);
        assert!(!all.is_truncated);

        // A string prefix, not a folder: "a" matches "ab" too.
        let req = ListRequest {
            prefix: "a".into(),
            delimiter: Some("/".into()),
            ..Default::default()
        };
        let p = b.list("data", &req).await.unwrap();
        assert_eq!(p.common_prefixes, ["a/"]);
        assert_eq!(
            p.contents.iter().map(|o| &o.key).collect::<Vec<_>>(),
            ["ab"]
        );

        let req = ListRequest {
            prefix: "a/".into(),
            delimiter: Some("/".into()),
            max_keys: 2,
            ..Default::default()
        };
        let p1 = b.list("data", &req).await.unwrap();
        assert_eq!(
            p1.contents.iter().map(|o| &o.key).collect::<Vec<_>>(),
            ["a/1", "a/2"]
        );
        assert!(p1.is_truncated);
        let p2 = b
            .list(
                "data",
                &ListRequest {
                    continuation_token: p1.next_continuation_token.clone(),
                    ..req.clone()
                },
            )
            .await
            .unwrap();
        assert_eq!(p2.common_prefixes, ["a/sub/", "a/t/"]);
        assert!(p2.contents.is_empty());
        assert!(!p2.is_truncated);

        // A page ending on a common prefix resumes after all of its keys.
        let req = ListRequest {
            prefix: "a/".into(),
            delimiter: Some("/".into()),
            max_keys: 3,
            ..Default::default()
        };
        let p1 = b.list("data", &req).await.unwrap();
        assert_eq!(p1.common_prefixes, ["a/sub/"]);
        let p2 = b
            .list(
                "data",
                &ListRequest {
                    continuation_token: p1.next_continuation_token,
                    ..req
                },
            )
            .await
            .unwrap();
        assert_eq!(p2.common_prefixes, ["a/t/"]);

        let after = b
            .list(
                "data",
                &ListRequest {
                    start_after: Some("a/t/5".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            after.contents.iter().map(|o| &o.key).collect::<Vec<_>>(),
            ["ab", "b"]
        );
    });
}

#[test]
fn copies_across_buckets_and_deletes() {
    rt().block_on(async {
        let (_d, b) = bucket_with(&["k"]).await;
        b.create_bucket("archive").await.unwrap();
        let c = b.copy("data", "k", "archive", "old/k").await.unwrap();
        assert_eq!(c.etag, etag_of(b"k"));
        assert_eq!(b.get("archive", "old/k").await.unwrap().body, b"k");
        b.delete("data", "k").await.unwrap();
        assert_eq!(b.get("data", "k").await.unwrap_err(), Error::NoSuchKey);
        let names: Vec<String> = b
            .list_buckets()
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(names, ["archive", "data"]);
    });
}

#[test]
fn calls_give_the_sdk_shapes() {
    rt().block_on(async {
        let (_d, b) = bucket_with(&[]).await;
        // The recorded AWS execution: a string Body is stored as JSON text.
        let put = calls::call(
            &b,
            "putObject",
            &json!({"Bucket": "data", "Key": "file-key", "Body": "text data"}),
        )
        .await
        .unwrap();
        assert_eq!(
            put,
            json!({
                "ChecksumCRC32": "KUmHvQ==",
                "ChecksumType": "FULL_OBJECT",
                "ETag": "\"2b5df3712557f503a9977a8ea893b2c9\"",
                "ServerSideEncryption": "AES256"
            })
        );
        let put = calls::call(
            &b,
            "putObject",
            &json!({"Bucket": "data", "Key": "d", "Body": {"Dict": "Value"}}),
        )
        .await
        .unwrap();
        assert_eq!(put["ETag"], "\"49e31cee5aec8faf3345893addb14346\"");
        assert_eq!(put["ChecksumCRC32"], "hnEfWw==");

        let got = calls::call(
            &b,
            "getObject",
            &json!({"Bucket": "data", "Key": "file-key"}),
        )
        .await
        .unwrap();
        assert_eq!(got["Body"], "\"text data\"");
        assert_eq!(got["ContentLength"], 11);
        assert_eq!(got["ContentType"], "binary/octet-stream");
        assert_eq!(got["AcceptRanges"], "bytes");
        assert_eq!(got["Metadata"], json!({}));
        let lm = got["LastModified"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(lm).is_ok(), "{lm}");

        let list = calls::call(
            &b,
            "listObjectsV2",
            &json!({"Bucket": "data", "MaxKeys": 1}),
        )
        .await
        .unwrap();
        assert_eq!(list["KeyCount"], 1);
        assert_eq!(list["MaxKeys"], 1);
        assert_eq!(list["Name"], "data");
        assert_eq!(list["Prefix"], "");
        assert_eq!(list["IsTruncated"], true);
        assert_eq!(list["Contents"][0]["Key"], "d");
        assert_eq!(list["Contents"][0]["Size"], 16);
        assert_eq!(list["Contents"][0]["StorageClass"], "STANDARD");
        assert!(list["NextContinuationToken"].is_string());

        let del = calls::call(
            &b,
            "deleteObjects",
            &json!({"Bucket": "data", "Delete": {"Objects": [{"Key": "d"}, {"Key": "gone"}]}}),
        )
        .await
        .unwrap();
        assert_eq!(del, json!({"Deleted": [{"Key": "d"}, {"Key": "gone"}]}));

        let (error, cause) = calls::call(&b, "getObject", &json!({"Bucket": "data", "Key": "d"}))
            .await
            .unwrap_err();
        assert_eq!(error, "S3.NoSuchKeyException");
        let cause = cause.unwrap();
        assert!(
            cause.starts_with(
                "The specified key does not exist. (Service: S3, Status Code: 404, Request ID: "
            ),
            "{cause}"
        );
        let (error, cause) = calls::call(&b, "listObjectsV2", &json!({"Bucket": "nobucket"}))
            .await
            .unwrap_err();
        assert_eq!(error, "S3.NoSuchBucketException");
        assert!(cause
            .unwrap()
            .starts_with("The specified bucket does not exist (Service: S3, Status Code: 404"));
        let (error, _) = calls::call(&b, "getObject", &json!({"Bucket": "data"}))
            .await
            .unwrap_err();
        assert_eq!(error, "S3.S3Exception");
    });
}

#[test]
fn list_objects_version_1_pages_by_marker() {
    rt().block_on(async {
        let (_d, b) = bucket_with(&["a/1", "a/2", "b/1", "c"]).await;
        let page = calls::call(
            &b,
            "listObjects",
            &json!({"Bucket": "data", "Delimiter": "/", "MaxKeys": 2}),
        )
        .await
        .unwrap();
        assert_eq!(page["IsTruncated"], true, "{page}");
        assert_eq!(page["Marker"], "");
        assert_eq!(
            page["CommonPrefixes"],
            json!([{"Prefix": "a/"}, {"Prefix": "b/"}])
        );
        // With a delimiter, a truncated page says where the next one starts.
        assert_eq!(page["NextMarker"], "b/");
        let next = calls::call(
            &b,
            "listObjects",
            &json!({"Bucket": "data", "Delimiter": "/", "Marker": "b/"}),
        )
        .await
        .unwrap();
        assert_eq!(next["Marker"], "b/");
        assert_eq!(next["IsTruncated"], false);
        assert_eq!(next["Contents"][0]["Key"], "c", "{next}");
        assert!(next.get("NextMarker").is_none());
        let (error, _) = calls::call(&b, "listObjects", &json!({"Bucket": "Not-A-Bucket"}))
            .await
            .unwrap_err();
        assert_eq!(error, "S3.NoSuchBucketException");
    });
}
