//! Passo's own SQS queues and SNS topics with two `passo server` nodes on one PostgreSQL
//! database: one node serves them (the holder of the lease `passo:messaging`), the other
//! forwards SQS and SNS requests to it and sends its Tasks' calls there, so both nodes show
//! one set of queues; when the holder is SIGKILLed, the other takes the lease over and
//! serves the queues with their messages. Driven with boto3 (SigV4-signed, so a forward
//! that changed the Host header would be refused), from the e2e virtualenv.

mod support;

use passo_store::scratch::ScratchDatabase;
use passo_store::{Database, Db, DbOptions};
use serde_json::Value;
use std::io::{Read, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};
use support::cluster::metric_sum;
use support::Server;

const KEY_ID: &str = "AKIDMESSAGING";
const SECRET: &str = "messaging-secret";
const LEASE: &str = "passo:messaging";
const LEASE_MS: u64 = 2_000;

fn node(dir: &Path, name: &str, url: &str) -> Server {
    let key = format!("{KEY_ID}:{SECRET}");
    let lease = LEASE_MS.to_string();
    let args = [
        "--database",
        url,
        "--node-id",
        name,
        "--lease-ms",
        &lease,
        "--access-key",
        &key,
    ];
    Server::start(&dir.join(name), &args)
}

/// Which node holds the messaging lease, waiting (15 s at most) for one to.
fn holder(db: &Db, not: Option<&str>) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let row = db.shared().unwrap().lease(LEASE).unwrap();
        if let Some(n) = row.and_then(|r| r.node).filter(|n| Some(n.as_str()) != not) {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "no node took the messaging lease"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const PRELUDE: &str = r#"
import boto3, json, os, threading, time
from botocore.config import Config
kw = dict(region_name="us-east-1", aws_access_key_id="AKIDMESSAGING",
          aws_secret_access_key="messaging-secret",
          config=Config(retries={"max_attempts": 1}, read_timeout=60))
H, N = os.environ["HOLDER"], os.environ["OTHER"]
def client(service, url): return boto3.client(service, endpoint_url=url, **kw)
sqs = {"H": client("sqs", H), "N": client("sqs", N)}
out = {}
import http.server, queue, urllib.request
posts = queue.Queue()
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        posts.put((self.headers.get("x-amz-sns-message-type"), json.loads(body)))
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
def endpoint():
    port = int(os.environ["HOOK_PORT"])
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d/hook" % port
def posted(seconds):
    got, deadline = [], time.time() + seconds
    while time.time() < deadline:
        try:
            kind, body = posts.get(timeout=max(0.05, deadline - time.time()))
            got.append([kind, body.get("Message")])
        except queue.Empty:
            break
    return got
def receive_all(node, url, want, wait=1, visibility=30):
    got, deadline = [], time.time() + 20
    while len(got) < want and time.time() < deadline:
        r = sqs[node].receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                      WaitTimeSeconds=wait, VisibilityTimeout=visibility)
        got.extend(r.get("Messages", []))
    return got
"#;

/// Runs a boto3 script with HOLDER and OTHER set to the two nodes' endpoints.
fn boto3(venv: &Path, holder: &Server, other: &Server, hook: &str, script: &str) -> Value {
    let env = [
        ("HOLDER", format!("http://{}", holder.addr)),
        ("OTHER", format!("http://{}", other.addr)),
        ("HOOK_PORT", hook.rsplit(':').next().unwrap().to_string()),
    ];
    support::boto3::run_with(venv, PRELUDE, script, &env)
}

/// A raw POST: (status, headers and body as text, time taken).
fn post(addr: &str, path: &str, headers: &str, body: &str) -> (u16, String, Duration) {
    let began = Instant::now();
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        c,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    (answer[9..12].parse().unwrap(), answer, began.elapsed())
}

const SQS_JSON: &str =
    "X-Amz-Target: AmazonSQS.ListQueues\r\nContent-Type: application/x-amz-json-1.0\r\n";

#[test]
fn one_node_serves_the_queues_the_other_forwards_and_takes_over_when_it_dies() {
    let Some(venv) = support::boto3::venv() else {
        return;
    };
    let Some(pg) = ScratchDatabase::for_test("cluster_messaging") else {
        return;
    };
    let db = Db::connect(&Database::Postgres(pg.url().into()), DbOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let n1 = node(dir.path(), "n1", pg.url());
    let n2 = node(dir.path(), "n2", pg.url());
    let first = holder(&db, None);
    let (mut h, n) = if first == "n1" { (n1, n2) } else { (n2, n1) };
    let other = if first == "n1" { "n2" } else { "n1" };

    // Queues made, fed and drained through both nodes: one set of queues, each message
    // received once; a long poll through the forward waits and wakes; SNS fan-out published
    // through the node that does not serve; a Standard execution on that node sends to a
    // queue with no endpoint configured (its in-process call goes to the holder).
    let hook = support::free_addr();
    let out = boto3(
        &venv,
        &h,
        &n,
        &hook,
        r#"
url = sqs["H"].create_queue(QueueName="orders")["QueueUrl"]
out["listed_on_other"] = sqs["N"].list_queues().get("QueueUrls", [])
for i in range(10):
    sqs["N" if i % 2 else "H"].send_message(QueueUrl=url, MessageBody="order-%d" % i)
got = []
for node in ["N", "H", "N", "H"]:
    r = sqs[node].receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=60)
    got.extend(r.get("Messages", []))
got.extend(receive_all("N", url, 10 - len(got)))
out["bodies"] = sorted(m["Body"] for m in got)
for i, m in enumerate(got):
    sqs["H" if i % 2 else "N"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
attrs = sqs["N"].get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
out["left"] = [attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]]
out["again"] = len(sqs["H"].receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []))

# What a forward costs: SendMessage through the holder and through the other node.
timing = {}
for node in ["H", "N", "H", "N"]:
    began = time.time()
    for i in range(50):
        sqs[node].send_message(QueueUrl=url, MessageBody="timed")
    timing.setdefault(node, []).append((time.time() - began) / 50 * 1000)
out["send_ms"] = {k: min(v) for k, v in timing.items()}
sqs["N"].purge_queue(QueueUrl=url)

# Long polls through the forward: an empty wait lasts its time, a send wakes one.
began = time.time()
r = sqs["N"].receive_message(QueueUrl=url, WaitTimeSeconds=3)
out["empty_wait"] = [time.time() - began, len(r.get("Messages", []))]
threading.Timer(1.0, lambda: sqs["H"].send_message(QueueUrl=url, MessageBody="late")).start()
began = time.time()
r = sqs["N"].receive_message(QueueUrl=url, WaitTimeSeconds=15)
out["woken"] = [time.time() - began, [m["Body"] for m in r.get("Messages", [])]]
for m in r.get("Messages", []):
    sqs["N"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

# SNS through the node that does not serve it.
sns = client("sns", N)
fan = sqs["N"].create_queue(QueueName="fanout")["QueueUrl"]
fan_arn = sqs["N"].get_queue_attributes(QueueUrl=fan, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
topic = sns.create_topic(Name="events")["TopicArn"]
sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=fan_arn)
out["published"] = sns.publish(TopicArn=topic, Message="hello cluster")["MessageId"]
fanned = receive_all("H", fan, 1)
out["fanned"] = [json.loads(m["Body"])["Message"] for m in fanned]
out["topics_on_holder"] = [t["TopicArn"] for t in client("sns", H).list_topics()["Topics"]]
# An HTTP subscriber: subscribed, confirmed (its SubscribeURL visited on the other node) and
# notified through the node that does not serve; the holder alone posts, once each.
hook = endpoint()
sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=hook)
kind, confirm = posts.get(timeout=15)
out["confirmation"] = kind
link = confirm["SubscribeURL"].replace(H, N)
out["link_on_other"] = link.startswith(N)
with urllib.request.urlopen(link, timeout=10) as r:
    out["confirmed"] = r.status
sns.publish(TopicArn=topic, Message="to the hook")
out["hook"] = posted(3)

# A Standard execution on the node that does not serve: sqs:sendMessage with no endpoint.
from_task = sqs["H"].create_queue(QueueName="from-task")["QueueUrl"]
sfn = client("stepfunctions", N)
sm = sfn.create_state_machine(name="sender", roleArn="arn:aws:iam::123456789012:role/r",
    definition=json.dumps({"StartAt": "Send", "States": {"Send": {"Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": from_task, "MessageBody.$": "$.text"}, "End": True}}}))["stateMachineArn"]
ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps({"text": "from a task"}))["executionArn"]
deadline = time.time() + 20
while time.time() < deadline:
    d = sfn.describe_execution(executionArn=ex)
    if d["status"] != "RUNNING":
        break
    time.sleep(0.2)
out["execution"] = [d["status"], json.loads(d.get("output", "{}")).get("MessageId")]
sent = receive_all("H", from_task, 1)
out["from_task"] = [[m["Body"], m["MessageId"]] for m in sent]

# Left for after the holder's death: 5 messages waiting, 1 received and not deleted.
durable = sqs["N"].create_queue(QueueName="durable")["QueueUrl"]
for i in range(6):
    sqs["N" if i % 2 else "H"].send_message(QueueUrl=durable, MessageBody="kept-%d" % i)
held = sqs["N"].receive_message(QueueUrl=durable, MaxNumberOfMessages=1, VisibilityTimeout=3)
out["in_flight"] = len(held.get("Messages", []))
"#,
    );
    let orders: Vec<String> = (0..10).map(|i| format!("order-{i}")).collect();
    let mut sorted = orders.clone();
    sorted.sort();
    assert_eq!(out["bodies"], serde_json::json!(sorted), "{out}");
    assert_eq!(out["left"], serde_json::json!(["0", "0"]), "{out}");
    assert_eq!(out["again"], 0, "{out}");
    let listed = out["listed_on_other"].to_string();
    assert!(listed.contains("/orders"), "{out}");
    let empty = out["empty_wait"][0].as_f64().unwrap();
    assert!(
        (2.5..8.0).contains(&empty),
        "an empty long poll lasts its 3 s: {out}"
    );
    assert_eq!(out["empty_wait"][1], 0, "{out}");
    let woken = out["woken"][0].as_f64().unwrap();
    assert!(woken < 6.0, "a send wakes a long poll: {out}");
    assert_eq!(out["woken"][1], serde_json::json!(["late"]), "{out}");
    assert_eq!(out["fanned"], serde_json::json!(["hello cluster"]), "{out}");
    assert!(
        out["topics_on_holder"].to_string().contains(":events"),
        "{out}"
    );
    assert_eq!(out["confirmation"], "SubscriptionConfirmation", "{out}");
    assert_eq!(out["link_on_other"], true, "{out}");
    assert_eq!(out["confirmed"], 200, "{out}");
    assert_eq!(
        out["hook"],
        serde_json::json!([["Notification", "to the hook"]]),
        "{out}"
    );
    assert_eq!(out["execution"][0], "SUCCEEDED", "{out}");
    assert_eq!(out["from_task"][0][0], "from a task", "{out}");
    assert_eq!(out["from_task"][0][1], out["execution"][1], "{out}");
    assert_eq!(out["in_flight"], 1, "{out}");
    eprintln!(
        "SendMessage through the holder {:.2} ms, through the other node {:.2} ms",
        out["send_ms"]["H"].as_f64().unwrap(),
        out["send_ms"]["N"].as_f64().unwrap()
    );
    eprintln!(
        "long polls through the forward: empty 3 s wait took {empty:.2} s, woken after {woken:.2} s"
    );

    // One node serves; the other sent its requests and its Task's call on.
    let metric = |s: &Server, name: &str| metric_sum(std::slice::from_ref(&s.addr), name);
    assert_eq!(metric(&h, "messaging_serving"), Some(1.0));
    assert_eq!(metric(&n, "messaging_serving"), Some(0.0));
    assert_eq!(metric(&h, "messaging_forwarded"), Some(0.0));
    let forwarded = metric(&n, "messaging_forwarded").unwrap();
    assert!(forwarded >= 20.0, "{forwarded} forwarded");
    eprintln!("{forwarded} requests and calls forwarded to the holder");

    // The internal route wants the cluster's secret.
    for headers in ["", "X-Passo-Cluster-Secret: guessed\r\n"] {
        let (status, answer, _) = post(
            &h.addr,
            "/_passo/local/SQS/ListQueues",
            &format!("{headers}Content-Type: application/json\r\n"),
            "{}",
        );
        assert_eq!(status, 403, "{answer}");
    }

    // SIGKILL the holder: until the other takes the lease over, it answers 503 in each
    // protocol's shape, at once; then it serves the queue with its messages.
    h.kill();
    let killed = Instant::now();
    let (status, answer, took) = post(&n.addr, "/", SQS_JSON, "{}");
    if holder(&db, None) == first {
        assert_eq!(status, 503, "{answer}");
        assert!(answer.contains("ServiceUnavailable"), "{answer}");
        assert!(took < Duration::from_secs(3), "answered in {took:?}");
        let (status, answer, took) = post(
            &n.addr,
            "/",
            "Content-Type: application/x-www-form-urlencoded\r\nAuthorization: AWS4-HMAC-SHA256 Credential=x\r\n",
            "Action=ListTopics&Version=2010-03-31",
        );
        assert_eq!(status, 503, "{answer}");
        assert!(
            answer.contains("<Code>ServiceUnavailable</Code>"),
            "{answer}"
        );
        assert!(took < Duration::from_secs(3), "answered in {took:?}");
        eprintln!("with the holder dead and its lease not run out: SQS and SNS 503 in {took:?}");
    }
    let now = holder(&db, Some(&first));
    let taken = killed.elapsed();
    assert_eq!(now, other);
    assert!(
        taken < Duration::from_millis(4 * LEASE_MS),
        "took over after {taken:?} (lease {LEASE_MS} ms)"
    );
    eprintln!("the holder was SIGKILLed; {other} took the lease over after {taken:?} (lease {LEASE_MS} ms)");
    let after = boto3(
        &venv,
        &n,
        &n,
        &hook,
        r#"
# The subscriptions came over with the lease: the new holder posts to the HTTP subscriber.
hook = endpoint()
sns = client("sns", N)
topic = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":events")][0]
sns.publish(TopicArn=topic, Message="after the takeover")
out["hook"] = posted(3)
durable = sqs["H"].get_queue_url(QueueName="durable")["QueueUrl"]
got = receive_all("H", durable, 6)
out["bodies"] = sorted(m["Body"] for m in got)
for m in got:
    sqs["H"].delete_message(QueueUrl=durable, ReceiptHandle=m["ReceiptHandle"])
out["left"] = len(sqs["H"].receive_message(QueueUrl=durable, WaitTimeSeconds=1).get("Messages", []))
"#,
    );
    assert_eq!(metric(&n, "messaging_serving"), Some(1.0));
    let kept: Vec<String> = (0..6).map(|i| format!("kept-{i}")).collect();
    assert_eq!(after["bodies"], serde_json::json!(kept), "{after}");
    assert_eq!(after["left"], 0, "{after}");
    assert_eq!(
        after["hook"],
        serde_json::json!([["Notification", "after the takeover"]]),
        "{after}"
    );
    db.close();
}
