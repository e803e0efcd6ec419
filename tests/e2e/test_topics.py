"""Passo's own topics through SNS's API (the query protocol) on the server's port, driven by
boto3 and the aws CLI: fan-out to queues with a filter policy and raw delivery, an HTTP
subscriber confirming through its SubscribeURL and receiving SNS's envelope (with a retry),
FIFO topics, and SNS's errors."""

import http.server
import json
import queue
import threading
import unittest
import urllib.request

import server as srv
from server import uniq

SERVER = None


def setUpModule():
    global SERVER
    SERVER = srv.PassoServer().start()


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()


class Endpoint:
    """An HTTP subscriber on 127.0.0.1: every POST lands in `received` as (headers, body);
    the first `fail_first` notifications are answered 500."""

    def __init__(self, fail_first=0):
        self.received = queue.Queue()
        self.fail_first = fail_first
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                outer.received.put((dict(self.headers), json.loads(body)))
                failing = (self.headers.get("x-amz-sns-message-type") == "Notification"
                           and outer.fail_first > 0)
                if failing:
                    outer.fail_first -= 1
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sns"

    def next(self, timeout=10):
        return self.received.get(timeout=timeout)

    def close(self):
        self.httpd.shutdown()


class TopicTest(unittest.TestCase):

    def setUp(self):
        self.sns = srv.service_client(SERVER.endpoint, "sns")
        self.sqs = srv.service_client(SERVER.endpoint, "sqs")

    def queue(self, fifo=False):
        name = uniq("q") + (".fifo" if fifo else "")
        attrs = {"FifoQueue": "true"} if fifo else {}
        url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def drain(self, url):
        got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        for m in got:
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def test_fan_out_to_two_queues_with_a_filter_policy(self):
        topic = self.sns.create_topic(Name=uniq("orders"))["TopicArn"]
        all_url, all_arn = self.queue()
        red_url, red_arn = self.queue()
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=all_arn)
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=red_arn, Attributes={
            "FilterPolicy": json.dumps({"color": ["red"], "size": [{"numeric": [">", 10]}]}),
            "RawMessageDelivery": "true"})
        for color, size in [("red", 20), ("blue", 20), ("red", 5)]:
            self.sns.publish(TopicArn=topic, Message=f"{color}-{size}", Subject="s",
                             MessageAttributes={
                                 "color": {"DataType": "String", "StringValue": color},
                                 "size": {"DataType": "Number", "StringValue": str(size)}})
        everything = [json.loads(m["Body"]) for m in self.drain(all_url)]
        self.assertEqual(sorted(e["Message"] for e in everything), ["blue-20", "red-20", "red-5"])
        e = everything[0]
        self.assertEqual((e["Type"], e["TopicArn"], e["Subject"]), ("Notification", topic, "s"))
        self.assertEqual(e["MessageAttributes"]["color"]["Type"], "String")
        red = self.drain(red_url)
        self.assertEqual([m["Body"] for m in red], ["red-20"])
        # Raw delivery carries the attributes as SQS message attributes.
        self.assertEqual(red[0]["MessageAttributes"]["color"]["StringValue"], "red")
        subs = self.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        self.assertEqual(sorted(s["Endpoint"] for s in subs), sorted([all_arn, red_arn]))

    def test_an_http_subscriber_confirms_and_gets_the_envelope(self):
        endpoint = Endpoint(fail_first=1)
        try:
            topic = self.sns.create_topic(Name=uniq("hooks"))["TopicArn"]
            # Retried after a second rather than SNS's default 20 s.
            policy = json.dumps({"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": 1,
                                                        "maxDelayTarget": 1}})
            pending = self.sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url,
                                         Attributes={"DeliveryPolicy": policy})
            self.assertEqual(pending["SubscriptionArn"], "pending confirmation")
            headers, confirm = endpoint.next()
            self.assertEqual(headers["x-amz-sns-message-type"], "SubscriptionConfirmation")
            self.assertEqual(confirm["TopicArn"], topic)
            with urllib.request.urlopen(confirm["SubscribeURL"], timeout=10) as r:
                self.assertIn(b"<SubscriptionArn>", r.read())
            subs = self.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
            self.assertTrue(subs[0]["SubscriptionArn"].startswith(topic + ":"), subs)
            sent = self.sns.publish(TopicArn=topic, Message="to the hook")
            first_headers, first = endpoint.next()
            retried_headers, retried = endpoint.next()
            self.assertEqual(first, retried)
            self.assertEqual(retried_headers["x-amz-sns-message-type"], "Notification")
            self.assertEqual(retried_headers["x-amz-sns-subscription-arn"], subs[0]["SubscriptionArn"])
            self.assertEqual((retried["Type"], retried["MessageId"], retried["Message"]),
                             ("Notification", sent["MessageId"], "to the hook"))
            # The UnsubscribeURL in the envelope ends the subscription.
            with urllib.request.urlopen(retried["UnsubscribeURL"], timeout=10) as r:
                self.assertEqual(r.status, 200)
            self.assertEqual(self.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"], [])
        finally:
            endpoint.close()

    def test_fifo_topics_need_groups_and_reach_fifo_queues(self):
        topic = self.sns.create_topic(Name=uniq("t") + ".fifo",
                                      Attributes={"FifoTopic": "true",
                                                  "ContentBasedDeduplication": "true"})["TopicArn"]
        url, arn = self.queue(fifo=True)
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                           Attributes={"RawMessageDelivery": "true"})
        with self.assertRaises(self.sns.exceptions.InvalidParameterException):
            self.sns.publish(TopicArn=topic, Message="no group")
        for body in ["one", "two", "one"]:
            out = self.sns.publish(TopicArn=topic, Message=body, MessageGroupId="g")
            self.assertIn("SequenceNumber", out)
        # The repeated "one" is deduplicated by its content.
        self.assertEqual([m["Body"] for m in self.drain(url)], ["one", "two"])

    def test_publish_batch_and_message_structure(self):
        topic = self.sns.create_topic(Name=uniq("batch"))["TopicArn"]
        url, arn = self.queue()
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        out = self.sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": "a", "Message": "first"},
            {"Id": "b", "Message": json.dumps({"default": "plain", "sqs": "for queues"}),
             "MessageStructure": "json"},
            {"Id": "c", "Message": ""}])
        self.assertEqual(sorted(s["Id"] for s in out["Successful"]), ["a", "b"])
        self.assertEqual([f["Id"] for f in out["Failed"]], ["c"])
        got = sorted(json.loads(m["Body"])["Message"] for m in self.drain(url))
        self.assertEqual(got, ["first", "for queues"])

    def test_errors_and_the_aws_cli(self):
        with self.assertRaises(self.sns.exceptions.NotFoundException):
            self.sns.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:" + uniq("nope"),
                             Message="x")
        topic = srv.aws_json(SERVER.endpoint, "sns", "create-topic", "--name", uniq("cli"))["TopicArn"]
        url, arn = self.queue()
        srv.aws_json(SERVER.endpoint, "sns", "subscribe", "--topic-arn", topic,
                     "--protocol", "sqs", "--notification-endpoint", arn)
        out = srv.aws_json(SERVER.endpoint, "sns", "publish", "--topic-arn", topic,
                           "--message", "from the cli")
        got = self.drain(url)
        self.assertEqual(json.loads(got[0]["Body"])["MessageId"], out["MessageId"])
        topics = srv.aws_json(SERVER.endpoint, "sns", "list-topics")["Topics"]
        self.assertIn({"TopicArn": topic}, topics)

    def test_attributes_and_tags_change_and_unknown_topics_are_refused(self):
        arn = self.sns.create_topic(Name=uniq("tags"))["TopicArn"]
        self.sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName",
                                      AttributeValue="Orders")
        attrs = self.sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        self.assertEqual(attrs["DisplayName"], "Orders")
        self.sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "test"},
                                                     {"Key": "team", "Value": "a"}])
        self.sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
        tags = self.sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
        self.assertEqual(tags, [{"Key": "env", "Value": "test"}])
        gone = "arn:aws:sns:us-east-1:123456789012:" + uniq("gone")
        with self.assertRaises(self.sns.exceptions.NotFoundException):
            self.sns.set_topic_attributes(TopicArn=gone, AttributeName="DisplayName",
                                          AttributeValue="x")
        with self.assertRaises(self.sns.exceptions.NotFoundException):
            self.sns.tag_resource(ResourceArn=gone, Tags=[{"Key": "k", "Value": "v"}])


class CrashTest(unittest.TestCase):
    """A notification accepted for an HTTP subscriber and not yet delivered survives SIGKILL:
    the restarted server delivers it."""

    def test_a_pending_http_delivery_survives_a_sigkill(self):
        endpoint = Endpoint(fail_first=1)
        server = srv.PassoServer().start()
        try:
            sns = srv.service_client(server.endpoint, "sns")
            topic = sns.create_topic(Name="durable")["TopicArn"]
            policy = json.dumps({"healthyRetryPolicy": {"numRetries": 3, "minDelayTarget": 2}})
            sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url,
                          Attributes={"DeliveryPolicy": policy})
            _, confirm = endpoint.next()
            sns.confirm_subscription(TopicArn=topic, Token=confirm["Token"])
            sent = sns.publish(TopicArn=topic, Message="after the crash")
            _, first = endpoint.next()      # answered 500: a retry is due in 2 s
            self.assertEqual(first["MessageId"], sent["MessageId"])
            server.restart_after_crash()
            _, retried = endpoint.next(timeout=15)
            self.assertEqual((retried["MessageId"], retried["Message"]),
                             (sent["MessageId"], "after the crash"))
        finally:
            server.cleanup()
            endpoint.close()


if __name__ == "__main__":
    unittest.main()
