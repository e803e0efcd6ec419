"""Activities through `passo server`: Task states whose Resource is an activity ARN, served to
workers by GetActivityTask and finished by SendTaskSuccess / SendTaskFailure, with heartbeats,
timeouts, task tokens, hundreds of long-polling workers, crash recovery, and the example worker
in examples/activity-worker/.

One server (fresh data dir) serves the module, except the crash tests, which get their own.
Every test makes its own activity (and machines), so a task never strays into another test.
GetActivityTask long-polls for up to 60 s: the clients' read timeout is 70 s (sfn_client's
default), and a test that expects *no* task polls in a thread and never waits 60 s for it.

Run: PASSO_BIN=/tmp/passo-bin/passo tests/e2e/run.sh test_activities
"""

import base64
import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

import botocore.exceptions
from botocore.exceptions import ClientError

import server as srv
from server import REPO_ROOT, ROLE_ARN, definition, paginate, uniq, wait_until

SERVER = None
_CLIENTS = {}
WORKER_DIR = os.path.join(REPO_ROOT, "examples", "activity-worker")


def setUpModule():
    global SERVER
    SERVER = srv.PassoServer().start()


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()



class Poll:
    """GetActivityTask in a background thread: `.result` is the response, `.error` the
    exception, `.done` is set when the call returned. Used wherever the call may block."""

    def __init__(self, client, activity_arn, worker_name="poller"):
        self.result = self.error = None
        self.done = threading.Event()
        self.called = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        args=(client, activity_arn, worker_name))
        self._thread.start()

    def _run(self, client, activity_arn, worker_name):
        try:
            self.called.set()
            self.result = client.get_activity_task(activityArn=activity_arn,
                                                   workerName=worker_name)
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            self.done.set()

    def wait(self, timeout):
        return self.done.wait(timeout)


class ActivityE2E(unittest.TestCase):
    """Shared helpers; `self.server` is the module's server unless a subclass says otherwise."""

    @property
    def server(self):
        return SERVER

    @property
    def sfn(self):
        return self.client()

    def client(self, **config):
        """A cached boto3 client for the current server (a restart may change its port)."""
        key = (self.server.endpoint, tuple(sorted(config.items())))
        if key not in _CLIENTS:
            _CLIENTS[key] = self.server.client(**config)
        return _CLIENTS[key]

    def make_activity(self):
        return self.sfn.create_activity(name=uniq("act"))["activityArn"]

    def make_machine(self, activity_arn, **task_fields):
        """Pass -> Work (the activity Task, with `task_fields`) -> End. Input is passed through
        to the task; the task's result is the execution's output unless ResultPath says so."""
        task = {"Type": "Task", "Resource": activity_arn, "End": True}
        task.update(task_fields)
        defn = definition({"Work": task})
        return self.sfn.create_state_machine(name=uniq("sm"), definition=defn,
                                             roleArn=ROLE_ARN)["stateMachineArn"]

    def start(self, machine, input_):
        return self.sfn.start_execution(stateMachineArn=machine,
                                        input=json.dumps(input_))["executionArn"]

    def take(self, activity_arn, worker_name, timeout=10):
        """GetActivityTask that must hand out a task within `timeout` seconds."""
        client = self.client(read_timeout=timeout)
        try:
            task = client.get_activity_task(activityArn=activity_arn, workerName=worker_name)
        except botocore.exceptions.ReadTimeoutError:
            self.fail(f"GetActivityTask({activity_arn}) handed out no task within {timeout}s;"
                      f" server log:\n{self.server.log_tail()}")
        self.assertTrue(task.get("taskToken"), f"no taskToken in {task!r}")
        self.assertIsInstance(task.get("input"), str, f"input must be a JSON string: {task!r}")
        return task

    def wait_done(self, execution_arn, timeout=15):
        def done():
            d = self.sfn.describe_execution(executionArn=execution_arn)
            return d if d["status"] != "RUNNING" else None
        return wait_until(done, timeout=timeout, interval=0.05,
                          what=f"execution {execution_arn} to finish")

    def history(self, execution_arn):
        return paginate(self.sfn.get_execution_history, "events", executionArn=execution_arn)

    def types(self, events, prefix=None):
        return [e["type"] for e in events if prefix is None or e["type"].startswith(prefix)]

    def event(self, events, type_):
        found = [e for e in events if e["type"] == type_]
        self.assertEqual(len(found), 1, f"expected one {type_}: {self.types(events)}")
        return found[0]

    def assertErrorCode(self, code, fn, **kwargs):
        with self.assertRaises(ClientError, msg=f"expected {code}") as cm:
            fn(**kwargs)
        err = cm.exception.response.get("Error", {})
        self.assertEqual(err.get("Code"), code, f"wrong error code; response error = {err!r}")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        return cm.exception


class SuccessTest(ActivityE2E):

    def test_worker_gets_state_input_and_send_task_success_output_ends_execution(self):
        act = self.make_activity()
        sm = self.make_machine(act, TimeoutSeconds=30, HeartbeatSeconds=20)
        state_input = {"name": "ada", "nested": {"list": [1, 2.5, "x", None, True]}}
        ex = self.start(sm, state_input)

        task = self.take(act, "worker-one")
        self.assertEqual(json.loads(task["input"]), state_input)
        output = {"greeting": "hello ADA", "n": 7}
        self.sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps(output))

        d = self.wait_done(ex)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), output)

        events = self.history(ex)
        self.assertEqual(self.types(events), [
            "ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted",
            "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded"])
        ids = [e["id"] for e in events]
        self.assertEqual(ids, sorted(ids))
        scheduled = self.event(events, "ActivityScheduled")["activityScheduledEventDetails"]
        self.assertEqual(scheduled["resource"], act)
        self.assertEqual(json.loads(scheduled["input"]), state_input)
        self.assertIn("inputDetails", scheduled)
        self.assertEqual(scheduled.get("timeoutInSeconds"), 30)
        self.assertEqual(scheduled.get("heartbeatInSeconds"), 20)
        started = self.event(events, "ActivityStarted").get("activityStartedEventDetails", {})
        self.assertEqual(started.get("workerName"), "worker-one")
        succeeded = self.event(events, "ActivitySucceeded")["activitySucceededEventDetails"]
        self.assertEqual(json.loads(succeeded["output"]), output)
        self.assertIn("outputDetails", succeeded)


class FailureTest(ActivityE2E):

    def test_send_task_failure_caught_by_catch_puts_error_and_cause_in_output(self):
        act = self.make_activity()
        defn = definition({
            "Work": {"Type": "Task", "Resource": act, "Next": "Done",
                     "Catch": [{"ErrorEquals": ["Custom.Rejected"], "ResultPath": "$.err",
                                "Next": "Handled"}]},
            "Done": {"Type": "Succeed"},
            "Handled": {"Type": "Pass", "End": True},
        })
        sm = self.sfn.create_state_machine(name=uniq("sm"), definition=defn,
                                           roleArn=ROLE_ARN)["stateMachineArn"]
        ex = self.start(sm, {"order": 42})
        task = self.take(act, "w")
        self.sfn.send_task_failure(taskToken=task["taskToken"], error="Custom.Rejected",
                                   cause="not today")
        d = self.wait_done(ex)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]),
                         {"order": 42, "err": {"Error": "Custom.Rejected", "Cause": "not today"}})
        events = self.history(ex)
        failed = self.event(events, "ActivityFailed")["activityFailedEventDetails"]
        self.assertEqual((failed.get("error"), failed.get("cause")),
                         ("Custom.Rejected", "not today"))
        self.assertIn("PassStateEntered", self.types(events))

    def test_send_task_failure_uncaught_fails_execution_with_that_error_and_cause(self):
        act = self.make_activity()
        sm = self.make_machine(act)
        ex = self.start(sm, {"x": 1})
        task = self.take(act, "w")
        self.sfn.send_task_failure(taskToken=task["taskToken"], error="Custom.Broken",
                                   cause="the widget fell over")
        d = self.wait_done(ex)
        self.assertEqual(d["status"], "FAILED", d)
        self.assertEqual((d.get("error"), d.get("cause")), ("Custom.Broken", "the widget fell over"))
        events = self.history(ex)
        self.assertEqual(self.types(events)[-3:],
                         ["ActivityStarted", "ActivityFailed", "ExecutionFailed"])
        failed = self.event(events, "ActivityFailed")["activityFailedEventDetails"]
        self.assertEqual((failed.get("error"), failed.get("cause")),
                         ("Custom.Broken", "the widget fell over"))
        ef = self.event(events, "ExecutionFailed")["executionFailedEventDetails"]
        self.assertEqual((ef.get("error"), ef.get("cause")), ("Custom.Broken", "the widget fell over"))


    def test_task_on_a_deleted_activity_fails_at_once_with_states_runtime(self):
        act = self.make_activity()
        defn = definition({
            "Work": {"Type": "Task", "Resource": act, "End": True,
                     "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
            "Caught": {"Type": "Pass", "End": True},
        })
        sm = self.sfn.create_state_machine(name=uniq("sm"), definition=defn,
                                           roleArn=ROLE_ARN)["stateMachineArn"]
        self.sfn.delete_activity(activityArn=act)
        ex = self.start(sm, {"x": 1})
        d = self.wait_done(ex, timeout=10)
        # As AWS: a runtime error of the state, which States.ALL does not catch.
        self.assertEqual(d["status"], "FAILED", d)
        self.assertEqual(d.get("error"), "States.Runtime")
        self.assertEqual(d.get("cause"),
                         "An error occurred while executing the state 'Work' (entered at the "
                         f"event id #2). The activity {act} does not exist.")
        self.assertNotIn("PassStateEntered", self.types(self.history(ex)))


class HeartbeatTest(ActivityE2E):

    def test_heartbeats_every_second_keep_a_task_alive_past_heartbeat_seconds(self):
        act = self.make_activity()
        sm = self.make_machine(act, HeartbeatSeconds=2, TimeoutSeconds=30)
        ex = self.start(sm, {"slow": True})
        task = self.take(act, "steady")
        t0 = time.monotonic()
        beats = 0
        while time.monotonic() - t0 < 5.0:
            time.sleep(1.0)
            self.sfn.send_task_heartbeat(taskToken=task["taskToken"])
            beats += 1
            d = self.sfn.describe_execution(executionArn=ex)
            self.assertEqual(d["status"], "RUNNING",
                             f"after {time.monotonic() - t0:.1f}s and {beats} heartbeats: {d}")
        self.sfn.send_task_success(taskToken=task["taskToken"], output='{"after": "beats"}')
        d = self.wait_done(ex)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), {"after": "beats"})
        self.assertNotIn("ActivityTimedOut", self.types(self.history(ex)))

    def test_worker_that_stops_heartbeating_fails_the_task_with_states_timeout(self):
        act = self.make_activity()
        sm = self.make_machine(act, HeartbeatSeconds=2, TimeoutSeconds=30)
        ex = self.start(sm, {"slow": True})
        task = self.take(act, "quiet")
        t0 = time.monotonic()
        d = self.wait_done(ex, timeout=10)
        elapsed = time.monotonic() - t0
        self.assertEqual(d["status"], "FAILED", d)
        self.assertEqual(d.get("error"), "States.Timeout", d)
        self.assertGreater(elapsed, 1.5, "timed out before HeartbeatSeconds passed")
        self.assertLess(elapsed, 6.0, "HeartbeatSeconds 2 took too long to fire")
        events = self.history(ex)
        self.assertEqual(self.types(events, "Activity"),
                         ["ActivityScheduled", "ActivityStarted", "ActivityTimedOut"])
        timed_out = self.event(events, "ActivityTimedOut").get("activityTimedOutEventDetails", {})
        self.assertEqual(timed_out.get("error"), "States.Timeout")
        self.assertEqual(self.types(events)[-1], "ExecutionFailed")
        # The worker that comes back late is told so.
        self.assertErrorCode("TaskTimedOut", self.sfn.send_task_success,
                             taskToken=task["taskToken"], output="{}")


class TimeoutTest(ActivityE2E):

    def test_timeout_seconds_without_worker_fails_and_stale_task_is_never_handed_out(self):
        act = self.make_activity()
        sm = self.make_machine(act, TimeoutSeconds=2)
        t0 = time.monotonic()
        ex = self.start(sm, {"which": "stale"})
        d = self.wait_done(ex, timeout=10)
        elapsed = time.monotonic() - t0
        self.assertEqual(d["status"], "FAILED", d)
        self.assertEqual(d.get("error"), "States.Timeout", d)
        self.assertGreater(elapsed, 1.5)
        events = self.history(ex)
        self.assertEqual(self.types(events, "Activity"), ["ActivityScheduled", "ActivityTimedOut"])
        self.assertEqual(self.event(events, "ActivityTimedOut")
                         .get("activityTimedOutEventDetails", {}).get("error"), "States.Timeout")

        # A worker arriving late long-polls: the timed-out task must not be handed to it.
        # It must still be waiting after 1.5 s; a new execution then wakes it, with that
        # execution's task (had the stale task still been queued, it would have come first).
        poll = Poll(self.server.client(), act, "late")
        self.assertFalse(poll.wait(1.5),
                         f"a late poller got something: result={poll.result!r} "
                         f"error={poll.error!r}")
        sm2 = self.make_machine(act)
        ex2 = self.start(sm2, {"which": "fresh"})
        self.assertTrue(poll.wait(5), "a waiting poller was not given the new task")
        self.assertIsNone(poll.error)
        self.assertEqual(json.loads(poll.result["input"]), {"which": "fresh"})
        self.sfn.send_task_success(taskToken=poll.result["taskToken"], output='{"ok": true}')
        self.assertEqual(self.wait_done(ex2)["status"], "SUCCEEDED")


class AbandonedPollTest(ActivityE2E):

    def test_task_is_not_given_to_pollers_that_hung_up(self):
        # Three workers give up on their long polls (client read timeout 1 s: the client
        # closes the connection). A task queued afterwards must go to the live poller, not
        # vanish into a closed connection until TimeoutSeconds.
        act = self.make_activity()
        impatient = self.client(read_timeout=1)
        for k in range(3):
            with self.assertRaises(botocore.exceptions.ReadTimeoutError):
                impatient.get_activity_task(activityArn=act, workerName=f"gone-{k}")
        time.sleep(0.3)
        ex = self.start(self.make_machine(act, TimeoutSeconds=20), {"for": "live"})
        task = self.take(act, "live", timeout=5)
        self.assertEqual(json.loads(task["input"]), {"for": "live"})
        events = self.history(ex)
        self.assertEqual(self.event(events, "ActivityStarted")["activityStartedEventDetails"]
                         .get("workerName"), "live")
        self.sfn.send_task_success(taskToken=task["taskToken"], output="{}")
        self.assertEqual(self.wait_done(ex)["status"], "SUCCEEDED")


class TokenTest(ActivityE2E):

    def finished_task_token(self):
        act = self.make_activity()
        ex = self.start(self.make_machine(act), {})
        task = self.take(act, "w")
        self.sfn.send_task_success(taskToken=task["taskToken"], output="{}")
        self.assertEqual(self.wait_done(ex)["status"], "SUCCEEDED")
        return task["taskToken"]

    def test_reusing_a_token_after_success_is_task_timed_out(self):
        token = self.finished_task_token()
        self.assertErrorCode("TaskTimedOut", self.sfn.send_task_success,
                             taskToken=token, output='{"again": true}')
        self.assertErrorCode("TaskTimedOut", self.sfn.send_task_failure,
                             taskToken=token, error="Late", cause="too late")

    def test_send_task_heartbeat_with_finished_tasks_token_is_task_timed_out(self):
        token = self.finished_task_token()
        self.assertErrorCode("TaskTimedOut", self.sfn.send_task_heartbeat, taskToken=token)

    def test_garbage_or_forged_token_is_invalid_token(self):
        # A real, still open token, to forge from.
        act = self.make_activity()
        ex = self.start(self.make_machine(act), {})
        real = self.take(act, "w")["taskToken"]
        head, _, sig = real.rpartition(".")
        forged = []
        if head:
            flipped = ("A" if sig[:1] != "A" else "B") + sig[1:]
            forged.append(("signature changed", f"{head}.{flipped}"))
        else:
            forged.append(("last char changed", real[:-1] + ("A" if real[-1] != "A" else "B")))
        garbage = [("garbage", "garbage"), ("random base64",
                   base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("="))]
        for label, token in garbage + forged:
            for call, extra in ((self.sfn.send_task_success, {"output": "{}"}),
                                (self.sfn.send_task_failure, {"error": "E"}),
                                (self.sfn.send_task_heartbeat, {})):
                with self.subTest(token=label, call=call.__name__):
                    self.assertErrorCode("InvalidToken", call, taskToken=token, **extra)
        # None of that touched the real task.
        self.assertEqual(self.sfn.describe_execution(executionArn=ex)["status"], "RUNNING")
        self.sfn.send_task_success(taskToken=real, output='{"real": 1}')
        self.assertEqual(json.loads(self.wait_done(ex)["output"]), {"real": 1})


class ManyPollersTest(ActivityE2E):
    N = 200

    def test_200_long_polls_do_not_block_the_api_and_get_200_distinct_tasks(self):
        act = self.make_activity()
        sm = self.make_machine(act)
        pollers_client = self.server.client(max_pool_connections=self.N + 16)
        polls = []
        for i in range(self.N):
            polls.append(Poll(pollers_client, act, f"p{i:03d}"))
        for p in polls:
            self.assertTrue(p.called.wait(10))
        time.sleep(1.0)   # let every request reach the server and park there
        early = [(p.result, p.error) for p in polls if p.done.is_set()]
        self.assertEqual(early, [], "pollers returned before any task existed")

        # The API stays responsive with 200 requests parked.
        api = self.server.client()
        slowest = 0.0
        for _ in range(10):
            for call, args in ((api.describe_activity, {"activityArn": act}),
                               (api.list_state_machines, {"maxResults": 10})):
                t0 = time.monotonic()
                call(**args)
                took = time.monotonic() - t0
                slowest = max(slowest, took)
                self.assertLess(took, 2.0, f"{call.__name__} took {took:.2f}s with "
                                           f"{self.N} pollers waiting")

        executions = [self.start(sm, {"i": i}) for i in range(self.N)]
        deadline = time.monotonic() + 20
        for p in polls:
            p.wait(max(0.0, deadline - time.monotonic()))
        waiting = sum(1 for p in polls if not p.done.is_set())
        errors = [repr(p.error) for p in polls if p.error is not None]
        self.assertEqual((waiting, errors[:5]), (0, []),
                         f"{waiting} pollers still waiting, {len(errors)} errors; "
                         f"log:\n{self.server.log_tail()}")
        tokens = [p.result.get("taskToken") for p in polls]
        self.assertTrue(all(tokens), "a poller got an empty answer")
        self.assertEqual(len(set(tokens)), self.N, "a token was handed out twice")
        inputs = sorted(json.loads(p.result["input"])["i"] for p in polls)
        self.assertEqual(inputs, list(range(self.N)), "each task must go to exactly one poller")

        def succeed(p):
            i = json.loads(p.result["input"])["i"]
            pollers_client.send_task_success(taskToken=p.result["taskToken"],
                                             output=json.dumps({"i": i, "done": True}))
        with cf.ThreadPoolExecutor(8) as pool:
            list(pool.map(succeed, polls))

        def all_succeeded():
            done = paginate(self.sfn.list_executions, "executions", stateMachineArn=sm,
                            statusFilter="SUCCEEDED")
            return len(done) == self.N
        wait_until(all_succeeded, timeout=30, interval=0.2, what="200 executions to succeed")
        for i, ex in enumerate(executions):
            d = self.sfn.describe_execution(executionArn=ex)
            self.assertEqual(json.loads(d["output"]), {"i": i, "done": True})
        # Spot-check histories: one ActivityStarted each.
        for ex in executions[::40]:
            self.assertEqual(self.types(self.history(ex), "Activity"),
                             ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"])


class CrashTest(ActivityE2E):
    """SIGKILL the server with activity tasks open; each test has its own server."""

    @property
    def server(self):
        return self._server

    def setUp(self):
        self._server = srv.PassoServer().start()

    def tearDown(self):
        self._server.cleanup()

    def scheduled(self, ex):
        return wait_until(lambda: "ActivityScheduled" in self.types(self.history(ex)),
                          timeout=10, what="ActivityScheduled")

    def test_queued_task_is_handed_out_after_kill_and_restart(self):
        act = self.make_activity()
        sm = self.make_machine(act, TimeoutSeconds=60)
        ex = self.start(sm, {"survives": "crash"})
        self.scheduled(ex)
        self.server.kill()
        self.server.start()
        task = self.take(act, "after-crash")
        self.assertEqual(json.loads(task["input"]), {"survives": "crash"})
        self.sfn.send_task_success(taskToken=task["taskToken"], output='{"done": 1}')
        d = self.wait_done(ex)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), {"done": 1})
        events = self.history(ex)
        self.assertEqual(self.types(events).count("ActivityStarted"), 1, self.types(events))
        self.assertEqual(self.event(events, "ActivityStarted")["activityStartedEventDetails"]
                         .get("workerName"), "after-crash")
        self.assertEqual(self.types(events)[-1], "ExecutionSucceeded")

    def test_token_taken_before_kill_still_works_after_restart(self):
        act = self.make_activity()
        sm = self.make_machine(act, TimeoutSeconds=60, HeartbeatSeconds=30)
        ex = self.start(sm, {"held": "across crash"})
        task = self.take(act, "before-crash")
        self.server.kill()
        self.server.start()
        self.sfn.send_task_heartbeat(taskToken=task["taskToken"])
        self.sfn.send_task_success(taskToken=task["taskToken"], output='{"reported": "late"}')
        d = self.wait_done(ex)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), {"reported": "late"})
        events = self.history(ex)
        self.assertEqual(self.types(events, "Activity"),
                         ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"])
        self.assertEqual(self.types(events)[-1], "ExecutionSucceeded")


class ExampleWorkerTest(ActivityE2E):
    """examples/activity-worker/worker.py as a subprocess, with review.asl.json unchanged
    (it names the activity `review` in the server's default account and region)."""

    @classmethod
    def setUpClass(cls):
        sfn = SERVER.client()
        cls.activity = sfn.create_activity(name="review")["activityArn"]
        with open(os.path.join(WORKER_DIR, "review.asl.json")) as f:
            defn = f.read()
        assert cls.activity in defn, (cls.activity, "not in review.asl.json")
        cls.machine = sfn.create_state_machine(name="review", definition=defn,
                                               roleArn=ROLE_ARN)["stateMachineArn"]

    def run_worker(self, name):
        proc = subprocess.Popen(
            [sys.executable, os.path.join(WORKER_DIR, "worker.py"),
             "--endpoint-url", self.server.endpoint, "--activity-arn", self.activity,
             "--worker-name", name, "--heartbeat-interval", "1"],
            env=srv.cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(self.reap, proc)
        line = proc.stdout.readline()   # "[worker] NAME polling ARN" once it is up
        self.assertIn("polling", line, f"worker did not start: {line!r}")
        return proc

    def read_until(self, proc, text, timeout):
        """The worker's output up to and including the first line holding `text`."""
        lines = []
        def reader():
            for line in proc.stdout:
                lines.append(line)
                if text in line:
                    return
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        seen = "".join(lines)
        self.assertIn(text, seen, f"the worker did not print {text!r} in {timeout} s")
        return seen

    def reap(self, proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()

    def stop_worker(self, proc):
        """Ctrl-C; the worker must exit 0 promptly. Returns what it printed."""
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            self.fail(f"worker ignored Ctrl-C:\n{out}")
        self.assertEqual(proc.returncode, 0, out)
        return out

    def test_example_worker_approves_and_rejects_through_review_machine(self):
        proc = self.run_worker("e2e-reviewer")
        ok = self.start(self.machine, {"name": "ada", "workSeconds": 1.5})
        bad = self.start(self.machine, {"nickname": "ada"})
        d_ok, d_bad = self.wait_done(ok), self.wait_done(bad)
        out = self.stop_worker(proc)

        self.assertEqual(d_ok["status"], "SUCCEEDED", (d_ok, out))
        self.assertEqual(json.loads(d_ok["output"]),
                         {"status": "approved",
                          "review": {"name": "ADA", "reviewedBy": "e2e-reviewer"}}, out)
        events = self.history(ok)
        self.assertEqual(self.types(events, "Activity"),
                         ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"])
        self.assertEqual(self.event(events, "ActivityStarted")["activityStartedEventDetails"]
                         .get("workerName"), "e2e-reviewer")

        self.assertEqual(d_bad["status"], "SUCCEEDED", (d_bad, out))
        rejected = json.loads(d_bad["output"])
        self.assertEqual(rejected["status"], "rejected", out)
        self.assertEqual(rejected["error"], "Review.InvalidInput")
        self.assertIn("name", rejected["cause"])

    def test_example_worker_ctrl_c_mid_task_fails_the_task_with_worker_interrupted(self):
        proc = self.run_worker("e2e-interrupted")
        ex = self.start(self.machine, {"name": "bob", "workSeconds": 30})
        # Wait for the worker's own word that it holds the task: the server records
        # ActivityStarted before the worker has read the response, and a Ctrl-C in between
        # would end the worker while it still polls (the task then waits for its timeout).
        seen = self.read_until(proc, "task received", timeout=10)
        out = seen + self.stop_worker(proc)
        d = self.wait_done(ex, timeout=5)
        self.assertEqual(d["status"], "FAILED", (d, out))
        self.assertEqual(d.get("error"), "Worker.Interrupted", (d, out))
        self.assertIn("e2e-interrupted", d.get("cause", ""))

    def test_example_worker_exits_cleanly_on_ctrl_c_while_polling(self):
        proc = self.run_worker("e2e-idle")
        time.sleep(0.5)   # inside the GetActivityTask long poll by now
        out = self.stop_worker(proc)
        self.assertIn("interrupted", out)
        self.assertNotIn("Traceback", out)


if __name__ == "__main__":
    unittest.main()
