"""With --access-key configured, the server checks AWS Signature V4 as AWS does: boto3 and
the aws CLI signing with the configured key get through; a wrong secret, an unknown key, a
credential scoped to another region, and requests whose signature leaves X-Amz-Target out or
was made for another X-Amz-Target are refused with AWS's error codes and messages (403)."""

import datetime
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from server import PassoServer

KEY_ID, SECRET = "AKIDPASSOTEST", "s3cret-for-tests"


class SigV4Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = PassoServer(extra_args=("--access-key", f"{KEY_ID}:{SECRET}"))
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def client(self, key_id, secret, region="us-east-1"):
        return boto3.client(
            "stepfunctions",
            endpoint_url=self.server.endpoint,
            region_name=region,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
        )

    def test_boto3_signed_with_the_configured_key_passes(self):
        c = self.client(KEY_ID, SECRET)
        arn = c.create_state_machine(
            name="signed",
            definition='{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}',
            roleArn="arn:aws:iam::123456789012:role/r",
        )["stateMachineArn"]
        self.assertIn(arn, [m["stateMachineArn"] for m in c.list_state_machines()["stateMachines"]])

    def test_wrong_secret_is_an_invalid_signature(self):
        with self.assertRaises(ClientError) as cm:
            self.client(KEY_ID, "not-the-secret").list_state_machines()
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidSignatureException")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)

    def test_unknown_key_is_unrecognized(self):
        with self.assertRaises(ClientError) as cm:
            self.client("AKIDSOMEONEELSE", SECRET).list_state_machines()
        self.assertEqual(cm.exception.response["Error"]["Code"], "UnrecognizedClientException")

    def test_aws_cli_signs_and_passes(self):
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET,
                   AWS_DEFAULT_REGION="us-east-1")
        out = subprocess.run(
            ["aws", "stepfunctions", "list-state-machines", "--endpoint-url", self.server.endpoint],
            env=env, capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("stateMachines", out.stdout)

    def test_a_client_of_another_region_is_refused_with_the_region_message(self):
        with self.assertRaises(ClientError) as cm:
            self.client(KEY_ID, SECRET, region="eu-west-1").list_state_machines()
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "InvalidSignatureException")
        self.assertEqual(
            err["Message"], "Credential should be scoped to a valid region, not 'eu-west-1'.")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)

    def send(self, headers, signed, target_sent=None):
        """POSTs `{}` with `headers`, signed (by hand, as SigV4 describes) over `signed` only;
        `target_sent` replaces X-Amz-Target after signing. Returns (status, JSON body)."""
        body = b"{}"
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        headers = dict(headers, **{"host": f"127.0.0.1:{self.server.port}",
                                   "x-amz-date": amz_date})
        scope = f"{day}/us-east-1/states/aws4_request"
        canonical = "POST\n/\n\n" + "".join(f"{h}:{headers[h]}\n" for h in signed)
        canonical += "\n" + ";".join(signed) + "\n" + hashlib.sha256(body).hexdigest()
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + SECRET).encode()
        for part in scope.split("/"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{scope}, "
                                    f"SignedHeaders={';'.join(signed)}, Signature={sig}")
        if target_sent:
            headers["x-amz-target"] = target_sent
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request("POST", "/", body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"null")
        finally:
            conn.close()

    def test_a_hand_signed_request_over_every_header_passes(self):
        headers = {"content-type": "application/x-amz-json-1.0",
                   "x-amz-target": "AWSStepFunctions.ListStateMachines"}
        status, out = self.send(headers, ["content-type", "host", "x-amz-date", "x-amz-target"])
        self.assertEqual(status, 200, out)
        self.assertIn("stateMachines", out)

    def test_a_signature_leaving_out_x_amz_target_is_refused(self):
        # Signed over {content-type, host, x-amz-date} only, then aimed at StopExecution.
        status, out = self.send({"content-type": "application/x-amz-json-1.0",
                                 "x-amz-target": "AWSStepFunctions.StopExecution"},
                                ["content-type", "host", "x-amz-date"])
        self.assertEqual(status, 403, out)
        self.assertEqual(out["__type"], "InvalidSignatureException")
        self.assertEqual(out["message"],
                         "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.")

    def test_a_re_targeted_request_is_refused(self):
        headers = {"content-type": "application/x-amz-json-1.0",
                   "x-amz-target": "AWSStepFunctions.ListStateMachines"}
        status, out = self.send(headers, ["content-type", "host", "x-amz-date", "x-amz-target"],
                                target_sent="AWSStepFunctions.ListActivities")
        self.assertEqual(status, 403, out)
        self.assertEqual(out["__type"], "InvalidSignatureException")
        self.assertTrue(out["message"].startswith(
            "The request signature we calculated does not match the signature you provided."),
            out["message"])


if __name__ == "__main__":
    unittest.main()
