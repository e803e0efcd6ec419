"""Nested executions through `passo server`: Task states on
`arn:aws:states:::states:startExecution` (request-response), `.sync`, `.sync:2` and
`.waitForTaskToken`, driven with boto3 as a user would: the parent's output, the child it
started, the history events, failures of the child and of the call, stopping a parent, and a
crash while a parent waits for its child.

One server (fresh data dir) serves the module; the crash test gets its own.
Run: PASSO_BIN=/tmp/passo-bin/passo tests/e2e/run.sh test_nested
"""

import json
import time
import unittest
import uuid

from botocore.exceptions import ClientError

import server as srv
from server import ROLE_ARN, definition, uniq, wait_until

SERVER = None

PASS_CHILD = definition({"State_1": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}})
FAIL_CHILD = definition({"FailState": {"Type": "Fail", "Error": "SomeFailure",
                                       "Cause": "This state machine raises a 'SomeFailure' failure."}})
WAIT_CHILD = definition({"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}})
ECHO_CHILD = definition({"Echo": {"Type": "Pass", "End": True}})


def setUpModule():
    global SERVER
    SERVER = srv.PassoServer().start()


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()


def start_task(resource_suffix, child_arn, **params):
    p = {"StateMachineArn": child_arn}
    p.update(params)
    return {"Type": "Task", "Resource": f"arn:aws:states:::states:startExecution{resource_suffix}",
            "Parameters": p, "End": True}


class Helpers(unittest.TestCase):
    """Shared helpers; `self.server` is the module's server unless a subclass sets its own."""
    server = None

    @property
    def sfn(self):
        return (self.server or SERVER).client()

    def machine(self, definition_text, kind="STANDARD"):
        return self.sfn.create_state_machine(name=uniq("m"), definition=definition_text,
                                             roleArn=ROLE_ARN, type=kind)["stateMachineArn"]

    def run_to_end(self, machine_arn, input_doc=None, timeout=30):
        arn = self.sfn.start_execution(stateMachineArn=machine_arn,
                                       input=json.dumps(input_doc or {}))["executionArn"]
        return self.wait_end(arn, timeout)

    def wait_end(self, arn, timeout=30):
        return wait_until(lambda: (lambda d: d if d and d["status"] != "RUNNING" else None)(
            self.describe(arn)), timeout=timeout, what=f"{arn} to end")

    def describe(self, arn):
        """DescribeExecution, or None while the execution does not exist yet."""
        try:
            return self.sfn.describe_execution(executionArn=arn)
        except ClientError as e:
            if e.response["Error"]["Code"] == "ExecutionDoesNotExist":
                return None
            raise

    def history(self, arn):
        return self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]


class NestedE2E(Helpers):

    def test_request_response_starts_the_child_and_answers_its_arn(self):
        child = self.machine(PASS_CHILD)
        parent = self.machine(definition({"Start": start_task("", child, Name="kid",
                                                               Input={"n": 1})}))
        d = self.run_to_end(parent)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        out = json.loads(d["output"])
        child_name = child.split(":")[-1]
        self.assertTrue(out["ExecutionArn"].endswith(f":execution:{child_name}:kid"), out)
        self.assertIsInstance(out["StartDate"], int)
        self.assertEqual(out["SdkHttpMetadata"]["HttpStatusCode"], 200)
        kid = self.wait_end(out["ExecutionArn"])
        self.assertEqual(kid["status"], "SUCCEEDED")
        self.assertEqual(json.loads(kid["input"]), {"n": 1})
        types = [e["type"] for e in self.history(d["executionArn"])]
        self.assertIn("TaskSucceeded", types)
        self.assertNotIn("TaskSubmitted", types)

    def test_sync_waits_for_the_child_and_gives_its_output_as_text(self):
        child = self.machine(PASS_CHILD)
        parent = self.machine(definition({"Start": start_task(".sync", child, Name="kid")}))
        d = self.run_to_end(parent)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        out = json.loads(d["output"])
        self.assertEqual(out["Status"], "SUCCEEDED")
        self.assertEqual(out["Output"], '{"Arg1":"argument1"}')
        self.assertEqual(out["Input"], "{}")
        self.assertEqual(out["Name"], "kid")
        self.assertEqual(out["StateMachineArn"], child)
        types = [e["type"] for e in self.history(d["executionArn"])]
        i = types.index("TaskSubmitted")
        self.assertEqual(types[i + 1], "TaskSucceeded", types)

    def test_sync2_gives_the_output_as_json_and_a_derived_name(self):
        child = self.machine(PASS_CHILD)
        parent = self.machine(definition({"Start": start_task(".sync:2", child,
                                                               Input={"x": [1, 2]})}))
        d = self.run_to_end(parent)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        out = json.loads(d["output"])
        self.assertEqual(out["Output"], {"Arg1": "argument1"})
        self.assertEqual(out["Input"], {"x": [1, 2]})
        uuid.UUID(out["Name"])  # a UUID, as AWS names a child started without Name

    def test_a_failed_child_fails_the_task_with_its_description(self):
        child = self.machine(FAIL_CHILD)
        task = start_task(".sync", child)
        task.pop("End")
        task["Next"] = "Caught"
        task["Catch"] = [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]
        parent = self.machine(definition({"Start": task, "Caught": {"Type": "Pass", "End": True}}))
        d = self.run_to_end(parent)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        out = json.loads(d["output"])
        self.assertEqual(out["Error"], "States.TaskFailed")
        cause = json.loads(out["Cause"])
        self.assertEqual(cause["Status"], "FAILED")
        self.assertEqual(cause["Error"], "SomeFailure")
        self.assertNotIn("Output", cause)

    def test_an_unknown_machine_fails_as_aws_says(self):
        arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{uniq('nothing')}"
        parent = self.machine(definition({"Start": start_task("", arn)}))
        d = self.run_to_end(parent)
        self.assertEqual(d["status"], "FAILED")
        self.assertEqual(d["error"], "StepFunctions.StateMachineDoesNotExistException")
        self.assertIn(f"State Machine Does Not Exist: '{arn}'", d["cause"])
        self.assertIn("Error Code: StateMachineDoesNotExist", d["cause"])

    def test_stopping_a_parent_stops_its_sync_child(self):
        child = self.machine(WAIT_CHILD)
        parent = self.machine(definition({"Start": start_task(".sync", child, Name="kid")}))
        arn = self.sfn.start_execution(stateMachineArn=parent)["executionArn"]
        kid_arn = f"{child.replace(':stateMachine:', ':execution:')}:kid"
        wait_until(lambda: any(e["type"] == "TaskSubmitted" for e in self.history(arn)),
                   what="the child to start")
        self.sfn.stop_execution(executionArn=arn, cause="enough")
        kid = self.wait_end(kid_arn)
        self.assertEqual(kid["status"], "ABORTED")

    def test_a_sync_task_also_takes_its_token(self):
        child = self.machine(WAIT_CHILD)
        parent = self.machine(definition({"Start": start_task(
            ".sync", child, Name="kid", Input={"Token.$": "$$.Task.Token"})}))
        arn = self.sfn.start_execution(stateMachineArn=parent)["executionArn"]
        kid_arn = f"{child.replace(':stateMachine:', ':execution:')}:kid"
        kid = wait_until(lambda: self.describe(kid_arn), what="the child")
        token = json.loads(kid["input"])["Token"]
        self.sfn.send_task_success(taskToken=token, output='"early"')
        d = self.wait_end(arn)
        self.assertEqual(d["status"], "SUCCEEDED")
        self.assertEqual(json.loads(d["output"]), "early")
        self.sfn.stop_execution(executionArn=kid_arn)

    def test_wait_for_task_token_ends_with_the_childs_answer(self):
        child = self.machine(ECHO_CHILD)
        parent = self.machine(definition({"Start": start_task(
            ".waitForTaskToken", child, Name="kid",
            Input={"TaskToken.$": "$$.Task.Token"})}))
        arn = self.sfn.start_execution(stateMachineArn=parent)["executionArn"]
        kid_arn = f"{child.replace(':stateMachine:', ':execution:')}:kid"
        kid = self.wait_end(kid_arn)
        token = json.loads(kid["output"])["TaskToken"]
        time.sleep(0.2)
        self.assertEqual(self.sfn.describe_execution(executionArn=arn)["status"], "RUNNING")
        self.sfn.send_task_success(taskToken=token, output='{"approved": true}')
        d = self.wait_end(arn)
        self.assertEqual(json.loads(d["output"]), {"approved": True})

    def test_express_children(self):
        child = self.machine(PASS_CHILD, kind="EXPRESS")
        parent = self.machine(definition({"Start": start_task(".sync:2", child)}))
        d = self.run_to_end(parent)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        out = json.loads(d["output"])
        self.assertEqual(out["Output"], {"Arg1": "argument1"})
        self.assertIn(":express:", out["ExecutionArn"])

    def test_an_express_parent_starts_a_child(self):
        child = self.machine(PASS_CHILD)
        parent = self.machine(definition({"Start": start_task("", child, Name=uniq("kid"))}),
                              kind="EXPRESS")
        r = self.sfn.start_sync_execution(stateMachineArn=parent, input="{}")
        self.assertEqual(r["status"], "SUCCEEDED", r)
        kid = self.wait_end(json.loads(r["output"])["ExecutionArn"])
        self.assertEqual(kid["status"], "SUCCEEDED")

    def test_bad_names_fail_the_call(self):
        child = self.machine(PASS_CHILD)
        parent = self.machine(definition({"Start": start_task("", child, Name="no spaces")}))
        d = self.run_to_end(parent)
        self.assertEqual(d["status"], "FAILED")
        self.assertEqual(d["error"], "StepFunctions.InvalidNameException")


class NestedCrashE2E(Helpers):
    """A parent waiting on a `.sync` child survives SIGKILL; the child's end reaches it."""

    def setUp(self):
        self.server = srv.PassoServer().start()

    def tearDown(self):
        self.server.cleanup()

    def test_parent_and_child_survive_kill_9(self):
        child = self.machine(definition({"W": {"Type": "Wait", "Seconds": 2, "Next": "P"},
                                         "P": {"Type": "Pass", "Result": "done", "End": True}}))
        parent = self.machine(definition({"Start": start_task(".sync:2", child, Name="kid")}))
        arn = self.sfn.start_execution(stateMachineArn=parent)["executionArn"]
        wait_until(lambda: any(e["type"] == "TaskSubmitted" for e in self.history(arn)),
                   what="the child to start")
        self.server.kill()
        time.sleep(2.5)  # the child's Wait ends while the server is down
        self.server.start()
        d = self.wait_end(arn)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"])["Output"], "done")
        kids = self.sfn.list_executions(stateMachineArn=child)["executions"]
        self.assertEqual(len(kids), 1, kids)


if __name__ == "__main__":
    unittest.main()
