"""What every function here does around its own logic: read the event from stdin, write the
result to stdout, and report a failure as Lambda does (an errorType and an errorMessage)."""

import json
import sys


class ValidationError(Exception):
    """A custom error: its class name becomes the Step Functions error name."""


def handle(handler):
    event = json.load(sys.stdin)
    try:
        result = handler(event)
    except Exception as e:  # noqa: BLE001 - every failure is reported, as Lambda does
        print(json.dumps({"errorType": type(e).__name__, "errorMessage": str(e)}))
        sys.exit(1)
    print(json.dumps(result))
