//! `apigateway:invoke` through the real binary against a small HTTP API the test serves:
//! stage, path, query parameters, headers and body reach it; its answer comes back as
//! `{ResponseBody, StatusCode, StatusText, Headers}`; a 403 fails the task with
//! `ApiGateway.403` and the body for cause; `IAM_ROLE` signs the call for `execute-api`.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// Serves one API: every request is answered with what it carried, as JSON (a path with
/// `forbidden` in it gets API Gateway's 403).
fn api() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut w = conn;
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_string();
            let target = parts.next().unwrap_or_default().to_string();
            let mut headers = serde_json::Map::new();
            let mut len = 0;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.trim_end().split_once(':') {
                    let (k, v) = (k.to_ascii_lowercase(), v.trim().to_string());
                    if k == "content-length" {
                        len = v.parse().unwrap_or(0);
                    }
                    headers.insert(k, json!(v));
                }
            }
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            let (status, answer) = if target.contains("forbidden") {
                (
                    "403 Forbidden",
                    json!({"message": "Missing Authentication Token"}),
                )
            } else {
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                (
                    "200 OK",
                    json!({"method": method, "target": target, "headers": headers, "body": body}),
                )
            };
            let text = answer.to_string();
            let _ = write!(
                w,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nX-Amzn-RequestId: r-1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    format!("http://{addr}")
}

fn run(def: &Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.asl.json");
    std::fs::write(&file, def.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_passo"))
        .current_dir(dir.path())
        .args(["run", "--json"])
        .arg(&file)
        .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "eu-west-1")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn an_api_is_called_and_its_answer_and_errors_come_back_as_aws_shapes_them() {
    let endpoint = api();
    let def = json!({"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::apigateway:invoke",
            "Parameters": {"ApiEndpoint": endpoint, "Method": "POST", "Stage": "prod", "Path": "pets/cats",
                "QueryParameters": {"color": ["black", "white"]}, "Headers": {"X-Team": ["blue"]},
                "RequestBody": {"name": "Tom", "age": null}},
            "ResultPath": "$.call", "Next": "Signed"},
        "Signed": {"Type": "Task", "Resource": "arn:aws:states:::apigateway:invoke",
            "Parameters": {"ApiEndpoint": endpoint, "Method": "GET", "Path": "me", "AuthType": "IAM_ROLE"},
            "ResultSelector": {"auth.$": "$.ResponseBody.headers.authorization"},
            "ResultPath": "$.signed", "Next": "Forbidden"},
        "Forbidden": {"Type": "Task", "Resource": "arn:aws:states:::apigateway:invoke",
            "Parameters": {"ApiEndpoint": endpoint, "Method": "GET", "Path": "forbidden"},
            "Catch": [{"ErrorEquals": ["ApiGateway.403"], "ResultPath": "$.denied", "Next": "Done"}],
            "End": true},
        "Done": {"Type": "Pass", "End": true}}});
    let v = run(&def);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let call = &v["output"]["call"];
    assert_eq!(call["StatusCode"], 200, "{call}");
    assert_eq!(call["StatusText"], "OK", "{call}");
    assert_eq!(
        call["Headers"]["Content-Type"],
        json!(["application/json"]),
        "{call}"
    );
    let got = &call["ResponseBody"];
    assert_eq!(got["method"], "POST", "{got}");
    assert_eq!(
        got["target"], "/prod/pets/cats?color=black&color=white",
        "{got}"
    );
    assert_eq!(got["headers"]["x-team"], "blue", "{got}");
    // Nulls are left out unless AllowNullValues.
    assert_eq!(got["body"], json!({"name": "Tom"}), "{got}");
    let auth = v["output"]["signed"]["auth"].as_str().unwrap_or_default();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
            && auth.contains("/eu-west-1/execute-api/aws4_request"),
        "{auth}"
    );
    let denied = &v["output"]["denied"];
    assert_eq!(denied["Error"], "ApiGateway.403", "{denied}");
    assert_eq!(
        denied["Cause"], r#"{"message":"Missing Authentication Token"}"#,
        "{denied}"
    );
}

#[test]
fn headers_that_are_not_lists_are_refused() {
    let def = json!({"StartAt": "Call", "States": {"Call": {"Type": "Task",
        "Resource": "arn:aws:states:::apigateway:invoke",
        "Parameters": {"ApiEndpoint": "http://127.0.0.1:9", "Method": "POST", "Headers": {"custom_header": "single"}},
        "End": true}}});
    let v = run(&def);
    assert_eq!(v["status"], "FAILED", "{v}");
    assert_eq!(v["error"], "States.Runtime", "{v}");
    assert!(
        v["cause"]
            .as_str()
            .unwrap()
            .contains("The value of the field 'Headers' has an invalid format"),
        "{v}"
    );
}
