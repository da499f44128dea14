"""The go/no-go table: each case, its exact verdict, and the seed action it maps to.

Default guardrails (the spec's): error rate 2%, p95 go +15% / no-go +30%, ceiling 500 ms,
shadow diffs go 0.5% / no-go 1%, canary share 0.5x-2x, 50 samples, 95% confidence.
A Scenario is 120 one-minute periods at 100 requests/min (12,000 requests), canary at
1% unless said, half of the control's requests shadowed, 0.1% diffs, p95 40 ms control
/ 44 ms canary, the flag rollout settled an hour before the window.
"""

from __future__ import annotations

import pytest

from cutover.analysis import Guardrails, SeedAction, Verdict, analyze, load_metrics
from tests.analysis.builders import Scenario, document

P, H, R = Verdict.PROMOTE, Verdict.HOLD, Verdict.ROLLBACK
GO, WAIT, NA = SeedAction.GO, SeedAction.WAIT, SeedAction.NOT_APPLICABLE
AUTO, INV, CFG = SeedAction.ROLLBACK_AUTO, SeedAction.INVESTIGATE, SeedAction.CHECK_CONFIG
S = Scenario()

# (id, scenarios, overall verdict, seed actions of the deciding checks, {check: (verdict, action)})
CASES = [
    ("healthy-1pct", [S], P, [GO], {"canary-error-rate": (P, GO), "canary-share": (P, GO)}),
    ("canary-errors-5pct-at-5pct", [S.with_(step=5, canary_error_pct=5)], R, [AUTO],
     {"canary-error-rate": (R, AUTO), "served-error-rate": (P, GO)}),
    ("canary-errors-10pct-at-1pct-100rpm", [S.with_(canary_error_pct=10)], R, [AUTO],
     {"canary-error-rate": (R, AUTO)}),
    ("canary-errors-2.5pct-control-1.5pct-not-significant", [S.with_(canary_error_pct=2.5, control_error_pct=1.5)],
     H, [WAIT], {"canary-error-rate": (H, WAIT)}),
    # 5 errors in 200 canary requests (2.5%) against a control at 0.4%. The limit
    # alone is not significant (p=0.37); six times the control, past the limit: ROLLBACK
    ("canary-errors-2.5pct-in-200-control-0.4pct", [S.with_(step=5, minutes=40, canary_error_pct=2.5,
                                                            control_error_pct=0.4)], R, [AUTO],
     {"canary-error-rate": (R, AUTO), "served-error-rate": (P, GO)}),
    ("canary-errors-2.5pct-in-40-worse-than-control-too-few", [S.with_(step=5, minutes=8, canary_error_pct=2.5)],
     H, [WAIT], {"canary-error-rate": (H, WAIT)}),
    # past the limit and worse than a spotless control, but 2 errors: below min_errors (3),
    # the rate does not count yet (the rollback alarms' gate too)
    ("canary-errors-2-in-60-below-min-errors", [S.with_(minutes=60, canary_error_pct=100 * 2 / 60)], H, [WAIT],
     {"canary-error-rate": (H, WAIT)}),
    ("canary-errors-at-the-limit-worse-than-control", [S.with_(step=5, minutes=40, canary_error_pct=2)], H, [INV],
     {"canary-error-rate": (H, INV)}),
    ("low-traffic", [S.with_(rpm=10)], H, [WAIT],
     {"canary-error-rate": (H, WAIT), "p95-regression": (H, WAIT), "canary-share": (H, WAIT)}),
    ("low-traffic-one-canary-failure", [S.with_(rpm=10, canary_error_pct=100 / 12)], H, [WAIT],
     {"canary-error-rate": (H, WAIT)}),
    # every metric missing (a wrong namespace looks exactly like this): "no data", check config
    ("missing-data", [S.with_(drop_minutes=tuple(range(120)))], H, [CFG],
     {"canary-error-rate": (H, CFG), "served-error-rate": (H, CFG), "p95-ceiling": (H, CFG),
      "shadow-diff-rate": (H, CFG), "canary-share": (H, CFG)}),
    ("missing-data-but-one-minute", [S.with_(drop_minutes=tuple(range(1, 120)))], H, [WAIT],
     {"canary-error-rate": (H, WAIT), "served-error-rate": (P, GO)}),
    ("p95-plus-20pct", [S.with_(p95_canary=48)], H, [WAIT], {"p95-regression": (H, WAIT), "p95-ceiling": (P, GO)}),
    ("p95-plus-40pct", [S.with_(p95_canary=56)], H, [INV], {"p95-regression": (H, INV)}),
    # 100*(52/40-1) is 30.000000000000004 in floats; +30% is not beyond a +30% no-go
    ("p95-plus-30pct-exactly-is-not-beyond-no-go", [S.with_(p95_canary=52)], H, [WAIT],
     {"p95-regression": (H, WAIT)}),
    ("p95-plus-15pct-exactly-is-go", [S.with_(p95_control=12, p95_canary=13.8)], P, [GO],
     {"p95-regression": (P, GO)}),
    ("p95-ceiling-exactly-is-within", [S.with_(p95_control=480, p95_canary=500)], P, [GO],
     {"p95-ceiling": (P, GO)}),
    ("p95-faster-than-control", [S.with_(p95_canary=20)], P, [GO], {"p95-regression": (P, GO)}),
    ("p95-absolute-ceiling", [S.with_(p95_control=450, p95_canary=510)], H, [INV],
     {"p95-regression": (P, GO), "p95-ceiling": (H, INV)}),
    ("shadow-diffs-0.7pct", [S.with_(diff_pct=0.7)], H, [WAIT], {"shadow-diff-rate": (H, WAIT)}),
    ("shadow-diffs-1.2pct", [S.with_(diff_pct=1.2)], H, [INV], {"shadow-diff-rate": (H, INV)}),
    ("share-off-during-rollout", [S.with_(share_pct=0.3, deployed_minutes_before=None)], H, [WAIT],
     {"canary-share": (H, WAIT)}),
    ("share-off-after-rollout", [S.with_(share_pct=0.3)], H, [CFG, WAIT], {"canary-share": (H, CFG)}),
    ("share-on-target-once-settled-mid-window",
     [S.with_(rpm=200, settle_minute=80, deployed_minutes_before=None)], P, [GO], {"canary-share": (P, GO)}),
    ("zero-canary-traffic-at-step-1", [S.with_(share_pct=0)], H, [WAIT, CFG],
     {"canary-error-rate": (H, WAIT), "canary-share": (H, CFG)}),
    ("errors-only-in-control-under-limit", [S.with_(control_error_pct=1.5)], P, [GO],
     {"canary-error-rate": (P, GO), "served-error-rate": (P, GO)}),
    ("errors-only-in-control-over-limit", [S.with_(control_error_pct=5)], R, [AUTO],
     {"canary-error-rate": (P, GO), "served-error-rate": (R, AUTO)}),
    ("errors-in-both-same-rate-under-limit", [S.with_(step=25, canary_error_pct=1.5, control_error_pct=1.5)], P, [GO],
     {"canary-error-rate": (P, GO)}),
    ("errors-in-both-same-rate-over-limit", [S.with_(step=5, canary_error_pct=5, control_error_pct=5)], R, [AUTO],
     {"canary-error-rate": (H, INV), "served-error-rate": (R, AUTO)}),
    ("canary-within-limit-but-worse-than-control", [S.with_(step=25, canary_error_pct=1.5)], H, [INV],
     {"canary-error-rate": (H, INV)}),
    ("served-errors-without-fallback", [S.with_(step=50, canary_error_pct=5, fallback=False)], R, [AUTO],
     {"canary-error-rate": (R, AUTO), "served-error-rate": (R, AUTO)}),
    ("candidate-errors-only-in-its-own-view", [S.with_(step=5, candidate_error_pct=5)], R, [AUTO],
     {"canary-error-rate": (P, GO), "candidate-error-rate": (R, AUTO)}),
    ("shadow-phase-healthy", [S.with_(step=0)], P, [GO],
     {"canary-error-rate": (P, NA), "p95-regression": (P, NA), "shadow-diff-rate": (P, GO), "canary-share": (P, NA)}),
    ("shadow-phase-router-errors", [S.with_(step=0, control_error_pct=3)], R, [AUTO],
     {"served-error-rate": (R, AUTO)}),
    ("shadow-phase-diffs-1.2pct", [S.with_(step=0, diff_pct=1.2)], H, [INV], {"shadow-diff-rate": (H, INV)}),
    ("shadow-phase-candidate-errors-never-roll-back", [S.with_(step=0, shadow_error_pct=10)], H, [INV],
     {"shadow-error-rate": (H, INV)}),
    ("shadow-phase-with-shadow-off", [S.with_(step=0, shadow_enabled=False)], H, [CFG],
     {"shadow-diff-rate": (H, CFG)}),
    ("shadow-dispatch-failures", [S.with_(dispatch_failure_pct=5)], H, [INV],
     {"shadow-dispatch-failure-rate": (H, INV)}),
    ("shadow-off-during-canary", [S.with_(step=5, shadow_enabled=False)], P, [GO], {"shadow-diff-rate": (P, NA)}),
    ("step-100-healthy", [S.with_(step=100)], P, [GO],
     {"canary-error-rate": (P, GO), "p95-regression": (P, NA), "shadow-diff-rate": (P, NA), "canary-share": (P, GO)}),
    ("step-100-errors-no-control-to-compare", [S.with_(step=100, canary_error_pct=3)], R, [AUTO],
     {"canary-error-rate": (R, AUTO)}),
    ("canary-traffic-in-shadow-phase", [S.with_(step=0, share_pct=1)], H, [CFG], {"canary-share": (H, CFG)}),
    ("two-paths-one-failing", [S, S.with_(path="profile-read", step=5, canary_error_pct=5)], R, [AUTO],
     {"canary-error-rate": (R, AUTO)}),
]


def _verdicts(result, path=None):
    checks = [c for c in result.checks if path is None or c.path == path]
    return {c.name: (c.verdict, c.seed_action) for c in checks}


def test_there_are_at_least_twenty_cases():
    assert len(CASES) >= 20
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("scenarios,verdict,actions,checks", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_case_gets_its_exact_verdict(scenarios, verdict, actions, checks):
    result = analyze(load_metrics(document(*scenarios)), Guardrails())
    assert result.verdict is verdict, result.reason
    assert sorted(result.seed_actions, key=str) == sorted(actions, key=str), result.reason
    got = _verdicts(result, scenarios[-1].path)
    assert {name: got[name] for name in checks} == checks
    assert result.exit_code == {P: 0, H: 3, R: 4}[verdict]


def test_only_error_rates_can_roll_back():
    """p95, shadow and share beyond no-go all at once: HOLD, never ROLLBACK."""
    s = S.with_(p95_canary=400, diff_pct=5, shadow_error_pct=20, dispatch_failure_pct=20, share_pct=3)
    result = analyze(load_metrics(document(s)), Guardrails())
    assert result.verdict is H
    assert set(result.seed_actions) == {INV, CFG}


def test_rates_are_ratios_of_sums_not_averages_of_ratios():
    """1000 requests with 10 errors, then 10 requests with 5: 15/1010 = 1.49%, within
    the limit; the mean of the two periods' rates (25.5%) would roll back."""
    doc = document(S.with_(step=0, minutes=2))
    first, second = doc["paths"][0]["series"]
    first.update(Requests=1000, Errors=10)
    second.update(Requests=10, Errors=5, ShadowDispatched=5, ShadowComparisons=5, ShadowMismatches=0)
    served = next(c for c in analyze(load_metrics(doc)).checks if c.name == "served-error-rate")
    assert served.samples == 1010
    assert served.figure == pytest.approx(100 * 15 / 1010)
    assert served.verdict is P


def test_the_control_error_rate_excludes_canary_errors_that_were_served():
    """fallback off: 150 canary failures are served errors; the control's rate is the rest."""
    s = S.with_(step=25, canary_error_pct=5, control_error_pct=1, fallback=False)
    check = next(c for c in analyze(load_metrics(document(s))).checks if c.name == "canary-error-rate")
    assert check.evidence["control_samples"] == 9000
    assert check.evidence["control_rate_pct"] == pytest.approx(1.0)


def test_confidence_from_the_spec_changes_the_verdict_at_the_margin():
    """6 failures in 120 canary requests: p = 0.03 against 2%: ROLLBACK at 95%, not at 99%
    (at 100%, where no control route can show the candidate worse than it)."""
    doc = load_metrics(document(S.with_(step=100, minutes=12, rpm=10, canary_error_pct=5)))
    assert analyze(doc, Guardrails(confidence=0.95)).verdict is R
    held = analyze(doc, Guardrails(confidence=0.99))
    assert held.verdict is H
    assert _verdicts(held)["canary-error-rate"] == (H, WAIT)


def test_go_pct_from_the_spec_is_the_promote_line():
    doc = load_metrics(document(S.with_(p95_canary=48)))  # +20%
    assert analyze(doc, Guardrails(p95_go_pct=25, p95_no_go_pct=40)).verdict is P
    assert analyze(doc, Guardrails(p95_go_pct=10, p95_no_go_pct=15)).verdict is H
