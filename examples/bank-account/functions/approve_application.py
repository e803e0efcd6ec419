"""ApproveApplication: opens the account. Fails once in a while with a transient error the
workflow retries (here: when the attempt marker file does not exist yet, if one is asked for)."""

import os

from common import handle


class ServiceUnavailable(Exception):
    pass


def approve(event):
    marker = event.get("flakyMarker")
    if marker and not os.path.exists(marker):
        open(marker, "w").close()
        raise ServiceUnavailable("the core banking system is busy, try again")
    return {"status": "APPROVED", "name": event["name"]}


handle(approve)
