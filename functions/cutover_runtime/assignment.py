"""Sticky canary assignment: a user's bucket is a hash of (salt, sticky key value).

One sha256 per request gives both the bucket (first 8 bytes mod 10,000) and the
``userHash`` that logs and traces carry instead of the raw id (contracts.md §6).
The assignment is monotonic by construction: a bucket below ``percent x 100`` stays
below it for every larger percent.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256

BUCKETS = 10_000


@dataclass(frozen=True, slots=True)
class Assignment:
    bucket: int
    user_hash: str
    canary: bool


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
    if sticky_value is None or sticky_value == "":
        return Assignment(bucket=-1, user_hash="", canary=False)
    digest = sha256((salt + sticky_value).encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % BUCKETS
    return Assignment(bucket=bucket, user_hash=digest.hex()[:16], canary=bucket < threshold(percent))
