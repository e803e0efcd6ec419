//! The REST protocols, EC2's query dialect, the credential chain and passo.toml's `[aws]`
//! settings, through the real binary against moto's server: API Gateway and Lambda
//! (restJson1), Route 53 (restXml), EC2 (ec2Query), STS AssumeRole and
//! AssumeRoleWithWebIdentity (moto's `GetCallerIdentity` names the role whose keys signed
//! the call), container credentials from a loopback endpoint, and a failing call whose
//! cause and output hold none of the secrets it was signed with.

mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Command;

/// `passo run --json DEF` in `dir`, with no AWS settings from the outer environment.
fn run(dir: &Path, def: &Value, env: &[(&str, String)]) -> (Value, String) {
    let path = dir.join("m.asl.json");
    std::fs::write(&path, def.to_string()).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passo"));
    cmd.current_dir(dir).arg("run").arg(&path).arg("--json");
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", dir)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
    (v, format!("{stdout}{stderr}"))
}

fn task(resource: &str, params: Value, result: &str, next: &str) -> Value {
    json!({"Type": "Task", "Resource": format!("arn:aws:states:::aws-sdk:{resource}"),
           "Parameters": params, "ResultPath": result, "Next": next})
}

fn caught(resource: &str, params: Value, result: &str, next: &str) -> Value {
    let mut t = task(resource, params, result, next);
    t["Catch"] = json!([{"ErrorEquals": ["States.ALL"], "Next": next, "ResultPath": result}]);
    t
}

#[test]
fn rest_json_rest_xml_and_ec2_services_answer_through_their_models() {
    let Some(python) = support::moto::python() else {
        return;
    };
    let (_moto, port) = support::moto::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let def = json!({
        "StartAt": "Api",
        "States": {
            "Api": task("apigateway:createRestApi", json!({"Name": "orders", "Description": "the orders API"}), "$.api", "Apis"),
            "Apis": task("apigateway:getRestApis", json!({}), "$.apis", "NoApi"),
            "NoApi": caught("apigateway:getRestApi", json!({"RestApiId": "nope"}), "$.noApi", "Functions"),
            "Functions": task("lambda:listFunctions", json!({"MaxItems": 5}), "$.functions", "Zone"),
            "Zone": task("route53:createHostedZone", json!({"Name": "example.com", "CallerReference": "ref-1"}), "$.zone", "Zones"),
            "Zones": task("route53:listHostedZones", json!({}), "$.zones", "NoZone"),
            "NoZone": caught("route53:getHostedZone", json!({"Id": "ZNOTTHERE"}), "$.noZone", "Vpc"),
            "Vpc": task("ec2:createVpc", json!({"CidrBlock": "10.1.0.0/16"}), "$.vpc", "Vpcs"),
            "Vpcs": task("ec2:describeVpcs", json!({"VpcIds.$": "States.Array($.vpc.Vpc.VpcId)"}), "$.vpcs", "NoVpc"),
            "NoVpc": caught("ec2:describeVpcs", json!({"VpcIds": ["vpc-00000000"]}), "$.noVpc", "Done"),
            "Done": {"Type": "Pass", "End": true}
        }
    });
    let env = [
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
    ];
    let (v, _) = run(dir.path(), &def, &env);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let o = &v["output"];
    // restJson1: camelCase members in and out as PascalCase.
    let id = o["api"]["Id"].as_str().unwrap();
    assert_eq!(o["api"]["Name"], "orders", "{o}");
    assert!(
        o["apis"]["Items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["Id"] == id && a["Description"] == "the orders API"),
        "{o}"
    );
    assert_eq!(o["noApi"]["Error"], "ApiGateway.NotFoundException", "{o}");
    assert!(
        o["noApi"]["Cause"]
            .as_str()
            .unwrap()
            .contains("(Service: ApiGateway, Status Code: 404, Request ID: "),
        "{o}"
    );
    assert!(o["functions"]["Functions"].is_array(), "{o}");
    // restXml: the body's elements and the Location header.
    let zone = &o["zone"];
    assert_eq!(zone["HostedZone"]["Name"], "example.com.", "{o}");
    assert!(
        zone["Location"].as_str().is_some_and(|l| !l.is_empty()),
        "{o}"
    );
    assert!(
        !zone["DelegationSet"]["NameServers"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{o}"
    );
    assert!(
        o["zones"]["HostedZones"]
            .as_array()
            .unwrap()
            .iter()
            .any(|z| z["Id"] == zone["HostedZone"]["Id"]),
        "{o}"
    );
    assert_eq!(
        o["noZone"]["Error"], "Route53.NoSuchHostedZoneException",
        "{o}"
    );
    // ec2Query: no result wrapper, lists as `item`s, and EC2's undeclared error codes.
    let vpc = o["vpc"]["Vpc"]["VpcId"].as_str().unwrap();
    assert_eq!(o["vpc"]["Vpc"]["CidrBlock"], "10.1.0.0/16", "{o}");
    assert_eq!(o["vpcs"]["Vpcs"].as_array().unwrap().len(), 1, "{o}");
    assert_eq!(o["vpcs"]["Vpcs"][0]["VpcId"], vpc, "{o}");
    assert_eq!(o["noVpc"]["Error"], "Ec2.Ec2Exception", "{o}");
    let cause = o["noVpc"]["Cause"].as_str().unwrap();
    assert!(
        cause.contains("vpc-00000000") && cause.contains("(Service: Ec2, Status Code: 400"),
        "{cause}"
    );
}

fn caller_identity() -> Value {
    json!({"StartAt": "Who", "States": {"Who": {"Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity", "End": true}}})
}

#[test]
fn roles_are_assumed_from_profiles_and_web_identity_tokens() {
    let Some(python) = support::moto::python() else {
        return;
    };
    let (_moto, port) = support::moto::start(&python);
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A web identity token file and AWS_ROLE_ARN: AssumeRoleWithWebIdentity.
    std::fs::write(d.join("token"), "eyJhbGciOi.fake.token\n").unwrap();
    let (v, _) = run(
        d,
        &caller_identity(),
        &[
            ("AWS_ENDPOINT_URL", url.clone()),
            (
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                d.join("token").display().to_string(),
            ),
            (
                "AWS_ROLE_ARN",
                "arn:aws:iam::123456789012:role/web-role".into(),
            ),
            ("AWS_ROLE_SESSION_NAME", "passo-test".into()),
        ],
    );
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let arn = v["output"]["Arn"].as_str().unwrap();
    assert!(arn.contains("assumed-role/web-role/passo-test"), "{arn}");
    // passo.toml's profile: role_arn + source_profile, AssumeRole signed with the source's keys.
    std::fs::create_dir_all(d.join(".aws")).unwrap();
    std::fs::write(d.join(".aws/config"), "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy-role\nsource_profile = base\nrole_session_name = from-profile\n").unwrap();
    std::fs::write(
        d.join(".aws/credentials"),
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = base-secret\n",
    )
    .unwrap();
    std::fs::write(d.join("passo.toml"), format!("[aws]\nprofile = \"deploy\"\nregion = \"eu-west-1\"\n[aws.services.sts]\nendpoint = \"{url}\"\n")).unwrap();
    let (v, _) = run(d, &caller_identity(), &[]);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let arn = v["output"]["Arn"].as_str().unwrap();
    assert!(
        arn.contains("assumed-role/deploy-role/from-profile"),
        "{arn}"
    );
}

/// A loopback container credentials endpoint: answers credentials to the right token and
/// counts the requests it served.
fn container_endpoint(
    token: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut authorized = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                authorized |= line.eq_ignore_ascii_case(&format!("authorization: {token}\r\n"));
            }
            h.fetch_add(1, Ordering::SeqCst);
            let (status, body) = if authorized {
                (
                    "200 OK",
                    json!({"AccessKeyId": "ASIACONTAINER", "SecretAccessKey": "container-secret",
                    "Token": "container-token", "Expiration": "2099-01-01T00:00:00Z"})
                    .to_string(),
                )
            } else {
                ("403 Forbidden", "{}".to_string())
            };
            let mut s = stream;
            let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            let _ = s.flush();
            let _ = reader.read(&mut [0u8; 0]);
        }
    });
    (format!("http://{addr}/creds"), hits)
}

#[test]
fn container_credentials_are_fetched_once_and_secrets_never_reach_the_output() {
    let Some(python) = support::moto::python() else {
        return;
    };
    let (_moto, port) = support::moto::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let (uri, hits) = container_endpoint("Bearer pod-token");
    std::fs::write(dir.path().join("auth"), "Bearer pod-token\n").unwrap();
    let two = json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity", "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:listQueues", "ResultPath": "$.b", "End": true}}});
    let (v, _) = run(
        dir.path(),
        &two,
        &[
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                dir.path().join("auth").display().to_string(),
            ),
        ],
    );
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "kept, not fetched per call"
    );
    // passo.toml's per-service endpoint, and a failing call signed with secrets.
    std::fs::write(
        dir.path().join("passo.toml"),
        format!("[aws.services.dynamodb]\nendpoint = \"http://127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let missing = json!({"StartAt": "Get", "States": {"Get": {"Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
        "Parameters": {"TableName": "nope", "Key": {"id": {"S": "1"}}}, "End": true}}});
    let (v, all) = run(
        dir.path(),
        &missing,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAVISIBLEKEYID".into()),
            ("AWS_SECRET_ACCESS_KEY", "SuperSecretValue/123".into()),
            ("AWS_SESSION_TOKEN", "SessionTokenSecret456".into()),
        ],
    );
    assert_eq!(v["status"], "FAILED", "{v}");
    assert_eq!(v["error"], "DynamoDb.ResourceNotFoundException", "{v}");
    for secret in ["SuperSecretValue", "SessionTokenSecret456", "Signature="] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
}
