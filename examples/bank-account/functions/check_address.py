"""CheckAddress: an address needs a street, a city and a 5-digit zip code."""

import re

from common import ValidationError, handle


def check(event):
    address = event.get("address", {})
    missing = [k for k in ("street", "city", "zip") if not address.get(k)]
    if missing:
        raise ValidationError("missing " + ", ".join(missing))
    if not re.fullmatch(r"\d{5}", str(address["zip"])):
        raise ValidationError(f"'{address['zip']}' is not a zip code")
    return {"address": address, "checked": True}


handle(check)
