"""Error-rate and latency guardrails, one function each (cutover.analysis.decide runs them all).

The seed's go/no-go table (error rate > 2% rollback auto; p95 > +30% investigate; shadow
diffs > 1% investigate; canary share off check config) decides the action; only error
rates can ROLLBACK. Every rate is a ratio of sums over the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from cutover.analysis.exact import binomial_upper_tail, fisher_greater
from cutover.analysis.guardrails import Guardrails
from cutover.analysis.metrics import PathMetrics
from cutover.analysis.verdict import Check, SeedAction, Verdict

PROMOTE, HOLD, ROLLBACK = Verdict.PROMOTE, Verdict.HOLD, Verdict.ROLLBACK
GO, WAIT, NA = SeedAction.GO, SeedAction.WAIT, SeedAction.NOT_APPLICABLE


@dataclass(frozen=True)
class ErrorCounts:
    """k failures in n requests, with what they are called in a reason."""

    errors: int
    requests: int
    what: str


def _pct(x: float) -> str:
    return f"{x:.3g}%"


def _rate(c: ErrorCounts) -> str:
    return f"{_pct(100 * c.errors / c.requests)} ({c.errors}/{c.requests})"


def _p(value: float) -> str:
    return f"p={value:.2g}"


def exact(value: float | Fraction) -> Fraction:
    """The number a figure or threshold was written as, exactly: a float by its shortest
    decimal form (52.0, 0.7), so that 52 ms against 40 ms is +30% and not
    30.000000000000004%. Comparisons with a go or no-go line use this, never floats."""
    if isinstance(value, (int, Fraction)):
        return Fraction(value)
    return Fraction(repr(value))


def pct_of(part: int, whole: int) -> Fraction:
    """100 * part / whole, exactly (whole > 0)."""
    return Fraction(100 * part, whole)


def judge_error_rate(path: str, name: str, seen: ErrorCounts, control: ErrorCounts | None, g: Guardrails) -> Check:
    """Against the limit (exact binomial) and, for the canary, against the control
    (one-sided Fisher exact) when the control has min_samples. ROLLBACK needs both at the
    stated confidence (the limit alone when there is no control to compare, or when
    `control` is None: the served error rate), or, once the rate counts (min_samples
    requests, min_errors errors), a rate seen past the limit that is significantly worse
    than the control's; PROMOTE needs min_samples and a rate within the limit that is not
    worse than the control."""
    limit = g.error_rate_pct / 100  # for the binomial test; comparisons use exact()
    threshold = f"<= {g.error_rate_pct:g}% (exact tests, {g.confidence:.3g} confidence)"

    def check(verdict: Verdict, action: SeedAction, reason: str, **evidence: float | None) -> Check:
        figure = 100 * seen.errors / seen.requests if seen.requests else None
        return Check(path, name, verdict, action, figure, "%", threshold, seen.requests, reason, evidence)

    if seen.requests == 0:
        return check(HOLD, WAIT, f"too few samples: no {seen.what} in the window")
    p_limit = binomial_upper_tail(seen.errors, seen.requests, limit)
    compared = control is not None and control.requests >= g.min_samples
    p_control = fisher_greater(seen.errors, seen.requests, control.errors, control.requests) if compared else None
    evidence: dict[str, float | None] = {"p_vs_limit": p_limit}
    if control is not None:
        evidence["p_vs_control"] = p_control
    if compared:
        evidence |= {"control_rate_pct": 100 * control.errors / control.requests, "control_samples": control.requests}
    above_limit = p_limit < g.alpha
    worse = p_control is None or p_control < g.alpha
    vs_control = f"the control's {_rate(control)}" if compared else "no control traffic to compare"
    if above_limit and worse:
        tail = "" if control is None else (
            f" and above {vs_control} ({_p(p_control)})" if compared else f", with {vs_control}")
        return check(ROLLBACK, SeedAction.ROLLBACK_AUTO,
                     f"{_rate(seen)} is above the {g.error_rate_pct:g}% limit ({_p(p_limit)}){tail}", **evidence)
    if above_limit:
        return check(HOLD, SeedAction.INVESTIGATE,
                     f"{_rate(seen)} is above the limit ({_p(p_limit)}) but not above {vs_control} "
                     f"({_p(p_control)}): the candidate is not the only one failing", **evidence)
    if seen.requests < g.min_samples:
        return check(HOLD, WAIT, f"too few samples: {seen.requests} {seen.what} < {g.min_samples}", **evidence)
    point_above = pct_of(seen.errors, seen.requests) > exact(g.error_rate_pct)
    if point_above and seen.errors >= g.min_errors and compared and p_control < g.alpha:
        # docs/analysis.md "Error rates": the rate counts (the rollback alarms' own gate),
        # is past the limit and significantly worse than the control's; the limit's test
        # alone would wait for 8 errors in 200 requests where this takes 5
        return check(ROLLBACK, SeedAction.ROLLBACK_AUTO,
                     f"{_rate(seen)} is above the {g.error_rate_pct:g}% limit and above {vs_control} "
                     f"({_p(p_control)}); not yet significant against the limit alone ({_p(p_limit)})",
                     **evidence)
    if point_above:
        return check(HOLD, WAIT, f"{_rate(seen)} is above the limit, not yet significantly ({_p(p_limit)})", **evidence)
    if compared and p_control < g.alpha:
        return check(HOLD, SeedAction.INVESTIGATE,
                     f"{_rate(seen)} is within the limit but above {vs_control} ({_p(p_control)})", **evidence)
    return check(PROMOTE, GO, f"{_rate(seen)} within the {g.error_rate_pct:g}% limit"
                 + (f", not above {vs_control}" if compared else ""), **evidence)


def canary_errors(pm: PathMetrics, g: Guardrails) -> list[Check]:
    """The router's view (CanaryErrors/CanaryRequests), the candidate's own view
    (CanaryReadErrors/CanaryReads), both against the control's error rate."""
    names = ("canary-error-rate", "candidate-error-rate")
    if pm.step_percent == 0:
        return [not_applicable(pm, n, "%", "shadow phase: no user is served by the candidate") for n in names]
    t = pm.totals()
    control = _control_errors(t)
    return [
        judge_error_rate(pm.path, names[0], ErrorCounts(t["CanaryErrors"], t["CanaryRequests"], "canary requests"),
                         control, g),
        judge_error_rate(pm.path, names[1], ErrorCounts(t["CanaryReadErrors"], t["CanaryReads"], "candidate reads"),
                         control, g),
    ]


def _control_errors(t: dict[str, int]) -> ErrorCounts:
    """Control requests = Requests - CanaryRequests. Served errors (Errors) include canary
    failures that did not fall back (CanaryErrors - CanaryFallbacks); the rest are the
    control's (docs/contracts.md §5)."""
    canary_served = max(0, t["CanaryErrors"] - t["CanaryFallbacks"])
    return ErrorCounts(max(0, t["Errors"] - canary_served), t["Requests"] - t["CanaryRequests"], "control requests")


def served_errors(pm: PathMetrics, g: Guardrails) -> Check:
    """What users got: the router's served errors over all its requests (guards the router's code)."""
    t = pm.totals()
    return judge_error_rate(pm.path, "served-error-rate", ErrorCounts(t["Errors"], t["Requests"], "requests"), None, g)


def not_applicable(pm: PathMetrics, name: str, unit: str, reason: str) -> Check:
    return Check(pm.path, name, PROMOTE, NA, None, unit, "-", 0, reason)


def go_no_go(pm: PathMetrics, name: str, exact_figure: Fraction | float, samples: int, go: float, no_go: float,
             unit: str, what: str) -> Check:
    """PROMOTE within go; HOLD (wait) between go and no-go; HOLD (investigate) beyond no-go.
    The figure comes exact (a Fraction) and is compared exactly with the lines."""
    relative = unit == "% vs control"
    figure = float(exact_figure)
    threshold = f"go <= {go:+g}%, no-go > {no_go:+g}% vs control" if relative else f"go <= {go:g}%, no-go > {no_go:g}%"
    shown = f"{figure:+.3g}% vs control" if relative else f"{figure:.3g}{unit}"
    if exact_figure > exact(no_go):
        return Check(pm.path, name, HOLD, SeedAction.INVESTIGATE, figure, unit, threshold, samples,
                     f"{what} {shown} is beyond no-go ({no_go:g}%)")
    if exact_figure > exact(go):
        return Check(pm.path, name, HOLD, WAIT, figure, unit, threshold, samples,
                     f"{what} {shown} is between go ({go:g}%) and no-go ({no_go:g}%)")
    return Check(pm.path, name, PROMOTE, GO, figure, unit, threshold, samples, f"{what} {shown} is within go")


def latency(pm: PathMetrics, g: Guardrails) -> list[Check]:
    """p95 of the latency users see, canary route against control route, and a ceiling."""
    canary, control = pm.latency["canary"], pm.latency["control"]
    if pm.step_percent == 0:
        return [not_applicable(pm, n, u, "shadow phase: no user is served by the candidate")
                for n, u in (("p95-regression", "% vs control"), ("p95-ceiling", "ms"))]
    checks = []
    if pm.step_percent >= 100:
        checks.append(not_applicable(pm, "p95-regression", "% vs control", "no control route at 100%"))
    elif min(canary.samples, control.samples) < g.min_samples:
        checks.append(too_few(pm, "p95-regression", "% vs control", min(canary.samples, control.samples), g,
                               f"latency samples: canary {canary.samples}, control {control.samples}"))
    else:
        change = _relative_change(canary.p95_ms, control.p95_ms)
        checks.append(go_no_go(pm, "p95-regression", change, min(canary.samples, control.samples),
                               g.p95_go_pct, g.p95_no_go_pct, "% vs control",
                               f"canary p95 {canary.p95_ms:.4g} ms vs control {control.p95_ms:.4g} ms:"))
    if canary.samples < g.min_samples:
        checks.append(too_few(pm, "p95-ceiling", "ms", canary.samples, g, f"canary latency samples: {canary.samples}"))
    else:
        ceiling = g.p95_ceiling_ms
        above = exact(canary.p95_ms) > exact(ceiling)
        verdict, action, word = (HOLD, SeedAction.INVESTIGATE, "above") if above else (PROMOTE, GO, "within")
        checks.append(Check(pm.path, "p95-ceiling", verdict, action, canary.p95_ms, "ms", f"<= {ceiling:g} ms",
                            canary.samples, f"canary p95 {canary.p95_ms:.4g} ms is {word} the {ceiling:g} ms ceiling"))
    return checks


def _relative_change(canary_ms: float, control_ms: float) -> Fraction | float:
    """100 * (canary / control - 1), exactly: 52 ms against 40 ms is +30%, within no-go."""
    if control_ms == 0:
        return Fraction(0) if canary_ms == 0 else float("inf")
    return 100 * (exact(canary_ms) / exact(control_ms) - 1)


def too_few(pm: PathMetrics, name: str, unit: str, samples: int, g: Guardrails, what: str) -> Check:
    return Check(pm.path, name, HOLD, WAIT, None, unit, f"needs >= {g.min_samples} samples", samples,
                 f"too few samples: {what} (< {g.min_samples})")
