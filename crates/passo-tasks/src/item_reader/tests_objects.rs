//! Readers over real buckets: large objects streamed, manifests, Parquet.

use super::*;
use crate::s3::{Buckets, PutOptions};
use serde_json::json;
use std::io::Write;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn get_object(rc: Value, bucket: &str, key: &str) -> ItemReader {
    ItemReader::parse(
        "arn:aws:states:::s3:getObject",
        Some(&rc),
        &json!({"Bucket": bucket, "Key": key}),
    )
    .unwrap()
}

fn local(rt: &tokio::runtime::Runtime, buckets: &[&str]) -> (tempfile::TempDir, Buckets) {
    let dir = tempfile::tempdir().unwrap();
    let b = Buckets::local(dir.path());
    for name in buckets {
        rt.block_on(b.create_bucket(name)).unwrap();
    }
    (dir, b)
}

fn put(rt: &tokio::runtime::Runtime, b: &Buckets, bucket: &str, key: &str, body: Vec<u8>) {
    rt.block_on(b.put(bucket, key, body, PutOptions::default()))
        .unwrap();
}

/// Items read the way the engine reads them: opened on the runtime, iterated off it.
fn read_all(rt: &tokio::runtime::Runtime, b: &Buckets, r: &ItemReader) -> Vec<Value> {
    rt.block_on(async {
        let items = open_object(b, r).await.unwrap();
        tokio::task::spawn_blocking(move || items.collect::<Result<Vec<_>, _>>())
            .await
            .unwrap()
            .unwrap()
    })
}

fn gzip(text: &str) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(text.as_bytes()).unwrap();
    z.finish().unwrap()
}

#[test]
fn a_large_jsonl_object_streams_from_a_bucket() {
    let rt = runtime();
    let (dir, b) = local(&rt, &["big"]);
    // About 30 MB, written by hand into the bucket's folder (no sidecar: nothing hashes it
    // on the way to the items).
    let lines = 400_000u64;
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(dir.path().join("big/items.jsonl")).unwrap());
    for i in 0..lines {
        writeln!(f, "{{\"i\":{i},\"pad\":\"{:040}\"}}", i).unwrap();
    }
    f.flush().unwrap();
    drop(f);
    let r = get_object(json!({"InputType": "JSONL"}), "big", "items.jsonl");
    let items = rt.block_on(open_object(&b, &r)).unwrap();
    // Iterated on a plain thread, as a caller without spawn_blocking would.
    let (count, last) = std::thread::spawn(move || {
        let mut n = 0u64;
        let mut last = Value::Null;
        for item in items {
            last = item.unwrap();
            n += 1;
        }
        (n, last)
    })
    .join()
    .unwrap();
    assert_eq!(count, lines);
    assert_eq!(last["i"], json!(lines - 1));
}

#[test]
fn get_reader_works_from_a_plain_thread_with_a_handle() {
    let rt = runtime();
    let (_d, b) = local(&rt, &["data"]);
    put(&rt, &b, "data", "a.txt", b"hello\nworld\n".to_vec());
    let handle = rt.handle().clone();
    let text = std::thread::spawn(move || {
        let (info, mut body) = b.get_reader_blocking(&handle, "data", "a.txt").unwrap();
        let mut s = String::new();
        std::io::Read::read_to_string(&mut body, &mut s).unwrap();
        (info.size, s)
    })
    .join()
    .unwrap();
    assert_eq!(text, (12, "hello\nworld\n".to_string()));
}

#[test]
fn an_s3_inventory_manifest_gives_its_rows() {
    let rt = runtime();
    let (_d, b) = local(&rt, &["inv", "dest"]);
    let manifest = json!({
        "sourceBucket": "src",
        "destinationBucket": "arn:aws:s3:::dest",
        "version": "2016-11-30",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size, LastModifiedDate",
        "files": [
            {"key": "src/config/data/one.csv.gz", "size": 1, "MD5checksum": "x"},
            {"key": "src/config/data/two.csv.gz", "size": 1, "MD5checksum": "y"}
        ]
    });
    put(
        &rt,
        &b,
        "inv",
        "m/manifest.json",
        manifest.to_string().into_bytes(),
    );
    let one = "\"src\",\"a.txt\",\"3\",\"2022-11-16T00:29:32.000Z\"\n\"src\",\"b.txt\",\"4\",\"2022-11-16T00:29:33.000Z\"\n";
    put(&rt, &b, "dest", "src/config/data/one.csv.gz", gzip(one));
    put(
        &rt,
        &b,
        "dest",
        "src/config/data/two.csv.gz",
        gzip("src,c.txt,5,2022-11-17T00:00:00.000Z\n"),
    );
    let r = get_object(json!({"InputType": "MANIFEST"}), "inv", "m/manifest.json");
    assert_eq!(r.manifest_type, Some(ManifestType::S3Inventory));
    let items = read_all(&rt, &b, &r);
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0],
        json!({"Bucket": "src", "Key": "a.txt", "Size": "3", "LastModifiedDate": "2022-11-16T00:29:32.000Z"})
    );
    // Keys in the Java HashMap order of every CSV item.
    assert_eq!(
        items[2].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["LastModifiedDate", "Bucket", "Size", "Key"]
    );
    // MaxItems counts across files.
    let two = get_object(
        json!({"InputType": "MANIFEST", "MaxItems": 2}),
        "inv",
        "m/manifest.json",
    );
    assert_eq!(read_all(&rt, &b, &two).len(), 2);
}

#[test]
fn inventory_errors_are_item_reader_failures() {
    let rt = runtime();
    let (_d, b) = local(&rt, &["inv"]);
    let orc = json!({"fileFormat": "ORC", "fileSchema": "x", "files": []});
    put(&rt, &b, "inv", "orc.json", orc.to_string().into_bytes());
    let missing =
        json!({"fileFormat": "CSV", "fileSchema": "Key", "files": [{"key": "gone.csv.gz"}]});
    put(
        &rt,
        &b,
        "inv",
        "missing.json",
        missing.to_string().into_bytes(),
    );
    rt.block_on(async {
        let r = get_object(json!({"InputType": "MANIFEST"}), "inv", "orc.json");
        let err = open_object(&b, &r).await.err().unwrap();
        assert!(err.cause().contains("only CSV"), "{err}");
        let r = get_object(json!({"InputType": "MANIFEST"}), "inv", "missing.json");
        let items = open_object(&b, &r).await.unwrap();
        let all: Vec<_> = tokio::task::spawn_blocking(move || items.collect())
            .await
            .unwrap();
        assert!(matches!(&all[..], [Err(ReaderError::S3(c))] if c.contains("does not exist")));
    });
}

#[test]
fn manifest_type_goes_with_input_type() {
    let parse = |rc: Value| {
        ItemReader::parse(
            "arn:aws:states:::s3:getObject",
            Some(&rc),
            &json!({"Bucket": "b-1", "Key": "k"}),
        )
    };
    let athena = parse(json!({"InputType": "JSONL", "ManifestType": "ATHENA_DATA"})).unwrap();
    assert_eq!(athena.manifest_type, Some(ManifestType::AthenaData));
    assert_eq!(
        parse(json!({"InputType": "JSONL"})).unwrap().manifest_type,
        None
    );
    for bad in [
        json!({"InputType": "MANIFEST", "ManifestType": "ATHENA_DATA"}),
        json!({"InputType": "JSON", "ManifestType": "S3_INVENTORY"}),
        json!({"InputType": "CSV", "ManifestType": "HIVE"}),
    ] {
        assert!(matches!(parse(bad), Err(ReaderError::InvalidConfig(_))));
    }
}

#[test]
fn an_athena_manifest_gives_the_rows_of_its_files() {
    let rt = runtime();
    let (_d, b) = local(&rt, &["athena", "other"]);
    let manifest = "s3://athena/unload/one.gz\ns3://other/two\n\n";
    put(
        &rt,
        &b,
        "athena",
        "q-manifest.csv",
        manifest.as_bytes().to_vec(),
    );
    put(
        &rt,
        &b,
        "athena",
        "unload/one.gz",
        gzip("{\"n\":1}\n{\"n\":2}\n"),
    );
    put(&rt, &b, "other", "two", b"{\"n\":3}\n".to_vec());
    let rc = json!({"InputType": "JSONL", "ManifestType": "ATHENA_DATA"});
    let items = read_all(&rt, &b, &get_object(rc, "athena", "q-manifest.csv"));
    assert_eq!(items, [json!({"n": 1}), json!({"n": 2}), json!({"n": 3})]);
    // CSV data files take the reader's header settings.
    put(&rt, &b, "athena", "c.csv", b"1,x\n".to_vec());
    put(
        &rt,
        &b,
        "athena",
        "c-manifest.csv",
        b"s3://athena/c.csv\n".to_vec(),
    );
    let rc = json!({"InputType": "CSV", "ManifestType": "ATHENA_DATA",
        "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["a", "b"]});
    let items = read_all(&rt, &b, &get_object(rc, "athena", "c-manifest.csv"));
    assert_eq!(items, [json!({"a": "1", "b": "x"})]);
    // A line that is no S3 URI fails the reader.
    put(
        &rt,
        &b,
        "athena",
        "bad-manifest.csv",
        b"unload/one.gz\n".to_vec(),
    );
    let rc = json!({"InputType": "JSONL", "ManifestType": "ATHENA_DATA"});
    let r = get_object(rc, "athena", "bad-manifest.csv");
    let err = rt.block_on(open_object(&b, &r)).err().unwrap();
    assert!(matches!(err, ReaderError::Malformed(_)), "{err}");
}

/// A small Parquet file: id INT64, name UTF8, score optional DOUBLE, ok BOOLEAN.
fn parquet_file(rows: i64) -> Vec<u8> {
    use ::parquet::basic::Compression;
    use ::parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
    use ::parquet::file::properties::WriterProperties;
    use ::parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;
    let schema = ::parquet::schema::parser::parse_message_type(
        "message m { REQUIRED INT64 id; REQUIRED BYTE_ARRAY name (UTF8); OPTIONAL DOUBLE score; REQUIRED BOOLEAN ok; }",
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut out = Vec::new();
    let mut w = SerializedFileWriter::new(&mut out, Arc::new(schema), Arc::new(props)).unwrap();
    let ids: Vec<i64> = (0..rows).collect();
    let names: Vec<ByteArray> = ids
        .iter()
        .map(|i| ByteArray::from(format!("n{i}").as_str()))
        .collect();
    // Every even row has a score, every odd one is null.
    let defs: Vec<i16> = ids.iter().map(|i| i16::from(i % 2 == 0)).collect();
    let scores: Vec<f64> = ids
        .iter()
        .filter(|i| *i % 2 == 0)
        .map(|i| *i as f64 + 0.5)
        .collect();
    let oks: Vec<bool> = ids.iter().map(|i| i % 3 == 0).collect();
    let mut rg = w.next_row_group().unwrap();
    let mut n = 0;
    while let Some(mut col) = rg.next_column().unwrap() {
        match n {
            0 => col.typed::<Int64Type>().write_batch(&ids, None, None),
            1 => col.typed::<ByteArrayType>().write_batch(&names, None, None),
            2 => col
                .typed::<DoubleType>()
                .write_batch(&scores, Some(&defs), None),
            _ => col.typed::<BoolType>().write_batch(&oks, None, None),
        }
        .unwrap();
        col.close().unwrap();
        n += 1;
    }
    rg.close().unwrap();
    w.close().unwrap();
    out
}

#[test]
fn parquet_rows_are_objects_of_their_columns() {
    let rt = runtime();
    let (_d, b) = local(&rt, &["pqt"]);
    put(&rt, &b, "pqt", "t.parquet", parquet_file(1000));
    let r = get_object(json!({"InputType": "PARQUET"}), "pqt", "t.parquet");
    let items = read_all(&rt, &b, &r);
    assert_eq!(items.len(), 1000);
    assert_eq!(
        items[0].to_string(),
        r#"{"id":0,"name":"n0","score":0.5,"ok":true}"#
    );
    assert_eq!(
        items[1],
        json!({"id": 1, "name": "n1", "score": null, "ok": false})
    );
    // The same bytes as a stream (LOAD_AND_FLATTEN, or any body) are spooled to a file.
    let spooled: Vec<_> = open(&r, std::io::Cursor::new(parquet_file(10)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(spooled.len(), 10);
    // An Athena manifest of Parquet files.
    put(
        &rt,
        &b,
        "pqt",
        "m.csv",
        b"s3://pqt/t.parquet\ns3://pqt/t.parquet\n".to_vec(),
    );
    let rc = json!({"InputType": "PARQUET", "ManifestType": "ATHENA_DATA", "MaxItems": 1500});
    assert_eq!(
        read_all(&rt, &b, &get_object(rc, "pqt", "m.csv")).len(),
        1500
    );
}
