"""Functions created through the API (`passo function ...` against a running `passo server`):
a Task calls one by its Lambda ARN, it survives a restart (kept in the database), and once
deleted the Task gets Lambda.ResourceNotFoundException. Project functions are listed beside
them and cannot be deleted through the API.

Run: PASSO_BIN=/tmp/passo-bin/passo tests/e2e/run.sh test_functions_api
"""

import json
import os
import subprocess
import sys
import unittest

import server as srv
from server import ROLE_ARN, definition, uniq, wait_until

PROJECT = os.path.join(srv.REPO_ROOT, "examples", "bank-account", "passo.toml")
SERVER = None

# A function as a local command: the event on stdin, the result on stdout.
GREET = ("import json, sys; e = json.load(sys.stdin); "
         "print(json.dumps({'greeting': 'Hello, ' + e['name'] + '!'}))")


def setUpModule():
    global SERVER
    # Creating command functions through the API is off by default and needs signed
    # requests: the harness's clients sign with test:test.
    SERVER = srv.PassoServer(extra_args=["--project", PROJECT, "--allow-function-api",
                                         "--access-key", "test:test"]).start()


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()


def passo_function(*args, expect=0):
    # --command takes the rest of the line, so the endpoint goes first.
    cmd = [srv.passo_bin(), "function", "--endpoint-url", SERVER.endpoint, *args]
    # `passo function` signs with the standard credentials, as the server's keys require.
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=srv.cli_env())
    if proc.returncode != expect:
        raise AssertionError(f"passo function {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}{proc.stderr}")
    return proc


def run_greet(name_input):
    sfn = SERVER.client()
    arn = sfn.create_state_machine(
        name=uniq("greet"), roleArn=ROLE_ARN,
        definition=definition({"Greet": {
            "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:greet",
            "End": True}}))["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"name": name_input}))
    d = wait_until(lambda: (lambda d: d if d["status"] != "RUNNING" else None)(
        sfn.describe_execution(executionArn=ex["executionArn"])), what="execution end")
    return d


class FunctionsApiTest(unittest.TestCase):
    def test_create_call_restart_delete(self):
        out = passo_function("create", "greet", "--timeout-seconds", "10",
                             "--command", sys.executable, "-c", GREET)
        created = json.loads(out.stdout)
        self.assertEqual(created["name"], "greet")
        self.assertEqual(created["source"], "API")
        self.assertEqual(created["spec"]["timeout_seconds"], 10)

        d = run_greet("Ada")
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), {"greeting": "Hello, Ada!"})

        # A second create of the same name is refused.
        p = passo_function("create", "greet", "--url", "http://127.0.0.1:1/x", expect=1)
        self.assertIn("ConflictException", p.stderr)

        # Kept in the database: still there after a restart.
        SERVER.stop()
        SERVER.start()
        names = [f["name"] for f in json.loads(passo_function("list").stdout)["functions"]]
        self.assertIn("greet", names)
        self.assertIn("check-name", names)  # from the project file
        self.assertEqual(run_greet("Bob")["status"], "SUCCEEDED")

        passo_function("delete", "greet")
        d = run_greet("Cy")
        self.assertEqual(d["status"], "FAILED")
        self.assertEqual(d["error"], "Lambda.ResourceNotFoundException")
        p = passo_function("get", "greet", expect=1)
        self.assertIn("ResourceNotFound", p.stderr)

    def test_project_functions_cannot_be_deleted(self):
        got = json.loads(passo_function("get", "check-name").stdout)
        self.assertEqual(got["source"], "PROJECT")
        p = passo_function("delete", "check-name", expect=1)
        self.assertIn("project file", p.stderr)

    def test_bad_spec_is_refused_with_the_reason(self):
        p = passo_function("create", "bad", "--url", "ftp://example.com/x", expect=1)
        self.assertIn("ValidationException", p.stderr)
        self.assertIn("http:// or https://", p.stderr)


if __name__ == "__main__":
    unittest.main()
