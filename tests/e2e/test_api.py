"""End-to-end tests of `passo server` through boto3, against AWS's API shapes and error codes.

One server (fresh data dir) serves the whole module; every test makes its own uniquely named
state machines. Run: PASSO_BIN=target/release/passo python -m unittest -v test_api
"""

import json
import threading
import time
import unittest

import botocore.exceptions
from botocore.exceptions import ClientError

import server as srv
from server import ROLE_ARN, definition, paginate, pass_chain, uniq, wait_until

SERVER = None


def setUpModule():
    global SERVER
    SERVER = srv.PassoServer().start()


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()



PASS2 = definition({
    "First": {"Type": "Pass", "Result": {"greeting": "hello"}, "ResultPath": "$.first",
              "Next": "Second"},
    "Second": {"Type": "Pass", "Parameters": {"who.$": "$.who", "said.$": "$.first.greeting"},
               "End": True},
})
WAIT1 = definition({
    "Before": {"Type": "Pass", "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 1, "Next": "After"},
    "After": {"Type": "Pass", "Result": "waited", "ResultPath": "$.after", "End": True},
})
WAIT_LONG = definition({"Sleep": {"Type": "Wait", "Seconds": 3600, "End": True}})
FAIL = definition({
    "Start": {"Type": "Pass", "Next": "Boom"},
    "Boom": {"Type": "Fail", "Error": "Custom.Broken", "Cause": "it broke on purpose"},
})


def result_def(value):
    """A one-state machine whose output is {"v": value}: tells versions apart."""
    return definition({"Only": {"Type": "Pass", "Result": {"v": value}, "End": True}})


class E2E(unittest.TestCase):
    """Shared helpers."""

    @classmethod
    def setUpClass(cls):
        cls.sfn = SERVER.client()

    def create(self, name=None, defn=PASS2, type_="STANDARD", **kw):
        name = name or uniq(self.__class__.__name__.lower())
        resp = self.sfn.create_state_machine(name=name, definition=defn, roleArn=ROLE_ARN,
                                             type=type_, **kw)
        return resp["stateMachineArn"], name, resp

    def assertErrorCode(self, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError, msg=f"expected {code}") as cm:
            fn(*args, **kwargs)
        err = cm.exception.response.get("Error", {})
        self.assertEqual(err.get("Code"), code,
                         f"wrong error code; response error = {err!r}")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400,
                         f"{code} must be an HTTP 400")
        return cm.exception

    def wait_done(self, execution_arn, timeout=30):
        def done():
            d = self.sfn.describe_execution(executionArn=execution_arn)
            return d if d["status"] != "RUNNING" else None
        return wait_until(done, timeout=timeout, interval=0.1,
                          what=f"execution {execution_arn} to finish")

    def wait_status(self, execution_arn, status, timeout=30):
        def reached():
            d = self.sfn.describe_execution(executionArn=execution_arn)
            if d["status"] not in (status, "RUNNING"):
                self.fail(f"{execution_arn} ended {d['status']}, expected {status}: "
                          f"error={d.get('error')!r} cause={d.get('cause')!r}")
            return d if d["status"] == status else None
        return wait_until(reached, timeout=timeout, what=f"{execution_arn} to be {status}")

    def history(self, execution_arn, **kw):
        return paginate(self.sfn.get_execution_history, "events", executionArn=execution_arn, **kw)

    def list_all_executions(self, sm_arn, **kw):
        return paginate(self.sfn.list_executions, "executions", stateMachineArn=sm_arn, **kw)


class HostPrefixTest(E2E):
    """Why the clients set Config(inject_host_prefix=False)."""

    def test_default_boto3_sends_start_sync_execution_to_sync_prefixed_host(self):
        # Not a Passo behaviour: documents what boto3 does without the setting.
        client = srv.sfn_client(SERVER.endpoint, inject_host_prefix=True)
        seen = []

        class Stop(Exception):
            pass

        def capture(request, **_):
            seen.append(request.url)
            raise Stop()

        client.meta.events.register("before-send.sfn.StartSyncExecution", capture)
        with self.assertRaises(Stop):
            client.start_sync_execution(
                stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:x")
        self.assertEqual(len(seen), 1)
        self.assertTrue(seen[0].startswith(f"http://sync-127.0.0.1:{SERVER.port}"), seen[0])

    def test_start_sync_execution_works_with_inject_host_prefix_false(self):
        arn, _, _ = self.create(defn=result_def("sync"), type_="EXPRESS")
        resp = self.sfn.start_sync_execution(stateMachineArn=arn, input="{}")
        self.assertEqual(resp["status"], "SUCCEEDED", resp)
        self.assertEqual(json.loads(resp["output"]), {"v": "sync"})


class StateMachineTest(E2E):

    def test_every_answer_has_a_request_id(self):
        # boto3 takes ResponseMetadata.RequestId from the x-amzn-RequestId header.
        ok = self.sfn.list_state_machines()
        self.assertRegex(ok["ResponseMetadata"]["RequestId"], r"^[0-9a-f-]{36}$")
        with self.assertRaises(ClientError) as e:
            self.sfn.describe_execution(executionArn="arn:aws:states:us-east-1:123456789012:execution:none:x")
        self.assertRegex(e.exception.response["ResponseMetadata"]["RequestId"], r"^[0-9a-f-]{36}$")
        self.assertNotEqual(ok["ResponseMetadata"]["RequestId"],
                            e.exception.response["ResponseMetadata"]["RequestId"])

    def test_create_describe_list_delete_standard(self):
        name = uniq("sm-std")
        resp = self.sfn.create_state_machine(name=name, definition=PASS2, roleArn=ROLE_ARN)
        arn = resp["stateMachineArn"]
        self.assertRegex(arn, r"^arn:aws:states:us-east-1:\d{12}:stateMachine:" + name + "$")
        self.assertIn("creationDate", resp)

        d = self.sfn.describe_state_machine(stateMachineArn=arn)
        self.assertEqual(d["stateMachineArn"], arn)
        self.assertEqual(d["name"], name)
        self.assertEqual(d["status"], "ACTIVE")
        self.assertEqual(d["type"], "STANDARD")
        self.assertEqual(d["roleArn"], ROLE_ARN)
        self.assertEqual(json.loads(d["definition"]), json.loads(PASS2))
        self.assertIn("creationDate", d)

        listed = {m["stateMachineArn"]: m for m in self.list_all_machines()}
        self.assertIn(arn, listed)
        self.assertEqual(listed[arn]["name"], name)
        self.assertEqual(listed[arn]["type"], "STANDARD")
        self.assertIn("creationDate", listed[arn])

        self.sfn.delete_state_machine(stateMachineArn=arn)

        def gone():
            try:
                d = self.sfn.describe_state_machine(stateMachineArn=arn)
                self.assertEqual(d["status"], "DELETING")
                return False
            except ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "StateMachineDoesNotExist")
                return True
        wait_until(gone, timeout=10, what="state machine to be deleted")
        self.assertNotIn(arn, {m["stateMachineArn"] for m in self.list_all_machines()})

    def list_all_machines(self):
        return paginate(self.sfn.list_state_machines, "stateMachines")

    def test_create_express_describe_type(self):
        arn, name, _ = self.create(type_="EXPRESS")
        d = self.sfn.describe_state_machine(stateMachineArn=arn)
        self.assertEqual(d["type"], "EXPRESS")
        self.assertEqual(d["name"], name)

    def test_create_is_idempotent_for_same_definition(self):
        arn, name, _ = self.create()
        again = self.sfn.create_state_machine(name=name, definition=PASS2, roleArn=ROLE_ARN)
        self.assertEqual(again["stateMachineArn"], arn)

    def test_create_same_name_other_definition_already_exists(self):
        _, name, _ = self.create()
        self.assertErrorCode("StateMachineAlreadyExists", self.sfn.create_state_machine,
                             name=name, definition=WAIT1, roleArn=ROLE_ARN)

    def test_update_changes_definition_and_revision_id(self):
        arn, _, _ = self.create()
        before = self.sfn.describe_state_machine(stateMachineArn=arn)
        u1 = self.sfn.update_state_machine(stateMachineArn=arn, definition=WAIT1)
        self.assertIn("updateDate", u1)
        self.assertTrue(u1.get("revisionId"), u1)
        self.assertNotEqual(u1["revisionId"], before.get("revisionId"))
        d1 = self.sfn.describe_state_machine(stateMachineArn=arn)
        self.assertEqual(json.loads(d1["definition"]), json.loads(WAIT1))
        self.assertEqual(d1["revisionId"], u1["revisionId"])

        u2 = self.sfn.update_state_machine(stateMachineArn=arn, definition=result_def(2))
        self.assertNotEqual(u2["revisionId"], u1["revisionId"])
        d2 = self.sfn.describe_state_machine(stateMachineArn=arn)
        self.assertEqual(d2["revisionId"], u2["revisionId"])
        self.assertEqual(json.loads(d2["definition"]), json.loads(result_def(2)))

        # New executions run the new definition.
        ex = self.sfn.start_execution(stateMachineArn=arn, input="{}")
        self.assertEqual(json.loads(self.wait_done(ex["executionArn"])["output"]), {"v": 2})

    def test_update_with_invalid_definition_is_rejected(self):
        arn, _, _ = self.create()
        self.assertErrorCode("InvalidDefinition", self.sfn.update_state_machine,
                             stateMachineArn=arn, definition='{"StartAt": "Nope", "States": {}}')
        d = self.sfn.describe_state_machine(stateMachineArn=arn)
        self.assertEqual(json.loads(d["definition"]), json.loads(PASS2))

    def test_version_description_without_publish_is_rejected(self):
        # Recorded: test_sfn_api_versioning.test_create_with_version_description_no_publish.
        self.assertErrorCode("ValidationException", self.sfn.create_state_machine,
                             name=uniq("vd"), definition=PASS2, roleArn=ROLE_ARN,
                             versionDescription="HelloWorld!")

    def test_update_with_nothing_to_change(self):
        # Recorded: test_sfn_api.test_create_update_state_machine_base_update_none.
        arn, _, _ = self.create()
        self.assertErrorCode("MissingRequiredParameter", self.sfn.update_state_machine,
                             stateMachineArn=arn)

    def test_list_max_results_over_1000_is_rejected(self):
        # Recorded: test_sfn_api.test_list_sms_pagination.
        self.assertErrorCode("ValidationException", self.sfn.list_state_machines,
                             maxResults=1001)

    def test_list_state_machines_pagination(self):
        for _ in range(3):
            self.create()
        pages, token, seen = 0, None, []
        while True:
            args = {"maxResults": 2}
            if token:
                args["nextToken"] = token
            page = self.sfn.list_state_machines(**args)
            self.assertLessEqual(len(page["stateMachines"]), 2)
            seen.extend(m["stateMachineArn"] for m in page["stateMachines"])
            pages += 1
            token = page.get("nextToken")
            if not token:
                break
        self.assertGreaterEqual(len(seen), 3)
        self.assertGreaterEqual(pages, 2)
        self.assertEqual(len(seen), len(set(seen)), "a machine was listed twice")
        self.assertEqual(set(seen), {m["stateMachineArn"] for m in self.list_all_machines()})

    def test_validate_state_machine_definition(self):
        ok = self.sfn.validate_state_machine_definition(definition=PASS2, type="STANDARD")
        self.assertEqual(ok["result"], "OK")
        self.assertEqual([d for d in ok["diagnostics"] if d["severity"] == "ERROR"], [])

        bad = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}})
        res = self.sfn.validate_state_machine_definition(definition=bad, type="STANDARD")
        self.assertEqual(res["result"], "FAIL")
        errors = [d for d in res["diagnostics"] if d["severity"] == "ERROR"]
        self.assertTrue(errors, res)
        for d in errors:
            self.assertTrue(d["code"] and d["message"], d)

        # Recorded against AWS (validation/aws_recorded/test_sfn_api_validation.*).
        not_json = self.sfn.validate_state_machine_definition(definition="not a definition",
                                                              type="STANDARD")
        self.assertEqual(not_json["result"], "FAIL")
        self.assertEqual([d["code"] for d in not_json["diagnostics"]],
                         ["INVALID_JSON_DESCRIPTION"])
        self.assertEqual(not_json["diagnostics"][0]["severity"], "ERROR")
        self.assertIs(not_json.get("truncated"), False)

        no_start = self.sfn.validate_state_machine_definition(
            definition=json.dumps({"States": {"S": {"Type": "Pass", "End": True}}}),
            type="STANDARD")
        self.assertEqual(no_start["result"], "FAIL")
        self.assertEqual([(d["code"], d.get("location")) for d in no_start["diagnostics"]],
                         [("SCHEMA_VALIDATION_FAILED", "/")])


class ExecutionTest(E2E):

    def test_pass_chain_succeeds_with_output(self):
        arn, name, _ = self.create()
        start = self.sfn.start_execution(stateMachineArn=arn, name="first-run",
                                         input=json.dumps({"who": "Ada"}))
        exec_arn = start["executionArn"]
        self.assertEqual(exec_arn, arn.replace(":stateMachine:", ":execution:") + ":first-run")
        self.assertIn("startDate", start)
        d = self.wait_done(exec_arn)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(d["stateMachineArn"], arn)
        self.assertEqual(d["name"], "first-run")
        self.assertEqual(json.loads(d["input"]), {"who": "Ada"})
        self.assertEqual(json.loads(d["output"]), {"who": "Ada", "said": "hello"})
        self.assertIn("stopDate", d)
        self.assertGreaterEqual(d["stopDate"], d["startDate"])

    def test_describe_execution_shape(self):
        # The keys AWS returns for a SUCCEEDED Standard execution (recorded:
        # test_sfn_api.test_describe_execution_arn_containing_punctuation).
        arn, _, _ = self.create(defn=result_def("shape"))
        start = self.sfn.start_execution(stateMachineArn=arn, name="state.machine.exec-1")
        d = self.wait_done(start["executionArn"])
        d.pop("ResponseMetadata")
        self.assertEqual(sorted(d), sorted([
            "executionArn", "input", "inputDetails", "name", "output", "outputDetails",
            "redriveCount", "redriveStatus", "redriveStatusReason", "startDate",
            "stateMachineArn", "status", "stopDate"]))
        self.assertEqual(d["inputDetails"], {"included": True})
        self.assertEqual(d["outputDetails"], {"included": True})
        self.assertEqual(d["redriveCount"], 0)
        self.assertEqual(d["redriveStatus"], "NOT_REDRIVABLE")
        self.assertEqual(d["name"], "state.machine.exec-1")

    def test_start_without_name_or_input_generates_name(self):
        arn, _, _ = self.create(defn=result_def("x"))
        start = self.sfn.start_execution(stateMachineArn=arn)
        d = self.wait_done(start["executionArn"])
        self.assertEqual(d["status"], "SUCCEEDED")
        self.assertTrue(d["name"])
        self.assertTrue(start["executionArn"].endswith(":" + d["name"]))
        self.assertEqual(json.loads(d["input"]), {})

    def test_wait_one_second(self):
        arn, _, _ = self.create(defn=WAIT1)
        t0 = time.monotonic()
        start = self.sfn.start_execution(stateMachineArn=arn, input='{"k": 1}')
        early = self.sfn.describe_execution(executionArn=start["executionArn"])
        self.assertEqual(early["status"], "RUNNING")
        d = self.wait_done(start["executionArn"])
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertEqual(d["status"], "SUCCEEDED")
        self.assertEqual(json.loads(d["output"]), {"k": 1, "after": "waited"})
        self.assertGreaterEqual((d["stopDate"] - d["startDate"]).total_seconds(), 0.95)
        events = self.history(start["executionArn"])
        entered = next(e for e in events if e["type"] == "WaitStateEntered")
        exited = next(e for e in events if e["type"] == "WaitStateExited")
        self.assertGreaterEqual((exited["timestamp"] - entered["timestamp"]).total_seconds(),
                                0.95)

    def test_history_event_types_and_details(self):
        arn, _, _ = self.create()
        start = self.sfn.start_execution(stateMachineArn=arn, input='{"who": "Bo"}')
        self.wait_status(start["executionArn"], "SUCCEEDED")
        events = self.history(start["executionArn"])
        self.assertEqual([e["type"] for e in events], [
            "ExecutionStarted",
            "PassStateEntered", "PassStateExited",
            "PassStateEntered", "PassStateExited",
            "ExecutionSucceeded",
        ])
        self.assertEqual([e["id"] for e in events], list(range(1, len(events) + 1)))
        # As AWS records it (../shared/conformance/asl/cases/test_sfn_api.test_start_execution):
        # ExecutionStarted and the first StateEntered both have previousEventId 0, every later
        # event points at the one before it.
        self.assertEqual(events[0]["previousEventId"], 0)
        self.assertEqual(events[1]["previousEventId"], 0)
        for prev, ev in zip(events[1:], events[2:]):
            self.assertEqual(ev["previousEventId"], prev["id"])
        for prev, ev in zip(events, events[1:]):
            self.assertGreaterEqual(ev["timestamp"], prev["timestamp"])
        started = events[0]["executionStartedEventDetails"]
        self.assertEqual(json.loads(started["input"]), {"who": "Bo"})
        self.assertEqual(started["inputDetails"], {"truncated": False})
        self.assertEqual(started["roleArn"], ROLE_ARN)
        self.assertEqual(events[1]["stateEnteredEventDetails"]["name"], "First")
        self.assertEqual(json.loads(events[1]["stateEnteredEventDetails"]["input"]),
                         {"who": "Bo"})
        self.assertEqual(events[2]["stateExitedEventDetails"]["name"], "First")
        self.assertEqual(json.loads(events[2]["stateExitedEventDetails"]["output"]),
                         {"who": "Bo", "first": {"greeting": "hello"}})
        self.assertEqual(events[3]["stateEnteredEventDetails"]["name"], "Second")
        self.assertEqual(json.loads(events[-1]["executionSucceededEventDetails"]["output"]),
                         {"who": "Bo", "said": "hello"})

    def test_history_reverse_order(self):
        arn, _, _ = self.create()
        start = self.sfn.start_execution(stateMachineArn=arn, input='{"who": "R"}')
        self.wait_status(start["executionArn"], "SUCCEEDED")
        forward = self.history(start["executionArn"])
        backward = self.history(start["executionArn"], reverseOrder=True)
        self.assertEqual([e["id"] for e in backward], [e["id"] for e in reversed(forward)])
        self.assertEqual(backward[0]["type"], "ExecutionSucceeded")
        self.assertEqual(backward[-1]["type"], "ExecutionStarted")

    def test_history_without_execution_data(self):
        arn, _, _ = self.create()
        start = self.sfn.start_execution(stateMachineArn=arn, input='{"who": "secret"}')
        self.wait_status(start["executionArn"], "SUCCEEDED")
        events = self.history(start["executionArn"], includeExecutionData=False)
        self.assertEqual(len(events), 6)
        for e in events:
            for key, details in e.items():
                if key.endswith("EventDetails"):
                    self.assertNotIn("input", details, e)
                    self.assertNotIn("output", details, e)
        # Names are not execution data: they stay.
        self.assertEqual(events[1]["stateEnteredEventDetails"]["name"], "First")
        with_data = self.history(start["executionArn"], includeExecutionData=True)
        self.assertIn("input", with_data[1]["stateEnteredEventDetails"])

    def test_history_pagination(self):
        defn, names = pass_chain(5)
        arn, _, _ = self.create(defn=defn)
        start = self.sfn.start_execution(stateMachineArn=arn, input="{}")
        self.wait_status(start["executionArn"], "SUCCEEDED")
        full = self.sfn.get_execution_history(executionArn=start["executionArn"])
        self.assertNotIn("nextToken", full)
        self.assertEqual(len(full["events"]), 2 + 2 * len(names))

        pages, token, paged = 0, None, []
        while True:
            args = {"executionArn": start["executionArn"], "maxResults": 3}
            if token:
                args["nextToken"] = token
            page = self.sfn.get_execution_history(**args)
            self.assertLessEqual(len(page["events"]), 3)
            paged.extend(page["events"])
            pages += 1
            token = page.get("nextToken")
            if not token:
                break
            self.assertLess(pages, 50, "pagination does not end")
        # 12 events in pages of 3: four full pages (a server may add one empty last page).
        self.assertIn(pages, (4, 5))
        self.assertEqual([e["id"] for e in paged], [e["id"] for e in full["events"]])

        # The boto3 paginator walks the same pages.
        paginator = self.sfn.get_paginator("get_execution_history")
        ids = [e["id"] for p in paginator.paginate(executionArn=start["executionArn"],
                                                   PaginationConfig={"PageSize": 5})
               for e in p["events"]]
        self.assertEqual(ids, list(range(1, 13)))

    def test_history_bad_token_is_invalid_token(self):
        arn, _, _ = self.create(defn=result_def("x"))
        start = self.sfn.start_execution(stateMachineArn=arn, input="{}")
        self.wait_status(start["executionArn"], "SUCCEEDED")
        self.assertErrorCode("InvalidToken", self.sfn.get_execution_history,
                             executionArn=start["executionArn"],
                             nextToken="this-is-not-a-token")

    def test_list_executions_status_filter(self):
        arn, _, _ = self.create(defn=definition({
            "Choose": {"Type": "Choice", "Default": "Quick", "Choices": [
                {"Variable": "$.slow", "BooleanEquals": True, "Next": "Slow"}]},
            "Quick": {"Type": "Pass", "End": True},
            "Slow": {"Type": "Wait", "Seconds": 3600, "End": True},
        }))
        quick = [self.sfn.start_execution(stateMachineArn=arn, name=f"q{i}",
                                          input='{"slow": false}')["executionArn"]
                 for i in range(2)]
        time.sleep(0.05)  # so that "slow" is strictly the most recent start
        slow = self.sfn.start_execution(stateMachineArn=arn, name="slow",
                                        input='{"slow": true}')["executionArn"]
        for q in quick:
            self.wait_status(q, "SUCCEEDED")

        running = self.list_all_executions(arn, statusFilter="RUNNING")
        self.assertEqual([e["executionArn"] for e in running], [slow])
        self.assertEqual(running[0]["status"], "RUNNING")
        self.assertEqual(running[0]["name"], "slow")
        self.assertEqual(running[0]["stateMachineArn"], arn)
        self.assertNotIn("stopDate", running[0])

        succeeded = self.list_all_executions(arn, statusFilter="SUCCEEDED")
        self.assertEqual(sorted(e["executionArn"] for e in succeeded), sorted(quick))
        for e in succeeded:
            self.assertEqual(e["status"], "SUCCEEDED")
            self.assertIn("stopDate", e)

        everything = self.list_all_executions(arn)
        self.assertEqual(len(everything), 3)
        # Most recent first.
        starts = [e["startDate"] for e in everything]
        self.assertEqual(starts, sorted(starts, reverse=True))
        self.assertEqual(everything[0]["executionArn"], slow)

        self.assertEqual(self.list_all_executions(arn, statusFilter="FAILED"), [])
        page = self.sfn.list_executions(stateMachineArn=arn, maxResults=1)
        self.assertEqual(len(page["executions"]), 1)
        self.assertIn("nextToken", page)

        self.sfn.stop_execution(executionArn=slow)
        aborted = self.list_all_executions(arn, statusFilter="ABORTED")
        self.assertEqual([e["executionArn"] for e in aborted], [slow])
        self.assertEqual(self.list_all_executions(arn, statusFilter="RUNNING"), [])

    def test_list_executions_pages_do_not_repeat_when_new_executions_start(self):
        # Executions are listed newest first; a page walk must continue after the last
        # execution it has shown (a cursor), not at an offset that new starts shift. Otherwise
        # a client paginating while executions start sees some twice and misses none.
        arn, _, _ = self.create(defn=WAIT_LONG)
        first = [self.sfn.start_execution(stateMachineArn=arn, name=f"old{i}")["executionArn"]
                 for i in range(6)]
        page1 = self.sfn.list_executions(stateMachineArn=arn, maxResults=2)
        self.assertIn("nextToken", page1)
        time.sleep(0.01)
        for i in range(2):
            self.sfn.start_execution(stateMachineArn=arn, name=f"new{i}")
        seen = [e["executionArn"] for e in page1["executions"]]
        token = page1["nextToken"]
        while token:
            page = self.sfn.list_executions(stateMachineArn=arn, maxResults=2, nextToken=token)
            seen.extend(e["executionArn"] for e in page["executions"])
            token = page.get("nextToken")
        self.assertEqual(len(seen), len(set(seen)), f"listed twice: {seen}")
        self.assertEqual(sorted(seen), sorted(first))
        for a in self.list_all_executions(arn):
            self.sfn.stop_execution(executionArn=a["executionArn"])

    def test_stop_execution_aborts_long_wait(self):
        arn, _, _ = self.create(defn=WAIT_LONG)
        start = self.sfn.start_execution(stateMachineArn=arn, input="{}")
        wait_until(lambda: any(e["type"] == "WaitStateEntered"
                               for e in self.history(start["executionArn"])),
                   timeout=10, what="WaitStateEntered")
        stop = self.sfn.stop_execution(executionArn=start["executionArn"],
                                       error="Operator.Stop", cause="no longer needed")
        self.assertIn("stopDate", stop)
        d = self.sfn.describe_execution(executionArn=start["executionArn"])
        self.assertEqual(d["status"], "ABORTED")
        self.assertIn("stopDate", d)
        self.assertNotIn("output", d)
        events = self.history(start["executionArn"])
        self.assertEqual(events[-1]["type"], "ExecutionAborted")
        details = events[-1].get("executionAbortedEventDetails", {})
        self.assertEqual(details.get("error"), "Operator.Stop")
        self.assertEqual(details.get("cause"), "no longer needed")
        self.assertEqual(sum(e["type"] == "ExecutionAborted" for e in events), 1)

    def test_stop_finished_execution_leaves_it_succeeded(self):
        arn, _, _ = self.create(defn=result_def("x"))
        start = self.sfn.start_execution(stateMachineArn=arn, input="{}")
        self.wait_status(start["executionArn"], "SUCCEEDED")
        try:
            self.sfn.stop_execution(executionArn=start["executionArn"])
        except ClientError as e:
            # AWS answers ValidationException ("Execution Does Not Exist" for closed ones
            # varies); either way the execution must stay SUCCEEDED.
            self.assertIn(e.response["Error"]["Code"],
                          ("ValidationException", "ExecutionDoesNotExist"))
        d = self.sfn.describe_execution(executionArn=start["executionArn"])
        self.assertEqual(d["status"], "SUCCEEDED")

    def test_start_execution_idempotent_while_running(self):
        arn, _, _ = self.create(defn=WAIT_LONG)
        first = self.sfn.start_execution(stateMachineArn=arn, name="same", input='{"a": 1}')
        again = self.sfn.start_execution(stateMachineArn=arn, name="same", input='{"a": 1}')
        self.assertEqual(again["executionArn"], first["executionArn"])
        self.assertEqual(again["startDate"], first["startDate"])
        self.assertErrorCode("ExecutionAlreadyExists", self.sfn.start_execution,
                             stateMachineArn=arn, name="same", input='{"a": 2}')
        self.assertEqual(len(self.list_all_executions(arn)), 1)
        self.sfn.stop_execution(executionArn=first["executionArn"])

    def test_start_execution_same_name_after_close_already_exists(self):
        arn, _, _ = self.create(defn=result_def("x"))
        first = self.sfn.start_execution(stateMachineArn=arn, name="once", input="{}")
        self.wait_status(first["executionArn"], "SUCCEEDED")
        self.assertErrorCode("ExecutionAlreadyExists", self.sfn.start_execution,
                             stateMachineArn=arn, name="once", input="{}")

    def test_failing_standard_execution(self):
        arn, _, _ = self.create(defn=FAIL)
        start = self.sfn.start_execution(stateMachineArn=arn, input="{}")
        d = self.wait_done(start["executionArn"])
        self.assertEqual(d["status"], "FAILED")
        self.assertEqual(d.get("error"), "Custom.Broken")
        self.assertEqual(d.get("cause"), "it broke on purpose")
        events = self.history(start["executionArn"])
        self.assertEqual(events[-1]["type"], "ExecutionFailed")
        self.assertEqual(events[-1]["executionFailedEventDetails"],
                         {"error": "Custom.Broken", "cause": "it broke on purpose"})
        self.assertIn("FailStateEntered", [e["type"] for e in events])

    def test_describe_state_machine_for_execution(self):
        arn, name, _ = self.create()
        start = self.sfn.start_execution(stateMachineArn=arn, input='{"who": "x"}')
        d = self.sfn.describe_state_machine_for_execution(executionArn=start["executionArn"])
        self.assertEqual(d["stateMachineArn"], arn)
        self.assertEqual(d["name"], name)
        self.assertEqual(json.loads(d["definition"]), json.loads(PASS2))


class ErrorTest(E2E):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.arn = cls.sfn.create_state_machine(name=uniq("errors"), definition=PASS2,
                                               roleArn=ROLE_ARN)["stateMachineArn"]
        cls.missing_sm = cls.arn.rsplit(":", 1)[0] + ":" + uniq("missing")

    def test_state_machine_does_not_exist(self):
        self.assertErrorCode("StateMachineDoesNotExist", self.sfn.describe_state_machine,
                             stateMachineArn=self.missing_sm)
        self.assertErrorCode("StateMachineDoesNotExist", self.sfn.start_execution,
                             stateMachineArn=self.missing_sm, input="{}")
        self.assertErrorCode("StateMachineDoesNotExist", self.sfn.update_state_machine,
                             stateMachineArn=self.missing_sm, definition=PASS2)
        self.assertErrorCode("StateMachineDoesNotExist", self.sfn.list_executions,
                             stateMachineArn=self.missing_sm)

    def test_error_body_has_message(self):
        e = self.assertErrorCode("StateMachineDoesNotExist", self.sfn.describe_state_machine,
                                 stateMachineArn=self.missing_sm)
        self.assertTrue(e.response["Error"].get("Message"), e.response)

    def test_execution_does_not_exist(self):
        missing = self.arn.replace(":stateMachine:", ":execution:") + ":nope"
        self.assertErrorCode("ExecutionDoesNotExist", self.sfn.describe_execution,
                             executionArn=missing)
        self.assertErrorCode("ExecutionDoesNotExist", self.sfn.get_execution_history,
                             executionArn=missing)
        self.assertErrorCode("ExecutionDoesNotExist", self.sfn.stop_execution,
                             executionArn=missing)

    def test_invalid_arn(self):
        self.assertErrorCode("InvalidArn", self.sfn.describe_state_machine,
                             stateMachineArn="not-an-arn")
        self.assertErrorCode("InvalidArn", self.sfn.describe_execution,
                             executionArn="not-an-arn")
        self.assertErrorCode("InvalidArn", self.sfn.start_execution,
                             stateMachineArn="arn:aws:states:us-east-1:123456789012:bogus:x")
        # A state machine ARN where an execution ARN belongs.
        self.assertErrorCode("InvalidArn", self.sfn.describe_execution, executionArn=self.arn)

    def test_invalid_definition(self):
        self.assertErrorCode("InvalidDefinition", self.sfn.create_state_machine,
                             name=uniq("bad-def"), definition="{not json", roleArn=ROLE_ARN)
        e = self.assertErrorCode(
            "InvalidDefinition", self.sfn.create_state_machine, name=uniq("bad-def"),
            definition=json.dumps({"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Next": "Missing"}}}),
            roleArn=ROLE_ARN)
        self.assertIn("Missing", e.response["Error"]["Message"])

    def test_invalid_name(self):
        for bad in ("has space", "semi;colon", "brace{", "quote\"d"):
            with self.subTest(name=bad):
                self.assertErrorCode("InvalidName", self.sfn.create_state_machine,
                                     name=bad, definition=PASS2, roleArn=ROLE_ARN)
                self.assertErrorCode("InvalidName", self.sfn.start_execution,
                                     stateMachineArn=self.arn, name=bad, input="{}")

    def test_invalid_execution_input(self):
        self.assertErrorCode("InvalidExecutionInput", self.sfn.start_execution,
                             stateMachineArn=self.arn, input="{not json")

    def test_start_sync_on_standard_not_supported(self):
        self.assertErrorCode("StateMachineTypeNotSupported", self.sfn.start_sync_execution,
                             stateMachineArn=self.arn, input="{}")

    def test_list_executions_on_express_not_supported(self):
        arn, _, _ = self.create(type_="EXPRESS")
        self.assertErrorCode("StateMachineTypeNotSupported", self.sfn.list_executions,
                             stateMachineArn=arn)

    def test_unknown_action_is_rejected(self):
        # A raw request with a target the service does not have.
        import urllib.error
        import urllib.request
        req = urllib.request.Request(
            SERVER.endpoint + "/", data=b"{}", method="POST",
            headers={"Content-Type": "application/x-amz-json-1.0",
                     "X-Amz-Target": "AWSStepFunctions.NoSuchAction"})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=10)
        self.assertGreaterEqual(cm.exception.code, 400)
        self.assertLess(cm.exception.code, 500)
        body = json.loads(cm.exception.read())
        self.assertIn("__type", body)


class ExpressTest(E2E):

    def test_start_sync_execution_returns_output(self):
        arn, name, _ = self.create(type_="EXPRESS")
        resp = self.sfn.start_sync_execution(stateMachineArn=arn, name="sync-1",
                                             input='{"who": "Ex"}')
        self.assertEqual(resp["status"], "SUCCEEDED", resp)
        self.assertEqual(json.loads(resp["output"]), {"who": "Ex", "said": "hello"})
        self.assertEqual(json.loads(resp["input"]), {"who": "Ex"})
        self.assertEqual(resp["stateMachineArn"], arn)
        self.assertEqual(resp["name"], "sync-1")
        prefix = arn.replace(":stateMachine:", ":express:") + ":sync-1:"
        self.assertTrue(resp["executionArn"].startswith(prefix), resp["executionArn"])
        self.assertGreaterEqual(resp["stopDate"], resp["startDate"])

    def test_start_sync_execution_with_wait(self):
        arn, _, _ = self.create(defn=WAIT1, type_="EXPRESS")
        t0 = time.monotonic()
        resp = self.sfn.start_sync_execution(stateMachineArn=arn, input='{"k": 2}')
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertEqual(resp["status"], "SUCCEEDED")
        self.assertEqual(json.loads(resp["output"]), {"k": 2, "after": "waited"})

    def test_failing_express_sync_execution(self):
        arn, _, _ = self.create(defn=FAIL, type_="EXPRESS")
        resp = self.sfn.start_sync_execution(stateMachineArn=arn, input="{}")
        self.assertEqual(resp["status"], "FAILED", resp)
        self.assertEqual(resp["error"], "Custom.Broken")
        self.assertEqual(resp["cause"], "it broke on purpose")
        self.assertNotIn("output", resp)

    def test_start_sync_execution_invalid_input(self):
        arn, _, _ = self.create(type_="EXPRESS")
        self.assertErrorCode("InvalidExecutionInput", self.sfn.start_sync_execution,
                             stateMachineArn=arn, input="[unclosed")

    def test_async_start_execution_on_express(self):
        arn, _, _ = self.create(type_="EXPRESS")
        resp = self.sfn.start_execution(stateMachineArn=arn, name="async-1", input="{}")
        prefix = arn.replace(":stateMachine:", ":express:") + ":async-1:"
        self.assertTrue(resp["executionArn"].startswith(prefix), resp["executionArn"])
        self.assertIn("startDate", resp)
        # Recorded: test_sfn_api_express.test_start_async_describe_history_execution.
        for call, key in ((self.sfn.describe_execution, "executionArn"),
                          (self.sfn.get_execution_history, "executionArn"),
                          (self.sfn.stop_execution, "executionArn")):
            with self.subTest(call=call.__name__):
                self.assertErrorCode("InvalidArn", call, **{key: resp["executionArn"]})

    def test_start_sync_execution_response_shape(self):
        # Recorded: test_sfn_api_express.test_start_sync_execution.
        arn, _, _ = self.create(defn=result_def("shape"), type_="EXPRESS")
        resp = self.sfn.start_sync_execution(stateMachineArn=arn, input="{}")
        resp.pop("ResponseMetadata")
        self.assertEqual(sorted(resp), sorted([
            "billingDetails", "executionArn", "input", "inputDetails", "name", "output",
            "outputDetails", "startDate", "stateMachineArn", "status", "stopDate"]))
        self.assertEqual(resp["inputDetails"], {"included": True})
        self.assertEqual(resp["outputDetails"], {"included": True})
        self.assertTrue(resp["executionArn"].endswith(":" + resp["name"] + ":" +
                                                      resp["executionArn"].rsplit(":", 1)[1]))


class VersionTest(E2E):

    def test_publish_list_describe_delete_versions(self):
        arn, _, _ = self.create(defn=result_def(1))
        v1 = self.sfn.publish_state_machine_version(stateMachineArn=arn, description="first")
        self.assertEqual(v1["stateMachineVersionArn"], arn + ":1")
        self.assertIn("creationDate", v1)
        # Idempotent: no change since v1, so no new version.
        again = self.sfn.publish_state_machine_version(stateMachineArn=arn)
        self.assertEqual(again["stateMachineVersionArn"], arn + ":1")

        self.sfn.update_state_machine(stateMachineArn=arn, definition=result_def(2))
        v2 = self.sfn.publish_state_machine_version(stateMachineArn=arn)
        self.assertEqual(v2["stateMachineVersionArn"], arn + ":2")

        listed = self.sfn.list_state_machine_versions(stateMachineArn=arn)
        self.assertEqual([v["stateMachineVersionArn"] for v in listed["stateMachineVersions"]],
                         [arn + ":2", arn + ":1"])
        for v in listed["stateMachineVersions"]:
            self.assertIn("creationDate", v)

        d1 = self.sfn.describe_state_machine(stateMachineArn=arn + ":1")
        self.assertEqual(json.loads(d1["definition"]), json.loads(result_def(1)))
        self.assertEqual(d1.get("description"), "first")
        d2 = self.sfn.describe_state_machine(stateMachineArn=arn + ":2")
        self.assertEqual(json.loads(d2["definition"]), json.loads(result_def(2)))

        ex = self.sfn.start_execution(stateMachineArn=arn + ":1", input="{}")
        self.assertTrue(ex["executionArn"].startswith(
            arn.replace(":stateMachine:", ":execution:") + ":"), ex["executionArn"])
        d = self.wait_done(ex["executionArn"])
        self.assertEqual(json.loads(d["output"]), {"v": 1})
        self.assertEqual(d.get("stateMachineVersionArn"), arn + ":1")
        self.assertNotIn("stateMachineAliasArn", d)
        # Executions of a version are listed under the version and under the machine.
        by_version = self.list_all_executions(arn + ":1")
        self.assertEqual([e["executionArn"] for e in by_version], [ex["executionArn"]])
        self.assertEqual(self.list_all_executions(arn + ":2"), [])
        self.assertIn(ex["executionArn"],
                      [e["executionArn"] for e in self.list_all_executions(arn)])

        self.sfn.delete_state_machine_version(stateMachineVersionArn=arn + ":1")
        listed = self.sfn.list_state_machine_versions(stateMachineArn=arn)
        self.assertEqual([v["stateMachineVersionArn"] for v in listed["stateMachineVersions"]],
                         [arn + ":2"])
        self.assertErrorCode("StateMachineDoesNotExist", self.sfn.describe_state_machine,
                             stateMachineArn=arn + ":1")

    def test_create_and_update_with_publish(self):
        arn, _, created = self.create(defn=result_def("a"), publish=True,
                                      versionDescription="initial")
        self.assertEqual(created.get("stateMachineVersionArn"), arn + ":1")
        upd = self.sfn.update_state_machine(stateMachineArn=arn, definition=result_def("b"),
                                            publish=True, versionDescription="second")
        self.assertEqual(upd.get("stateMachineVersionArn"), arn + ":2")
        self.assertEqual(self.sfn.describe_state_machine(
            stateMachineArn=arn + ":2").get("description"), "second")

    def test_publish_with_stale_revision_id_conflicts(self):
        arn, _, _ = self.create(defn=result_def(1))
        r1 = self.sfn.update_state_machine(stateMachineArn=arn,
                                           definition=result_def(2))["revisionId"]
        self.sfn.update_state_machine(stateMachineArn=arn, definition=result_def(3))
        self.assertErrorCode("ConflictException", self.sfn.publish_state_machine_version,
                             stateMachineArn=arn, revisionId=r1)
        current = self.sfn.describe_state_machine(stateMachineArn=arn)["revisionId"]
        ok = self.sfn.publish_state_machine_version(stateMachineArn=arn, revisionId=current)
        self.assertEqual(ok["stateMachineVersionArn"], arn + ":1")

    def test_version_errors(self):
        # Recorded: test_sfn_api_versioning.test_publish_state_machine_version_* and
        # test_update_state_machine (updating a version ARN).
        arn, _, _ = self.create(publish=True)
        self.assertErrorCode("InvalidArn", self.sfn.publish_state_machine_version,
                             stateMachineArn="invalid_arn")
        self.assertErrorCode("StateMachineDoesNotExist",
                             self.sfn.publish_state_machine_version,
                             stateMachineArn=arn.rsplit(":", 1)[0] + ":" + uniq("none"))
        self.assertErrorCode("StateMachineDoesNotExist", self.sfn.update_state_machine,
                             stateMachineArn=arn + ":2", definition=result_def(9))

    def test_versions_pagination(self):
        arn, _, _ = self.create(defn=result_def(0))
        for i in range(1, 4):
            self.sfn.update_state_machine(stateMachineArn=arn, definition=result_def(i),
                                          publish=True)
        page = self.sfn.list_state_machine_versions(stateMachineArn=arn, maxResults=2)
        self.assertEqual(len(page["stateMachineVersions"]), 2)
        self.assertIn("nextToken", page)
        rest = self.sfn.list_state_machine_versions(stateMachineArn=arn, maxResults=2,
                                                    nextToken=page["nextToken"])
        arns = [v["stateMachineVersionArn"]
                for v in page["stateMachineVersions"] + rest["stateMachineVersions"]]
        self.assertEqual(arns, [arn + ":3", arn + ":2", arn + ":1"])


class AliasTest(E2E):

    def two_versions(self):
        arn, _, _ = self.create(defn=result_def("one"), publish=True)
        self.sfn.update_state_machine(stateMachineArn=arn, definition=result_def("two"),
                                      publish=True)
        return arn, arn + ":1", arn + ":2"

    def test_alias_create_describe_update_list_delete(self):
        arn, v1, v2 = self.two_versions()
        created = self.sfn.create_state_machine_alias(
            name="prod", description="production",
            routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}])
        alias = created["stateMachineAliasArn"]
        self.assertEqual(alias, arn + ":prod")
        self.assertIn("creationDate", created)

        d = self.sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
        self.assertEqual(d["stateMachineAliasArn"], alias)
        self.assertEqual(d["name"], "prod")
        self.assertEqual(d["description"], "production")
        self.assertEqual(d["routingConfiguration"],
                         [{"stateMachineVersionArn": v1, "weight": 100}])
        self.assertIn("creationDate", d)

        upd = self.sfn.update_state_machine_alias(
            stateMachineAliasArn=alias, description="now v2",
            routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}])
        self.assertIn("updateDate", upd)
        d = self.sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
        self.assertEqual(d["description"], "now v2")
        self.assertEqual(d["routingConfiguration"],
                         [{"stateMachineVersionArn": v2, "weight": 100}])
        self.assertIn("updateDate", d)

        self.sfn.create_state_machine_alias(
            name="beta", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}])
        listed = self.sfn.list_state_machine_aliases(stateMachineArn=arn)
        self.assertEqual(sorted(a["stateMachineAliasArn"] for a in listed["stateMachineAliases"]),
                         sorted([arn + ":prod", arn + ":beta"]))
        for a in listed["stateMachineAliases"]:
            self.assertIn("creationDate", a)

        self.sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
        self.assertErrorCode("ResourceNotFound", self.sfn.describe_state_machine_alias,
                             stateMachineAliasArn=alias)
        listed = self.sfn.list_state_machine_aliases(stateMachineArn=arn)
        self.assertEqual([a["stateMachineAliasArn"] for a in listed["stateMachineAliases"]],
                         [arn + ":beta"])

    def test_alias_routing_must_be_valid(self):
        # All recorded against AWS: test_sfn_api_aliasing.test_error_create_alias_*.
        arn, v1, v2 = self.two_versions()
        bad_routes = {
            "weights 70+31": [{"stateMachineVersionArn": v1, "weight": 70},
                              {"stateMachineVersionArn": v2, "weight": 31}],
            "weights 70+29": [{"stateMachineVersionArn": v1, "weight": 70},
                              {"stateMachineVersionArn": v2, "weight": 29}],
            "weight 101": [{"stateMachineVersionArn": v1, "weight": 101}],
            "same version twice": [{"stateMachineVersionArn": v1, "weight": 50},
                                   {"stateMachineVersionArn": v1, "weight": 50}],
            "unqualified machine ARN": [{"stateMachineVersionArn": arn, "weight": 100}],
        }
        for what, routes in bad_routes.items():
            with self.subTest(what):
                self.assertErrorCode("ValidationException",
                                     self.sfn.create_state_machine_alias,
                                     name="bad-routes", routingConfiguration=routes)
        for bad_name in ("123", "INVALID ALIAS", "!INVALID", "ALIAS@", "A" * 81):
            with self.subTest(name=bad_name):
                self.assertErrorCode("ValidationException",
                                     self.sfn.create_state_machine_alias, name=bad_name,
                                     routingConfiguration=[
                                         {"stateMachineVersionArn": v1, "weight": 100}])

    def test_alias_same_name_other_routing_conflicts(self):
        arn, v1, v2 = self.two_versions()
        route = [{"stateMachineVersionArn": v1, "weight": 100}]
        first = self.sfn.create_state_machine_alias(name="dup", description="d",
                                                    routingConfiguration=route)
        # Same name, same routing and description: idempotent.
        again = self.sfn.create_state_machine_alias(name="dup", description="d",
                                                    routingConfiguration=route)
        self.assertEqual(again["stateMachineAliasArn"], first["stateMachineAliasArn"])
        self.assertErrorCode("ConflictException", self.sfn.create_state_machine_alias,
                             name="dup", description="d", routingConfiguration=[
                                 {"stateMachineVersionArn": v2, "weight": 100}])
        self.assertErrorCode("ConflictException", self.sfn.create_state_machine_alias,
                             name="dup", description="another", routingConfiguration=route)

    def test_update_missing_alias_is_resource_not_found(self):
        arn, v1, _ = self.two_versions()
        self.assertErrorCode("ResourceNotFound", self.sfn.update_state_machine_alias,
                             stateMachineAliasArn=arn + ":never-made", description="x")

    def test_start_execution_through_alias(self):
        arn, v1, _ = self.two_versions()
        alias = self.sfn.create_state_machine_alias(
            name="live",
            routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}],
        )["stateMachineAliasArn"]
        ex = self.sfn.start_execution(stateMachineArn=alias, name="via-alias", input="{}")
        self.assertEqual(ex["executionArn"],
                         arn.replace(":stateMachine:", ":execution:") + ":via-alias")
        d = self.wait_done(ex["executionArn"])
        self.assertEqual(d["status"], "SUCCEEDED")
        # The alias points at v1 although the machine's current definition is "two".
        self.assertEqual(json.loads(d["output"]), {"v": "one"})
        self.assertEqual(d.get("stateMachineAliasArn"), alias)
        self.assertEqual(d.get("stateMachineVersionArn"), v1)
        self.assertEqual([e["executionArn"] for e in self.list_all_executions(alias)],
                         [ex["executionArn"]])

    def test_weighted_routing_between_two_versions(self):
        arn, v1, v2 = self.two_versions()
        alias = self.sfn.create_state_machine_alias(
            name="canary",
            routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 50},
                                  {"stateMachineVersionArn": v2, "weight": 50}],
        )["stateMachineAliasArn"]
        n = 40
        arns = [self.sfn.start_execution(stateMachineArn=alias, input="{}")["executionArn"]
                for _ in range(n)]
        counts = {v1: 0, v2: 0}
        for a in arns:
            d = self.wait_done(a)
            version = d.get("stateMachineVersionArn")
            self.assertIn(version, counts, d)
            counts[version] += 1
            expected = {"v": "one"} if version == v1 else {"v": "two"}
            self.assertEqual(json.loads(d["output"]), expected)
            self.assertEqual(d.get("stateMachineAliasArn"), alias)
        # P(either count outside 5..35 | fair 50/50 over 40) < 1e-6.
        self.assertGreaterEqual(counts[v1], 5, counts)
        self.assertGreaterEqual(counts[v2], 5, counts)

        self.sfn.update_state_machine_alias(
            stateMachineAliasArn=alias,
            routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 0},
                                  {"stateMachineVersionArn": v2, "weight": 100}])
        for _ in range(10):
            a = self.sfn.start_execution(stateMachineArn=alias, input="{}")["executionArn"]
            self.assertEqual(self.wait_done(a).get("stateMachineVersionArn"), v2)

    def test_delete_version_referenced_by_alias_conflicts(self):
        arn, v1, _ = self.two_versions()
        alias = self.sfn.create_state_machine_alias(
            name="pinned", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}],
        )["stateMachineAliasArn"]
        self.assertErrorCode("ConflictException", self.sfn.delete_state_machine_version,
                             stateMachineVersionArn=v1)
        self.sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
        self.sfn.delete_state_machine_version(stateMachineVersionArn=v1)
        versions = self.sfn.list_state_machine_versions(stateMachineArn=arn)
        self.assertEqual([v["stateMachineVersionArn"] for v in versions["stateMachineVersions"]],
                         [arn + ":2"])


class TagTest(E2E):

    def tags(self, arn):
        return {t["key"]: t["value"]
                for t in self.sfn.list_tags_for_resource(resourceArn=arn)["tags"]}

    def test_tag_untag_list(self):
        arn, _, _ = self.create(tags=[{"key": "team", "value": "core"}])
        self.assertEqual(self.tags(arn), {"team": "core"})
        self.sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "test"},
                                                     {"key": "team", "value": "platform"}])
        self.assertEqual(self.tags(arn), {"team": "platform", "env": "test"})
        self.sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
        self.assertEqual(self.tags(arn), {"env": "test"})
        self.sfn.untag_resource(resourceArn=arn, tagKeys=["env", "not-there"])
        self.assertEqual(self.tags(arn), {})

    def test_tags_of_missing_resource(self):
        arn, _, _ = self.create()
        missing = arn.rsplit(":", 1)[0] + ":" + uniq("nope")
        self.assertErrorCode("ResourceNotFound", self.sfn.list_tags_for_resource,
                             resourceArn=missing)
        self.assertErrorCode("ResourceNotFound", self.sfn.tag_resource, resourceArn=missing,
                             tags=[{"key": "a", "value": "b"}])
        self.assertErrorCode("InvalidArn", self.sfn.list_tags_for_resource,
                             resourceArn="not-an-arn")

    def test_tagging_a_version_is_resource_not_found(self):
        # Recorded: test_sfn_api_tagging.test_tag_state_machine_version.
        arn, _, _ = self.create(publish=True)
        self.assertErrorCode("ResourceNotFound", self.sfn.tag_resource, resourceArn=arn + ":1",
                             tags=[{"key": "key1", "value": "value1"}])


class ConcurrencyTest(E2E):

    def test_parallel_starts_all_succeed(self):
        arn, _, _ = self.create()
        arns, errors = [], []
        lock = threading.Lock()

        def worker(k):
            try:
                c = SERVER.client()
                for i in range(10):
                    a = c.start_execution(stateMachineArn=arn, name=f"t{k}-{i}",
                                          input=json.dumps({"who": f"{k}-{i}"}))["executionArn"]
                    with lock:
                        arns.append(a)
            except (ClientError, botocore.exceptions.BotoCoreError) as e:
                with lock:
                    errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(set(arns)), 40)
        for a in arns:
            self.assertEqual(self.wait_done(a)["status"], "SUCCEEDED")
        self.assertEqual(len(self.list_all_executions(arn, statusFilter="SUCCEEDED")), 40)


if __name__ == "__main__":
    unittest.main(verbosity=2)
