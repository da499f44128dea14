"""The rule every alarm runs (Wald's SPRT as a line) and the windows it runs over."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from cutover.generator.plan import alarms
from cutover.generator.spec.loader import load_spec

from cutover.rehearsal.cloudwatch import AlarmDefinition, MetricStore

SPEC = Path(__file__).resolve().parents[2] / "config" / "production.release.yaml"


def _spec_at(percent: float, tmp_path: Path, rpm: float = 100, extra: str = ""):
    text = SPEC.read_text().replace("      percent: 1\n", f"      percent: {percent:g}\n")
    text = text.replace("  expected_requests_per_minute: 100\n",
                        f"  expected_requests_per_minute: {rpm:g}\n{extra}")
    path = tmp_path / "production.release.yaml"
    path.write_text(text)
    return load_spec(path)


def _built(spec) -> dict[str, alarms.MetricAlarm]:
    return {a.key: a for a in alarms.build(spec).alarms}


def _llr(n: int, e: int, p0: float, p1: float) -> float:
    return e * math.log(p1 / p0) + (n - e) * math.log((1 - p1) / (1 - p0))


# --- the rule -------------------------------------------------------------------------------


def test_the_production_line_comes_from_the_spec_defaults():
    rule = alarms.SequentialRule.of(load_spec(SPEC))
    # p0 0.1%, p1 10%, alpha 1% per hour / 60 evaluations, beta 1%, at least 3 errors
    assert (rule.healthy, rule.failing, rule.beta, rule.min_errors) == (0.001, 0.1, 0.01, 3)
    assert rule.alpha == pytest.approx(0.01 / 60)
    assert (rule.intercept, rule.slope) == (1.84508, 0.0221593)


@pytest.mark.parametrize("p0,p1,alpha,beta", [(0.001, 0.1, 0.01 / 60, 0.01), (0.005, 0.05, 0.001, 0.05),
                                              (0.01, 0.3, 0.01, 0.01)])
def test_the_line_is_walds_test(p0, p1, alpha, beta):
    # GIVEN Wald's test: "failing" once the log-likelihood ratio reaches ln((1 - beta) / alpha)
    rule = alarms.SequentialRule(p0, p1, alpha, beta, min_errors=1)
    upper = math.log((1 - beta) / alpha)
    for n in range(1, 400):
        for e in range(min(n, 60) + 1):
            # THEN the line e >= a + b n says the same, wherever rounding a and b to six
            # significant digits cannot matter
            if abs(_llr(n, e, p0, p1) - upper) > 1e-3:
                assert rule.crosses(n, e) == (_llr(n, e, p0, p1) >= upper), (n, e)


def test_one_evaluation_of_a_healthy_route_alarms_with_at_most_alpha():
    # Ville's inequality bounds the whole sequential run; one window's (n, e) is one point
    # of it. Exact binomial tail at p0 for every window size up to 2,000 samples.
    rule = alarms.SequentialRule.of(load_spec(SPEC))
    for n in range(1, 2001):
        k = max(rule.min_errors, math.ceil(rule.intercept + rule.slope * n - 1e-12))
        tail = 1 - sum(math.comb(n, i) * rule.healthy**i * (1 - rule.healthy) ** (n - i) for i in range(min(k, n + 1)))
        assert tail <= rule.alpha, (n, k, tail)


def test_three_failures_out_of_three_settle_it_but_two_do_not():
    rule = alarms.SequentialRule.of(load_spec(SPEC))
    assert rule.crosses(3, 3) and rule.crosses(30, 3) and rule.crosses(52, 3)
    assert not rule.crosses(2, 2)  # guardrails.min_errors
    assert not rule.crosses(53, 3) and rule.crosses(53, 4)  # the line: 1.845 + 0.0222 x 53 > 3


@pytest.mark.parametrize("samples,errors", [(0, 0), (1, 1), (3, 2), (3, 3), (30, 3), (52, 3), (53, 3), (53, 4),
                                            (200, 6), (200, 7), (5000, 112), (5000, 113)])
def test_the_rendered_expression_decides_what_the_rule_decides(samples, errors):
    # GIVEN the production canary alarm as rendered, read by the CloudWatch evaluator
    spec = load_spec(SPEC)
    alarm = _built(spec)["user-read/canary-error-rate"]
    definition = AlarmDefinition.from_document(alarm.key, alarm.document())
    store = MetricStore()
    # WHEN one window holds these samples and errors (spread over its minutes)
    period = definition.period
    for i in range(samples):
        t = period + (i * period) // max(samples, 1)
        store.put("Cutover", "CanaryRequests", alarm.metrics[1].dimensions, t, 1)
        store.put("Cutover", "CanaryErrors", alarm.metrics[0].dimensions, t, int(i < errors))
    # THEN the alarm is in ALARM exactly when the rule crosses
    state = definition.state_at(store, 2 * period, "OK")
    assert (state == "ALARM") == alarm.rule.crosses(samples, errors), (samples, errors, state)


def test_no_division_so_every_period_has_a_value_and_the_expression_fits():
    for alarm in alarms.build(load_spec(SPEC)).alarms:
        for e in alarm.expressions:
            assert "/" not in e.expression and len(e.expression) <= alarms.MAX_EXPRESSION_CHARS
        assert all(e.expression.startswith("FILL(") for e in alarm.expressions[:2])
        assert len(alarm.metrics) <= alarms.MAX_METRICS


# --- windows --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "percent,fast,slow",
    [(1, (30 * 60, 1, 1), (52 * 60, 1, 1)), (5, (6 * 60, 1, 1), (52 * 60, 1, 1)),
     (25, (2 * 60, 1, 1), (52 * 60, 1, 1)), (50, (60, 5, 3), (52 * 60, 1, 1)),
     (100, (60, 5, 3), (52 * 60, 1, 1))],
)
def test_each_step_has_a_fast_window_for_itself_and_a_slow_one_for_the_first_step(percent, fast, slow, tmp_path):
    built = _built(_spec_at(percent, tmp_path))
    for kind in ("canary-error-rate", "candidate-canary-error-rate"):
        f, s = built[f"user-read/{kind}"], built[f"user-read/{kind}-slow"]
        assert (f.window.period, f.window.evaluation_periods, f.window.datapoints_to_alarm) == fast
        assert (s.window.period, s.window.evaluation_periods, s.window.datapoints_to_alarm) == slow
        assert (f.speed, s.speed, f.role, s.role) == ("fast", "slow", "rollback", "rollback")
        # the slow window expects, at the first step's traffic, what the test needs with room to spare
        assert s.window.expected_samples >= alarms.window_samples(_spec_at(1, tmp_path))
        assert (f.sized_for, s.sized_for) == (f"the {percent}% step (current)", "the 1% step (first)")


def test_the_fast_window_holds_what_a_failing_canary_needs_and_the_slow_one_three_sigmas_more(tmp_path):
    spec = _spec_at(1, tmp_path)
    needed = alarms.SequentialRule.of(spec).decision_samples()
    assert needed == 30  # 3 errors at 10% (the line alone would need 1.845 / (0.1 - 0.0222) = 23.7)
    slow = alarms.window_samples(spec, "slow")
    assert slow - 3 * math.sqrt(slow) == pytest.approx(needed)


def test_router_and_served_rates_use_the_spec_period_when_traffic_allows(tmp_path):
    built = _built(_spec_at(1, tmp_path))
    for kind in ("served-error-rate", "router-error-rate"):
        w = built[f"user-read/{kind}"].window
        assert (w.period, w.evaluation_periods, w.datapoints_to_alarm) == (60, 5, 3)
        assert built[f"user-read/{kind}"].speed == "only"


def test_low_traffic_stretches_every_window_but_never_past_a_day(tmp_path):
    spec = _spec_at(1, tmp_path, rpm=6)  # 0.06 canary requests a minute
    built = _built(spec)
    for alarm in built.values():
        assert alarm.window.period * alarm.window.evaluation_periods <= alarms.MAX_WINDOW_SECONDS
        assert alarm.window.period % 60 == 0
    assert built["user-read/canary-error-rate"].window.period == 500 * 60  # 30 / 0.06
    assert built["user-read/canary-error-rate-slow"].window.period == 859 * 60  # 51.54 / 0.06 = 858.9


# --- who is judged, what rolls back ---------------------------------------------------------


def test_only_the_canary_route_and_the_router_crashes_roll_back(tmp_path):
    built = _built(_spec_at(5, tmp_path))
    judged = {k.split("/")[1]: (a.role, a.judges) for k, a in built.items()}
    assert judged == {
        "canary-error-rate": ("rollback", "candidate"), "canary-error-rate-slow": ("rollback", "candidate"),
        "candidate-canary-error-rate": ("rollback", "candidate"),
        "candidate-canary-error-rate-slow": ("rollback", "candidate"),
        "router-error-rate": ("rollback", "router"),
        "served-error-rate": ("notify", "control"),
        "shadow-error-rate": ("notify", "candidate"), "shadow-dispatch-failure-rate": ("notify", "router"),
    }
    # no rollback alarm reads what the control route serves
    read = {m.metric_name for a in built.values() if a.role == "rollback" for m in a.metrics}
    assert read == {"CanaryErrors", "CanaryRequests", "CanaryReadErrors", "CanaryReads", "Errors", "Invocations"}
    assert all(m.namespace == "AWS/Lambda" for a in built.values() if a.role == "rollback"
               for m in a.metrics if m.metric_name in ("Errors", "Invocations"))


def test_every_document_says_whom_it_judges(tmp_path):
    document = alarms.build(_spec_at(5, tmp_path)).document()
    for alarm in document["alarms"].values():
        assert alarm["judges"] in ("router", "candidate", "control")
        assert alarm["window"] in ("fast", "slow", "only")
        assert alarm["comparison"] == "GreaterThanOrEqualToThreshold"
        assert alarm["threshold"] == alarm["sequential_test"]["intercept"]


def test_the_shadow_phase_has_no_canary_alarm_and_shadow_only_notifies(tmp_path):
    text = SPEC.read_text().replace("phase: canary", "phase: shadow").replace("      percent: 1\n", "      percent: 0\n")
    (tmp_path / "production.release.yaml").write_text(text)
    built = alarms.build(load_spec(tmp_path / "production.release.yaml"))
    kinds = {a.key.split("/")[1]: a.role for a in built.alarms}
    assert kinds == {
        "served-error-rate": "notify", "router-error-rate": "rollback",
        "shadow-error-rate": "notify", "shadow-dispatch-failure-rate": "notify",
    }
    assert built.rollback.members == ("user-read/router-error-rate",)


def test_the_spec_sets_the_test(tmp_path):
    extra = ("  sequential: {healthy_error_rate_pct: 0.5, failing_error_rate_pct: 20,"
             " false_rollback_per_hour: 0.05, missed_rollback: 0.05}\n")
    rule = alarms.SequentialRule.of(_spec_at(1, tmp_path, extra=extra))
    g1, g2 = math.log(0.2 / 0.005), math.log(0.995 / 0.8)
    assert rule.slope == pytest.approx(g2 / (g1 + g2), rel=1e-5)
    assert rule.intercept == pytest.approx(math.log(0.95 / (0.05 / 60)) / (g1 + g2), rel=1e-5)


def test_a_ramp_changes_only_the_fast_canary_windows(tmp_path):
    # what `make plan` shows for 1 -> 5 -> 25 -> 50 -> 100: the same alarms, the slow ones unchanged
    (tmp_path / "1").mkdir()
    before = alarms.build(_spec_at(1, tmp_path / "1")).document()["alarms"]
    for percent in (5, 25, 50, 100):
        (tmp_path / str(percent)).mkdir()
        after = alarms.build(_spec_at(percent, tmp_path / str(percent))).document()["alarms"]
        assert after.keys() <= before.keys()  # no alarm appears (the shadow ones go at 100%)
        changed = {k for k in after if after[k] != before[k]}
        assert changed <= {"user-read/canary-error-rate", "user-read/candidate-canary-error-rate",
                           "user-read/shadow-error-rate", "user-read/shadow-dispatch-failure-rate"}, changed
        assert {k for k in changed if "canary" in k} == {"user-read/canary-error-rate",
                                                        "user-read/candidate-canary-error-rate"}
        before = after
