"""Crash recovery: SIGKILL `passo server` while ~300 Standard executions are in flight, restart
it on the same data dir, and check every execution finishes exactly once.

For each execution: status SUCCEEDED with the right output, exactly one ExecutionStarted and
one ExecutionSucceeded event (the last), contiguous event ids, and every state of its machine
entered exactly once (no state re-run after recovery, none skipped). list_executions agrees.
"""

import collections
import concurrent.futures as cf
import json
import threading
import time
import unittest
import uuid

import botocore.exceptions
from botocore.exceptions import ClientError

import server as srv
from server import ROLE_ARN, definition, paginate, pass_chain

N_PER_MACHINE = 150          # 300 executions in all
START_THREADS = 6
FINISH_TIMEOUT_S = 240


def waiter_definition():
    """Wait 2-3 s (from the input), then a chain of five Pass states."""
    states = {"Hold": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "A1"}}
    for i in range(1, 6):
        states[f"A{i}"] = {"Type": "Pass", "Next": f"A{i + 1}"} if i < 5 else {
            "Type": "Pass", "Result": True, "ResultPath": "$.done", "End": True}
    return definition(states, start_at="Hold"), ["Hold"] + [f"A{i}" for i in range(1, 6)]


class Tracked:
    """What the test knows about one execution it started."""

    def __init__(self, machine, name, input_, expected_states):
        self.machine = machine
        self.name = name
        self.input = input_
        self.expected_states = expected_states
        self.arn = None


class CrashTest(unittest.TestCase):

    def setUp(self):
        self.server = srv.PassoServer().start()
        self.sfn = self.server.client()

    def tearDown(self):
        self.server.cleanup()

    # -- helpers ---------------------------------------------------------------------------

    def make_machines(self):
        suffix = uuid.uuid4().hex[:8]
        wdef, wstates = waiter_definition()
        cdef, cstates = pass_chain(20, wait_at=11, wait_seconds=1)
        self.assertEqual(len(cstates), 20)
        waiter = self.sfn.create_state_machine(name=f"crash-waiter-{suffix}", definition=wdef,
                                               roleArn=ROLE_ARN)["stateMachineArn"]
        chain = self.sfn.create_state_machine(name=f"crash-chain-{suffix}", definition=cdef,
                                              roleArn=ROLE_ARN)["stateMachineArn"]
        return (waiter, wstates), (chain, cstates)

    def plan(self, n_per_machine):
        (waiter, wstates), (chain, cstates) = self.make_machines()
        todo = []
        for i in range(n_per_machine):
            todo.append(Tracked(waiter, f"w-{i:04d}", {"i": i, "wait": 2 + i % 2}, wstates))
            todo.append(Tracked(chain, f"c-{i:04d}", {"i": i}, cstates))
        return waiter, chain, todo

    def start_all(self, todo, stop_event=None, on_started=None):
        """Start every tracked execution from START_THREADS threads. Returns the list of
        (tracked, exception) for starts that failed."""
        clients = [self.server.client() for _ in range(START_THREADS)]
        failures, lock = [], threading.Lock()

        def worker(k):
            for t in todo[k::START_THREADS]:
                if stop_event is not None and stop_event.is_set():
                    with lock:
                        failures.append((t, "not attempted"))
                    continue
                try:
                    t.arn = clients[k].start_execution(
                        stateMachineArn=t.machine, name=t.name,
                        input=json.dumps(t.input))["executionArn"]
                    if on_started:
                        on_started()
                except (ClientError, botocore.exceptions.BotoCoreError) as e:
                    with lock:
                        failures.append((t, e))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(START_THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return failures

    def count(self, machine, status=None, strict=True):
        """How many executions list_executions shows (pages of 100). With strict, a page
        walk that shows one execution twice fails the test; while executions are changing
        status (before the kill) that is only counted, not judged."""
        args = {"stateMachineArn": machine, "maxResults": 100}
        if status:
            args["statusFilter"] = status
        arns = [e["executionArn"] for e in paginate(self.sfn.list_executions, "executions", **args)]
        if strict:
            self.assertEqual(len(arns), len(set(arns)), "list_executions repeats an execution")
        return len(set(arns))

    def wait_all_succeeded(self, tracked):
        pending = {t.arn: t for t in tracked}
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        bad = {}
        while pending and time.monotonic() < deadline:
            for arn in list(pending):
                d = self.sfn.describe_execution(executionArn=arn)
                if d["status"] == "RUNNING":
                    continue
                t = pending.pop(arn)
                if d["status"] != "SUCCEEDED":
                    bad[t.name] = (d["status"], d.get("error"), d.get("cause"))
                    continue
                expected = dict(t.input, done=True)
                if json.loads(d["output"]) != expected:
                    bad[t.name] = ("wrong output", d["output"], expected)
            if pending:
                time.sleep(0.5)
        self.assertEqual(bad, {}, "executions that did not succeed correctly")
        self.assertEqual(sorted(t.name for t in pending.values()), [],
                         f"still RUNNING {FINISH_TIMEOUT_S}s after the restart")

    def history(self, client, arn):
        return paginate(client.get_execution_history, "events", executionArn=arn,
                        maxResults=1000, includeExecutionData=False)

    def check_histories(self, tracked):
        clients = [self.server.client() for _ in range(4)]

        def problems(idx_t):
            idx, t = idx_t
            events = self.history(clients[idx % len(clients)], t.arn)
            out = []
            types = collections.Counter(e["type"] for e in events)
            if types["ExecutionStarted"] != 1:
                out.append(f"{types['ExecutionStarted']} ExecutionStarted events")
            if types["ExecutionSucceeded"] != 1:
                out.append(f"{types['ExecutionSucceeded']} ExecutionSucceeded events")
            if events and events[-1]["type"] != "ExecutionSucceeded":
                out.append(f"last event is {events[-1]['type']}")
            ids = [e["id"] for e in events]
            if ids != list(range(1, len(events) + 1)):
                out.append(f"event ids not 1..{len(events)}: {ids}")
            entered = collections.Counter(
                e["stateEnteredEventDetails"]["name"] for e in events
                if e["type"].endswith("StateEntered"))
            twice = sorted(n for n, c in entered.items() if c != 1)
            if twice:
                out.append(f"states entered more than once: {twice}")
            if set(entered) != set(t.expected_states):
                missing = sorted(set(t.expected_states) - set(entered))
                extra = sorted(set(entered) - set(t.expected_states))
                out.append(f"states missing {missing} / unexpected {extra}")
            exited = collections.Counter(
                e["stateExitedEventDetails"]["name"] for e in events
                if e["type"].endswith("StateExited"))
            if exited != collections.Counter(t.expected_states):
                out.append(f"exited counts {dict(exited)}")
            return t.name, out

        with cf.ThreadPoolExecutor(max_workers=len(clients)) as pool:
            found = {name: p for name, p in pool.map(problems, enumerate(tracked)) if p}
        self.assertEqual(found, {}, f"{len(found)} executions with a broken history")

    # -- the tests -------------------------------------------------------------------------

    def test_kill_9_while_300_executions_run(self):
        waiter, chain, todo = self.plan(N_PER_MACHINE)
        t0 = time.monotonic()
        failures = self.start_all(todo)
        self.assertEqual([(t.name, repr(e)) for t, e in failures], [],
                         "StartExecution failed before the crash")
        # Kill at a moment when the chain machine's executions (1 s Wait) started first may be
        # done while the waiter's (2-3 s) are mid-Wait: finished, waiting and not-yet-started
        # executions all go through the restart.
        time.sleep(max(0.0, 1.3 - (time.monotonic() - t0)))
        running = (self.count(waiter, "RUNNING", strict=False)
                   + self.count(chain, "RUNNING", strict=False))
        done = (self.count(waiter, "SUCCEEDED", strict=False)
                + self.count(chain, "SUCCEEDED", strict=False))
        # Otherwise the crash would test nothing: the waiter machine alone holds 2-3 s.
        self.assertGreater(running, 0, "no execution was running at the time of the kill")

        self.server.kill()
        self.server.start()
        self.sfn = self.server.client()

        self.wait_all_succeeded(todo)
        self.check_histories(todo)
        for machine in (waiter, chain):
            self.assertEqual(self.count(machine), N_PER_MACHINE)
            self.assertEqual(self.count(machine, "SUCCEEDED"), N_PER_MACHINE)
            self.assertEqual(self.count(machine, "RUNNING"), 0)
            self.assertEqual(self.count(machine, "FAILED"), 0)
        print(f"\n[crash] at the kill: {running} RUNNING, {done} SUCCEEDED "
              f"of {2 * N_PER_MACHINE}")

    def test_kill_9_during_starts_keeps_every_acknowledged_start(self):
        n = 50
        waiter, chain, todo = self.plan(n)
        started = [0]
        lock = threading.Lock()
        stop = threading.Event()
        killed = threading.Event()

        def on_started():
            with lock:
                started[0] += 1
                if started[0] == n and not killed.is_set():
                    killed.set()
                    self.server.kill()  # while the other threads are mid-request
                    stop.set()

        self.start_all(todo, stop_event=stop, on_started=on_started)
        self.assertTrue(killed.is_set(), "the server was never killed")
        self.server.start()
        self.sfn = self.server.client()

        acknowledged = [t for t in todo if t.arn]
        self.assertGreaterEqual(len(acknowledged), n)
        recovered_unacked = 0
        self.wait_all_succeeded(acknowledged)
        self.check_histories(acknowledged)

        # Starts that were in flight at the kill may or may not exist; if one does it must
        # have run exactly once too. Nothing else may exist.
        known = {t.name: t for t in todo}
        for machine in (waiter, chain):
            listed = paginate(self.sfn.list_executions, "executions", stateMachineArn=machine)
            acked_here = {t.arn for t in acknowledged if t.machine == machine}
            self.assertLessEqual(acked_here, {e["executionArn"] for e in listed})
            extra = []
            for e in listed:
                if e["executionArn"] in acked_here:
                    continue
                self.assertIn(e["name"], known, f"an execution nobody started: {e}")
                t = known[e["name"]]
                self.assertEqual(t.machine, machine)
                t.arn = e["executionArn"]
                extra.append(t)
            if extra:
                self.wait_all_succeeded(extra)
                self.check_histories(extra)
            recovered_unacked += len(extra)
        print(f"\n[crash] {len(acknowledged)} starts acknowledged before/at the kill, "
              f"{recovered_unacked} unacknowledged in-flight starts found after restart")


if __name__ == "__main__":
    unittest.main(verbosity=2)
