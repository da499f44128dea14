"""analysis.p95: the nearest-rank 95th percentile a producer with raw values computes."""

from __future__ import annotations

import random

import pytest

from cutover.analysis import analyze, load_metrics, p95
from cutover.analysis.latency import route_latency
from tests.analysis.builders import Scenario, document


@pytest.mark.parametrize("values,expected", [
    (list(range(1, 101)), 95),  # 95 of the 100 values are <= 95
    (list(range(1, 21)), 19),  # ceil(0.95 * 20) = 19th value
    ([7.5], 7.5),
    ([3, 1, 2], 3),  # ceil(2.85) = 3rd value
    ([], None),
])  # fmt: skip
def test_p95_nearest_rank(values, expected):
    assert p95(values) == expected


def test_p95_ignores_order():
    values = [random.Random(7).uniform(1, 500) for _ in range(1000)]
    shuffled = values[:]
    random.Random(8).shuffle(shuffled)
    assert p95(values) == p95(shuffled) == sorted(values)[949]


def test_route_latency_fills_the_format():
    doc = document(Scenario(minutes=60))
    doc["paths"][0]["latency"]["canary"] = route_latency([40.0] * 57 + [900.0] * 3)
    canary = load_metrics(doc).paths[0].latency["canary"]
    assert (canary.p95_ms, canary.samples) == (40.0, 60)
    doc["paths"][0]["latency"]["canary"] = route_latency([40.0] * 56 + [900.0] * 4)
    ceiling = next(c for c in analyze(load_metrics(doc)).checks if c.name == "p95-ceiling")
    assert (ceiling.figure, ceiling.verdict.value) == (900.0, "HOLD")
