"""The example's read model: what both backends answer for one user, a profile and its items.

Defined once so that the mock control (``user_profile.mock``), the candidate's SQL
mapping and the router's check of a canary answer agree on one shape::

    {"userId": str, "displayName": str, "email": str, "plan": "free"|"pro"|"team",
     "createdAt": "YYYY-MM-DDTHH:MM:SSZ",
     "items": [{"sku": str, "name": str, "price": number, "quantity": int}, ...]}

The shape is closed (no other field), numbers are finite (NaN and Infinity are not
JSON), and an answer is about the user that was asked for. ../read-model.schema.json
describes the same shape as a JSON Schema, for the generator's checks of a spec's
comparison paths and the operations' preflight (tests/functions/test_read_model_schema.py
keeps the two equal).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from math import isfinite
from typing import Any

PLANS = ("free", "pro", "team")
PROFILE_FIELDS = {
    "userId": str,
    "displayName": str,
    "email": str,
    "plan": str,
    "createdAt": str,
    "items": list,
}
ITEM_FIELDS = {"sku": str, "name": str, "price": (int, float), "quantity": int}

# ASCII digits only, as read-model.schema.json says (\d also matches other scripts' digits)
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z").fullmatch


class MalformedResponse(ValueError):
    """A backend answer that does not follow the read model."""


class WrongUser(MalformedResponse):
    """A well-formed profile of another user than the one asked for."""


def format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate_profile(body: Any, user_id: str | None = None) -> dict[str, Any]:
    """Return ``body`` if it follows the read model (and, given ``user_id``, is that
    user's profile), else raise MalformedResponse (WrongUser for another user's)."""
    if type(body) is not dict:
        raise MalformedResponse(f"profile is not an object: type={type(body).__name__}")
    if len(body) != len(PROFILE_FIELDS):
        raise MalformedResponse(f"profile fields differ: fields={sorted(map(str, body))[:8]}")
    for name, kind in PROFILE_FIELDS.items():
        if type(body.get(name)) is not kind:
            raise MalformedResponse(f"profile field invalid: field={name}")
    if body["plan"] not in PLANS or not _TIMESTAMP(body["createdAt"]):
        raise MalformedResponse("profile field invalid: field=plan/createdAt")
    for index, item in enumerate(body["items"]):
        if type(item) is not dict or len(item) != len(ITEM_FIELDS):
            raise MalformedResponse(f"item is not a read-model item: index={index}")
        for name, kind in ITEM_FIELDS.items():
            value = item.get(name)
            if not isinstance(value, kind) or type(value) is bool:
                raise MalformedResponse(f"item field invalid: index={index} field={name}")
        if type(item["price"]) is float and not isfinite(item["price"]):
            raise MalformedResponse(f"item field not finite: index={index} field=price")
    if user_id is not None and body["userId"] != user_id:
        raise WrongUser("profile is about another user")
    return body
