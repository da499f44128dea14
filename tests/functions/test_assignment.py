from __future__ import annotations

from hashlib import sha256

import pytest
from cutover_runtime.assignment import BUCKETS, assign, bucket_of, threshold, user_hash

STEPS = (1, 5, 25, 50, 100)
SALT = "huntaze-prisma-migration/user-read"


@pytest.fixture(scope="module")
def million_buckets() -> list[int]:
    return [bucket_of(SALT, f"user-{i}") for i in range(1_000_000)]


@pytest.mark.slow  # a million ids hashed (the fixture), then counted per percent
@pytest.mark.parametrize("percent", [1, 5, 25, 50, 75, 99])
def test_share_in_canary_is_within_a_tenth_of_a_point_over_a_million_ids(
        million_buckets, percent):
    limit = threshold(percent)
    share = sum(1 for b in million_buckets if b < limit) / len(million_buckets) * 100
    assert abs(share - percent) <= 0.1, f"percent={percent} share={share:.4f}"


def test_buckets_are_uniform_by_chi_square(million_buckets):
    # GIVEN 10,000 buckets and a million ids (100 expected per bucket)
    counts = [0] * BUCKETS
    for b in million_buckets:
        counts[b] += 1
    expected = len(million_buckets) / BUCKETS
    chi2 = sum((c - expected) ** 2 / expected for c in counts)
    # THEN chi-square with 9,999 degrees of freedom stays under its 99.9% quantile (~10,535)
    assert chi2 < 10_535, chi2


def test_every_user_in_the_canary_at_one_step_stays_in_it_at_every_later_step():
    ids = [f"u{i}" for i in range(20_000)]
    previous: set[str] = set()
    for percent in STEPS:
        current = {u for u in ids if assign(SALT, u, percent).canary}
        assert previous <= current, f"percent={percent} lost={len(previous - current)}"
        previous = current
    assert previous == set(ids)


def test_assignment_is_deterministic_and_depends_on_the_salt():
    first = [assign(SALT, f"u{i}", 25).bucket for i in range(1000)]
    again = [assign(SALT, f"u{i}", 25).bucket for i in range(1000)]
    other = [assign("other-salt", f"u{i}", 25).bucket for i in range(1000)]
    assert first == again
    assert first != other


def test_no_sticky_key_means_control_even_at_one_hundred_percent():
    for value in (None, ""):
        result = assign(SALT, value, 100)
        assert result.canary is False
        assert result.user_hash == ""


def test_zero_percent_and_out_of_range_percent_are_clamped():
    assert threshold(0) == 0
    assert threshold(-5) == 0
    assert threshold(100) == BUCKETS
    assert threshold(250) == BUCKETS
    assert threshold(0.01) == 1
    assert not any(assign(SALT, f"u{i}", 0).canary for i in range(2000))


def test_user_hash_is_the_contract_prefix_of_sha256_of_salt_and_value():
    assert user_hash("s", "u1") == sha256(b"su1").hexdigest()[:16]
    assert assign("s", "u1", 10).user_hash == user_hash("s", "u1")
