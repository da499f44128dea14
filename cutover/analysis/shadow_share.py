"""Shadow comparisons (diffs, candidate errors, dispatch) and the canary's share of traffic."""

from __future__ import annotations

from fractions import Fraction

from cutover.analysis.checks import exact, go_no_go, not_applicable, pct_of, too_few
from cutover.analysis.guardrails import Guardrails
from cutover.analysis.metrics import PathMetrics
from cutover.analysis.verdict import Check, SeedAction, Verdict

SHADOW_CHECKS = ("shadow-diff-rate", "shadow-error-rate", "shadow-dispatch-failure-rate")


def shadow(pm: PathMetrics, g: Guardrails) -> list[Check]:
    """Shadow diffs by the seed's go/no-go; the candidate's shadow errors and timeouts and
    the router's dispatch failures against the error limit. None of them serves a user,
    so none rolls back: beyond the limit is HOLD (investigate)."""
    if pm.step_percent >= 100:
        return [not_applicable(pm, n, "%", "no control answer to compare at 100%") for n in SHADOW_CHECKS]
    if not pm.shadow_enabled:
        if pm.step_percent == 0:
            return [Check(pm.path, n, Verdict.HOLD, SeedAction.CHECK_CONFIG, None, "%", "shadow on", 0,
                          "the shadow phase judges the candidate by shadow comparisons, and shadow is off")
                    for n in SHADOW_CHECKS]
        return [not_applicable(pm, n, "%", "shadow is off during this canary step") for n in SHADOW_CHECKS]
    t = pm.totals()
    failed = t["ShadowErrors"] + t["ShadowTimeouts"]
    outcomes = t["ShadowComparisons"] + failed  # each shadow event ends in exactly one of these
    dispatches = t["ShadowDispatched"] + t["ShadowDispatchFailures"]
    checks = []
    if t["ShadowComparisons"] < g.min_samples:
        checks.append(too_few(pm, "shadow-diff-rate", "%", t["ShadowComparisons"], g,
                               f"{t['ShadowComparisons']} shadow comparisons"))
    else:
        rate = pct_of(t["ShadowMismatches"], t["ShadowComparisons"])
        checks.append(go_no_go(pm, "shadow-diff-rate", rate, t["ShadowComparisons"], g.shadow_diff_go_pct,
                               g.shadow_diff_no_go_pct, "%",
                               f"{t['ShadowMismatches']}/{t['ShadowComparisons']} comparisons differ:"))
    checks.append(_limit(pm, "shadow-error-rate", failed, outcomes, g, "shadow events", "failed or timed out"))
    checks.append(_limit(pm, "shadow-dispatch-failure-rate", t["ShadowDispatchFailures"], dispatches, g,
                         "shadow dispatches", "failed"))
    return checks


def _limit(pm: PathMetrics, name: str, part: int, whole: int, g: Guardrails, noun: str, failed: str) -> Check:
    if whole < g.min_samples:
        return too_few(pm, name, "%", whole, g, f"{whole} {noun}")
    rate = 100 * part / whole
    threshold = f"<= {g.error_rate_pct:g}%"
    shown = f"{part}/{whole} {noun} {failed} ({rate:.3g}%)"
    if pct_of(part, whole) > exact(g.error_rate_pct):
        return Check(pm.path, name, Verdict.HOLD, SeedAction.INVESTIGATE, rate, "%", threshold, whole,
                     f"{shown}, above the {g.error_rate_pct:g}% limit; nobody was served by them")
    return Check(pm.path, name, Verdict.PROMOTE, SeedAction.GO, rate, "%", threshold, whole, f"{shown}, within the limit")


def canary_share(pm: PathMetrics, g: Guardrails) -> Check:
    """CanaryRequests/Requests against [min_ratio, max_ratio] x the step, judged only on
    periods that start once the flag rollout has settled (deployment done + one agent poll)."""
    name, step = "canary-share", pm.step_percent
    low, high = step * g.canary_share_min_ratio, min(100.0, step * g.canary_share_max_ratio)
    threshold = f"{low:.3g}% to {high:.3g}% (step {step:g}%)"
    if step == 0:
        t = pm.totals()
        if t["CanaryRequests"]:
            return Check(pm.path, name, Verdict.HOLD, SeedAction.CHECK_CONFIG, 100 * t["CanaryRequests"] / t["Requests"],
                         "%", "0% (shadow phase)", t["Requests"],
                         f"{t['CanaryRequests']} canary requests in the shadow phase")
        return not_applicable(pm, name, "%", "shadow phase: no canary traffic, as expected")
    settled = pm.rollout.settled_at
    if settled is None or settled >= pm.window.end:
        when = "is still in flight" if settled is None else f"settles at {settled.isoformat()}, after the window"
        return Check(pm.path, name, Verdict.HOLD, SeedAction.WAIT, None, "%", threshold, 0,
                     f"the flag rollout {when}: the share is not judged while environments move")
    t = pm.totals(since=settled)
    expected = t["Requests"] * step / 100
    if expected < g.min_samples:
        return too_few(pm, name, "%", t["Requests"], g,
                        f"{t['Requests']} requests since the rollout settled, {expected:.3g} expected on the canary")
    share = 100 * t["CanaryRequests"] / t["Requests"]
    shown = f"{share:.3g}% ({t['CanaryRequests']}/{t['Requests']} since {settled.isoformat()})"
    exact_share, exact_step = pct_of(t["CanaryRequests"], t["Requests"]), exact(step)
    exact_low = exact_step * exact(g.canary_share_min_ratio)
    exact_high = min(Fraction(100), exact_step * exact(g.canary_share_max_ratio))
    if not exact_low <= exact_share <= exact_high:
        return Check(pm.path, name, Verdict.HOLD, SeedAction.CHECK_CONFIG, share, "%", threshold, t["Requests"],
                     f"{shown} is off the {step:g}% target")
    return Check(pm.path, name, Verdict.PROMOTE, SeedAction.GO, share, "%", threshold, t["Requests"],
                 f"{shown} is on target")
