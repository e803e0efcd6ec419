"""The HTTP task (`arn:aws:states:::http:invoke`) through `passo server`, against a real local
HTTP API (Python's http.server in a thread) that records every request it gets: methods,
query parameters, JSON and URL-encoded bodies, the connections' API key, basic and OAuth
client-credentials authentication, non-2xx statuses as States.Http.StatusCode.NNN (caught
and retried), and an unreachable endpoint as States.Http.Socket.

Run: PASSO_BIN=/tmp/passo-bin/passo tests/e2e/run.sh test_http_task
"""

import base64
import json
import os
import tempfile
import threading
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import server as srv
from server import ROLE_ARN, definition, free_port, uniq, wait_until

SERVER = None
API = None
REQUESTS = []          # what the API received: dicts of method, path, query, headers, body
FLAKY = {"left": 0}    # /flaky answers 503 this many times, then 200
CONN = "arn:aws:events:us-east-1:123456789012:connection/{}/0f1e2d3c"


class Api(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        url = urllib.parse.urlsplit(self.path)
        REQUESTS.append({"method": self.command, "path": url.path,
                         "query": urllib.parse.parse_qs(url.query),
                         "headers": {k.lower(): v for k, v in self.headers.items()},
                         "body": body})
        if url.path == "/oauth/token":
            auth = self.headers.get("Authorization", "")
            ok = auth == "Basic " + base64.b64encode(b"cid:csecret").decode()
            return self._send(200 if ok else 401, {"access_token": "tok-123"} if ok else {})
        if url.path == "/missing":
            return self._send(404, {"message": "no such item"})
        if url.path == "/flaky":
            if FLAKY["left"] > 0:
                FLAKY["left"] -= 1
                return self._send(503, {"message": "busy"})
            return self._send(200, {"ok": True})
        if url.path == "/text":
            data = b"plain words"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            return self.wfile.write(data)
        return self._send(200, {"echo": {"method": self.command, "path": url.path}})

    def _send(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Api", "test")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


PROJECT = """
[connections.plain]

[connections.keyed]
auth = "api_key"
api_key_name = "x-api-key"
api_key_value = "${PASSO_E2E_API_KEY}"
headers = { X-Team = "payments" }
query = { region = "eu" }

[connections.basic]
auth = "basic"
username = "ann"
password = "s3cret"

[connections.oauth]
auth = "oauth_client_credentials"
token_endpoint = "http://127.0.0.1:{port}/oauth/token"
client_id = "cid"
client_secret = "csecret"
"""


def setUpModule():
    global SERVER, API
    API = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=API.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="passo-http-")
    project = os.path.join(tmp, "passo.toml")
    with open(project, "w") as f:
        f.write(PROJECT.replace("{port}", str(API.server_address[1])))
    os.environ["PASSO_E2E_API_KEY"] = "key-42"
    SERVER = srv.PassoServer(extra_args=["--project", project]).start()


def tearDownModule():
    if SERVER is not None:
        SERVER.cleanup()
    if API is not None:
        API.shutdown()


def http_task(path, connection="plain", method="GET", base=None, **params):
    p = {"ApiEndpoint": f"{base or api_base()}{path}", "Method": method,
         "Authentication": {"ConnectionArn": CONN.format(connection)}}
    p.update(params)
    return {"Type": "Task", "Resource": "arn:aws:states:::http:invoke", "Parameters": p,
            "End": True}


def api_base():
    return f"http://127.0.0.1:{API.server_address[1]}"


class HttpTaskE2E(unittest.TestCase):
    def setUp(self):
        REQUESTS.clear()
        self.sfn = SERVER.client()

    def run_machine(self, states, input_doc=None):
        arn = self.sfn.create_state_machine(name=uniq("http"), definition=definition(states),
                                            roleArn=ROLE_ARN)["stateMachineArn"]
        ex = self.sfn.start_execution(stateMachineArn=arn,
                                      input=json.dumps(input_doc or {}))["executionArn"]
        return wait_until(lambda: (lambda d: d if d["status"] != "RUNNING" else None)(
            self.sfn.describe_execution(executionArn=ex)), what="the execution to end")

    def test_get_with_query_parameters_gives_aws_result_shape(self):
        d = self.run_machine({"Call": http_task("/items", QueryParameters={"page": 2,
                                                                           "tag": ["a", "b"]})})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        out = json.loads(d["output"])
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(out["StatusText"], "OK")
        self.assertEqual(out["ResponseBody"], {"echo": {"method": "GET", "path": "/items"}})
        self.assertEqual(out["Headers"]["x-api"], ["test"])
        self.assertEqual(REQUESTS[0]["query"], {"page": ["2"], "tag": ["a", "b"]})

    def test_post_json_and_url_encoded_bodies(self):
        d = self.run_machine({"Call": http_task("/orders", method="POST",
                                                RequestBody={"id.$": "$.id", "n": 1},
                                                Headers={"X-Trace": "t1"})}, {"id": "o-7"})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        r = REQUESTS[-1]
        self.assertEqual(json.loads(r["body"]), {"id": "o-7", "n": 1})
        self.assertTrue(r["headers"]["content-type"].startswith("application/json"))
        self.assertEqual(r["headers"]["x-trace"], "t1")
        d = self.run_machine({"Call": http_task(
            "/forms", method="POST", RequestBody={"a": ["x", "y"], "b": "c d"},
            Transform={"RequestBodyEncoding": "URL_ENCODED",
                       "RequestEncodingOptions": {"ArrayFormat": "REPEAT"}})})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        r = REQUESTS[-1]
        self.assertEqual(r["headers"]["content-type"], "application/x-www-form-urlencoded")
        self.assertEqual(urllib.parse.parse_qs(r["body"]), {"a": ["x", "y"], "b": ["c d"]})

    def test_connections_authenticate(self):
        self.run_machine({"Call": http_task("/k", connection="keyed")})
        r = REQUESTS[-1]
        self.assertEqual(r["headers"]["x-api-key"], "key-42")   # from ${PASSO_E2E_API_KEY}
        self.assertEqual(r["headers"]["x-team"], "payments")
        self.assertEqual(r["query"], {"region": ["eu"]})
        self.run_machine({"Call": http_task("/b", connection="basic")})
        self.assertEqual(REQUESTS[-1]["headers"]["authorization"],
                         "Basic " + base64.b64encode(b"ann:s3cret").decode())
        d = self.run_machine({"Call": http_task("/o", connection="oauth")})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual([r["path"] for r in REQUESTS[-2:]], ["/oauth/token", "/o"])
        self.assertEqual(REQUESTS[-1]["headers"]["authorization"], "Bearer tok-123")

    def test_non_2xx_is_caught_by_its_status_error(self):
        task = http_task("/missing")
        task.pop("End")
        task["Next"] = "Gone"
        task["Catch"] = [{"ErrorEquals": ["States.Http.StatusCode.404"], "Next": "Gone"}]
        d = self.run_machine({"Call": task, "Gone": {"Type": "Pass", "End": True}})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        out = json.loads(d["output"])
        self.assertEqual(out["Error"], "States.Http.StatusCode.404")
        cause = json.loads(out["Cause"])
        self.assertEqual(cause["StatusCode"], 404)
        self.assertEqual(cause["ResponseBody"], {"message": "no such item"})

    def test_retry_on_503(self):
        FLAKY["left"] = 2
        task = http_task("/flaky")
        task["Retry"] = [{"ErrorEquals": ["States.Http.StatusCode.503"], "IntervalSeconds": 1,
                          "BackoffRate": 1, "MaxAttempts": 3}]
        d = self.run_machine({"Call": task})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(len([r for r in REQUESTS if r["path"] == "/flaky"]), 3)

    def test_text_bodies_stay_text(self):
        d = self.run_machine({"Call": http_task("/text")})
        self.assertEqual(json.loads(d["output"])["ResponseBody"], "plain words")

    def test_unreachable_endpoint_is_a_socket_error(self):
        d = self.run_machine({"Call": http_task("/x", base=f"http://127.0.0.1:{free_port()}")})
        self.assertEqual(d["status"], "FAILED")
        self.assertEqual(d["error"], "States.Http.Socket")

    def test_bad_parameters_and_unknown_connections_fail_clearly(self):
        d = self.run_machine({"Call": http_task("/x", Headers={"Host": "evil"})})
        self.assertEqual(d["error"], "States.Runtime")
        self.assertIn("'Host'", d["cause"])
        d = self.run_machine({"Call": http_task("/x", connection="nobody")})
        self.assertEqual(d["error"], "Events.ConnectionResource.ResourceNotFound")
        self.assertIn("[connections.NAME]", d["cause"])


if __name__ == "__main__":
    unittest.main()
