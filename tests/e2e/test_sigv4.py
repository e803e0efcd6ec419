"""With --access-key configured, the server checks AWS Signature V4: boto3 and the aws CLI
signing with the configured key get through; a wrong secret or an unknown key is refused
with AWS's error codes (403)."""

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

    def client(self, key_id, secret):
        return boto3.client(
            "stepfunctions",
            endpoint_url=self.server.endpoint,
            region_name="us-east-1",
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


if __name__ == "__main__":
    unittest.main()
