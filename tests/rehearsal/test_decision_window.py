"""The rehearsal's go/no-go decision judges a sliding window (the last hour, as the real
gate `cutover ramp` -> `cutover analyze --since 1h` does), never the step from its start:
one early blip must not make a step unpromotable for ever."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace

import pytest
from cutover.generator.spec.loader import load_spec

from cutover.rehearsal import decision
from cutover.rehearsal.decision import DECISION_WINDOW_MINUTES, analyse_step, iso
from cutover.rehearsal.telemetry import Telemetry, bucket

ROOT = Path(__file__).resolve().parents[2]


def rehearsal_with(minutes: int, failing: range = range(0)) -> SimpleNamespace:
    """A 5% step from minute 0: 100 requests a minute, 5 on the canary, half the control
    shadowed, p95 40 ms on both routes; every canary request fails in `failing`."""
    telemetry = Telemetry(publish=lambda *a: None, stored=set())
    telemetry.minutes = defaultdict(Counter)
    for m in range(minutes):
        errors = 5 if m in failing else 0
        telemetry.minutes[m].update({
            "Requests": 100, "CanaryRequests": 5, "CanaryReads": 5, "CanaryErrors": errors,
            "CanaryFallbacks": errors, "CanaryReadErrors": errors,
            "ShadowDispatched": 47, "ShadowComparisons": 47,
        })  # fmt: skip
        telemetry.latency["control"][m][bucket(40.0)] += 95
        telemetry.latency["canary"][m][bucket(40.0)] += 5
    return SimpleNamespace(
        spec=load_spec(ROOT / "config" / "production.release.yaml"), telemetry=telemetry,
        world=SimpleNamespace(poll_interval_s=45), scenario=SimpleNamespace(name="window", seed=1))


def five_percent_step(started: int = 0) -> SimpleNamespace:
    return SimpleNamespace(percent=5, started=started,
                           deployment=SimpleNamespace(deployed_at=started * 60.0, rolled_back_at=None))


def test_a_blip_at_the_start_of_the_step_is_out_of_the_window_four_hours_later():
    # GIVEN every canary request failing for minutes 2-4 of a 5% step (15 of them)
    rehearsal = rehearsal_with(240, failing=range(2, 5))
    # WHEN the step is decided after its 240-minute hold
    decided = analyse_step(rehearsal, five_percent_step(), 240)
    # THEN the decision judged the last hour only, which is healthy
    window = decided.document["paths"][0]["window"]
    assert (window["start"], window["end"]) == (iso(240 - DECISION_WINDOW_MINUTES), iso(240))
    assert len(decided.document["paths"][0]["series"]) == DECISION_WINDOW_MINUTES
    assert decided.verdict == "PROMOTE", [c["reason"] for c in decided.checks if c["verdict"] != "PROMOTE"]


def test_judged_from_the_steps_start_the_same_blip_holds_the_step(monkeypatch):
    """The behaviour the sliding window replaces: over the whole step the 15 failures
    are 1.25% against a spotless control, significantly worse: never PROMOTE."""
    monkeypatch.setattr(decision, "DECISION_WINDOW_MINUTES", 10**6)
    decided = analyse_step(rehearsal_with(240, failing=range(2, 5)), five_percent_step(), 240)
    assert decided.document["paths"][0]["window"]["start"] == iso(0)
    assert decided.verdict == "HOLD"


@pytest.mark.parametrize("failing", [range(185, 188), range(230, 240)])
def test_a_fault_inside_the_last_hour_still_counts(failing):
    decided = analyse_step(rehearsal_with(240, failing=failing), five_percent_step(), 240)
    assert decided.verdict == "ROLLBACK"


def test_the_window_never_reaches_back_past_the_steps_start():
    # a 25-minute hold: the hour before the decision would reach into the previous step
    rehearsal = rehearsal_with(100, failing=range(50, 75))  # the previous step failed
    decided = analyse_step(rehearsal, five_percent_step(started=75), 100)
    series = decided.document["paths"][0]["series"]
    assert [p["start"] for p in series][:1] == [decided.document["paths"][0]["window"]["start"]]
    assert len(series) == 25
    assert all(p.get("CanaryErrors", 0) == 0 for p in series)


def test_a_hold_then_a_later_decision_slides_past_the_blip():
    """The engine decides again one hold later after a HOLD: that decision no longer sees
    a blip the first one saw."""
    rehearsal = rehearsal_with(180, failing=range(30, 33))
    first = analyse_step(rehearsal, five_percent_step(), 90)
    second = analyse_step(rehearsal, five_percent_step(), 180)
    assert first.verdict != "PROMOTE"
    assert second.verdict == "PROMOTE"
