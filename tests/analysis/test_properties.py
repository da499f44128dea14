"""Properties of the verdict over generated metric windows (hypothesis)."""

from __future__ import annotations

import copy
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import Guardrails, Verdict, analyze, load_metrics
from tests.analysis.builders import WINDOW_START, iso

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GUARDRAILS = Guardrails(min_samples=20)


@st.composite
def period(draw, start: str, step: float, healthy: bool) -> dict:
    """One period whose counts respect the format's per-period invariants. Error counts
    are drawn small so that rates land around the 2% limit, on either side; a healthy
    period has the canary on its share and (almost) nothing failing."""
    requests = draw(st.integers(40 if healthy else 0, 300))
    canary = requests * int(step) // 100 if healthy else draw(st.integers(0, requests))
    top = 1 if healthy else 12
    few = lambda whole: st.integers(0, max(0, min(top, whole)))
    canary_errors = draw(few(canary))
    fallbacks = draw(st.integers(0, canary_errors))
    control_errors = draw(few(requests - canary))
    dispatched = draw(st.integers(0, requests - canary))
    shadow_errors = 0 if healthy else draw(few(dispatched))
    compared = dispatched - shadow_errors
    return {
        "start": start, "Requests": requests, "Errors": control_errors + canary_errors - fallbacks,
        "CanaryRequests": canary, "CanaryErrors": canary_errors, "CanaryFallbacks": fallbacks,
        "CanaryReads": canary, "CanaryReadErrors": draw(few(canary)),
        "ShadowComparisons": compared, "ShadowMismatches": 0 if healthy else draw(few(compared)),
        "ShadowErrors": shadow_errors, "ShadowTimeouts": 0,
        "ShadowDispatched": dispatched, "ShadowDispatchFailures": 0 if healthy else draw(few(dispatched)),
    }  # fmt: skip


@st.composite
def documents(draw) -> dict:
    healthy = draw(st.booleans())
    step = draw(st.sampled_from([0, 1, 5, 25, 50, 100]))
    minutes = draw(st.integers(1, 20))
    series = [draw(period(iso(WINDOW_START + timedelta(minutes=m)), step, healthy)) for m in range(minutes)]
    canary = sum(p["CanaryRequests"] for p in series)
    control = sum(p["Requests"] - p["CanaryRequests"] for p in series)
    ms = st.floats(5, 900, allow_nan=False).map(lambda x: round(x, 1))
    p95_control = draw(ms)
    p95_canary = round(p95_control * draw(st.floats(0.8, 1.1)), 1) if healthy and p95_control < 400 else draw(ms)
    early = iso(WINDOW_START - timedelta(minutes=5))
    deployed = early if healthy else draw(st.sampled_from([None, early, iso(WINDOW_START + timedelta(minutes=minutes // 2))]))
    return {
        "format": "cutover.metrics/1", "release": "r", "environment": "production",
        "paths": [{
            "path": "user-read",
            "step_percent": step,
            "shadow_enabled": healthy or draw(st.booleans()),
            "window": {"start": iso(WINDOW_START), "end": iso(WINDOW_START + timedelta(minutes=minutes)),
                       "period_seconds": 60},
            "rollout": {"deployed_at": deployed, "poll_interval_seconds": 45},
            "series": series,
            "latency": {"control": {"p95_ms": p95_control if control else None, "samples": control},
                        "canary": {"p95_ms": p95_canary if canary else None, "samples": canary}},
        }],
    }  # fmt: skip


def verdict(doc: dict) -> Verdict:
    return analyze(load_metrics(doc), GUARDRAILS).verdict


def scaled(doc: dict, factor: int) -> dict:
    """The same window with every count (and latency sample count) times `factor`."""
    out = copy.deepcopy(doc)
    path = out["paths"][0]
    for row in path["series"]:
        for name, value in row.items():
            if name != "start":
                row[name] = value * factor
    for route in path["latency"].values():
        route["samples"] *= factor
    return out


def with_healthy_samples(doc: dict, requests: int, canary_pct: int) -> dict:
    """Add, to every period, requests that all succeeded, a share of them on the canary
    and half of the control's shadowed with no diff; latency unchanged."""
    out = copy.deepcopy(doc)
    path = out["paths"][0]
    canary = requests * canary_pct // 100
    for row in path["series"]:
        row["Requests"] += requests
        row["CanaryRequests"] += canary
        row["CanaryReads"] += canary
        row["ShadowDispatched"] += (requests - canary) // 2
        row["ShadowComparisons"] += (requests - canary) // 2
    periods = len(path["series"])
    for route, added in (("control", requests - canary), ("canary", canary)):
        lat = path["latency"][route]
        if added and lat["p95_ms"] is None:
            lat["p95_ms"] = 40.0
        lat["samples"] += added * periods
    return out


@SETTINGS
@given(doc=documents(), factor=st.integers(2, 30))
def test_more_samples_at_the_same_rates_never_turn_a_rollback_into_a_promote(doc, factor):
    if verdict(doc) is Verdict.ROLLBACK:
        assert verdict(scaled(doc, factor)) is not Verdict.PROMOTE


@SETTINGS
@given(doc=documents(), requests=st.integers(1, 500), canary_pct=st.integers(0, 100))
def test_healthy_samples_never_turn_a_hold_for_too_few_samples_into_a_rollback(doc, requests, canary_pct):
    result = analyze(load_metrics(doc), GUARDRAILS)
    # a HOLD *for too few samples*: every check that holds does so for want of samples (a
    # HOLD that also says "investigate", e.g. the control failing as often as the canary,
    # may rightly become a ROLLBACK once healthy control traffic shows the difference)
    holds = [c for c in result.checks if c.verdict is Verdict.HOLD]
    too_few = bool(holds) and all(c.reason.startswith("too few samples") for c in holds)
    if result.verdict is Verdict.HOLD and too_few:
        assert verdict(with_healthy_samples(doc, requests, canary_pct)) is not Verdict.ROLLBACK


@SETTINGS
@given(doc=documents(), seed=st.randoms(use_true_random=False))
def test_the_verdict_does_not_depend_on_series_order(doc, seed):
    shuffled = copy.deepcopy(doc)
    seed.shuffle(shuffled["paths"][0]["series"])
    first = analyze(load_metrics(doc), GUARDRAILS).to_json()
    assert analyze(load_metrics(shuffled), GUARDRAILS).to_json() == first


def test_the_generator_reaches_every_verdict():
    """The properties above are only worth something if the generated windows cover
    PROMOTE, HOLD (among them HOLD for too few samples) and ROLLBACK."""
    seen: set[object] = set()

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(doc=documents())
    def collect(doc):
        result = analyze(load_metrics(doc), GUARDRAILS)
        seen.add(result.verdict)
        if result.verdict is Verdict.HOLD and any(c.reason.startswith("too few samples") for c in result.checks):
            seen.add("hold-for-too-few-samples")

    collect()
    assert seen == {*Verdict, "hold-for-too-few-samples"}
