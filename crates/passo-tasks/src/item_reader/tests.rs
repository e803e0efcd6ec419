use super::*;
use serde_json::json;
use std::io::Cursor;

fn reader(rc: Value) -> ItemReader {
    ItemReader::parse(
        "arn:aws:states:::s3:getObject",
        Some(&rc),
        &json!({"Bucket": "b-1", "Key": "k"}),
    )
    .unwrap()
}

fn read(rc: Value, body: &str) -> Result<Vec<Value>, ReaderError> {
    open(&reader(rc), Cursor::new(body.to_owned()))?.collect()
}

/// Items with their keys in order, as text: key order is part of what AWS gives.
fn texts(items: &[Value]) -> Vec<String> {
    items.iter().map(|v| v.to_string()).collect()
}

#[test]
fn config_defaults_and_aws_values() {
    let r = reader(json!({"InputType": "CSV"}));
    assert_eq!(r.csv_headers, CsvHeaders::FirstRow);
    assert_eq!(r.csv_delimiter, b',');
    assert_eq!(r.max_items, MAX_ITEMS_LIMIT);
    for (name, b) in [
        ("PIPE", b'|'),
        ("SEMICOLON", b';'),
        ("SPACE", b' '),
        ("TAB", b'\t'),
    ] {
        assert_eq!(
            reader(json!({"InputType": "CSV", "CSVDelimiter": name})).csv_delimiter,
            b
        );
    }
    let bad = ItemReader::parse(
        "arn:aws:states:::s3:getObject",
        Some(&json!({"InputType": "XML"})),
        &json!({"Bucket": "b-1", "Key": "k"}),
    );
    assert!(matches!(bad, Err(ReaderError::InvalidConfig(_))));
    let no_type = ItemReader::parse(
        "arn:aws:states:::s3:getObject",
        None,
        &json!({"Bucket": "b-1", "Key": "k"}),
    );
    assert!(matches!(no_type, Err(ReaderError::InvalidConfig(_))));
    let list = ItemReader::parse(
        "arn:aws:states:::s3:listObjectsV2",
        None,
        &json!({"Bucket": "b-1", "Prefix": "p/"}),
    )
    .unwrap();
    assert_eq!(
        list.source,
        Source::ListObjects {
            bucket: "b-1".into(),
            prefix: "p/".into()
        }
    );
    let flatten_untyped = ItemReader::parse(
        "arn:aws:states:::s3:listObjectsV2",
        Some(&json!({"Transformation": "LOAD_AND_FLATTEN"})),
        &json!({"Bucket": "b-1"}),
    );
    assert!(matches!(
        flatten_untyped,
        Err(ReaderError::InvalidConfig(_))
    ));
}

#[test]
fn max_items_as_aws_reads_it() {
    assert_eq!(max_items(&json!(2)), Ok(2));
    assert_eq!(max_items(&json!(0)), Ok(MAX_ITEMS_LIMIT));
    assert_eq!(max_items(&json!(100_000_001)), Ok(MAX_ITEMS_LIMIT));
    assert_eq!(max_items(&json!(-1)), Err(ReaderError::MaxItemsNegative));
    assert_eq!(
        ReaderError::MaxItemsNegative.cause(),
        "field MaxItems must be positive"
    );
    assert_eq!(max_items(&json!("2")), Ok(2));
    assert!(matches!(
        max_items(&json!("two")),
        Err(ReaderError::MaxItemsNotInteger(_))
    ));
    assert_eq!(
        read(json!({"InputType": "JSON", "MaxItems": 2}), "[1,2,3]")
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn csv_first_row_short_and_long_rows() {
    let items = read(json!({"InputType": "CSV"}), "a,b\n1\n1,2,3\n\n   \n").unwrap();
    assert_eq!(
        texts(&items),
        [
            r#"{"a":"1","b":""}"#,
            r#"{"a":"1","b":"2"}"#,
            r#"{"a":"   ","b":""}"#
        ]
    );
}

#[test]
fn csv_given_headers_and_duplicates() {
    let given = json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["x"]});
    assert_eq!(
        texts(&read(given, "1,2\n3\n").unwrap()),
        [r#"{"x":"1"}"#, r#"{"x":"3"}"#]
    );
    let dup = json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["x", "x"]});
    let err = read(dup, "1,2\n").unwrap_err();
    assert_eq!(err.cause(), "CSV headers cannot contain duplicates.");
    assert_eq!(err.aws_name(), "States.ItemReaderFailed");
    let dup_first = read(json!({"InputType": "CSV"}), "x,x\n1,2\n").unwrap_err();
    assert_eq!(dup_first, ReaderError::DuplicateHeaders);
}

#[test]
fn csv_quotes_delimiters_and_values_as_strings() {
    let body = "n|s\n1|\"a|b \"\"q\"\"\nnext\"\n";
    let items = read(json!({"InputType": "CSV", "CSVDelimiter": "PIPE"}), body).unwrap();
    assert_eq!(items, [json!({"n": "1", "s": "a|b \"q\"\nnext"})]);
    let tab = read(
        json!({"InputType": "CSV", "CSVDelimiter": "TAB"}),
        "a\tb\ntrue\t1.5\n",
    )
    .unwrap();
    assert_eq!(tab, [json!({"a": "true", "b": "1.5"})]);
    let crlf = read(json!({"InputType": "CSV"}), "a,b\r\n1,2\r\n").unwrap();
    assert_eq!(crlf, [json!({"a": "1", "b": "2"})]);
}

#[test]
fn csv_keys_in_java_hashmap_order() {
    // AWS's documented example: headers userId,movieId,rating,timestamp.
    let body = "userId,movieId,rating,timestamp\n1,307,3.5,1256677221\n";
    let items = read(json!({"InputType": "CSV"}), body).unwrap();
    assert_eq!(
        texts(&items),
        [r#"{"rating":"3.5","movieId":"307","userId":"1","timestamp":"1256677221"}"#]
    );
    // More than 12 headers: the map has grown to 32 buckets.
    let names: Vec<String> = (0..13).map(|i| format!("h{i}")).collect();
    let order = csv::java_hashmap_order(&names);
    assert_eq!(order.len(), 13);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, (0..13).collect::<Vec<_>>());
}

#[test]
fn csv_empty_file_has_no_items() {
    assert_eq!(
        read(json!({"InputType": "CSV"}), "").unwrap(),
        Vec::<Value>::new()
    );
    assert_eq!(
        read(json!({"InputType": "CSV"}), "a,b\n").unwrap(),
        Vec::<Value>::new()
    );
}

#[test]
fn json_array_elements_of_every_kind() {
    let body = r#" [ 1, -2.5e3 , "s,]\"x" , {"a":[1,{"b":"]"}]}, [[]], true, null ] "#;
    let items = read(json!({"InputType": "JSON"}), body).unwrap();
    assert_eq!(
        items,
        [
            json!(1),
            json!(-2500.0),
            json!("s,]\"x"),
            json!({"a": [1, {"b": "]"}]}),
            json!([[]]),
            json!(true),
            json!(null)
        ]
    );
    assert_eq!(
        read(json!({"InputType": "JSON"}), "[]").unwrap(),
        Vec::<Value>::new()
    );
}

#[test]
fn json_not_an_array_is_not_iterable() {
    for body in [r#"{"Hello": "world"}"#, "3", "\"x\"", ""] {
        let err = read(json!({"InputType": "JSON"}), body).unwrap_err();
        assert_eq!(
            err.cause(),
            "Attempting to map over non-iterable node.",
            "{body}"
        );
    }
}

#[test]
fn json_malformed_element_fails_and_stops() {
    let items: Vec<_> = open(
        &reader(json!({"InputType": "JSON"})),
        Cursor::new("[1, tru, 3]".to_owned()),
    )
    .unwrap()
    .collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0], Ok(json!(1)));
    assert!(matches!(items[1], Err(ReaderError::Malformed(_))));
    let unterminated = read(json!({"InputType": "JSON"}), "[1, 2").unwrap_err();
    assert!(matches!(unterminated, ReaderError::Malformed(_)));
    let no_comma = read(json!({"InputType": "JSON"}), "[1 2]").unwrap_err();
    assert!(matches!(no_comma, ReaderError::Malformed(_)));
}

#[test]
fn json_items_pointer() {
    let body = r#"{"skip": {"deep": [1, "]", {"x": "}"}]}, "a/b": 0, "inventory": {"n": 1, "products": [{"id": 1}, {"id": 2}]}}"#;
    let rc = json!({"InputType": "JSON", "ItemsPointer": "/inventory/products"});
    assert_eq!(
        read(rc, body).unwrap(),
        [json!({"id": 1}), json!({"id": 2})]
    );
    let indexed = json!({"InputType": "JSON", "ItemsPointer": "/1/xs"});
    assert_eq!(
        read(indexed, r#"[{"xs": [0]}, {"xs": [7, 8]}]"#).unwrap(),
        [json!(7), json!(8)]
    );
    let missing = json!({"InputType": "JSON", "ItemsPointer": "/nope"});
    assert!(matches!(
        read(missing, body),
        Err(ReaderError::PointerNotFound(_))
    ));
    let not_array = json!({"InputType": "JSON", "ItemsPointer": "/inventory/n"});
    assert_eq!(read(not_array, body), Err(ReaderError::NotIterable));
}

#[test]
fn jsonl_lines_blank_lines_and_errors() {
    let items = read(json!({"InputType": "JSONL"}), "{\"a\":1}\n\n[2]\r\n\"s\"").unwrap();
    assert_eq!(items, [json!({"a": 1}), json!([2]), json!("s")]);
    let err = read(json!({"InputType": "JSONL"}), "1\n{bad\n3\n").unwrap_err();
    assert!(err.cause().contains("line 2"), "{err}");
}

#[test]
fn a_body_that_is_not_parquet_or_a_lone_manifest_says_so() {
    let err = read(json!({"InputType": "PARQUET"}), "not parquet").unwrap_err();
    assert!(matches!(err, ReaderError::Malformed(_)), "{err}");
    // A manifest names other objects: only open_object, with the buckets, reads one.
    let err = read(json!({"InputType": "MANIFEST"}), "{}").unwrap_err();
    assert!(matches!(err, ReaderError::Unsupported(_)), "{err}");
}

#[test]
fn listing_items_have_aws_shape() {
    let info = crate::s3::ObjectInfo {
        key: "d/f.txt".into(),
        size: 12,
        etag: "\"abc\"".into(),
        last_modified: chrono::DateTime::from_timestamp(1_668_699_881, 0).unwrap(),
        content_type: "text/plain".into(),
        metadata: Default::default(),
    };
    assert_eq!(
        listing::item(&info).to_string(),
        r#"{"Etag":"\"abc\"","Key":"d/f.txt","LastModified":1668699881,"Size":12,"StorageClass":"STANDARD"}"#
    );
}

#[test]
fn load_and_flatten_reads_each_object_in_turn() {
    let r = ItemReader::parse(
        "arn:aws:states:::s3:listObjectsV2",
        Some(&json!({"InputType": "JSONL", "Transformation": "LOAD_AND_FLATTEN", "MaxItems": 3})),
        &json!({"Bucket": "b-1"}),
    )
    .unwrap();
    let info = |key: &str| crate::s3::ObjectInfo {
        key: key.into(),
        size: 0,
        etag: String::new(),
        last_modified: chrono::Utc::now(),
        content_type: String::new(),
        metadata: Default::default(),
    };
    let objects = vec![Ok(info("a")), Ok(info("b"))].into_iter();
    let items: Vec<_> = open_flattened(&r, objects, |o| {
        let body = if o.key == "a" { "1\n2\n" } else { "3\n4\n" };
        Ok(Box::new(Cursor::new(body.to_owned())) as Body)
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap();
    assert_eq!(items, [json!(1), json!(2), json!(3)]);
}

#[test]
fn large_files_stream_through() {
    // 200,000 lines and rows through the iterator, without holding them.
    struct Lines {
        n: usize,
        i: usize,
        header: Option<&'static [u8]>,
        buf: Vec<u8>,
        pos: usize,
        jsonl: bool,
    }
    impl std::io::Read for Lines {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.pos == self.buf.len() {
                self.buf.clear();
                self.pos = 0;
                if let Some(h) = self.header.take() {
                    self.buf.extend_from_slice(h);
                } else if self.i < self.n {
                    let line = if self.jsonl {
                        format!("{{\"i\":{},\"s\":\"x\"}}\n", self.i)
                    } else {
                        format!("{},x,\"q,{}\"\n", self.i, self.i)
                    };
                    self.buf.extend_from_slice(line.as_bytes());
                    self.i += 1;
                } else {
                    return Ok(0);
                }
            }
            let k = out.len().min(self.buf.len() - self.pos);
            out[..k].copy_from_slice(&self.buf[self.pos..self.pos + k]);
            self.pos += k;
            Ok(k)
        }
    }
    let gen = |jsonl, header| {
        std::io::BufReader::new(Lines {
            n: 200_000,
            i: 0,
            header,
            buf: Vec::new(),
            pos: 0,
            jsonl,
        })
    };
    let jsonl = open(&reader(json!({"InputType": "JSONL"})), gen(true, None)).unwrap();
    let mut count = 0;
    for item in jsonl {
        assert_eq!(item.unwrap()["i"], json!(count));
        count += 1;
    }
    assert_eq!(count, 200_000);
    let csv = open(
        &reader(json!({"InputType": "CSV"})),
        gen(false, Some(b"i,s,q\n")),
    )
    .unwrap();
    let mut count = 0;
    for item in csv {
        let item = item.unwrap();
        assert_eq!(item["q"], json!(format!("q,{count}")));
        count += 1;
    }
    assert_eq!(count, 200_000);
}
