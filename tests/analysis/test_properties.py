"""Properties of the verdict over generated metric windows (hypothesis)."""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cutover.analysis import Guardrails, MetricsInvalid, SeedAction, Verdict, analyze, load_metrics
from cutover.analysis.checks import ErrorCounts, judge_error_rate
from cutover.analysis.exact import fisher_greater
from tests.analysis.builders import WINDOW_START, Scenario, document, iso

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


@pytest.mark.slow
@SETTINGS
@given(doc=documents(), requests=st.integers(1, 500), canary_pct=st.integers(0, 100))
def test_healthy_samples_never_turn_a_hold_for_too_few_samples_into_a_rollback_by_the_limit(doc, requests,
                                                                                          canary_pct):
    result = analyze(load_metrics(doc), GUARDRAILS)
    # a HOLD *for too few samples*: every check that holds does so for want of samples (a
    # HOLD that also says "investigate", e.g. the control failing as often as the canary,
    # may rightly become a ROLLBACK once healthy control traffic shows the difference)
    holds = [c for c in result.checks if c.verdict is Verdict.HOLD]
    too_few = bool(holds) and all(c.reason.startswith("too few samples") for c in holds)
    if result.verdict is Verdict.HOLD and too_few:
        after = analyze(load_metrics(with_healthy_samples(doc, requests, canary_pct)), GUARDRAILS)
        # a ROLLBACK can only be the evidence the sample gate was waiting for: a canary
        # rate that now counts (min_samples requests, min_errors errors), past the limit
        # and significantly worse than its control; never the limit's own test
        for check in after.checks:
            if check.verdict is Verdict.ROLLBACK:
                assert check.name in ("canary-error-rate", "candidate-error-rate"), check.reason
                assert check.evidence["p_vs_limit"] >= GUARDRAILS.alpha, check.reason
                assert check.evidence["p_vs_control"] < GUARDRAILS.alpha, check.reason
                assert check.samples >= GUARDRAILS.min_samples and check.figure > GUARDRAILS.error_rate_pct


@pytest.mark.slow
@SETTINGS
@given(doc=documents(), seed=st.randoms(use_true_random=False))
def test_the_verdict_does_not_depend_on_series_order(doc, seed):
    shuffled = copy.deepcopy(doc)
    seed.shuffle(shuffled["paths"][0]["series"])
    first = analyze(load_metrics(doc), GUARDRAILS).to_json()
    assert analyze(load_metrics(shuffled), GUARDRAILS).to_json() == first


@pytest.mark.slow
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


# --- the error-rate rule against the control, "no data", exact thresholds -----

counts = st.integers(0, 5000)


@st.composite
def error_windows(draw) -> tuple[ErrorCounts, ErrorCounts]:
    """Canary and control error counts; half of them near the 2% limit, where the limit's
    own test is not yet significant but the comparison with the control can be."""
    rate = lambda near: st.one_of(st.floats(0, near), st.floats(0, 1))
    n = draw(st.integers(1, 3000))
    k = min(n, round(n * draw(rate(0.05))))
    m = draw(st.integers(0, 50_000))
    j = min(m, round(m * draw(rate(0.01))))
    return ErrorCounts(k, n, "canary requests"), ErrorCounts(j, m, "control requests")


@SETTINGS
@given(window=error_windows())
def test_worse_than_the_control_and_past_the_limit_with_enough_samples_rolls_back(window):
    seen, control = window
    g = Guardrails()
    check = judge_error_rate("p", "canary-error-rate", seen, control, g)
    worse = control.requests >= g.min_samples and fisher_greater(
        seen.errors, seen.requests, control.errors, control.requests) < g.alpha
    counts = seen.requests >= g.min_samples and seen.errors >= g.min_errors
    if counts and 100 * seen.errors > g.error_rate_pct * seen.requests and worse:
        assert check.verdict is Verdict.ROLLBACK, check.reason


@SETTINGS
@given(window=error_windows())
def test_a_canary_no_worse_than_its_control_is_never_rolled_back_by_the_comparison(window):
    """At or below the control's rate, only the limit test (the control failing as much
    is then HOLD investigate) or nothing can judge it: never ROLLBACK."""
    seen, control = window
    g = Guardrails()
    if control.requests >= g.min_samples and seen.errors * control.requests <= control.errors * seen.requests:
        assert judge_error_rate("p", "c", seen, control, g).verdict is not Verdict.ROLLBACK


@SETTINGS
@given(window=error_windows(), more=st.integers(1, 50))
def test_more_canary_errors_never_make_the_error_check_milder(window, more):
    seen, control = window
    g = Guardrails()
    worse = ErrorCounts(min(seen.requests, seen.errors + more), seen.requests, seen.what)
    before = judge_error_rate("p", "c", seen, control, g).verdict
    after = judge_error_rate("p", "c", worse, control, g).verdict
    assert after.severity >= before.severity


@SETTINGS
@given(doc=documents())
def test_no_data_is_said_only_when_nothing_at_all_was_measured(doc):
    empty = copy.deepcopy(doc)
    path = empty["paths"][0]
    path["series"] = []
    path["latency"] = {"control": {"p95_ms": None, "samples": 0}, "canary": {"p95_ms": None, "samples": 0}}
    result = analyze(load_metrics(empty), GUARDRAILS)
    assert result.verdict is Verdict.HOLD and result.seed_actions == (SeedAction.CHECK_CONFIG,)
    assert all(c.reason.startswith("no data") for c in result.checks)
    measured = analyze(load_metrics(doc), GUARDRAILS)
    anything = any(v for row in path_rows(doc) for k, v in row.items() if k != "start") or any(
        r["samples"] for r in doc["paths"][0]["latency"].values())
    assert any(c.reason.startswith("no data") for c in measured.checks) is (not anything)


def path_rows(doc: dict) -> list[dict]:
    return doc["paths"][0]["series"]


@pytest.mark.slow
@SETTINGS
@given(control_ms=st.integers(1, 5000), tenths=st.integers(0, 9), no_go=st.integers(2, 300),
       data=st.data())
def test_a_p95_exactly_on_a_line_is_judged_by_the_decimal_figures_not_float_noise(control_ms, tenths, no_go, data):
    """A canary p95 exactly no-go% (or go%) above the control's, written as decimals the
    way CloudWatch prints them: on the line is not beyond it, 0.01 ms more is."""
    go = data.draw(st.integers(1, no_go - 1))
    control = Decimal(control_ms) + Decimal(tenths) / 10
    g = Guardrails(p95_go_pct=go, p95_no_go_pct=no_go, p95_ceiling_ms=10**7)

    def p95_verdict(canary: Decimal) -> tuple[Verdict, SeedAction]:
        doc = document(Scenario(p95_control=float(str(control)), p95_canary=float(str(canary))))
        check = next(c for c in analyze(load_metrics(doc), g).checks if c.name == "p95-regression")
        return check.verdict, check.seed_action

    on_no_go = control * (100 + no_go) / 100
    on_go = control * (100 + go) / 100
    if on_no_go == on_no_go.quantize(Decimal("0.001")) and on_no_go < 3_600_000:
        assert p95_verdict(on_no_go) == (Verdict.HOLD, SeedAction.WAIT)
        assert p95_verdict(on_no_go + Decimal("0.01")) == (Verdict.HOLD, SeedAction.INVESTIGATE)
    if on_go == on_go.quantize(Decimal("0.001")):
        assert p95_verdict(on_go) == (Verdict.PROMOTE, SeedAction.GO)


json_ish = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from(['[', ']', '{', '}', '"', '\\', ',', ':', ' ', '\n', '1', '1e300', 'NaN',
                              '-Infinity', 'null', '"a"', '"Requests"', '"format"']), max_size=400)
    .map(lambda parts: "".join(parts).encode()),
    st.integers(60, 3000).map(lambda depth: b'{"paths":\n' + b"[" * depth),
)


@SETTINGS
@given(content=json_ish)
def test_any_file_is_read_or_refused_with_a_location_never_an_exception(tmp_path_factory, content):
    """Whatever the bytes, load_metrics returns or raises MetricsInvalid (exit 2); an error
    about the file itself names a line and column inside it."""
    f = tmp_path_factory.mktemp("m") / "m.json"
    f.write_bytes(content)
    try:
        load_metrics(f)
    except MetricsInvalid as exc:
        where = exc.errors[0][0]
        if where[0].isdigit():
            line, column = map(int, where.split(":"))
            assert 1 <= line <= content.count(b"\n") + 1 and column >= 1
