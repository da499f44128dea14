"""Alarm windows sized for the traffic each rate judges (issue 7, item 10)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from generator import alarms
from generator.loader import load_spec

SPEC = Path(__file__).resolve().parents[2] / "config" / "production.release.yaml"


def _spec_at(percent: float, tmp_path: Path, rpm: float = 100):
    text = SPEC.read_text().replace("      percent: 1\n", f"      percent: {percent:g}\n")
    text = text.replace("expected_requests_per_minute: 100", f"expected_requests_per_minute: {rpm:g}")
    path = tmp_path / "production.release.yaml"
    path.write_text(text)
    return load_spec(path)


def _poisson_below(mu: float, floor: int) -> float:
    """P(X < floor) for X ~ Poisson(mu)."""
    term, total = math.exp(-mu), 0.0
    for k in range(floor):
        total += term
        term *= mu / (k + 1)
    return total


@pytest.mark.parametrize("floor", [1, 5, 20, 50, 200, 1000])
def test_a_window_sized_for_the_floor_almost_always_reaches_it(floor):
    mu = alarms.expected_samples_for(floor)
    assert mu - 3 * math.sqrt(mu) == pytest.approx(floor)
    assert _poisson_below(mu, floor) < 0.01  # fewer than 1 window in 100 lacks the floor


@pytest.mark.parametrize(
    "percent,period,n,m",
    [(1, 77 * 60, 1, 1), (5, 16 * 60, 1, 1), (25, 4 * 60, 1, 1), (50, 2 * 60, 1, 1), (100, 60, 5, 3)],
)
def test_each_step_at_100_requests_a_minute_gets_its_canary_window(percent, period, n, m, tmp_path):
    spec = _spec_at(percent, tmp_path)
    canary = {a.key: a for a in alarms.build(spec).alarms}["user-read/canary-error-rate"]
    assert (canary.window.period, canary.window.evaluation_periods, canary.window.datapoints_to_alarm) == (
        period, n, m)
    assert canary.window.expected_samples >= alarms.expected_samples_for(spec.guardrails.min_samples)


def test_served_and_router_rates_use_the_spec_period_when_traffic_allows(tmp_path):
    built = {a.key: a for a in alarms.build(_spec_at(1, tmp_path)).alarms}
    for kind in ("served-error-rate", "router-error-rate"):
        w = built[f"user-read/{kind}"].window
        assert (w.period, w.evaluation_periods, w.datapoints_to_alarm) == (60, 5, 3)


def test_low_traffic_stretches_every_rate_but_never_past_a_day(tmp_path):
    spec = _spec_at(1, tmp_path, rpm=6)  # 0.06 canary requests a minute
    for alarm in alarms.build(spec).alarms:
        assert alarm.window.period * alarm.window.evaluation_periods <= alarms.MAX_WINDOW_SECONDS
        assert alarm.window.period % 60 == 0
    canary = {a.key: a for a in alarms.build(spec).alarms}["user-read/canary-error-rate"]
    assert canary.window.period == 1270 * 60  # 76.19 / 0.06 = 1269.8 -> 1270 minutes


def test_the_shadow_phase_has_no_canary_alarm_and_shadow_only_notifies(tmp_path):
    text = SPEC.read_text().replace("phase: canary", "phase: shadow").replace("      percent: 1\n", "      percent: 0\n")
    (tmp_path / "production.release.yaml").write_text(text)
    built = alarms.build(load_spec(tmp_path / "production.release.yaml"))
    kinds = {a.key.split("/")[1]: a.role for a in built.alarms}
    assert kinds == {
        "served-error-rate": "rollback", "router-error-rate": "rollback",
        "shadow-error-rate": "notify", "shadow-dispatch-failure-rate": "notify",
    }
    assert built.rollback.members == ("user-read/router-error-rate", "user-read/served-error-rate")
