"""Same seed, same report.json (apart from the wall-clock figures); another seed, another run."""

from __future__ import annotations

import json

import pytest

from cutover.rehearsal.scenario import Expect, Ramp, Scenario, Traffic

pytestmark = pytest.mark.postgres

WALL_CLOCK = ("wall_seconds", "peak_rss_mb")


def small(seed: int) -> Scenario:
    return Scenario(name="determinism", seed=seed,
                    traffic=Traffic(requests_per_minute=100, users=300, key_skew=1.0, max_requests=2500),
                    ramp=Ramp(shadow_minutes=10, hold_minutes=10), expect=Expect(outcome="held", step=1))


def comparable(report: dict) -> str:
    report = json.loads(json.dumps(report))
    for key in WALL_CLOCK:
        report["totals"].pop(key)
    return json.dumps(report, sort_keys=True)


def test_same_seed_same_report(rehearse):
    first, second = rehearse(small(42)), rehearse(small(42))
    assert first["totals"]["requests"] >= 2500
    assert comparable(first) == comparable(second)


def test_another_seed_another_run(rehearse):
    assert comparable(rehearse(small(42))) != comparable(rehearse(small(43)))
