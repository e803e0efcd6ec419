"""Mocked integrations in `passo server`, as AWS Step Functions Local does them: a
MockConfigFile given with SFN_MOCK_CONFIG (or --mock), and executions started with
`stateMachineArn#TestCaseName` take their Task results from that test case; states it does
not list run for real; executions started without a test case are not mocked.

Run: PASSO_BIN=/tmp/passo-bin/passo tests/e2e/run.sh test_mocks
"""

import json
import os
import tempfile
import unittest

from botocore.exceptions import ClientError

import server as srv
from server import ROLE_ARN, definition, wait_until

SERVER = None
MACHINE = "LambdaSQSIntegration"

DEFINITION = definition({
    "LambdaState": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "HelloWorldFunction", "Payload.$": "$"},
                    "ResultSelector": {"body.$": "$.Payload"},
                    "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"],
                               "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                    "Next": "SQSState"},
    "SQSState": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                 "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/1/q",
                                "MessageBody.$": "$.body"}, "ResultPath": "$.sent",
                 "End": True},
    "Caught": {"Type": "Pass", "End": True},
})

MOCKS = {
    "StateMachines": {
        MACHINE: {"TestCases": {
            "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
            "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
            "LambdaOnly": {"LambdaState": "MockedLambdaSuccess"},
            "Broken": {"LambdaState": "MockedLambdaBroken"},
        }},
        MACHINE + "Express": {"TestCases": {
            "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
        }},
    },
    "MockedResponses": {
        "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"hi": 1}}}},
        "MockedLambdaRetry": {
            "0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "busy"}},
            "2": {"Return": {"StatusCode": 200, "Payload": {"hi": 3}}}},
        "MockedLambdaBroken": {"0": {"Throw": {"Error": "Boom", "Cause": "kaput"}}},
        "MockedSQSSuccess": {"0": {"Return": {"MessageId": "m-1", "MD5OfMessageBody": "x"}}},
    },
}


def setUpModule():
    global SERVER
    tmp = tempfile.mkdtemp(prefix="passo-mocks-")
    path = os.path.join(tmp, "MockConfigFile.json")
    with open(path, "w") as f:
        json.dump(MOCKS, f)
    old = os.environ.get("SFN_MOCK_CONFIG")
    os.environ["SFN_MOCK_CONFIG"] = path
    try:
        SERVER = srv.PassoServer().start()
    finally:
        if old is None:
            os.environ.pop("SFN_MOCK_CONFIG", None)
        else:
            os.environ["SFN_MOCK_CONFIG"] = old


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()


class MocksE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sfn = SERVER.client()
        cls.arn = cls.sfn.create_state_machine(name=MACHINE, definition=DEFINITION,
                                               roleArn=ROLE_ARN)["stateMachineArn"]
        cls.express = cls.sfn.create_state_machine(
            name=MACHINE + "Express", definition=DEFINITION, roleArn=ROLE_ARN,
            type="EXPRESS")["stateMachineArn"]

    def run_case(self, target, input_doc=None):
        ex = self.sfn.start_execution(stateMachineArn=target,
                                      input=json.dumps(input_doc or {}))["executionArn"]
        d = wait_until(lambda: (lambda d: d if d["status"] != "RUNNING" else None)(
            self.sfn.describe_execution(executionArn=ex)), what="the execution to end")
        return d, self.sfn.get_execution_history(executionArn=ex, maxResults=1000)["events"]

    def test_happy_path_takes_every_result_from_the_mocks(self):
        d, history = self.run_case(self.arn + "#HappyPath")
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]),
                         {"body": {"hi": 1}, "sent": {"MessageId": "m-1", "MD5OfMessageBody": "x"}})
        types = [e["type"] for e in history]
        self.assertEqual(types.count("TaskSucceeded"), 2)
        self.assertEqual(d["stateMachineArn"], self.arn)

    def test_retry_path_counts_attempts(self):
        d, history = self.run_case(self.arn + "#RetryPath")
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"])["body"], {"hi": 3})
        self.assertEqual([e["type"] for e in history].count("TaskFailed"), 2)

    def test_errors_are_caught_like_real_ones(self):
        d, _ = self.run_case(self.arn + "#Broken")
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), {"Error": "Boom", "Cause": "kaput"})

    def test_states_the_case_does_not_list_run_for_real(self):
        d, _ = self.run_case(self.arn + "#LambdaOnly")
        # No SQS endpoint is configured here: the real integration reaches Passo's own
        # queues, which have no such queue.
        self.assertEqual(d["status"], "FAILED", d)
        self.assertEqual(d["error"], "SQS.QueueDoesNotExistException", d)
        self.assertIn("The specified queue does not exist.", d["cause"])

    def test_without_a_test_case_nothing_is_mocked(self):
        d, _ = self.run_case(self.arn)
        self.assertEqual(d["status"], "SUCCEEDED", d)   # caught: no function is declared
        self.assertEqual(json.loads(d["output"])["Error"], "Lambda.ResourceNotFoundException")

    def test_express_sync_executions_take_mocks_too(self):
        r = self.sfn.start_sync_execution(stateMachineArn=self.express + "#HappyPath",
                                          input="{}")
        self.assertEqual(r["status"], "SUCCEEDED", r)
        self.assertEqual(json.loads(r["output"])["body"], {"hi": 1})

    def test_unknown_test_case_is_refused(self):
        with self.assertRaises(ClientError) as e:
            self.sfn.start_execution(stateMachineArn=self.arn + "#NoSuchCase", input="{}")
        self.assertEqual(e.exception.response["Error"]["Code"], "ValidationException")
        self.assertIn("NoSuchCase", e.exception.response["Error"]["Message"])


if __name__ == "__main__":
    unittest.main()
