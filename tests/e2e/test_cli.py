"""End-to-end tests of `passo server` through the aws CLI v1 (`aws stepfunctions ...`).

Every call runs the real `aws` executable with --endpoint-url pointing at a local server and
fake credentials in the environment, and parses its JSON output.
"""

import json
import os
import subprocess
import tempfile
import time
import unittest
import uuid

import server as srv
from server import ROLE_ARN, definition

SERVER = None

DEFN = definition({
    "Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hi {}', $.name)"},
              "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
    "Done": {"Type": "Pass", "Result": "ok", "ResultPath": "$.status", "End": True},
})


def setUpModule():
    global SERVER
    SERVER = srv.PassoServer().start()


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()


class CliError(AssertionError):
    def __init__(self, args, proc):
        super().__init__(f"aws {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
        self.proc = proc


def aws(*args, expect_ok=True):
    """Run `aws stepfunctions ARGS --endpoint-url ... --output json`; return parsed JSON
    (or the CompletedProcess when expect_ok=False)."""
    cmd = [srv.aws_cli(), "stepfunctions", *args, "--endpoint-url", SERVER.endpoint,
           "--output", "json"]
    proc = subprocess.run(cmd, env=srv.cli_env(), capture_output=True, text=True, timeout=120)
    if not expect_ok:
        return proc
    if proc.returncode != 0:
        raise CliError(args, proc)
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


class CliTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="passo-cli-")

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def create(self, defn=DEFN, type_="STANDARD"):
        name = f"cli-{uuid.uuid4().hex[:10]}"
        path = self.write(f"{name}.asl.json", defn)
        out = aws("create-state-machine", "--name", name, "--definition", f"file://{path}",
                  "--role-arn", ROLE_ARN, "--type", type_)
        return out["stateMachineArn"], name

    def wait_done(self, exec_arn, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            d = aws("describe-execution", "--execution-arn", exec_arn)
            if d["status"] != "RUNNING":
                return d
            time.sleep(0.2)
        self.fail(f"{exec_arn} still RUNNING after {timeout}s")

    def test_main_flow(self):
        arn, name = self.create()
        self.assertRegex(arn, r"^arn:aws:states:us-east-1:\d{12}:stateMachine:" + name + "$")

        d = aws("describe-state-machine", "--state-machine-arn", arn)
        self.assertEqual(d["name"], name)
        self.assertEqual(d["status"], "ACTIVE")
        self.assertEqual(d["type"], "STANDARD")
        self.assertEqual(json.loads(d["definition"]), json.loads(DEFN))

        listed = aws("list-state-machines")["stateMachines"]
        self.assertIn(arn, [m["stateMachineArn"] for m in listed])

        start = aws("start-execution", "--state-machine-arn", arn, "--name", "cli-run",
                    "--input", json.dumps({"name": "Ada"}))
        exec_arn = start["executionArn"]
        self.assertEqual(exec_arn, arn.replace(":stateMachine:", ":execution:") + ":cli-run")
        self.assertIn("startDate", start)

        d = self.wait_done(exec_arn)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), {"greeting": "hi Ada", "status": "ok"})
        self.assertEqual(json.loads(d["input"]), {"name": "Ada"})

        hist = aws("get-execution-history", "--execution-arn", exec_arn)["events"]
        self.assertEqual([e["type"] for e in hist], [
            "ExecutionStarted",
            "PassStateEntered", "PassStateExited",
            "WaitStateEntered", "WaitStateExited",
            "PassStateEntered", "PassStateExited",
            "ExecutionSucceeded",
        ])
        self.assertEqual([e["id"] for e in hist], list(range(1, 9)))
        self.assertEqual(hist[3]["stateEnteredEventDetails"]["name"], "Pause")

        # --page-size makes the CLI walk nextToken itself; the result must be the same.
        paged = aws("get-execution-history", "--execution-arn", exec_arn, "--page-size", "3")
        self.assertEqual([e["id"] for e in paged["events"]], list(range(1, 9)))
        rev = aws("get-execution-history", "--execution-arn", exec_arn, "--reverse-order",
                  "--no-include-execution-data")["events"]
        self.assertEqual([e["id"] for e in rev], list(range(8, 0, -1)))
        self.assertNotIn("input", rev[-1]["executionStartedEventDetails"])

        execs = aws("list-executions", "--state-machine-arn", arn)["executions"]
        self.assertEqual([e["executionArn"] for e in execs], [exec_arn])
        self.assertEqual(execs[0]["status"], "SUCCEEDED")
        ok = aws("list-executions", "--state-machine-arn", arn, "--status-filter", "SUCCEEDED")
        self.assertEqual(len(ok["executions"]), 1)
        running = aws("list-executions", "--state-machine-arn", arn,
                      "--status-filter", "RUNNING")
        self.assertEqual(running["executions"], [])

        aws("delete-state-machine", "--state-machine-arn", arn)
        deadline = time.monotonic() + 10
        while True:
            proc = aws("describe-state-machine", "--state-machine-arn", arn, expect_ok=False)
            if proc.returncode != 0:
                self.assertIn("StateMachineDoesNotExist", proc.stderr)
                break
            self.assertEqual(json.loads(proc.stdout)["status"], "DELETING")
            self.assertLess(time.monotonic(), deadline, "state machine never went away")
            time.sleep(0.2)

    def test_list_executions_page_size_and_stop(self):
        arn, _ = self.create(definition({"Sleep": {"Type": "Wait", "Seconds": 3600,
                                                   "End": True}}))
        arns = [aws("start-execution", "--state-machine-arn", arn, "--name", f"e{i}")
                ["executionArn"] for i in range(5)]
        listed = aws("list-executions", "--state-machine-arn", arn, "--page-size", "2")
        self.assertEqual(sorted(e["executionArn"] for e in listed["executions"]), sorted(arns))
        first = aws("list-executions", "--state-machine-arn", arn, "--max-items", "2")
        self.assertEqual(len(first["executions"]), 2)
        self.assertIn("NextToken", first)  # the CLI's own continuation token

        stopped = aws("stop-execution", "--execution-arn", arns[0], "--error", "E",
                      "--cause", "C")
        self.assertIn("stopDate", stopped)
        self.assertEqual(aws("describe-execution", "--execution-arn", arns[0])["status"],
                         "ABORTED")
        for a in arns[1:]:
            aws("stop-execution", "--execution-arn", a)
        aborted = aws("list-executions", "--state-machine-arn", arn,
                      "--status-filter", "ABORTED")["executions"]
        self.assertEqual(len(aborted), 5)

    def test_cli_errors_exit_non_zero_with_code(self):
        arn, _ = self.create()
        missing = arn.replace(":stateMachine:", ":execution:") + ":missing"
        proc = aws("describe-execution", "--execution-arn", missing, expect_ok=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("ExecutionDoesNotExist", proc.stderr)

        proc = aws("create-state-machine", "--name", "x-" + uuid.uuid4().hex[:8],
                   "--definition", '{"StartAt": "Nope", "States": {}}',
                   "--role-arn", ROLE_ARN, expect_ok=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("InvalidDefinition", proc.stderr)

        proc = aws("start-execution", "--state-machine-arn", arn, "--input", "{bad",
                   expect_ok=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("InvalidExecutionInput", proc.stderr)

    def test_start_sync_execution(self):
        # Works only because cli_env() sets AWS_DISABLE_HOST_PREFIX_INJECTION=true.
        arn, name = self.create(definition({"Hello": {"Type": "Pass", "Result": "world",
                                                      "ResultPath": "$.hello", "End": True}}),
                                type_="EXPRESS")
        out = aws("start-sync-execution", "--state-machine-arn", arn, "--name", "sync-cli",
                  "--input", '{"a": 1}')
        self.assertEqual(out["status"], "SUCCEEDED", out)
        self.assertEqual(json.loads(out["output"]), {"a": 1, "hello": "world"})
        self.assertTrue(out["executionArn"].startswith(
            arn.replace(":stateMachine:", ":express:") + ":sync-cli:"), out["executionArn"])

    def test_validate_state_machine_definition(self):
        ok = aws("validate-state-machine-definition", "--definition", DEFN)
        self.assertEqual(ok["result"], "OK")
        bad = aws("validate-state-machine-definition", "--definition",
                  json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}))
        self.assertEqual(bad["result"], "FAIL")
        self.assertTrue(any(d["severity"] == "ERROR" for d in bad["diagnostics"]), bad)


if __name__ == "__main__":
    unittest.main(verbosity=2)
