#!/usr/bin/env python3
"""A small Step Functions activity worker for `passo server` (or AWS itself).

It long-polls GetActivityTask on one activity, "reviews" each task's input and reports the
result back with SendTaskSuccess, or SendTaskFailure when the input is no good. While a task is
being worked on, a background thread sends SendTaskHeartbeat so that a Task state with
HeartbeatSeconds does not time out during long work.

The work: the input must be an object with a string "name"; the output is
    {"name": NAME_UPPERCASED, "reviewedBy": WORKER_NAME}
An optional number "workSeconds" in the input makes the work take that long (to see the
heartbeats). An input without a "name" fails the task with the error "Review.InvalidInput".

    python worker.py --endpoint-url http://127.0.0.1:8083 \
        --activity-arn arn:aws:states:us-east-1:123456789012:activity:review

Ctrl-C (or SIGTERM) stops it: a task in hand is failed with "Worker.Interrupted" (so its
execution need not wait for a timeout) and the worker exits with status 0.
"""

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


class InvalidInput(Exception):
    """The task's input cannot be reviewed; reported as the error Review.InvalidInput."""

    error = "Review.InvalidInput"


def log(message):
    print(f"[worker] {message}", flush=True)


def review(task_input, worker_name):
    """The actual work. Raises InvalidInput for an input it cannot handle."""
    name = task_input.get("name") if isinstance(task_input, dict) else None
    if not isinstance(name, str):
        raise InvalidInput('the input needs a string field "name"')
    time.sleep(float(task_input.get("workSeconds", 0)))   # stands in for slow, real work
    return {"name": name.upper(), "reviewedBy": worker_name}


class Heartbeat:
    """Sends SendTaskHeartbeat every `interval` seconds until stopped (a `with` block)."""

    def __init__(self, sfn, task_token, interval):
        self.sfn, self.task_token, self.interval = sfn, task_token, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.sfn.send_task_heartbeat(taskToken=self.task_token)
            except ClientError as e:
                # TaskTimedOut: the execution gave up on this task (timed out, stopped...).
                log(f"heartbeat refused ({e.response['Error']['Code']}); stopping heartbeats")
                return
            except BotoCoreError as e:
                log(f"heartbeat failed ({e}); will retry")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


def handle(sfn, task, worker_name, heartbeat_interval):
    """Work on one task and report its result."""
    token = task["taskToken"]
    try:
        log("task received; working")
        with Heartbeat(sfn, token, heartbeat_interval):
            output = review(json.loads(task["input"]), worker_name)
    except KeyboardInterrupt:
        report(sfn.send_task_failure, taskToken=token, error="Worker.Interrupted",
               cause=f"worker {worker_name} was stopped")
        raise
    except Exception as e:  # any failure of the work is reported, not fatal to the worker
        error = getattr(e, "error", "Worker." + type(e).__name__)
        log(f"task failed: {error}: {e}")
        report(sfn.send_task_failure, taskToken=token, error=error, cause=str(e))
        return
    log(f"task done: {json.dumps(output)}")
    report(sfn.send_task_success, taskToken=token, output=json.dumps(output))


def report(call, **args):
    try:
        call(**args)
    except ClientError as e:
        # TaskTimedOut: too late, the task is no longer open. Nothing to do but carry on.
        log(f"result not accepted: {e.response['Error']['Code']}: "
            f"{e.response['Error'].get('Message', '')}")


def stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt   # `kill` and container stops end the worker like Ctrl-C does


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint-url", required=True,
                        help="the Step Functions endpoint, e.g. http://127.0.0.1:8083")
    parser.add_argument("--activity-arn", required=True, help="the activity to work for")
    parser.add_argument("--worker-name", default=f"{socket.gethostname()}-{os.getpid()}",
                        help="shown in the ActivityStarted history event")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--heartbeat-interval", type=float, default=10.0,
                        help="seconds between heartbeats while working (default 10)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)

    # GetActivityTask holds the request open for up to 60 s when there is no task: the read
    # timeout must be longer than that.
    sfn = boto3.client("stepfunctions", endpoint_url=args.endpoint_url, region_name=args.region,
                       config=Config(read_timeout=70, retries={"max_attempts": 3}))
    log(f"{args.worker_name} polling {args.activity_arn}")
    try:
        while True:
            try:
                task = sfn.get_activity_task(activityArn=args.activity_arn,
                                             workerName=args.worker_name)
            except (ClientError, BotoCoreError) as e:
                log(f"GetActivityTask failed: {e}; retrying in 2 s")
                time.sleep(2)
                continue
            if not task.get("taskToken"):
                continue   # the long poll ended without a task: poll again
            handle(sfn, task, args.worker_name, args.heartbeat_interval)
    except KeyboardInterrupt:
        log("interrupted; bye")
        return 0


if __name__ == "__main__":
    sys.exit(main())
