"""RequestReview: records that an application waits for a person's review.

Called by the `RequestReview` Task (`arn:aws:states:::lambda:invoke.waitForTaskToken`) with a
payload such as

    {"token": "<$$.Task.Token>", "execution": "<$$.Execution.Name>",
     "executionArn": "<$$.Execution.Id>", "application": {...}}

It writes `<reviews dir>/<execution name>.json` holding the token and the application, and
returns at once. Returning does not finish the Task: the workflow waits until a reviewer sends
the token back with SendTaskSuccess (`{"approved": true|false, ...}`) or SendTaskFailure
(`--error Rejected --cause "..."`).

The reviews directory is the payload's "reviewsDir", else the REVIEWS_DIR environment
variable, else `reviews` (relative to the project directory, where Passo runs functions).
"""

import json
import os
import re
import sys
import tempfile
from datetime import datetime, timezone


def fail(error_type, message):
    # A failure as Lambda reports one: the Task fails with error `error_type`.
    print(json.dumps({"errorType": error_type, "errorMessage": message}))
    sys.exit(1)


def main():
    event = json.load(sys.stdin)
    token = event.get("token")
    if not token:
        fail("MissingToken", "the payload has no task token (\"token.$\": \"$$.Task.Token\")")
    execution = str(event.get("execution") or "unknown")
    # Execution names cannot hold '/', but keep the file name safe whatever comes in.
    file_stem = re.sub(r"[^A-Za-z0-9._-]", "_", execution)

    directory = event.get("reviewsDir") or os.environ.get("REVIEWS_DIR") or "reviews"
    os.makedirs(directory, exist_ok=True)
    path = os.path.abspath(os.path.join(directory, file_stem + ".json"))

    request = {
        "execution": execution,
        "executionArn": event.get("executionArn"),
        "application": event.get("application"),
        "token": token,
        "requestedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    # Write then rename, so whoever watches the directory never reads half a file.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + file_stem, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(request, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)

    # What this returns is only recorded (in the TaskSubmitted event); the Task's result is
    # what the reviewer sends with the token.
    print(json.dumps({"reviewRequest": path}))


main()
