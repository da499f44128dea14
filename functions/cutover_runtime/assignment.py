"""Sticky canary assignment: a user's bucket is a hash of (salt, sticky key value).

One sha256 per request gives both the bucket (first 8 bytes mod 10,000) and the
``userHash`` that logs and traces carry instead of the raw id (contracts.md §6).
The assignment is monotonic by construction: a bucket below ``percent x 100`` stays
below it for every larger percent.
"""

from __future__ import annotations

from hashlib import sha256
from typing import NamedTuple

BUCKETS = 10_000


class Assignment(NamedTuple):
    """Immutable; a tuple because one is made per request (a frozen dataclass costs
    twice as much to build)."""

    bucket: int
    user_hash: str
    canary: bool


NO_STICKY_VALUE = Assignment(-1, "", False)


def user_hash(salt: str, sticky_value: str) -> str:
    """First 16 hex characters of sha256(salt + sticky key value)."""
    return sha256((salt + sticky_value).encode()).hexdigest()[:16]


def bucket_of(salt: str, sticky_value: str) -> int:
    digest = sha256((salt + sticky_value).encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def threshold(percent: float) -> int:
    """Buckets [0, threshold) are in the canary; percent is clamped to [0, 100]."""
    if not percent or percent <= 0:
        return 0
    if percent >= 100:
        return BUCKETS
    return round(percent * 100)


def assign(salt: str, sticky_value: str | None, percent: float) -> Assignment:
    """No sticky key value means control (and an empty user hash)."""
    if not sticky_value:
        return NO_STICKY_VALUE
    head = sha256((salt + sticky_value).encode()).digest()[:8]
    bucket = int.from_bytes(head, "big") % BUCKETS
    return Assignment(bucket, head.hex(), bucket < threshold(percent) if percent else False)
