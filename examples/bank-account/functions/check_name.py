"""CheckName: a name must be two words of letters, and not on the deny list."""

import re

from common import ValidationError, handle

DENIED = {"Evil Corp"}


def check(event):
    name = event.get("name", "")
    if not re.fullmatch(r"[A-Za-z]+ [A-Za-z]+", name):
        raise ValidationError(f"'{name}' is not a first and last name")
    if name in DENIED:
        raise ValidationError(f"'{name}' may not open an account")
    return {"name": name, "checked": True}


handle(check)
