"""The detection targets, judged by the generated alarms as cutover.rehearsal.cloudwatch
evaluates them: 100 requests a minute, baseline errors 0.1%, the fault starting two
hours into a step held at 1% (about one canary request a minute) or 5%.

| canary fails | composite in ALARM within, at 1% | at 5% (half) |
|---|---|---|
| 100% of its requests | 10 min | 5 min |
| 30% | 20 min | 10 min |
| 10% | 45 min | 22.5 min |

Two moments: the step starts with a broken candidate (0 -> 1% or 1 -> 5%, the flags all
at once; what was measured before: ~50 minutes with the old 50-sample floor), or a healthy
step's candidate starts failing two hours in.
Two kinds of failure: exactly that share of canary requests (every k-th, deterministic),
which each seed must detect within the target; and random (Bernoulli) failures, whose
median over seeds must be within it (a single random run can need more: with 10% at
one request a minute, the third error, the least the rule takes, comes after 45 minutes
in about 1 run of 6). `bench/rows/detection.py` measures the distribution.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from cutover.generator.plan import alarms as alarm_plan
from cutover.generator.spec.loader import load_spec
from traffic import false_rollbacks, time_to_detect

SPEC = Path(__file__).resolve().parents[2] / "config" / "production.release.yaml"
TARGETS = {1.0: 10, 0.3: 20, 0.1: 45}  # minutes at 1%; half of it at 5%
DETERMINISTIC_SEEDS = range(1, 11)
RANDOM_SEEDS = range(1, 21)
FALSE_ROLLBACK_SEEDS = {1: 101, 5: 102}  # one 100-hour healthy step each


def _document(percent: float, tmp_path: Path) -> dict:
    spec = tmp_path / "production.release.yaml"
    spec.write_text(SPEC.read_text().replace("      percent: 1\n", f"      percent: {percent:g}\n"))
    return alarm_plan.build(load_spec(spec)).document()


PREVIOUS_STEP = {1: 0, 5: 1}
MOMENTS = {"step-start": PREVIOUS_STEP, "hours-into-the-step": {1: None, 5: None}}


def _target(percent: float, failing: float) -> float:
    return TARGETS[failing] if percent == 1 else TARGETS[failing] / 2


@pytest.mark.slow
@pytest.mark.parametrize("moment", sorted(MOMENTS))
@pytest.mark.parametrize("percent", [1, 5])
@pytest.mark.parametrize("failing", [1.0, 0.3, 0.1])
def test_every_seed_detects_a_steady_failure_within_the_target(moment, percent, failing, tmp_path):
    document = _document(percent, tmp_path)
    minutes = [time_to_detect(document, percent, failing, seed, deterministic=True,
                              from_percent=MOMENTS[moment][percent]) for seed in DETERMINISTIC_SEEDS]
    assert all(m is not None and m <= _target(percent, failing) for m in minutes), minutes


@pytest.mark.slow
@pytest.mark.parametrize("moment", sorted(MOMENTS))
@pytest.mark.parametrize("failing", [1.0, 0.3, 0.1])
def test_random_failures_are_detected_within_the_target_in_the_median_and_twice_as_fast_at_5(
        moment, failing, tmp_path):
    median = {}
    for percent in (1, 5):
        document = _document(percent, tmp_path)
        minutes = [time_to_detect(document, percent, failing, seed, from_percent=MOMENTS[moment][percent])
                   for seed in RANDOM_SEEDS]
        assert None not in minutes, minutes  # every run is detected (within 3 hours)
        median[percent] = statistics.median(minutes)
    assert median[1] <= TARGETS[failing], median
    assert median[5] <= TARGETS[failing] / 2 and median[5] <= median[1] / 2, median


@pytest.mark.slow
@pytest.mark.parametrize("percent", [1, 5])
def test_no_false_rollback_in_100_healthy_step_hours(percent, tmp_path):
    document = _document(percent, tmp_path)
    assert false_rollbacks(document, percent, 100, FALSE_ROLLBACK_SEEDS[percent]) == []
