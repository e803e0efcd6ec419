//! Hybrid runs through the real binary (examples/hybrid-run): passo.toml sends every AWS
//! service to moto's server, mocks another team's function by its state's name, and sends
//! every SQS call to Passo's own queues; `passo test` cases add routes of their own. moto
//! is checked for what it got and did not get, and `passo server` on the run's data
//! directory for the queued message.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use support::Server;

fn passo(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_passo"))
        .current_dir(dir)
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_run_mixes_a_real_endpoint_passo_queues_and_mocks_and_test_cases_route_their_own() {
    let Some(python) = support::moto::python() else {
        return;
    };
    let (_moto, port) = support::moto::start(&python);
    support::moto::py(
        &python,
        port,
        "client('dynamodb').create_table(TableName='orders', AttributeDefinitions=[{'AttributeName': 'id', 'AttributeType': 'S'}], KeySchema=[{'AttributeName': 'id', 'KeyType': 'HASH'}], BillingMode='PAY_PER_REQUEST')",
    );
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hybrid-run");
    let dir = tempfile::tempdir().unwrap();
    for f in ["order.asl.json", "order.test.yaml", "passo.toml"] {
        let text = std::fs::read_to_string(example.join(f)).unwrap();
        let text = text.replace("127.0.0.1:5000", &format!("127.0.0.1:{port}"));
        std::fs::write(dir.path().join(f), text).unwrap();
    }

    let (code, out, err) = passo(
        dir.path(),
        &[
            "run",
            "--json",
            "order.asl.json",
            "--input",
            r#"{"id": "o-1"}"#,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v["output"]["customer"],
        json!({"tier": "gold"}),
        "the mock answered: {v}"
    );
    let queue_url = v["output"]["queue"]["url"].as_str().unwrap().to_string();
    assert!(queue_url.ends_with("/123456789012/notifications"), "{v}");

    // moto got the item, and no queue: the SQS calls went to Passo's own.
    let seen = support::moto::py(
        &python,
        port,
        "print(json.dumps({'item': client('dynamodb').get_item(TableName='orders', Key={'id': {'S': 'o-1'}}).get('Item'), 'queues': client('sqs').list_queues().get('QueueUrls', [])}))",
    );
    let seen: Value = serde_json::from_str(&seen).unwrap();
    assert_eq!(seen["item"]["tier"], json!({"S": "gold"}), "{seen}");
    assert_eq!(seen["queues"], json!([]), "{seen}");

    // `passo test`: case routes over the project's.
    let (code, out, err) = passo(dir.path(), &["test", "order.test.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    let seen = support::moto::py(
        &python,
        port,
        "print(json.dumps(client('dynamodb').scan(TableName='orders')['Items'], sort_keys=True))",
    );
    let items: Value = serde_json::from_str(&seen).unwrap();
    let ids: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"]["S"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "o-1 from the run, o-2 from the second case: {items}"
    );
    assert!(ids.contains(&"o-2"));
    let o2 = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"]["S"] == "o-2")
        .unwrap();
    assert_eq!(
        o2["tier"]["S"], "silver",
        "the case's mock, not the project's: {items}"
    );

    // The run's message waits in Passo's queue, for a server on the same data directory.
    let s = Server::start(&dir.path().join("passo-data"), &[]);
    let got = s.call(
        "AmazonSQS.ReceiveMessage",
        json!({"QueueUrl": format!("http://{}/123456789012/notifications", s.addr), "WaitTimeSeconds": 2}),
    );
    let body: Value = serde_json::from_str(got["Messages"][0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(body["id"], "o-1", "{got}");
    assert_eq!(body["customer"]["tier"], "gold");
}

#[test]
fn a_route_to_local_for_a_service_passo_does_not_have_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("passo.toml"),
        "[[routes]]\nresource = \"arn:aws:states:::dynamodb:*\"\nto = \"local\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("m.asl.json"),
        json!({"StartAt": "Get", "States": {"Get": {"Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": "t", "Key": {"id": {"S": "1"}}}, "End": true}}})
        .to_string(),
    )
    .unwrap();
    let (code, out, err) = passo(dir.path(), &["run", "--json", "m.asl.json"]);
    assert_eq!(code, 1, "{out}{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let cause = v["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("Passo has no local DynamoDB"),
        "a clear error naming the service: {v}"
    );
    // A bad route stops the run before anything starts, saying where.
    std::fs::write(
        dir.path().join("passo.toml"),
        "[[routes]]\nstate = \"Get\"\nto = \"mock\"\n",
    )
    .unwrap();
    let (code, _, err) = passo(dir.path(), &["run", "m.asl.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("routes[0]: to = \"mock\" needs a result or an error"),
        "{err}"
    );
}

#[test]
fn a_function_routed_to_an_endpoint_is_invoked_through_lambdas_api_there() {
    let Some(python) = support::moto::python() else {
        return;
    };
    let (_moto, port) = support::moto::start(&python);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("passo.toml"),
        format!("[[routes]]\nfunction = \"crm-*\"\nto = \"http://127.0.0.1:{port}\"\n"),
    )
    .unwrap();
    let machine = |state: Value| json!({"StartAt": "Look", "States": {"Look": state}}).to_string();
    // A function moto does not have: Lambda's own error, as a Task sees it.
    std::fs::write(
        dir.path().join("missing.asl.json"),
        machine(json!({"Type": "Task", "End": true,
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:crm-nobody"})),
    )
    .unwrap();
    let (code, out, _) = passo(dir.path(), &["run", "--json", "missing.asl.json"]);
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"], "Lambda.ResourceNotFoundException", "{v}");

    // moto runs functions without docker when told so: an invocation answers its event.
    support::moto::py(
        &python,
        port,
        &format!(
            r#"
import io, urllib.request, zipfile
urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:{port}/moto-api/config', data=json.dumps({{'lambda': {{'use_docker': False}}}}).encode(), method='POST')).read()
role = client('iam').create_role(RoleName='r', AssumeRolePolicyDocument='{{}}')['Role']['Arn']
buf = io.BytesIO(); z = zipfile.ZipFile(buf, 'w'); z.writestr('f.py', 'def h(e, c): return e'); z.close()
client('lambda').create_function(FunctionName='crm-lookup', Runtime='python3.12', Role=role, Handler='f.h', Code={{'ZipFile': buf.getvalue()}})
"#
        ),
    );
    std::fs::write(
        dir.path().join("m.asl.json"),
        machine(
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "crm-lookup", "Payload": {"customer": "c-1"}},
            "ResultSelector": {"payload.$": "$.Payload", "status.$": "$.StatusCode"},
            "End": true}),
        ),
    )
    .unwrap();
    let (code, out, err) = passo(dir.path(), &["run", "--json", "m.asl.json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["output"]["payload"], json!({"customer": "c-1"}), "{v}");
    assert_eq!(v["output"]["status"], 200);
}
