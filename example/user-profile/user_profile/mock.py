"""The example's control: the mock backend the user-profile read path had before PostgreSQL.

Its answer is a profile derived from the user id (no I/O), so the router serves it in
process: until the cutover completes the router *is* the control. Routing
(``router.handler``) only asks ``control_answer`` for the control's answer, so replacing
the control is a change here, not in the routing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from .read_model import PLANS, format_timestamp

_FIRST = ("Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances")
_LAST = ("Lovelace", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen")
_PRODUCTS = ("Notebook", "Pencil", "Backpack", "Lamp", "Mug", "Headphones", "Charger", "Desk")
_EPOCH_2020 = 1_577_836_800


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


def control_answer(user_id: str) -> dict[str, Any]:
    """The control's answer for one user (the read model of ``user_profile.read_model``)."""
    return mock_profile(user_id)
