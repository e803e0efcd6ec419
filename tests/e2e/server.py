"""Start, stop, crash and restart a real `passo server` for the end-to-end tests, and make
clients (boto3 and the aws CLI v1) that talk to it.

The binary is taken from the environment variable PASSO_BIN (default: target/release/passo,
then target/debug/passo, relative to the repository root). Each `PassoServer` gets a free
loopback port and a fresh temporary `--data-dir`; `kill()` + `start()` restarts it on the same
data dir (and, if it can, the same port), which is what the crash test needs.

Only loopback addresses are ever used.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import boto3
from botocore.config import Config

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/passo-e2e"
START_TIMEOUT_S = float(os.environ.get("PASSO_START_TIMEOUT", "30"))


def passo_bin():
    """The binary under test: $PASSO_BIN, else the release build, else the debug build."""
    explicit = os.environ.get("PASSO_BIN")
    if explicit:
        return os.path.abspath(explicit)
    for profile in ("release", "debug"):
        candidate = os.path.join(REPO_ROOT, "target", profile, "passo")
        if os.path.exists(candidate):
            return candidate
    return os.path.join(REPO_ROOT, "target", "release", "passo")


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port, timeout=0.2):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class ServerError(RuntimeError):
    pass


class PassoServer:
    """One `passo server` process bound to 127.0.0.1 with its own data dir.

    Use as a context manager, or call start()/stop(). `kill()` sends SIGKILL (a crash: no
    shutdown code runs); `start()` again reuses the same data dir.
    """

    def __init__(self, binary=None, data_dir=None, extra_args=()):
        self.binary = binary or passo_bin()
        self._tmp = tempfile.mkdtemp(prefix="passo-e2e-")
        self.data_dir = data_dir or os.path.join(self._tmp, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.extra_args = list(extra_args)
        self.port = None
        self.proc = None
        self.starts = 0
        self._log = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self):
        return os.path.join(self._tmp, f"server-{self.starts}.log")

    def start(self, same_port=True):
        """Start the server (again) on the same data dir and wait until its port answers."""
        if self.proc is not None and self.proc.poll() is None:
            raise ServerError("server already running")
        if not os.path.exists(self.binary):
            raise ServerError(f"passo binary not found: {self.binary} (set PASSO_BIN)")
        if self.port is None or not same_port:
            self.port = free_port()
        elif port_answers(self.port):
            # Someone else took the port while we were down: move.
            self.port = free_port()
        self.starts += 1
        self._log = open(self.log_path, "wb")
        cmd = [self.binary, "server", "--listen", f"127.0.0.1:{self.port}",
               "--data-dir", self.data_dir, *self.extra_args]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(
                    f"passo server exited with {self.proc.returncode} before listening:\n"
                    + self.log_tail())
            if port_answers(self.port):
                return self
            time.sleep(0.05)
        self.kill()
        raise ServerError(f"passo server did not listen on {self.port} within "
                          f"{START_TIMEOUT_S}s:\n" + self.log_tail())

    def stop(self, grace_s=10.0):
        """SIGTERM, then SIGKILL if it has not exited after `grace_s` seconds."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self._reap()

    def kill(self):
        """SIGKILL (kill -9): a crash, no graceful shutdown."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return self._reap()

    def restart_after_crash(self):
        self.kill()
        return self.start()

    def _reap(self):
        code = self.proc.returncode
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None
        return code

    def cleanup(self):
        self.stop()
        if os.environ.get("PASSO_E2E_KEEP"):
            print(f"[passo-e2e] kept {self._tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # -- clients ---------------------------------------------------------------------------

    def client(self, **config_kwargs):
        return sfn_client(self.endpoint, **config_kwargs)

    def cli_env(self):
        return cli_env()


def paginate(call, key, **args):
    """Every item under `key` of a listing call, following nextToken to the last page."""
    items, token = [], None
    while True:
        page = call(**(dict(args, nextToken=token) if token else args))
        items.extend(page[key])
        token = page.get("nextToken")
        if not token:
            return items


def sfn_client(endpoint, inject_host_prefix=False, **config_kwargs):
    """A boto3 Step Functions client for `endpoint`.

    WHY inject_host_prefix=False: botocore's Step Functions model gives StartSyncExecution
    (and TestState) `"endpoint": {"hostPrefix": "sync-"}`, so by default boto3 sends them to
    `sync-<host>` -- for `http://127.0.0.1:PORT` that is `http://sync-127.0.0.1:PORT`, a name
    that does not resolve, and the call fails with EndpointConnectionError before it reaches
    Passo. AWS itself serves those actions on `sync-states.<region>.amazonaws.com`; a local
    endpoint has only one host, so the prefix must be switched off.
    (test_api.HostPrefixTest shows both sides.) botocore also reads the same switch from the
    environment, AWS_DISABLE_HOST_PREFIX_INJECTION=true, which is how the aws CLI (which has
    no such option of its own) is told; see cli_env().
    """
    config_kwargs.setdefault("retries", {"max_attempts": 1, "mode": "standard"})
    config_kwargs.setdefault("connect_timeout", 5)
    config_kwargs.setdefault("read_timeout", 70)
    return boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(inject_host_prefix=inject_host_prefix, **config_kwargs),
    )


def cli_env():
    """Environment for the `aws` CLI: fake credentials, region, no user config files."""
    env = dict(os.environ)
    env.update({
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
        # Without it `aws stepfunctions start-sync-execution --endpoint-url http://127.0.0.1:P`
        # goes to http://sync-127.0.0.1:P (see sfn_client's docstring).
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    })
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    return env


def aws_cli():
    """The `aws` executable: the one next to this Python (the venv's), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "aws")
    if os.path.exists(here):
        return here
    found = shutil.which("aws")
    if not found:
        raise ServerError("aws CLI not found; install tests/e2e/requirements.txt")
    return found


# -- small helpers shared by the test modules ------------------------------------------------

def definition(states, start_at=None, **top):
    """An ASL definition as a JSON string."""
    d = {"StartAt": start_at or next(iter(states)), "States": states}
    d.update(top)
    return json.dumps(d)


def pass_chain(n, prefix="P", wait_at=None, wait_seconds=1, result_key="done"):
    """A chain of `n` states P1..Pn; if `wait_at` is given the state at that index (1-based)
    is a Wait of `wait_seconds` named W<index>. The last state sets {result_key: true}."""
    states = {}
    names = []
    for i in range(1, n + 1):
        name = f"W{i}" if wait_at == i else f"{prefix}{i}"
        names.append(name)
    for i, name in enumerate(names):
        if i + 1 == wait_at:
            st = {"Type": "Wait", "Seconds": wait_seconds}
        else:
            st = {"Type": "Pass"}
        if i + 1 < len(names):
            st["Next"] = names[i + 1]
        else:
            st["End"] = True
            st["Result"] = True
            st["ResultPath"] = f"$.{result_key}"
        states[name] = st
    return definition(states), names


def uniq(prefix):
    """A fresh resource name: prefix plus a random suffix."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_until(fn, timeout=30.0, interval=0.1, what="condition"):
    """Poll `fn()` until it returns a truthy value; return it, or raise AssertionError."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last={last!r}")


def service_client(endpoint, service, **config_kwargs):
    """A boto3 client for one of the other services `passo server` answers (sqs, sns)."""
    config_kwargs.setdefault("retries", {"max_attempts": 1, "mode": "standard"})
    config_kwargs.setdefault("connect_timeout", 5)
    config_kwargs.setdefault("read_timeout", 70)
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**config_kwargs),
    )


def aws_json(endpoint, *args):
    """Runs `aws ARGS --endpoint-url ENDPOINT --output json` and parses what it prints."""
    cmd = [aws_cli(), *args, "--endpoint-url", endpoint, "--output", "json"]
    proc = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return json.loads(proc.stdout) if proc.stdout.strip() else {}
