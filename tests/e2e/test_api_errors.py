"""Conformance: the API errors AWS Step Functions answered, replayed against `passo server`.

Data: ../shared/conformance/asl/api_errors/*.json (README section "API errors"), recorded by
LocalStack's snapshot tests against real AWS. Each case has `operation` (boto3 snake_case),
`request` (its parameters; `exec` is an index into the recording test's parameterisation, not
an API parameter; `{"$auto": "..."}` names a resource the test created) and `expected_error`
(botocore's "An error occurred (Code) when calling the Op operation: msg" string, a
{"Error": {"Code", "Message"}} dict, or botocore's client-side "Parameter validation failed:").

For every case a *fresh* server is started (`--account 000000000000`, so the request ARNs are
this server's), the state the request presupposes is rebuilt from the request alone, the
request is sent with boto3, and the error is compared: code exactly, message after
normalisation (every ARN and every recorder placeholder becomes a token).

Setup, derived only from the request (and from what the expected error says about the state
before the call -- never by special-casing the answer):
  * every states ARN in the request names resources that exist: `stateMachine:NAME` a state
    machine (Pass definition), `stateMachine:NAME:N` versions 1..N (published), a
    `stateMachine:NAME:ALIAS` an alias routing to version 1, `execution:SM:NAME` an execution
    started with that name, `express:SM:...` an EXPRESS state machine (the execution's UUID
    cannot be reproduced, so no execution is started), `activity:NAME` an activity;
  * except when the expected code says the resource does not exist (StateMachineDoesNotExist,
    ExecutionDoesNotExist, ActivityDoesNotExist, ResourceNotFound, ...): then the leaf resource
    of the request's main ARN parameter is left out (its parents are still created; a `$auto`
    resource is created and then deleted);
  * `{"$auto": "stepfunctions.create_X()[key]"}`: create_X is called (with harness-chosen names
    and whatever it needs first) and `key` of its answer is used;
  * ExecutionAlreadyExists: the same start request was made before and that execution finished;
  * ConflictException from CreateStateMachineAlias: an alias of that name already exists with a
    different configuration (first routed version at weight 100, no description);
  * ConflictException from DeleteStateMachineVersion: an alias (harness-chosen name) routes to
    the version.
Not reconstructible (counted apart, not in the rates): InvalidExecutionInput without the
`input` in the request (the recorder dropped the invalid text), and client-side errors naming a
parameter the recorded request does not contain (the recorder dropped a `None`).

Run:   PASSO_BIN=target/release/passo /tmp/passo-venv2/bin/python tests/e2e/test_api_errors.py
  (or `python -m unittest test_api_errors` from tests/e2e). PASSO_API_ERRORS_JSON=FILE also
  writes every case's outcome as JSON. Prints
  `API errors conformance: code N/M (P%), message N/M (P%), not reconstructible K` and one
  `MISS <id>: expected <code: msg> got <code: msg>` line per case whose code or message differs;
  fails when the code rate is below CODE_FLOOR.
"""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CASES_DIR = os.environ.get(
    "PASSO_API_ERRORS_DIR",
    os.path.join(REPO_ROOT, "..", "shared", "conformance", "asl", "api_errors"))
ACCOUNT = "000000000000"
REGION = "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/passo-api-errors"
PASS_DEFINITION = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}

# Minimum share of the reconstructible cases whose error code must match. Set from what passes
# now (82/82 on 2026-11-24, activity actions included); a little slack for cases added when the
# recordings are regenerated.
CODE_FLOOR = 0.97

CLIENT_SIDE = "ParamValidationError"
NOT_FOUND_CODES = {
    "StateMachineDoesNotExist", "ExecutionDoesNotExist", "ActivityDoesNotExist",
    "ResourceNotFound", "StateMachineDeleting",
}
# Names the harness invents for resources the request does not name; tokenised in answers
# like the recorder's placeholders are in the recordings.
HARNESS_SM = "passo-conf-sm"
HARNESS_ALIAS = "passo-conf-alias"

ARN_RE = re.compile(r"arn:[^'\s,\]]+")
STATES_ARN_RE = re.compile(
    r"^arn:aws:states:([^:]+):(\d+):(stateMachine|execution|express|activity):(.+)$")
BOTOCORE_ERR_RE = re.compile(
    r"^An error occurred \((?P<code>[^)]*)\) when calling the (?P<op>\w+) operation: "
    r"(?P<msg>.*)$", re.S)
# The recorder's stand-ins for whole ARNs / names (only used when not a request value).
ARN_PLACEHOLDERS = ("invalid_execution_arn", "sm_nonexistent_arn", "ssm_nonexistent_arn",
                    "activity_arn")
NAME_PLACEHOLDERS = ("state_machine_alias_name",)


# -- server ------------------------------------------------------------------------------------

def passo_bin():
    b = os.environ.get("PASSO_BIN") or os.path.join(REPO_ROOT, "target", "release", "passo")
    return os.path.abspath(b if os.path.isabs(b) else os.path.join(REPO_ROOT, b))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A fresh `passo server` on a loopback port with its own data dir."""

    def __init__(self, binary):
        self.binary = binary
        self.tmp = tempfile.mkdtemp(prefix="passo-api-errors-")
        self.port = _free_port()
        self.log = open(os.path.join(self.tmp, "server.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "server", "--listen", f"127.0.0.1:{self.port}",
             "--data-dir", os.path.join(self.tmp, "data"), "--account", ACCOUNT,
             "--region", REGION],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"passo server exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        else:
            self.stop()
            raise RuntimeError("passo server did not listen within 30s")
        self.client = boto3.client(
            "stepfunctions", endpoint_url=f"http://127.0.0.1:{self.port}", region_name=REGION,
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(inject_host_prefix=False, retries={"max_attempts": 1},
                          connect_timeout=5, read_timeout=30))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- expected errors ---------------------------------------------------------------------------

def expected_of(case):
    """(code, message) of the recorded error; code CLIENT_SIDE for botocore's own."""
    e = case["expected_error"]
    if isinstance(e, dict):
        err = e.get("Error") or {}
        return err.get("Code") or case.get("expected_error_code"), (
            err.get("Message") if "Message" in err else case.get("expected_error_message", ""))
    if e.startswith("Parameter validation failed"):
        return CLIENT_SIDE, e
    m = BOTOCORE_ERR_RE.match(e)
    if m:
        return m.group("code"), m.group("msg")
    return case.get("expected_error_code", "?"), case.get("expected_error_message", e)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def normalise(msg, request_strings, expected):
    """Tokenise ARNs, the recorder's placeholders (expected side) and what the harness or the
    request put in their place (actual side)."""
    if msg is None:
        return None
    out = msg
    if expected:
        for p in ARN_PLACEHOLDERS:
            if p not in request_strings:
                out = re.sub(rf"\b{p}\b", "<ARN>", out)
        for p in NAME_PLACEHOLDERS:
            if p not in request_strings:
                out = re.sub(rf"\b{p}\b", "<NAME>", out)
    else:
        # The recorder replaced long request values by <invalid_token_N_chars>.
        for s in sorted(request_strings, key=len, reverse=True):
            if len(s) > 256:
                out = out.replace(s, f"<invalid_token_{len(s)}_chars>")
        for n in (HARNESS_ALIAS, HARNESS_SM):
            out = re.sub(rf"\b{re.escape(n)}\b", "<NAME>", out)
    out = ARN_RE.sub("<ARN>", out)
    return out


# -- setup -------------------------------------------------------------------------------------

class NotReconstructible(Exception):
    pass


class SetupFailed(Exception):
    def __init__(self, what, code, msg):
        super().__init__(f"{what}: {code}: {msg}")
        self.what, self.code, self.msg = what, code, msg


def _sm_entry(sms, name):
    return sms.setdefault(name, {"type": "STANDARD", "versions": 0, "aliases": set(),
                                 "executions": set()})


def parse_arn(arn):
    """(kind, sm_name, qualifier) for states ARNs of this server, else None."""
    m = STATES_ARN_RE.match(arn)
    if not m or m.group(2) != ACCOUNT:
        return None
    kind, rest = m.group(3), m.group(4)
    parts = rest.split(":")
    if kind == "stateMachine":
        return ("version" if len(parts) > 1 and parts[1].isdigit() else
                "alias" if len(parts) > 1 else "stateMachine", parts[0],
                parts[1] if len(parts) > 1 else None)
    if kind == "execution":
        return "execution", parts[0], parts[-1] if len(parts) > 1 else None
    if kind == "express":
        return "express", parts[0], None
    return "activity", rest, None


def primary_arn_key(request):
    for k, v in request.items():
        if k.endswith("Arn") and (isinstance(v, str) or (isinstance(v, dict) and "$auto" in v)):
            return k
    return None


def plan(case, code):
    """What must exist before the call: {sm_name: {...}}, activities, the missing leaf."""
    request = case["request"]
    sms, activities = {}, set()
    main_key = primary_arn_key(request)
    missing = None
    if code in NOT_FOUND_CODES and main_key and isinstance(request[main_key], str):
        missing = parse_arn(request[main_key])
    for s in _strings(request):
        p = parse_arn(s)
        if not p:
            continue
        kind, sm, qual = p
        if kind == "activity":
            if p != missing:
                activities.add(sm)
            continue
        if missing and missing[0] == "stateMachine" and missing[1] == sm:
            continue  # the state machine itself is what does not exist
        e = _sm_entry(sms, sm)
        if kind == "express":
            e["type"] = "EXPRESS"
        elif kind == "version":
            n = int(qual) - (1 if p == missing else 0)
            e["versions"] = max(e["versions"], n)
        elif kind == "alias" and p != missing:
            e["aliases"].add(qual)
            e["versions"] = max(e["versions"], 1)
        elif kind == "execution" and p != missing and qual:
            e["executions"].add(qual)
    return sms, activities


def _definition(comment=None):
    d = dict(PASS_DEFINITION)
    if comment:
        d["Comment"] = comment
    return json.dumps(d)


def _call(client, what, **kw):
    try:
        return getattr(client, what)(**kw)
    except ClientError as e:
        err = e.response.get("Error", {})
        raise SetupFailed(what, err.get("Code"), err.get("Message"))


def _wait_closed(client, execution_arn, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _call(client, "describe_execution", executionArn=execution_arn)["status"] != "RUNNING":
            return
        time.sleep(0.05)


def arn_of(kind, name, qual=None):
    base = f"arn:aws:states:{REGION}:{ACCOUNT}"
    if kind == "stateMachine":
        return f"{base}:stateMachine:{name}" + (f":{qual}" if qual else "")
    return f"{base}:{kind}:{name}"


def build(client, sms, activities):
    for name, e in sms.items():
        _call(client, "create_state_machine", name=name, definition=_definition(),
              roleArn=ROLE_ARN, type=e["type"], publish=e["versions"] >= 1)
        sm_arn = arn_of("stateMachine", name)
        for v in range(2, e["versions"] + 1):
            _call(client, "update_state_machine", stateMachineArn=sm_arn,
                  definition=_definition(f"version {v}"), publish=True)
        for alias in sorted(e["aliases"]):
            _call(client, "create_state_machine_alias", name=alias, routingConfiguration=[
                {"stateMachineVersionArn": arn_of("stateMachine", name, "1"), "weight": 100}])
        for ex in sorted(e["executions"]):
            r = _call(client, "start_execution", stateMachineArn=sm_arn, name=ex)
            _wait_closed(client, r["executionArn"])
    for a in sorted(activities):
        _call(client, "create_activity", name=a)


def resolve_auto(client, ref, delete_after):
    """`stepfunctions.create_X()[key]`: create X (and what it needs) and return its `key`."""
    m = re.match(r"^stepfunctions\.(\w+)\(\)\[(\w+)\]$", ref)
    if not m:
        raise NotReconstructible(f"unknown $auto reference {ref!r}")
    op, key = m.groups()
    if op == "create_state_machine":
        r = _call(client, op, name=HARNESS_SM, definition=_definition(), roleArn=ROLE_ARN)
        if delete_after:
            _call(client, "delete_state_machine", stateMachineArn=r[key])
    elif op == "create_state_machine_alias":
        sm = _call(client, "create_state_machine", name=HARNESS_SM, definition=_definition(),
                   roleArn=ROLE_ARN, publish=True)
        r = _call(client, op, name=HARNESS_ALIAS, routingConfiguration=[
            {"stateMachineVersionArn": sm["stateMachineVersionArn"], "weight": 100}])
        if delete_after:
            _call(client, "delete_state_machine_alias", stateMachineAliasArn=r[key])
    elif op == "create_activity":
        r = _call(client, op, name=HARNESS_SM)
        if delete_after:
            _call(client, "delete_activity", activityArn=r[key])
    else:
        raise NotReconstructible(f"$auto of {op} not supported")
    return r[key]


def prepare(case, client, code):
    """Build the pre-call state and return the request parameters to send."""
    request = {k: v for k, v in case["request"].items() if k != "exec"}
    op = case["operation"]
    if code == "InvalidExecutionInput" and "input" not in request:
        raise NotReconstructible("the invalid execution input was not recorded")
    if code == CLIENT_SIDE:
        named = set(re.findall(r"for parameter ([A-Za-z0-9_]+)", expected_of(case)[1]))
        absent = sorted(n for n in named if n not in request)
        if absent:
            raise NotReconstructible(
                f"the error names parameter(s) {absent} the recorded request lacks")
    sms, activities = plan(case, code)
    build(client, sms, activities)
    main_key = primary_arn_key(request)
    for k, v in list(request.items()):
        if isinstance(v, dict) and "$auto" in v:
            request[k] = resolve_auto(client, v["$auto"],
                                      delete_after=(k == main_key and code in NOT_FOUND_CODES))
    if code == "ExecutionAlreadyExists" and op == "start_execution" and "name" in request:
        r = _call(client, "start_execution", **request)
        _wait_closed(client, r["executionArn"])
    if code == "ConflictException" and op == "create_state_machine_alias":
        routes = request.get("routingConfiguration") or []
        if routes:
            _call(client, "create_state_machine_alias", name=request["name"],
                  routingConfiguration=[{"stateMachineVersionArn":
                                         routes[0]["stateMachineVersionArn"], "weight": 100}])
    if code == "ConflictException" and op == "delete_state_machine_version":
        _call(client, "create_state_machine_alias", name=HARNESS_ALIAS, routingConfiguration=[
            {"stateMachineVersionArn": request["stateMachineVersionArn"], "weight": 100}])
    return request


# -- running -----------------------------------------------------------------------------------

def load_cases():
    cases = []
    for path in sorted(glob.glob(os.path.join(CASES_DIR, "*.json"))):
        with open(path, encoding="utf-8") as f:
            cases.append(json.load(f))
    return cases


def run_case(case, binary):
    exp_code, exp_msg = expected_of(case)
    req_strings = set(_strings(case["request"]))
    out = {"id": case["id"], "operation": case["operation"], "expected_code": exp_code,
           "expected_message": exp_msg}
    server = Server(binary)
    try:
        try:
            params = prepare(case, server.client, exp_code)
        except NotReconstructible as e:
            out["not_reconstructible"] = str(e)
            return out
        except SetupFailed as e:
            out.update(got_code=f"SetupFailed({e.what})/{e.code}", got_message=e.msg)
            return finish(out, req_strings)
        try:
            resp = getattr(server.client, case["operation"])(**params)
            resp.pop("ResponseMetadata", None)
            out.update(got_code="(no error)", got_message=json.dumps(resp, default=str)[:200])
        except ParamValidationError as e:
            out.update(got_code=CLIENT_SIDE, got_message=str(e))
        except ClientError as e:
            err = e.response.get("Error", {})
            out.update(got_code=err.get("Code"), got_message=err.get("Message"))
        except Exception as e:  # connection reset, bad response...
            out.update(got_code=type(e).__name__, got_message=str(e))
    finally:
        server.stop()
    return finish(out, req_strings)


def finish(out, req_strings):
    out["code_ok"] = out["got_code"] == out["expected_code"]
    out["expected_norm"] = normalise(out["expected_message"], req_strings, expected=True)
    out["got_norm"] = normalise(out["got_message"], req_strings, expected=False)
    out["message_ok"] = out["expected_norm"] == out["got_norm"]
    return out


def _one_line(s):
    """One printable line: newlines and other control characters as escapes."""
    return re.sub(r"[\x00-\x1f\x7f]",
                  lambda m: "\\n" if m.group() == "\n" else f"\\x{ord(m.group()):02x}", s or "")


def pct(n, m):
    return f"{100.0 * n / m:.1f}%" if m else "n/a"


def run_all(binary=None, stream=sys.stdout):
    binary = binary or passo_bin()
    results = [run_case(c, binary) for c in load_cases()]
    done = [r for r in results if "not_reconstructible" not in r]
    skipped = [r for r in results if "not_reconstructible" in r]
    code_ok = sum(r["code_ok"] for r in done)
    msg_ok = sum(r["message_ok"] for r in done)
    for r in skipped:
        print(f"NOT RECONSTRUCTIBLE {r['id']}: {r['not_reconstructible']}", file=stream)
    for r in done:
        if not (r["code_ok"] and r["message_ok"]):
            print(f"MISS {r['id']}: expected <{r['expected_code']}: "
                  f"{_one_line(r['expected_norm'])}> got <{r['got_code']}: "
                  f"{_one_line(r['got_norm'])}>", file=stream)
    summary = (f"API errors conformance: code {code_ok}/{len(done)} ({pct(code_ok, len(done))}), "
               f"message {msg_ok}/{len(done)} ({pct(msg_ok, len(done))}), "
               f"not reconstructible {len(skipped)}")
    print(summary, file=stream)
    dump = os.environ.get("PASSO_API_ERRORS_JSON")
    if dump:
        with open(dump, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, default=str)
    return results, code_ok, len(done)


class ApiErrorsConformance(unittest.TestCase):
    def test_recorded_api_errors(self):
        binary = passo_bin()
        if not os.path.exists(binary):
            self.skipTest(f"passo binary not found: {binary} (build it or set PASSO_BIN)")
        if not glob.glob(os.path.join(CASES_DIR, "*.json")):
            self.skipTest(f"no cases in {CASES_DIR}")
        sys.stdout.flush()
        _, code_ok, total = run_all(binary)
        sys.stdout.flush()
        self.assertGreater(total, 0)
        self.assertGreaterEqual(code_ok / total, CODE_FLOOR,
                                f"error-code rate {code_ok}/{total} fell below the floor "
                                f"{CODE_FLOOR:.0%}")


if __name__ == "__main__":
    unittest.main()
