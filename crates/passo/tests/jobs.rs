//! `.sync` job integrations through the real binary against moto's server (a real
//! AWS-compatible API started by the test): a Glue job run and an Athena query run to
//! completion, a query stopped midway when `passo server` stops the execution (moto says
//! CANCELLED: the stop call reached it), a query cancelled outside failing the task with its
//! description, and a job followed again after the server is SIGKILLed, never submitted
//! twice. moto's state manager (`moto-api`) holds a query QUEUED until the test lets it go.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use support::{create, history, moto, Server};

fn athena_sync() -> Value {
    json!({
        "StartAt": "Query",
        "States": {"Query": {
            "Type": "Task", "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
            "Parameters": {"QueryString": "SELECT 1", "WorkGroup": "primary",
                "ResultConfiguration": {"OutputLocation": "s3://results/"}},
            "End": true}}
    })
}

fn start(s: &Server, machine: &str, input: Value) -> String {
    s.call(
        "StartExecution",
        json!({"stateMachineArn": machine, "input": input.to_string()}),
    )["executionArn"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Waits (at most `secs`) until the execution is no longer RUNNING: its description.
fn ended(s: &Server, arn: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let d = s.call("DescribeExecution", json!({"executionArn": arn}));
        if d["status"] != "RUNNING" {
            return d;
        }
        assert!(Instant::now() < deadline, "still running: {d}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the execution's history has a TaskSubmitted: its output.
fn submitted(s: &Server, arn: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(e) = history(s, arn)
            .iter()
            .find(|e| e["type"] == "TaskSubmitted")
        {
            let out = e["taskSubmittedEventDetails"]["output"].as_str().unwrap();
            return serde_json::from_str(out).unwrap();
        }
        assert!(Instant::now() < deadline, "no TaskSubmitted in {arn}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits (10 s at most) for moto to report the query CANCELLED; `why` says what failed.
fn until_cancelled(python: &Path, port: u16, id: &str, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = query_state(python, port, id);
        if state == "CANCELLED" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the query is still {state}: {why}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn query_state(python: &Path, port: u16, id: &str) -> String {
    moto::py(
        python,
        port,
        &format!("print(client('athena').get_query_execution(QueryExecutionId='{id}')['QueryExecution']['Status']['State'])"),
    )
}

fn server(data: &Path, port: u16) -> Server {
    Server::start_env(
        data,
        &[],
        None,
        Some(&data.with_extension("log")),
        &moto::env(port),
    )
}

#[test]
fn a_glue_job_run_is_followed_to_its_end() {
    let Some(python) = moto::python() else {
        return;
    };
    let (_moto, port) = moto::start(&python);
    moto::py(
        &python,
        port,
        "client('glue').create_job(Name='etl', Role='arn:aws:iam::123456789012:role/g', Command={'Name': 'glueetl', 'ScriptLocation': 's3://b/s.py'})",
    );
    let dir = tempfile::tempdir().unwrap();
    let s = server(&dir.path().join("data"), port);
    let def = json!({"StartAt": "Run", "States": {"Run": {
        "Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
        "Parameters": {"JobName": "etl", "Arguments": {"--day": "2026-12-02"}}, "End": true}}});
    let m = create(&s, "glue", "STANDARD", def);
    let arn = start(&s, &m, json!({}));
    let d = ended(&s, &arn, 30);
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["JobRunState"], "SUCCEEDED", "{out}");
    assert_eq!(out["JobName"], "etl", "{out}");
    // Map keys keep their names; members are PascalCase.
    assert_eq!(out["Arguments"]["--day"], "2026-12-02", "{out}");
    let types: Vec<String> = history(&s, &arn)
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    let at = |t: &str| {
        types
            .iter()
            .position(|x| x == t)
            .unwrap_or_else(|| panic!("{t} in {types:?}"))
    };
    assert!(at("TaskStarted") < at("TaskSubmitted") && at("TaskSubmitted") < at("TaskSucceeded"));
    let sub = submitted(&s, &arn);
    assert_eq!(sub["JobName"], "etl");
    assert_eq!(
        sub["JobRunId"], out["Id"],
        "the job followed is the job submitted"
    );
}

#[test]
fn stopping_the_execution_stops_the_query() {
    let Some(python) = moto::python() else {
        return;
    };
    let (_moto, port) = moto::start(&python);
    moto::set_transition(
        &python,
        port,
        "athena::execution",
        "{'progression': 'manual', 'times': 1000000}",
    );
    let dir = tempfile::tempdir().unwrap();
    let s = server(&dir.path().join("data"), port);
    let m = create(&s, "athena", "STANDARD", athena_sync());
    let arn = start(&s, &m, json!({}));
    let id = submitted(&s, &arn)["QueryExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(query_state(&python, port, &id), "QUEUED");
    s.call(
        "StopExecution",
        json!({"executionArn": arn, "error": "Operator", "cause": "enough"}),
    );
    assert_eq!(ended(&s, &arn, 10)["status"], "ABORTED");
    until_cancelled(&python, port, &id, "the stop call never came");
}

#[test]
fn a_query_past_its_timeout_is_stopped() {
    let Some(python) = moto::python() else {
        return;
    };
    let (_moto, port) = moto::start(&python);
    moto::set_transition(
        &python,
        port,
        "athena::execution",
        "{'progression': 'manual', 'times': 1000000}",
    );
    let dir = tempfile::tempdir().unwrap();
    let s = server(&dir.path().join("data"), port);
    let mut def = athena_sync();
    def["States"]["Query"]["TimeoutSeconds"] = json!(1);
    let m = create(&s, "athena-timeout", "STANDARD", def);
    let arn = start(&s, &m, json!({}));
    let id = submitted(&s, &arn)["QueryExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    let d = ended(&s, &arn, 20);
    assert_eq!(d["status"], "FAILED", "{d}");
    assert_eq!(d["error"], "States.Timeout", "{d}");
    until_cancelled(&python, port, &id, "the timed-out query was never stopped");
}

#[test]
fn a_query_cancelled_outside_fails_the_task_with_its_description() {
    let Some(python) = moto::python() else {
        return;
    };
    let (_moto, port) = moto::start(&python);
    moto::set_transition(
        &python,
        port,
        "athena::execution",
        "{'progression': 'manual', 'times': 1000000}",
    );
    let dir = tempfile::tempdir().unwrap();
    let s = server(&dir.path().join("data"), port);
    let mut def = athena_sync();
    def["States"]["Query"]["Catch"] =
        json!([{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]);
    def["States"]["Caught"] = json!({"Type": "Pass", "End": true});
    let m = create(&s, "athena-fail", "STANDARD", def);
    let arn = start(&s, &m, json!({}));
    let id = submitted(&s, &arn)["QueryExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    moto::py(
        &python,
        port,
        &format!("client('athena').stop_query_execution(QueryExecutionId='{id}')"),
    );
    let d = ended(&s, &arn, 20);
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["Error"], "States.TaskFailed", "{out}");
    let cause: Value = serde_json::from_str(out["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(
        cause["QueryExecution"]["QueryExecutionId"],
        id.as_str(),
        "{cause}"
    );
    assert_eq!(
        cause["QueryExecution"]["Status"]["State"], "CANCELLED",
        "{cause}"
    );
}

#[test]
fn a_followed_query_survives_sigkill_and_is_not_submitted_again() {
    let Some(python) = moto::python() else {
        return;
    };
    let (_moto, port) = moto::start(&python);
    moto::set_transition(
        &python,
        port,
        "athena::execution",
        "{'progression': 'manual', 'times': 1000000}",
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = server(&data, port);
    let m = create(&s, "athena-restart", "STANDARD", athena_sync());
    let arn = start(&s, &m, json!({}));
    let id = submitted(&s, &arn)["QueryExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    s.kill();
    // The query ends while the server is down.
    moto::set_transition(
        &python,
        port,
        "athena::execution",
        "{'progression': 'immediate'}",
    );
    let s = server(&data, port);
    let d = ended(&s, &arn, 30);
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        out["QueryExecution"]["QueryExecutionId"],
        id.as_str(),
        "{out}"
    );
    assert_eq!(
        out["QueryExecution"]["Status"]["State"], "SUCCEEDED",
        "{out}"
    );
    let count = moto::py(
        &python,
        port,
        "print(len(client('athena').list_query_executions()['QueryExecutionIds']))",
    );
    assert_eq!(
        count, "1",
        "the query was submitted again after the restart"
    );
    let submissions = history(&s, &arn)
        .iter()
        .filter(|e| e["type"] == "TaskSubmitted")
        .count();
    assert_eq!(submissions, 1);
}

#[test]
fn passo_run_follows_a_query_and_reads_its_results() {
    let Some(python) = moto::python() else {
        return;
    };
    let (_moto, port) = moto::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let def = dir.path().join("q.asl.json");
    let mut d = athena_sync();
    d["States"]["Query"]["End"] = Value::Null;
    d["States"]["Query"].as_object_mut().unwrap().remove("End");
    d["States"]["Query"]["Next"] = json!("Results");
    d["States"]["Results"] = json!({"Type": "Task", "Resource": "arn:aws:states:::athena:getQueryResults",
        "Parameters": {"QueryExecutionId.$": "$.QueryExecution.QueryExecutionId"}, "End": true});
    std::fs::write(&def, d.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_passo"))
        .current_dir(dir.path())
        .args(["run", "--json"])
        .arg(&def)
        .envs(moto::env(port))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert!(v["output"]["ResultSet"].is_object(), "{v}");
}

/// `passo run --json DEF` with moto as every service: the run's JSON.
fn run(dir: &Path, def: &Value, port: u16) -> Value {
    let file = dir.join("m.asl.json");
    std::fs::write(&file, def.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_passo"))
        .current_dir(dir)
        .args(["run", "--json"])
        .arg(&file)
        .envs(moto::env(port))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn a_batch_job_that_fails_fails_the_task_with_its_description() {
    let Some(python) = moto::python() else {
        return;
    };
    let (_moto, port) = moto::start(&python);
    // moto runs Batch jobs in docker; without docker the job ends FAILED, which is what this
    // test needs: a job that fails on the service's side.
    moto::py(
        &python,
        port,
        "ec2 = client('ec2')
vpc = ec2.create_vpc(CidrBlock='10.0.0.0/16')['Vpc']['VpcId']
sn = ec2.create_subnet(VpcId=vpc, CidrBlock='10.0.0.0/24')['Subnet']['SubnetId']
sg = ec2.create_security_group(GroupName='g', Description='d', VpcId=vpc)['GroupId']
role = client('iam').create_role(RoleName='r', AssumeRolePolicyDocument='{}')['Role']['Arn']
b = client('batch')
b.create_compute_environment(computeEnvironmentName='envone', type='MANAGED', state='ENABLED', computeResources={'type': 'FARGATE', 'maxvCpus': 4, 'subnets': [sn], 'securityGroupIds': [sg]}, serviceRole=role)
b.create_job_queue(jobQueueName='queue', state='ENABLED', priority=1, computeEnvironmentOrder=[{'order': 1, 'computeEnvironment': 'envone'}])
b.register_job_definition(jobDefinitionName='jdef', type='container', containerProperties={'image': 'busybox', 'vcpus': 1, 'memory': 128, 'command': ['true']})",
    );
    let dir = tempfile::tempdir().unwrap();
    let s = server(&dir.path().join("data"), port);
    let def = json!({"StartAt": "Submit", "States": {
        "Submit": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
            "Parameters": {"JobName": "nightly", "JobQueue": "queue", "JobDefinition": "jdef"},
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}});
    let m = create(&s, "batch", "STANDARD", def);
    let arn = start(&s, &m, json!({}));
    let job = submitted(&s, &arn);
    let d = ended(&s, &arn, 30);
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["Error"], "States.TaskFailed", "{out}");
    let cause: Value = serde_json::from_str(out["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED", "{cause}");
    assert_eq!(cause["JobName"], "nightly", "{cause}");
    assert_eq!(cause["JobId"], job["JobId"], "{cause}");
}

#[test]
fn ecs_and_emr_serverless_jobs_run_and_a_bedrock_model_answers() {
    let Some(python) = moto::python() else {
        return;
    };
    let (_moto, port) = moto::start(&python);
    let app = moto::py(
        &python,
        port,
        "client('ecs').create_cluster(clusterName='jobs')
client('ecs').register_task_definition(family='report', containerDefinitions=[{'name': 'app', 'image': 'busybox', 'memory': 128}])
print(client('emr-serverless').create_application(name='spark', releaseLabel='emr-7.0.0', type='SPARK')['applicationId'])",
    );
    let dir = tempfile::tempdir().unwrap();
    let def = json!({"StartAt": "Ecs", "States": {
        "Ecs": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {"Cluster": "jobs", "TaskDefinition": "report", "LaunchType": "FARGATE",
                "Overrides": {"ContainerOverrides": [{"Name": "app", "Command": ["run"]}]}},
            "ResultPath": "$.ecs", "Next": "Emr"},
        "Emr": {"Type": "Task", "Resource": "arn:aws:states:::emr-serverless:startJobRun.sync",
            "Parameters": {"ApplicationId": app, "ExecutionRoleArn": "arn:aws:iam::123456789012:role/emr",
                "JobDriver": {"SparkSubmit": {"EntryPoint": "s3://b/job.py"}}},
            "ResultPath": "$.emr", "Next": "Model"},
        "Model": {"Type": "Task", "Resource": "arn:aws:states:::bedrock:invokeModel",
            "Parameters": {"ModelId": "amazon.titan-text-express-v1", "Body": {"inputText": "hello"}},
            "ResultPath": "$.model", "End": true}}});
    let v = run(dir.path(), &def, port);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    let o = &v["output"];
    // ECS answers in camelCase; the task's result is PascalCase, the stopped task itself.
    assert_eq!(o["ecs"]["LastStatus"], "STOPPED", "{o}");
    assert_eq!(o["ecs"]["Containers"][0]["ExitCode"], 0, "{o}");
    assert!(
        o["ecs"]["TaskArn"]
            .as_str()
            .is_some_and(|a| a.contains(":task/")),
        "{o}"
    );
    assert_eq!(o["emr"]["JobRun"]["State"], "SUCCESS", "{o}");
    assert_eq!(o["emr"]["JobRun"]["ApplicationId"], app.as_str(), "{o}");
    assert_eq!(
        o["model"],
        json!({"Body": {}, "ContentType": "application/json"}),
        "{o}"
    );
}
