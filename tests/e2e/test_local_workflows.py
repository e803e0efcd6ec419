"""Workflows that reach Passo's own queues and topics with no endpoint configured: the
Tasks' `aws-sdk:sqs:*` and `aws-sdk:sns:*` calls act on the same queues boto3 sees on the
server's port, including a `.waitForTaskToken` whose worker (this test) reads the token
from the queue and answers SendTaskSuccess."""

import json
import os
import time
import unittest

import server as srv
from server import ROLE_ARN, definition, uniq

SERVER = None


def setUpModule():
    global SERVER
    # No endpoint of any kind: the server's own queues and topics answer.
    for var in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL")]:
        os.environ.pop(var)
    SERVER = srv.PassoServer().start()


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()


class LocalWorkflowTest(unittest.TestCase):

    def setUp(self):
        self.sfn = SERVER.client()
        self.sqs = srv.service_client(SERVER.endpoint, "sqs")
        self.sns = srv.service_client(SERVER.endpoint, "sns")

    def run_machine(self, states, input_=None, start=True):
        arn = self.sfn.create_state_machine(name=uniq("m"), definition=definition(states),
                                            roleArn=ROLE_ARN)["stateMachineArn"]
        ex = self.sfn.start_execution(stateMachineArn=arn, input=json.dumps(input_ or {}))
        return ex["executionArn"]

    def finished(self, ex, timeout=30):
        return srv.wait_until(
            lambda: (d := self.sfn.describe_execution(executionArn=ex))["status"] != "RUNNING" and d,
            timeout=timeout, what="the execution to end")

    def test_send_then_receive_in_one_workflow(self):
        url = self.sqs.create_queue(QueueName=uniq("wf"))["QueueUrl"]
        ex = self.run_machine({
            "Send": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:sendMessage",
                     "Parameters": {"QueueUrl.$": "$.url", "MessageBody": "from a workflow"},
                     "ResultPath": "$.sent", "Next": "Receive"},
            "Receive": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:receiveMessage",
                        "Parameters": {"QueueUrl.$": "$.url", "WaitTimeSeconds": 5},
                        "ResultSelector": {"body.$": "$.Messages[0].Body",
                                           "id.$": "$.Messages[0].MessageId"},
                        "End": True},
        }, {"url": url})
        d = self.finished(ex)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        out = json.loads(d["output"])
        self.assertEqual(out["body"], "from a workflow")
        # The CLI's view agrees: the message is in flight after the workflow's receive.
        a = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(a["ApproximateNumberOfMessagesNotVisible"], "1")

    def test_publish_reaches_a_subscribed_queue(self):
        topic = self.sns.create_topic(Name=uniq("wf"))["TopicArn"]
        url = self.sqs.create_queue(QueueName=uniq("sub"))["QueueUrl"]
        qarn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn,
                           Attributes={"RawMessageDelivery": "true"})
        ex = self.run_machine({
            "Publish": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sns:publish",
                        "Parameters": {"TopicArn.$": "$.topic", "Message.$": "States.JsonToString($.order)"},
                        "End": True},
        }, {"topic": topic, "order": {"id": 7}})
        d = self.finished(ex)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertIn("MessageId", json.loads(d["output"]))
        got = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
        self.assertEqual(json.loads(got[0]["Body"]), {"id": 7})

    def test_the_optimized_integrations_reach_local_queues_and_topics(self):
        topic = self.sns.create_topic(Name=uniq("opt"))["TopicArn"]
        url = self.sqs.create_queue(QueueName=uniq("opt"))["QueueUrl"]
        qarn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
        ex = self.run_machine({
            # A JSON body is sent as its text, as Step Functions sends it.
            "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                     "Parameters": {"QueueUrl.$": "$.url", "MessageBody": {"step": "send"}},
                     "ResultPath": "$.sent", "Next": "Publish"},
            "Publish": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                        "Parameters": {"TopicArn.$": "$.topic", "Message": {"step": "publish"}},
                        "ResultPath": "$.published", "End": True},
        }, {"url": url, "topic": topic})
        d = self.finished(ex)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        out = json.loads(d["output"])
        self.assertIn("MessageId", out["sent"])
        self.assertIn("MessageId", out["published"])
        got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)["Messages"]
        bodies = [json.loads(m["Body"]) for m in got]
        self.assertIn({"step": "send"}, bodies)
        envelope = next(b for b in bodies if b.get("Type") == "Notification")
        self.assertEqual(json.loads(envelope["Message"]), {"step": "publish"})
        self.assertEqual(envelope["MessageId"], out["published"]["MessageId"])

    def test_wait_for_task_token_on_the_optimized_send_message(self):
        url = self.sqs.create_queue(QueueName=uniq("otok"))["QueueUrl"]
        ex = self.run_machine({
            "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl.$": "$.url",
                                   "MessageBody": {"token.$": "$$.Task.Token", "question": "ok?"}},
                    "TimeoutSeconds": 60, "End": True},
        }, {"url": url})
        got = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"][0]
        body = json.loads(got["Body"])
        self.assertEqual(body["question"], "ok?")
        self.sfn.send_task_success(taskToken=body["token"], output=json.dumps({"answer": 42}))
        d = self.finished(ex)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), {"answer": 42})

    def test_a_missing_queue_fails_with_sqs_error_name(self):
        ex = self.run_machine({
            "Send": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sqs:sendMessage",
                     "Parameters": {"QueueUrl": f"{SERVER.endpoint}/123456789012/{uniq('none')}",
                                    "MessageBody": "x"},
                     "End": True},
        })
        d = self.finished(ex)
        self.assertEqual(d["status"], "FAILED")
        self.assertEqual(d["error"], "Sqs.QueueDoesNotExistException")
        # The optimized integration names it as the Java 1 SDK does.
        ex = self.run_machine({
            "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                     "Parameters": {"QueueUrl": f"{SERVER.endpoint}/123456789012/{uniq('none')}",
                                    "MessageBody": "x"},
                     "End": True},
        })
        d = self.finished(ex)
        self.assertEqual((d["status"], d["error"]), ("FAILED", "SQS.QueueDoesNotExistException"))

    def test_wait_for_task_token_through_a_queue(self):
        url = self.sqs.create_queue(QueueName=uniq("tokens"))["QueueUrl"]
        ex = self.run_machine({
            "Ask": {"Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:sqs:sendMessage.waitForTaskToken",
                    # The SDK's MessageBody is a string: the token rides in an attribute.
                    "Parameters": {"QueueUrl.$": "$.url", "MessageBody": "ok?",
                                   "MessageAttributes": {"token": {
                                       "DataType": "String", "StringValue.$": "$$.Task.Token"}}},
                    "TimeoutSeconds": 60, "End": True},
        }, {"url": url})
        got = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10,
                                       MessageAttributeNames=["token"])["Messages"][0]
        self.assertEqual(got["Body"], "ok?")
        token = got["MessageAttributes"]["token"]["StringValue"]
        time.sleep(0.2)
        self.assertEqual(self.sfn.describe_execution(executionArn=ex)["status"], "RUNNING")
        self.sfn.send_task_success(taskToken=token, output=json.dumps({"answer": "yes"}))
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
        d = self.finished(ex)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), {"answer": "yes"})


if __name__ == "__main__":
    unittest.main()
