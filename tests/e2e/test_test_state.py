"""The TestState API against the real `passo server`, with boto3 and the aws CLI: one state
run on its own with its inspection data, mocks, Retry/Catch verdicts (RETRIABLE,
CAUGHT_ERROR), a state of a whole machine, AWS's refusals, and a Task that really calls a
function of the bank account example's project.

Run: PASSO_BIN=/tmp/passo-bin/passo tests/e2e/run.sh test_test_state
"""

import json
import os
import subprocess
import unittest

from botocore.exceptions import ClientError

import server as srv
from server import ROLE_ARN

SERVER = None
PROJECT = os.path.join(srv.REPO_ROOT, "examples", "bank-account", "passo.toml")
REGION_ACCOUNT = None


def setUpModule():
    global SERVER
    SERVER = srv.PassoServer(extra_args=["--project", PROJECT]).start()


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()


def sfn():
    return SERVER.client()


def test_state(**kw):
    kw["definition"] = json.dumps(kw["definition"])
    for k in ("input", "variables", "context"):
        if k in kw and not isinstance(kw[k], str):
            kw[k] = json.dumps(kw[k])
    return sfn().test_state(**kw)


def parsed(inspection):
    """inspectionData with its JSON documents parsed."""
    return {k: json.loads(v) if isinstance(v, str) else v for k, v in inspection.items()}


RETRY_TASK = {
    "Type": "Task", "QueryLanguage": "JSONata",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Arguments": {"FunctionName": "check-name", "Payload": "{% $states.input %}"},
    "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 2, "MaxAttempts": 3,
               "BackoffRate": 3.0}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle",
               "Output": {"failed": "{% $states.errorOutput.Error %}"}}],
    "Next": "Done",
}


class InspectionTest(unittest.TestCase):
    def test_pass_state_shows_every_step_at_debug(self):
        r = test_state(
            definition={"Type": "Pass", "InputPath": "$.order",
                        "Parameters": {"id.$": "$.id", "twice.$": "States.MathAdd($.n, $.n)"},
                        "ResultPath": "$.out", "OutputPath": "$.out", "Next": "Ship"},
            input={"order": {"id": "o-1", "n": 21}}, inspectionLevel="DEBUG")
        self.assertEqual(r["status"], "SUCCEEDED")
        self.assertEqual(r["nextState"], "Ship")
        self.assertEqual(json.loads(r["output"]), {"id": "o-1", "twice": 42})
        d = parsed(r["inspectionData"])
        self.assertEqual(d["input"], {"order": {"id": "o-1", "n": 21}})
        self.assertEqual(d["afterInputPath"], {"id": "o-1", "n": 21})
        self.assertEqual(d["afterParameters"], {"id": "o-1", "twice": 42})
        self.assertEqual(d["afterResultPath"],
                         {"order": {"id": "o-1", "n": 21}, "out": {"id": "o-1", "twice": 42}})

    def test_info_has_no_inspection_data(self):
        r = test_state(definition={"Type": "Pass", "End": True}, input={"a": 1})
        self.assertEqual(r["status"], "SUCCEEDED")
        self.assertNotIn("inspectionData", r)
        self.assertNotIn("nextState", r)

    def test_choice_reports_the_chosen_state(self):
        d = {"Type": "Choice", "Choices": [
            {"Variable": "$.age", "NumericGreaterThanEquals": 18, "Next": "Adult"}],
            "Default": "Minor"}
        self.assertEqual(test_state(definition=d, input={"age": 30})["nextState"], "Adult")
        self.assertEqual(test_state(definition=d, input={"age": 3})["nextState"], "Minor")

    def test_variables_and_context_are_used_as_given(self):
        r = test_state(
            definition={"Type": "Pass", "QueryLanguage": "JSONata",
                        "Output": {"who": "{% $user %}",
                                   "exec": "{% $states.context.Execution.Name %}"},
                        "Assign": {"seen": True}, "End": True},
            variables={"user": "ana"}, context={"Execution": {"Name": "run-7"}},
            inspectionLevel="TRACE")
        self.assertEqual(json.loads(r["output"]), {"who": "ana", "exec": "run-7"})
        self.assertEqual(json.loads(r["inspectionData"]["variables"]),
                         {"user": "ana", "seen": True})


class MockTest(unittest.TestCase):
    def test_mocked_result_goes_through_result_selector_and_path(self):
        r = test_state(
            definition={"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "check-name", "Payload.$": "$"},
                        "ResultSelector": {"checked.$": "$.Payload.checked"},
                        "ResultPath": "$.verdict", "End": True},
            input={"name": "Jane Doe"}, inspectionLevel="DEBUG",
            mock={"result": json.dumps({"StatusCode": 200, "Payload": {"checked": True}})})
        self.assertEqual(json.loads(r["output"]),
                         {"name": "Jane Doe", "verdict": {"checked": True}})
        d = parsed(r["inspectionData"])
        self.assertEqual(d["result"], {"StatusCode": 200, "Payload": {"checked": True}})
        self.assertEqual(d["afterResultSelector"], {"checked": True})

    def test_retriable_with_the_backoff_it_would_wait(self):
        mock = {"errorOutput": {"error": "Busy", "cause": "try later"}}
        r = test_state(definition=RETRY_TASK, input={"name": "x"}, mock=mock,
                       stateConfiguration={"retrierRetryCount": 2}, inspectionLevel="DEBUG")
        self.assertEqual(r["status"], "RETRIABLE")
        self.assertEqual((r["error"], r["cause"]), ("Busy", "try later"))
        self.assertEqual(r["inspectionData"]["errorDetails"],
                         {"retryIndex": 0, "retryBackoffIntervalSeconds": 18})
        self.assertNotIn("output", r)

    def test_retries_used_up_then_caught(self):
        mock = {"errorOutput": {"error": "Busy", "cause": "try later"}}
        r = test_state(definition=RETRY_TASK, input={"name": "x"}, mock=mock,
                       stateConfiguration={"retrierRetryCount": 3}, inspectionLevel="DEBUG")
        self.assertEqual(r["status"], "CAUGHT_ERROR")
        self.assertEqual(r["nextState"], "Handle")
        self.assertEqual(json.loads(r["output"]), {"failed": "Busy"})
        self.assertEqual(r["inspectionData"]["errorDetails"], {"retryIndex": 0, "catchIndex": 0})

    def test_map_failure_threshold(self):
        d = {"Type": "Map", "QueryLanguage": "JSONata", "Items": "{% $states.input.xs %}",
             "ToleratedFailureCount": 1,
             "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
             "End": True}
        ok = test_state(definition=d, input={"xs": [1, 2, 3]}, mock={"result": "[1, 2, 3]"},
                        stateConfiguration={"mapIterationFailureCount": 1})
        self.assertEqual(ok["status"], "SUCCEEDED")
        bad = test_state(definition=d, input={"xs": [1, 2, 3]}, mock={"result": "[1, 2, 3]"},
                         stateConfiguration={"mapIterationFailureCount": 2})
        self.assertEqual(bad["status"], "FAILED")
        self.assertEqual(bad["error"], "States.ExceedToleratedFailureThreshold")

    def test_a_state_of_a_whole_machine(self):
        machine = {"StartAt": "Outer", "States": {"Outer": {
            "Type": "Map", "ItemProcessor": {"StartAt": "Inner", "States": {
                "Inner": {"Type": "Pass", "Parameters": {"v.$": "$.k"}, "End": True}}},
            "End": True}}}
        r = test_state(definition=machine, stateName="Inner", input={"k": 5},
                       inspectionLevel="DEBUG")
        self.assertEqual(json.loads(r["output"]), {"v": 5})


class RefusalTest(unittest.TestCase):
    def refused(self, code, message, **kw):
        with self.assertRaises(ClientError) as cm:
            test_state(**kw)
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], code)
        self.assertEqual(err["Message"], message)

    def test_pass_takes_no_mock(self):
        self.refused("ValidationException",
                     "State type 'Pass' is not supported when a mock is specified",
                     definition={"Type": "Pass", "End": True}, mock={"result": "{}"})

    def test_map_needs_a_mock(self):
        self.refused("InvalidDefinition",
                     "TestState API does not support Map or Parallel states. Supported state "
                     "types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
                     definition={"Type": "Parallel", "Branches": [
                         {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}],
                         "End": True})

    def test_unmocked_task_needs_a_role(self):
        self.refused("ValidationException", "RoleArn must be specified when testing a Task state",
                     definition={"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                 "Parameters": {"FunctionName": "check-name"}, "End": True})

    def test_mock_checked_against_the_service_shape(self):
        self.refused("ValidationException",
                     "Mock result schema validation error: Field 'StatusCode' must be a number",
                     definition={"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                 "Parameters": {"FunctionName": "f"}, "End": True},
                     mock={"result": '{"StatusCode": "200"}'})

    def test_unknown_state_name(self):
        self.refused("ValidationException", "State not found in definition",
                     definition={"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                     stateName="B")


class RealTaskTest(unittest.TestCase):
    """A Task that is not mocked calls the project's function, as an execution would."""

    def test_calls_the_function(self):
        r = test_state(
            definition={"Type": "Task",
                        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:check-name",
                        "ResultPath": "$.check", "End": True},
            input={"name": "Jane Doe"}, roleArn=ROLE_ARN, inspectionLevel="DEBUG")
        self.assertEqual(r["status"], "SUCCEEDED", r)
        self.assertEqual(json.loads(r["output"]),
                         {"name": "Jane Doe", "check": {"name": "Jane Doe", "checked": True}})
        self.assertEqual(json.loads(r["inspectionData"]["result"]),
                         {"name": "Jane Doe", "checked": True})

    def test_function_error_goes_to_catch(self):
        r = test_state(
            definition={"Type": "Task",
                        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:check-name",
                        "Catch": [{"ErrorEquals": ["ValidationError"], "Next": "Reject",
                                   "ResultPath": "$.why"}], "End": True},
            input={"name": "Evil Corp"}, roleArn=ROLE_ARN, inspectionLevel="DEBUG")
        self.assertEqual(r["status"], "CAUGHT_ERROR", r)
        self.assertEqual(r["error"], "ValidationError")
        self.assertEqual(r["nextState"], "Reject")
        self.assertEqual(json.loads(r["output"])["why"]["Error"], "ValidationError")

    def test_start_execution_starts_a_real_execution(self):
        c = sfn()
        child = c.create_state_machine(
            name=srv.uniq("ts-child"), roleArn=ROLE_ARN,
            definition=json.dumps({"StartAt": "P", "States": {"P": {
                "Type": "Pass", "Result": {"ran": True}, "ResultPath": "$.child",
                "End": True}}}))["stateMachineArn"]
        r = test_state(
            definition={"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                        "Parameters": {"StateMachineArn": child, "Input.$": "$"},
                        "ResultSelector": {"arn.$": "$.ExecutionArn"}, "End": True},
            input={"order": 7}, roleArn=ROLE_ARN, inspectionLevel="DEBUG")
        self.assertEqual(r["status"], "SUCCEEDED", r)
        started = json.loads(r["inspectionData"]["result"])
        self.assertEqual(set(started), {"ExecutionArn", "StartDate", "SdkHttpMetadata",
                                        "SdkResponseMetadata"})
        arn = json.loads(r["output"])["arn"]
        self.assertEqual(arn, started["ExecutionArn"])
        d = srv.wait_until(
            lambda: (lambda d: d if d["status"] != "RUNNING" else None)(
                c.describe_execution(executionArn=arn)),
            timeout=10, what="the started execution to finish")
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), {"order": 7, "child": {"ran": True}})

    def test_start_execution_of_an_unknown_machine_fails_as_aws_says(self):
        r = test_state(
            definition={"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                        "Parameters": {"StateMachineArn":
                                       "arn:aws:states:us-east-1:123456789012:stateMachine:nope"},
                        "End": True},
            input={}, roleArn=ROLE_ARN)
        self.assertEqual(r["status"], "FAILED", r)
        self.assertEqual(r["error"], "StepFunctions.StateMachineDoesNotExistException")


class CliTest(unittest.TestCase):
    def test_aws_cli_test_state(self):
        cmd = [srv.aws_cli(), "stepfunctions", "test-state",
               "--definition", json.dumps({"Type": "Pass", "Result": {"ok": True},
                                           "ResultPath": "$.r", "Next": "N"}),
               "--input", json.dumps({"a": 1}), "--inspection-level", "TRACE",
               "--endpoint-url", SERVER.endpoint, "--output", "json"]
        proc = subprocess.run(cmd, env=srv.cli_env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        self.assertEqual(out["status"], "SUCCEEDED")
        self.assertEqual(out["nextState"], "N")
        self.assertEqual(json.loads(out["output"]), {"a": 1, "r": {"ok": True}})
        self.assertEqual(json.loads(out["inspectionData"]["result"]), {"ok": True})


if __name__ == "__main__":
    unittest.main()
