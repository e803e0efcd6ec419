use super::*;
use crate::s3::Buckets;
use serde_json::json;

const MAP_RUN: &str = "arn:aws:states:us-east-1:111111111111:mapRun:sm/TestMap:0a1b-2c3d";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn spec(wc: Option<Value>) -> WriterSpec {
    WriterSpec::parse(
        Some(PUT_OBJECT),
        Some(&json!({"Bucket": "result-bucket", "Prefix": "mapJobs"})),
        wc.as_ref(),
    )
    .unwrap()
}

fn child(index: u64, status: ChildStatus, input: &str, output: Option<&str>) -> ChildResult {
    let start = chrono::DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
    ChildResult {
        index,
        execution_arn: format!(
            "arn:aws:states:us-east-1:111111111111:execution:sm/TestMap:c{index}"
        ),
        name: format!("c{index}"),
        state_machine_arn: "arn:aws:states:us-east-1:111111111111:stateMachine:sm/TestMap".into(),
        status,
        input: input.into(),
        output: output.map(str::to_owned),
        error: (status == ChildStatus::Failed).then(|| "Boom".to_string()),
        cause: (status == ChildStatus::Failed).then(|| "it broke".to_string()),
        start_date: start,
        stop_date: Some(start + chrono::Duration::milliseconds(5)),
        redrive_count: 0,
    }
}

fn local() -> (tempfile::TempDir, Buckets, tokio::runtime::Runtime) {
    let dir = tempfile::tempdir().unwrap();
    let b = Buckets::local(dir.path());
    let rt = rt();
    rt.block_on(b.create_bucket("result-bucket")).unwrap();
    (dir, b, rt)
}

fn object(rt: &tokio::runtime::Runtime, b: &Buckets, key: &str) -> String {
    String::from_utf8(rt.block_on(b.get("result-bucket", key)).unwrap().body).unwrap()
}

#[test]
fn parse_validates_as_aws_does() {
    let s = spec(None);
    assert_eq!(s.transformation, Transformation::None);
    assert_eq!(s.output_type, OutputType::Json);
    let preview = WriterSpec::parse(
        None,
        None,
        Some(&json!({"Transformation": "FLATTEN", "OutputType": "JSONL"})),
    )
    .unwrap();
    assert_eq!(preview.destination, None);
    assert_eq!(preview.transformation, Transformation::Flatten);
    let p = json!({"Bucket": "result-bucket"});
    for (res, params, wc) in [
        (None, None, None),
        (Some("arn:aws:states:::s3:getObject"), Some(&p), None),
        (Some(PUT_OBJECT), None, None),
        (Some(PUT_OBJECT), Some(&json!({"Prefix": "x"})), None),
        (
            Some(PUT_OBJECT),
            Some(&p),
            Some(json!({"OutputType": "CSV"})),
        ),
        (
            Some(PUT_OBJECT),
            Some(&p),
            Some(json!({"Transformation": "SQUASH"})),
        ),
    ] {
        let got = WriterSpec::parse(res, params, wc.as_ref());
        assert!(
            matches!(got, Err(WriterError::InvalidConfig(_))),
            "{res:?} {params:?}"
        );
    }
}

#[test]
fn the_recorded_case_output_and_its_files() {
    // test_map_state_result_writer: items "Hello", "World" through a Pass state.
    let (_d, b, rt) = local();
    let mut sink = ResultSink::new(&b, spec(None), MAP_RUN);
    sink.push(child(
        0,
        ChildStatus::Succeeded,
        "\"Hello\"",
        Some("\"Hello\""),
    ))
    .unwrap();
    sink.push(child(
        1,
        ChildStatus::Succeeded,
        "\"World\"",
        Some("\"World\""),
    ))
    .unwrap();
    let out = rt.block_on(sink.finish()).unwrap();
    assert_eq!(
        out,
        json!({"MapRunArn": MAP_RUN, "ResultWriterDetails": {"Bucket": "result-bucket", "Key": "mapJobs/0a1b-2c3d/manifest.json"}})
    );
    let manifest: Value =
        serde_json::from_str(&object(&rt, &b, "mapJobs/0a1b-2c3d/manifest.json")).unwrap();
    let succeeded = object(&rt, &b, "mapJobs/0a1b-2c3d/SUCCEEDED_0.json");
    assert_eq!(
        manifest,
        json!({"DestinationBucket": "result-bucket", "MapRunArn": MAP_RUN, "ResultFiles": {
            "FAILED": [], "PENDING": [],
            "SUCCEEDED": [{"Key": "mapJobs/0a1b-2c3d/SUCCEEDED_0.json", "Size": succeeded.len()}]}})
    );
    let entries: Vec<Value> = serde_json::from_str(&succeeded).unwrap();
    assert_eq!(
        entries[0].to_string(),
        concat!(
            r#"{"ExecutionArn":"arn:aws:states:us-east-1:111111111111:execution:sm/TestMap:c0","Input":"\"Hello\"","#,
            r#""InputDetails":{"Included":true},"Name":"c0","Output":"\"Hello\"","OutputDetails":{"Included":true},"#,
            r#""RedriveCount":0,"RedriveStatus":"NOT_REDRIVABLE","RedriveStatusReason":"Execution is SUCCEEDED and cannot be redriven","#,
            r#""StartDate":"2023-11-14T22:13:20.123Z","StateMachineArn":"arn:aws:states:us-east-1:111111111111:stateMachine:sm/TestMap","#,
            r#""Status":"SUCCEEDED","StopDate":"2023-11-14T22:13:20.128Z"}"#
        )
    );
}

#[test]
fn failed_children_keep_full_entries_under_compact_and_jsonl() {
    let (_d, b, rt) = local();
    let wc = json!({"Transformation": "FLATTEN", "OutputType": "JSONL"});
    let mut sink = ResultSink::new(&b, spec(Some(wc)), MAP_RUN);
    sink.push(child(0, ChildStatus::Succeeded, "1", Some("[1,2]")))
        .unwrap();
    sink.push(child(1, ChildStatus::Failed, "2", None)).unwrap();
    sink.push(child(2, ChildStatus::Pending, "3", None))
        .unwrap();
    rt.block_on(sink.finish()).unwrap();
    assert_eq!(
        object(&rt, &b, "mapJobs/0a1b-2c3d/SUCCEEDED_0.jsonl"),
        "1\n2\n"
    );
    let failed: Value =
        serde_json::from_str(object(&rt, &b, "mapJobs/0a1b-2c3d/FAILED_0.jsonl").trim()).unwrap();
    assert_eq!(
        (failed["Error"].clone(), failed["Cause"].clone()),
        (json!("Boom"), json!("it broke"))
    );
    assert!(failed.get("Output").is_none());
    let pending = object(&rt, &b, "mapJobs/0a1b-2c3d/PENDING_0.jsonl");
    assert!(pending.contains("\"Status\":\"PENDING\""), "{pending}");
}

#[test]
fn files_split_by_size_and_every_entry_is_kept() {
    let (_d, b, rt) = local();
    let mut sink = ResultSink::new(
        &b,
        spec(Some(json!({"Transformation": "COMPACT"}))),
        MAP_RUN,
    )
    .with_max_file_bytes(1000);
    for i in 0..500 {
        sink.push(child(
            i,
            ChildStatus::Succeeded,
            "{}",
            Some(&format!("{{\"n\":{i}}}")),
        ))
        .unwrap();
    }
    rt.block_on(sink.finish()).unwrap();
    let manifest: Value =
        serde_json::from_str(&object(&rt, &b, "mapJobs/0a1b-2c3d/manifest.json")).unwrap();
    let files = manifest["ResultFiles"]["SUCCEEDED"].as_array().unwrap();
    assert!(files.len() >= 5, "{files:?}");
    let mut all = Vec::new();
    for f in files {
        let text = object(&rt, &b, f["Key"].as_str().unwrap());
        assert!(text.len() <= 1000, "{}", text.len());
        assert_eq!(f["Size"], json!(text.len()));
        all.extend(serde_json::from_str::<Vec<Value>>(&text).unwrap());
    }
    assert_eq!(all.len(), 500);
    assert_eq!(all[499], json!({"n": 499}));
}

#[test]
fn a_failed_write_is_a_result_writer_failure() {
    let dir = tempfile::tempdir().unwrap();
    let b = Buckets::local(dir.path());
    // The bucket was never made.
    let mut sink = ResultSink::new(&b, spec(None), MAP_RUN);
    sink.push(child(0, ChildStatus::Succeeded, "1", Some("1")))
        .unwrap();
    let err = rt().block_on(sink.finish()).unwrap_err();
    assert_eq!(err.aws_name(), "States.ResultWriterFailed");
    assert!(
        err.cause()
            .starts_with("Failed to write s3://result-bucket/mapJobs/0a1b-2c3d/SUCCEEDED_0.json"),
        "{err}"
    );
}

#[test]
fn a_large_file_goes_up_in_parts() {
    let (_d, b, rt) = local();
    let mut sink = ResultSink::new(
        &b,
        spec(Some(json!({"Transformation": "COMPACT"}))),
        MAP_RUN,
    );
    // About 20 MB of outputs: past the single-put size.
    let big = format!("\"{}\"", "x".repeat(100_000));
    for i in 0..200 {
        sink.push(child(i, ChildStatus::Succeeded, "{}", Some(&big)))
            .unwrap();
    }
    rt.block_on(sink.finish()).unwrap();
    let text = object(&rt, &b, "mapJobs/0a1b-2c3d/SUCCEEDED_0.json");
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&text).unwrap().len(),
        200
    );
}

#[test]
fn without_a_destination_the_output_is_the_transformed_results() {
    let b = Buckets::local(std::path::Path::new("/nonexistent"));
    let wc = json!({"Transformation": "FLATTEN"});
    let spec = WriterSpec::parse(None, None, Some(&wc)).unwrap();
    let mut sink = ResultSink::new(&b, spec, MAP_RUN);
    sink.push(child(1, ChildStatus::Succeeded, "1", Some("[3,4]")))
        .unwrap();
    sink.push(child(0, ChildStatus::Succeeded, "0", Some("[1,2]")))
        .unwrap();
    assert_eq!(rt().block_on(sink.finish()).unwrap(), json!([1, 2, 3, 4]));
}
