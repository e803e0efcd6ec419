"""Passo's own queues through SQS's API on the server's port, driven by boto3 and the aws
CLI: send/receive/delete, visibility timeouts, long polling, FIFO groups and deduplication,
redrive to a dead-letter queue, SQS's errors, and messages surviving a SIGKILL."""

import hashlib
import struct
import threading
import time
import unittest

import server as srv
from server import uniq

SERVER = None


def setUpModule():
    global SERVER
    SERVER = srv.PassoServer().start()


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()


def attributes_md5(attrs):
    """SQS's digest of message attributes, computed here independently of the server."""
    buf = b""
    for name in sorted(attrs):
        a = attrs[name]
        for part in (name, a["DataType"]):
            b = part.encode()
            buf += struct.pack(">I", len(b)) + b
        if a["DataType"].startswith("Binary"):
            buf += b"\x02" + struct.pack(">I", len(a["BinaryValue"])) + a["BinaryValue"]
        else:
            b = a["StringValue"].encode()
            buf += b"\x01" + struct.pack(">I", len(b)) + b
    return hashlib.md5(buf).hexdigest()


class QueueTest(unittest.TestCase):

    def setUp(self):
        self.sqs = srv.service_client(SERVER.endpoint, "sqs")

    def queue(self, **attributes):
        name = uniq("q") + (".fifo" if attributes.get("FifoQueue") == "true" else "")
        return self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]

    def counts(self, url):
        a = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])

    def test_send_receive_delete_with_attributes_and_digests(self):
        url = self.queue()
        self.assertTrue(url.startswith(f"{SERVER.endpoint}/123456789012/"), url)
        attrs = {"color": {"DataType": "String", "StringValue": "red"},
                 "size": {"DataType": "Number", "StringValue": "42"},
                 "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}}
        sent = self.sqs.send_message(QueueUrl=url, MessageBody="héllo", MessageAttributes=attrs)
        self.assertEqual(sent["MD5OfMessageBody"], hashlib.md5("héllo".encode()).hexdigest())
        self.assertEqual(sent["MD5OfMessageAttributes"], attributes_md5(attrs))
        got = self.sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"],
                                       MessageSystemAttributeNames=["All"])["Messages"]
        self.assertEqual(len(got), 1)
        m = got[0]
        self.assertEqual((m["MessageId"], m["Body"]), (sent["MessageId"], "héllo"))
        self.assertEqual(m["MessageAttributes"]["blob"]["BinaryValue"], b"\x00\x01")
        self.assertEqual(m["MD5OfMessageAttributes"], attributes_md5(attrs))
        self.assertEqual(m["Attributes"]["ApproximateReceiveCount"], "1")
        self.assertEqual(self.counts(url), (0, 1))
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual(self.counts(url), (0, 0))

    def test_a_message_not_deleted_comes_back_after_its_visibility_timeout(self):
        url = self.queue(VisibilityTimeout="1")
        self.sqs.send_message(QueueUrl=url, MessageBody="again")
        first = self.sqs.receive_message(QueueUrl=url)["Messages"][0]
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=url))
        time.sleep(1.3)
        second = self.sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
        self.assertEqual(second["MessageId"], first["MessageId"])
        self.assertEqual(second["Attributes"]["ApproximateReceiveCount"], "2")
        # The first receive's handle no longer deletes it; the latest does.
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
        self.assertEqual(self.counts(url), (0, 1))
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"],
                                           VisibilityTimeout=0)
        third = self.sqs.receive_message(QueueUrl=url)["Messages"][0]
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=third["ReceiptHandle"])
        self.assertEqual(self.counts(url), (0, 0))

    def test_a_long_poll_answers_when_a_message_arrives(self):
        url = self.queue()
        started = time.monotonic()
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1))
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        threading.Timer(1.0, lambda: srv.service_client(SERVER.endpoint, "sqs").send_message(
            QueueUrl=url, MessageBody="late")).start()
        started = time.monotonic()
        got = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
        took = time.monotonic() - started
        self.assertEqual(got["Messages"][0]["Body"], "late")
        self.assertTrue(0.8 <= took < 5, took)

    def test_batches_and_delay(self):
        url = self.queue()
        sent = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "one"},
            {"Id": "b", "MessageBody": "two", "DelaySeconds": 2},
            {"Id": "c", "MessageBody": ""}])
        self.assertEqual(sorted(s["Id"] for s in sent["Successful"]), ["a", "b"])
        self.assertEqual(sent["Failed"][0]["Id"], "c")
        got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual([m["Body"] for m in got], ["one"])
        later = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)["Messages"]
        self.assertEqual([m["Body"] for m in later], ["two"])
        deleted = self.sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "x", "ReceiptHandle": got[0]["ReceiptHandle"]},
            {"Id": "y", "ReceiptHandle": later[0]["ReceiptHandle"]}])
        self.assertEqual(len(deleted["Successful"]), 2)
        self.assertEqual(self.counts(url), (0, 0))

    def test_fifo_groups_keep_order_and_deduplicate(self):
        url = self.queue(FifoQueue="true")
        for i, dedup in enumerate(["d1", "d2", "d1", "d3"]):
            self.sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g",
                                  MessageDeduplicationId=dedup)
        self.sqs.send_message(QueueUrl=url, MessageBody="other", MessageGroupId="h",
                              MessageDeduplicationId="o1")
        first = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2,
                                         AttributeNames=["All"])["Messages"]
        self.assertEqual([m["Body"] for m in first], ["m0", "m1"])
        self.assertEqual(first[0]["Attributes"]["MessageGroupId"], "g")
        # Group g is held while its messages are in flight; h is not.
        rest = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual([m["Body"] for m in rest], ["other"])
        with self.assertRaises(self.sqs.exceptions.ClientError):
            self.sqs.send_message(QueueUrl=url, MessageBody="no group", MessageDeduplicationId="z")

    def test_redrive_moves_a_message_to_the_dead_letter_queue(self):
        dlq = self.queue()
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = '{"deadLetterTargetArn": "%s", "maxReceiveCount": "1"}' % dlq_arn
        src = self.queue(VisibilityTimeout="0", RedrivePolicy=policy)
        self.sqs.send_message(QueueUrl=src, MessageBody="poison")
        self.assertEqual(self.sqs.receive_message(QueueUrl=src)["Messages"][0]["Body"], "poison")
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=src))
        moved = self.sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"][0]
        self.assertEqual(moved["Body"], "poison")
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"], [src])

    def test_errors_are_sqs_errors(self):
        with self.assertRaises(self.sqs.exceptions.QueueDoesNotExist):
            self.sqs.get_queue_url(QueueName=uniq("missing"))
        with self.assertRaises(self.sqs.exceptions.QueueDoesNotExist):
            self.sqs.send_message(QueueUrl=f"{SERVER.endpoint}/123456789012/{uniq('nope')}",
                                  MessageBody="x")
        name = uniq("q")
        self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "5"})
        self.assertEqual(self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "5"})["QueueUrl"],
                         self.sqs.get_queue_url(QueueName=name)["QueueUrl"])
        with self.assertRaises(self.sqs.exceptions.QueueNameExists):
            self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "6"})
        with self.assertRaises(self.sqs.exceptions.ClientError) as e:
            self.sqs.create_queue(QueueName=uniq("q"), Attributes={"VisibilityTimeout": "99999"})
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidAttributeValue")

    def test_the_aws_cli_creates_sends_receives_and_deletes(self):
        name = uniq("cli")
        url = srv.aws_json(SERVER.endpoint, "sqs", "create-queue", "--queue-name", name)["QueueUrl"]
        srv.aws_json(SERVER.endpoint, "sqs", "send-message", "--queue-url", url,
                     "--message-body", "from the cli")
        got = srv.aws_json(SERVER.endpoint, "sqs", "receive-message", "--queue-url", url,
                           "--wait-time-seconds", "2")["Messages"]
        self.assertEqual(got[0]["Body"], "from the cli")
        srv.aws_json(SERVER.endpoint, "sqs", "delete-message", "--queue-url", url,
                     "--receipt-handle", got[0]["ReceiptHandle"])
        urls = srv.aws_json(SERVER.endpoint, "sqs", "list-queues", "--queue-name-prefix", name)
        self.assertEqual(urls["QueueUrls"], [url])
        self.assertEqual(self.counts(url), (0, 0))


class SigV4Test(unittest.TestCase):
    """With access keys, SQS and SNS calls are checked as the Step Functions API's are."""

    def test_signed_calls_pass_and_a_wrong_secret_is_refused(self):
        server = srv.PassoServer(extra_args=["--access-key", "AKIDQUEUES:s3cret"]).start()
        try:
            def client(service, secret):
                import boto3
                from botocore.config import Config
                return boto3.client(service, endpoint_url=server.endpoint, region_name=srv.REGION,
                                    aws_access_key_id="AKIDQUEUES", aws_secret_access_key=secret,
                                    config=Config(retries={"max_attempts": 1}))
            url = client("sqs", "s3cret").create_queue(QueueName="signed")["QueueUrl"]
            self.assertTrue(url.endswith("/signed"))
            client("sns", "s3cret").create_topic(Name="signed")
            for service, call in [("sqs", lambda c: c.list_queues()),
                                  ("sns", lambda c: c.list_topics())]:
                with self.assertRaises(Exception) as e:
                    call(client(service, "wrong"))
                self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        finally:
            server.cleanup()


class CrashTest(unittest.TestCase):
    """An answered SendMessage survives SIGKILL; a received message stays hidden until its
    visibility timeout ends, across the restart too."""

    def test_messages_survive_a_sigkill(self):
        server = srv.PassoServer().start()
        try:
            sqs = srv.service_client(server.endpoint, "sqs")
            url = sqs.create_queue(QueueName="durable")["QueueUrl"]
            a = sqs.send_message(QueueUrl=url, MessageBody="a")
            b = sqs.send_message(QueueUrl=url, MessageBody="b")
            held = sqs.receive_message(QueueUrl=url, VisibilityTimeout=3)["Messages"][0]
            received_at = time.monotonic()
            self.assertEqual(held["MessageId"], a["MessageId"])
            server.restart_after_crash()
            sqs = srv.service_client(server.endpoint, "sqs")
            url = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
            # Both accepted messages are there; the one taken before the crash is still hidden.
            first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            self.assertEqual([m["MessageId"] for m in first], [b["MessageId"]])
            time.sleep(max(0.0, 3.3 - (time.monotonic() - received_at)))
            back = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
            self.assertEqual(back["MessageId"], a["MessageId"])
            self.assertEqual(back["Attributes"]["ApproximateReceiveCount"], "2")
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
