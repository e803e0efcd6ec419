"""The callback pattern (`lambda:invoke.waitForTaskToken`) end to end, with the example in
examples/human-approval/: a real `passo server --project examples/human-approval/passo.toml`,
the example's own state machine and its `request-review` Python function, and reviewers
answering through the aws CLI (`send-task-success` / `send-task-failure`).

request-review writes `<REVIEWS_DIR>/<execution name>.json` (the task token and the
application); the tests read the token from there, as a reviewer would. REVIEWS_DIR reaches
the function through the server's environment (the server inherits this process's
environment when it is started, and its functions inherit the server's).

Polling and history reads go through boto3 (fast); the answers a reviewer gives go through
the aws CLI, as the example's README shows them.
"""

import copy
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from botocore.exceptions import ClientError

import server as srv
from server import ROLE_ARN, uniq, wait_until

EXAMPLE_DIR = os.path.join(srv.REPO_ROOT, "examples", "human-approval")
PROJECT = os.path.join(EXAMPLE_DIR, "passo.toml")
DEFINITION_PATH = os.path.join(EXAMPLE_DIR, "approval.asl.json")

SERVER = None
REVIEWS = None          # the directory request-review writes to (REVIEWS_DIR)
MACHINE = None          # the example's state machine, as created with the aws CLI
_CLIENT = {}            # endpoint -> boto3 client (the port may change after a restart)

TASK_EVENTS = {"TaskStateEntered", "TaskStateExited", "TaskScheduled", "TaskStarted",
               "TaskSubmitted", "TaskSucceeded", "TaskFailed", "TaskTimedOut"}


def load_json(name):
    with open(os.path.join(EXAMPLE_DIR, name)) as f:
        return json.load(f)


def start_server():
    """(Re)start SERVER with REVIEWS_DIR in its environment."""
    old = os.environ.get("REVIEWS_DIR")
    os.environ["REVIEWS_DIR"] = REVIEWS
    try:
        SERVER.start()
    finally:
        if old is None:
            os.environ.pop("REVIEWS_DIR", None)
        else:
            os.environ["REVIEWS_DIR"] = old


def setUpModule():
    global SERVER, REVIEWS, MACHINE
    REVIEWS = tempfile.mkdtemp(prefix="passo-reviews-")
    SERVER = srv.PassoServer(extra_args=["--project", PROJECT])
    start_server()
    out = aws("create-state-machine", "--name", "human-approval",
              "--definition", f"file://{DEFINITION_PATH}", "--role-arn", ROLE_ARN)
    MACHINE = out["stateMachineArn"]


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()
    if REVIEWS and not os.environ.get("PASSO_E2E_KEEP"):
        shutil.rmtree(REVIEWS, ignore_errors=True)


def sfn():
    endpoint = SERVER.endpoint
    if endpoint not in _CLIENT:
        _CLIENT[endpoint] = SERVER.client()
    return _CLIENT[endpoint]


class CliError(AssertionError):
    pass


def aws(*args, expect_ok=True):
    """`aws stepfunctions ARGS --endpoint-url ... --output json`: the parsed JSON output, or
    (expect_ok=False) the CompletedProcess."""
    cmd = [srv.aws_cli(), "stepfunctions", *args, "--endpoint-url", SERVER.endpoint,
           "--output", "json"]
    proc = subprocess.run(cmd, env=srv.cli_env(), capture_output=True, text=True, timeout=60)
    if not expect_ok:
        return proc
    if proc.returncode != 0:
        raise CliError(f"aws {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}\n"
                       f"server log:\n{SERVER.log_tail(20)}")
    return json.loads(proc.stdout) if proc.stdout.strip() else {}



def application(**changes):
    app = load_json("application.input.json")
    app.update(changes)
    return app


class CallbackTest(unittest.TestCase):

    # -- helpers ---------------------------------------------------------------------------

    def start(self, input_, machine=None, prefix="app"):
        """start-execution through the CLI, as the README does; returns (arn, name)."""
        name = uniq(prefix)
        out = aws("start-execution", "--state-machine-arn", machine or MACHINE,
                  "--name", name, "--input", json.dumps(input_))
        return out["executionArn"], name

    def start_fast(self, input_, machine):
        name = uniq("app")
        arn = sfn().start_execution(stateMachineArn=machine, name=name,
                                    input=json.dumps(input_))["executionArn"]
        return arn, name

    def review_path(self, name):
        return os.path.join(REVIEWS, name + ".json")

    def review_request(self, name, timeout=15):
        """The review request request-review recorded for execution `name`."""
        path = self.review_path(name)
        try:
            wait_until(lambda: os.path.exists(path), timeout=timeout,
                       what=f"review request {path}")
        except AssertionError as e:
            raise AssertionError(f"{e}\nserver log:\n{SERVER.log_tail(20)}") from None
        with open(path) as f:
            return json.load(f)

    def history(self, arn):
        return srv.paginate(sfn().get_execution_history, "events", executionArn=arn)

    def types(self, events):
        return [e["type"] for e in events]

    def the(self, events, type_):
        found = [e for e in events if e["type"] == type_]
        self.assertEqual(len(found), 1, f"expected one {type_}: {self.types(events)}")
        return found[0]

    def wait_submitted(self, arn, timeout=15):
        """Until the callback call has returned (TaskSubmitted): the task now only waits."""
        return wait_until(lambda: "TaskSubmitted" in self.types(self.history(arn)),
                          timeout=timeout, what=f"TaskSubmitted in {arn}")

    def wait_done(self, arn, timeout=15):
        def done():
            d = sfn().describe_execution(executionArn=arn)
            return d if d["status"] != "RUNNING" else None
        return wait_until(done, timeout=timeout, interval=0.1, what=f"{arn} to finish")

    def variant(self, **task_fields):
        """The example's definition with other fields on the RequestReview Task."""
        d = load_json("approval.asl.json")
        d["States"]["RequestReview"].update(task_fields)
        return sfn().create_state_machine(name=uniq("approval-variant"),
                                          definition=json.dumps(d),
                                          roleArn=ROLE_ARN)["stateMachineArn"]

    def assertCliError(self, code, *args):
        proc = aws(*args, expect_ok=False)
        self.assertNotEqual(proc.returncode, 0, f"aws {args[0]} succeeded: {proc.stdout}")
        self.assertIn(f"({code})", proc.stderr)
        return proc

    # -- tests -----------------------------------------------------------------------------

    def test_1_approval_with_cli_send_task_success_succeeds(self):
        app = application()
        arn, name = self.start(app)
        req = self.review_request(name)
        self.assertEqual(req["application"], app)
        self.assertEqual(req["execution"], name)
        self.assertEqual(req["executionArn"], arn)
        token = req["token"]
        self.assertTrue(token)

        # The function has returned; the workflow waits for the reviewer.
        self.wait_submitted(arn)
        time.sleep(0.3)
        self.assertEqual(sfn().describe_execution(executionArn=arn)["status"], "RUNNING")
        self.assertNotIn("TaskSucceeded", self.types(self.history(arn)))

        answer = {"approved": True, "reviewer": "alice"}
        self.assertEqual(aws("send-task-success", "--task-token", token,
                             "--task-output", json.dumps(answer)), {})

        self.wait_done(arn)
        d = aws("describe-execution", "--execution-arn", arn)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]),
                         dict(app, review=answer, status="APPROVED"))

        events = self.history(arn)
        types = self.types(events)
        for t in ("TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"):
            self.assertEqual(types.count(t), 1, types)
        self.assertLess(types.index("TaskScheduled"), types.index("TaskStarted"))
        self.assertLess(types.index("TaskStarted"), types.index("TaskSubmitted"))
        self.assertLess(types.index("TaskSubmitted"), types.index("TaskSucceeded"))
        self.assertEqual(types[-1], "ExecutionSucceeded")

        sched = self.the(events, "TaskScheduled")["taskScheduledEventDetails"]
        self.assertEqual((sched["resourceType"], sched["resource"]),
                         ("lambda", "invoke.waitForTaskToken"))
        self.assertEqual(sched["timeoutInSeconds"], 604800)
        params = json.loads(sched["parameters"])
        self.assertEqual(params["FunctionName"], "request-review")
        self.assertEqual(params["Payload"]["token"], token)   # $$.Task.Token
        ok = self.the(events, "TaskSucceeded")["taskSucceededEventDetails"]
        self.assertEqual(json.loads(ok["output"]), answer)

    def test_2_rejection_with_cli_send_task_failure_fails_with_rejected(self):
        app = application(name="Rick Roe")
        with_cause, n1 = self.start(app)
        no_cause, n2 = self.start(app)
        not_approved, n3 = self.start(app)
        t1, t2, t3 = (self.review_request(n)["token"] for n in (n1, n2, n3))

        aws("send-task-failure", "--task-token", t1, "--error", "Rejected",
            "--cause", "the source of the deposit is unclear")
        aws("send-task-failure", "--task-token", t2, "--error", "Rejected")
        aws("send-task-success", "--task-token", t3, "--task-output", '{"approved": false}')

        with self.subTest("send-task-failure --error Rejected --cause: caught, clear cause"):
            d = self.wait_done(with_cause)
            self.assertEqual(d["status"], "FAILED", d)
            self.assertEqual(d["error"], "Rejected")
            self.assertEqual(d["cause"], "The reviewer rejected the application of Rick Roe: "
                                         "the source of the deposit is unclear")
            events = self.history(with_cause)
            failed = self.the(events, "TaskFailed")["taskFailedEventDetails"]
            self.assertEqual((failed["error"], failed["cause"]),
                             ("Rejected", "the source of the deposit is unclear"))
            types = self.types(events)
            self.assertLess(types.index("TaskSubmitted"), types.index("TaskFailed"))
            entered = [e["stateEnteredEventDetails"]["name"] for e in events
                       if e["type"] == "FailStateEntered"]
            self.assertEqual(entered, ["RejectedByReviewer"])   # through the Catch

        with self.subTest("send-task-failure --error Rejected without --cause"):
            d = self.wait_done(no_cause)
            self.assertEqual((d["status"], d["error"]), ("FAILED", "Rejected"), d)
            self.assertEqual(d["cause"],
                             "The reviewer rejected the application (no reason given).")

        with self.subTest("send-task-success {approved: false}: the Choice fails it"):
            d = self.wait_done(not_approved)
            self.assertEqual((d["status"], d["error"]), ("FAILED", "Rejected"), d)
            events = self.history(not_approved)
            self.assertIn("TaskSucceeded", self.types(events))
            entered = [e["stateEnteredEventDetails"]["name"] for e in events
                       if e["type"] == "FailStateEntered"]
            self.assertEqual(entered, ["NotApproved"])

    def test_3_small_application_skips_review(self):
        app = load_json("small-application.input.json")
        arn, name = self.start(app)
        d = self.wait_done(arn)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), dict(app, status="APPROVED"))
        types = self.types(self.history(arn))
        self.assertEqual(types, ["ExecutionStarted", "ChoiceStateEntered", "ChoiceStateExited",
                                 "PassStateEntered", "PassStateExited", "ExecutionSucceeded"])
        self.assertFalse(TASK_EVENTS & set(types), types)
        self.assertFalse(os.path.exists(self.review_path(name)))

    def test_3b_small_but_flagged_application_is_reviewed(self):
        app = dict(load_json("small-application.input.json"), flagged=True)
        arn, name = self.start_fast(app, MACHINE)
        token = self.review_request(name)["token"]
        aws("send-task-success", "--task-token", token, "--task-output", '{"approved": true}')
        d = self.wait_done(arn)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertIn("TaskSucceeded", self.types(self.history(arn)))

    def test_4_token_used_twice_is_task_timed_out_and_garbage_is_invalid_token(self):
        app = application()
        arn, name = self.start_fast(app, MACHINE)
        token = self.review_request(name)["token"]
        aws("send-task-success", "--task-token", token, "--task-output", '{"approved": true}')
        self.assertEqual(self.wait_done(arn)["status"], "SUCCEEDED")

        self.assertCliError("TaskTimedOut", "send-task-success", "--task-token", token,
                            "--task-output", '{"approved": false}')
        self.assertCliError("TaskTimedOut", "send-task-failure", "--task-token", token,
                            "--error", "Rejected", "--cause", "too late")
        # The late answers changed nothing.
        d = sfn().describe_execution(executionArn=arn)
        self.assertEqual(d["status"], "SUCCEEDED")
        self.assertEqual(json.loads(d["output"])["review"], {"approved": True})
        self.assertEqual(self.types(self.history(arn)).count("TaskSucceeded"), 1)

        self.assertCliError("InvalidToken", "send-task-success", "--task-token",
                            "not-a-task-token", "--task-output", "{}")

    def test_5_waiting_review_survives_kill_9_and_old_token_works(self):
        app = application(name="Kim Crash")
        arn, name = self.start_fast(app, MACHINE)
        token = self.review_request(name)["token"]
        self.wait_submitted(arn)
        stat_before = os.stat(self.review_path(name)).st_mtime_ns

        SERVER.kill()
        start_server()

        d = sfn().describe_execution(executionArn=arn)
        self.assertEqual(d["status"], "RUNNING", d)
        answer = {"approved": True, "reviewer": "after the crash"}
        aws("send-task-success", "--task-token", token, "--task-output", json.dumps(answer))
        d = self.wait_done(arn)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), dict(app, review=answer, status="APPROVED"))

        types = self.types(self.history(arn))
        for t in ("TaskScheduled", "TaskSubmitted", "TaskSucceeded", "ExecutionSucceeded"):
            self.assertEqual(types.count(t), 1, types)
        # The recorded request was not sent a second time after the restart.
        self.assertEqual(os.stat(self.review_path(name)).st_mtime_ns, stat_before,
                         "request-review ran again after the restart")

    def test_6_timeout_seconds_without_answer_fails_with_states_timeout(self):
        machine = self.variant(TimeoutSeconds=2)
        t0 = time.monotonic()
        arn, name = self.start_fast(application(), machine)
        token = self.review_request(name)["token"]     # the request went out...
        d = self.wait_done(arn, timeout=15)             # ...and nobody answers
        self.assertGreaterEqual(time.monotonic() - t0, 1.9)
        self.assertEqual((d["status"], d.get("error")), ("FAILED", "States.Timeout"), d)

        events = self.history(arn)
        types = self.types(events)
        timed_out = self.the(events, "TaskTimedOut")["taskTimedOutEventDetails"]
        self.assertEqual(timed_out["error"], "States.Timeout")
        self.assertLess(types.index("TaskSubmitted"), types.index("TaskTimedOut"))
        self.assertNotIn("TaskSucceeded", types)
        self.assertNotIn("TaskFailed", types)
        sched = self.the(events, "TaskScheduled")
        waited = (self.the(events, "TaskTimedOut")["timestamp"] - sched["timestamp"])
        self.assertGreaterEqual(waited.total_seconds(), 1.9)
        self.assertEqual(sched["taskScheduledEventDetails"]["timeoutInSeconds"], 2)

        # The reviewer is too late.
        self.assertCliError("TaskTimedOut", "send-task-success", "--task-token", token,
                            "--task-output", '{"approved": true}')

    def test_7_heartbeats_keep_review_alive_past_heartbeat_seconds(self):
        machine = self.variant(HeartbeatSeconds=2)
        beating, n1 = self.start_fast(application(), machine)
        silent, n2 = self.start_fast(application(), machine)   # the control: no heartbeats
        token = self.review_request(n1)["token"]
        self.review_request(n2)

        # SendTaskHeartbeat every second for ~4.5 s (twice HeartbeatSeconds and more). boto3,
        # not the CLI: the CLI's start-up time (a Python interpreter each call) on a busy
        # machine would make the gaps, and so the test, depend on the load.
        t0 = time.monotonic()
        beats = 0
        while time.monotonic() - t0 < 4.5:
            sfn().send_task_heartbeat(taskToken=token)
            beats += 1
            time.sleep(max(0.0, t0 + beats - time.monotonic()))
        self.assertGreaterEqual(beats, 4)

        # The control shows HeartbeatSeconds is enforced: without beats it timed out.
        d = sfn().describe_execution(executionArn=silent)
        self.assertEqual((d["status"], d.get("error")), ("FAILED", "States.Timeout"), d)
        self.assertIn("TaskTimedOut", self.types(self.history(silent)))

        self.assertEqual(sfn().describe_execution(executionArn=beating)["status"], "RUNNING")
        aws("send-task-success", "--task-token", token, "--task-output", '{"approved": true}')
        d = self.wait_done(beating)
        self.assertEqual(d["status"], "SUCCEEDED", d)

        events = self.history(beating)
        types = self.types(events)
        self.assertNotIn("TaskTimedOut", types)
        sched = self.the(events, "TaskScheduled")
        self.assertEqual(sched["taskScheduledEventDetails"]["heartbeatInSeconds"], 2)
        alive = self.the(events, "TaskSucceeded")["timestamp"] - sched["timestamp"]
        self.assertGreater(alive.total_seconds(), 4.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
