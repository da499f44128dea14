"""Control/candidate response pairs of a given size for the comparator benchmark.

The candidate differs the way a real backend swap does: list order, float noise
below the tolerance, a request id that is ignored, and a few real differences.
"""

from __future__ import annotations

import json
import random
from typing import Any


def profile_pair(target_bytes: int, seed: int = 1) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = random.Random(seed)
    control: dict[str, Any] = {
        "userId": "user-42", "displayName": "Ada Lovelace", "email": "ada@example.com",
        "plan": "pro", "createdAt": "2023-04-01T12:00:00Z",
        "meta": {"requestId": "req-control", "source": "read-model"},
        "items": [],
    }
    i = 0
    while len(json.dumps(control)) < target_bytes:
        control["items"].append({
            "sku": f"SKU-{i:05d}", "name": rng.choice(["Notebook", "Lamp", "Mug", "Desk"]),
            "price": round(rng.uniform(1, 500), 2), "quantity": rng.randint(1, 5),
            "etag": f"e-{rng.getrandbits(32):08x}", "tags": ["a", "b"],
            "updatedAt": "2024-01-02T03:04:05Z",
        })
        i += 1
    candidate = json.loads(json.dumps(control))
    candidate["meta"]["requestId"] = "req-candidate"
    rng.shuffle(candidate["items"])
    for item in candidate["items"]:
        item["price"] = round(item["price"] + 0.00001, 5)
        item["etag"] = f"e-{rng.getrandbits(32):08x}"
    candidate["items"][0]["quantity"] += 1  # a real difference inside the unordered list
    candidate["plan"] = "team"  # a real top-level difference
    candidate["email"] = "eve@example.com"  # a redacted difference
    return control, candidate


RULES = {
    "ignore_paths": ["$.meta.requestId", "$.items[*].etag"],
    "numeric_tolerance": 0.0001,
    "timestamp_tolerance_seconds": 1.0,
    "unordered_lists": ["$.items"],
    "redact_paths": ["$.email"],
}
