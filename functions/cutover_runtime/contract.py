"""The read model both backends answer with: a user profile and its items.

Defined once so that the control's mock data, the candidate's SQL mapping and the
router's check of a canary answer agree on one shape::

    {"userId": str, "displayName": str, "email": str, "plan": "free"|"pro"|"team",
     "createdAt": "YYYY-MM-DDTHH:MM:SSZ",
     "items": [{"sku": str, "name": str, "price": number, "quantity": int}, ...]}
"""

from __future__ import annotations

from datetime import UTC, datetime
from hashlib import sha256
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

_FIRST = ("Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances")
_LAST = ("Lovelace", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen")
_PRODUCTS = ("Notebook", "Pencil", "Backpack", "Lamp", "Mug", "Headphones", "Charger", "Desk")
_EPOCH_2020 = 1_577_836_800


class MalformedResponse(ValueError):
    """A backend answer that does not follow the read model."""


def format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def mock_profile(user_id: str) -> dict[str, Any]:
    """The control's answer: deterministic for a user id, no I/O."""
    d = sha256(user_id.encode()).digest()
    created = datetime.fromtimestamp(_EPOCH_2020 + int.from_bytes(d[4:8], "big") % 157_680_000,
                                     tz=UTC)
    items = []
    for i in range(d[8] % 6):
        b = d[9 + i * 3: 12 + i * 3]
        items.append({
            "sku": f"SKU-{b.hex().upper()}",
            "name": _PRODUCTS[b[0] % len(_PRODUCTS)],
            "price": round(1 + (int.from_bytes(b[1:3], "big") % 20_000) / 100, 2),
            "quantity": 1 + b[2] % 5,
        })
    return {
        "userId": user_id,
        "displayName": f"{_FIRST[d[0] % len(_FIRST)]} {_LAST[d[1] % len(_LAST)]}",
        "email": f"user-{d[2:6].hex()}@example.com",
        "plan": PLANS[d[3] % len(PLANS)],
        "createdAt": format_timestamp(created),
        "items": items,
    }


def validate_profile(body: Any) -> dict[str, Any]:
    """Return ``body`` if it follows the read model, else raise MalformedResponse."""
    if not isinstance(body, dict):
        raise MalformedResponse(f"profile is not an object: type={type(body).__name__}")
    for field, kind in PROFILE_FIELDS.items():
        if not isinstance(body.get(field), kind):
            raise MalformedResponse(f"profile field invalid: field={field}")
    for index, item in enumerate(body["items"]):
        if not isinstance(item, dict):
            raise MalformedResponse(f"item is not an object: index={index}")
        for field, kind in ITEM_FIELDS.items():
            value = item.get(field)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise MalformedResponse(f"item field invalid: index={index} field={field}")
    return body
