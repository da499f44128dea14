"""`analyze`: every guardrail of every read path, and the overall verdict."""

from __future__ import annotations

from cutover.analysis.checks import canary_errors, latency, served_errors
from cutover.analysis.guardrails import Guardrails
from cutover.analysis.metrics import MetricsInput, PathMetrics
from cutover.analysis.shadow_share import canary_share, shadow
from cutover.analysis.verdict import Analysis, Check, PathVerdict, SeedAction, Verdict

# The checks of a path, in their fixed order, with their units.
CHECKS = (
    ("canary-error-rate", "%"), ("candidate-error-rate", "%"), ("served-error-rate", "%"),
    ("p95-regression", "% vs control"), ("p95-ceiling", "ms"), ("shadow-diff-rate", "%"),
    ("shadow-error-rate", "%"), ("shadow-dispatch-failure-rate", "%"), ("canary-share", "%"),
)  # fmt: skip
NO_DATA = ("no data: not one metric in the window for this path; a wrong namespace, Release or "
           "Path dimension, or a router that is not running, looks exactly like this")


def has_no_data(pm: PathMetrics) -> bool:
    """Every count 0 (or absent) and no latency sample on either route."""
    return not any(pm.totals().values()) and not any(route.samples for route in pm.latency.values())


def path_checks(pm: PathMetrics, g: Guardrails) -> list[Check]:
    """In a fixed order: errors (the only ROLLBACK), latency, shadow, share. A path with no
    data at all is HOLD (check config) on every check: waiting would not bring data that
    is looked for in the wrong place."""
    if has_no_data(pm):
        return [Check(pm.path, name, Verdict.HOLD, SeedAction.CHECK_CONFIG, None, unit, "-", 0, NO_DATA)
                for name, unit in CHECKS]
    return [*canary_errors(pm, g), served_errors(pm, g), *latency(pm, g), *shadow(pm, g), canary_share(pm, g)]


def analyze(metrics: MetricsInput, guardrails: Guardrails | None = None) -> Analysis:
    """The go/no-go verdict for the window in `metrics`: PROMOTE only when every guardrail
    of every path is within go with enough samples; ROLLBACK only for error rates."""
    g = guardrails if guardrails is not None else Guardrails()
    checks: list[Check] = []
    paths: list[PathVerdict] = []
    for pm in metrics.paths:
        own = path_checks(pm, g)
        checks += own
        worst = max((c.verdict for c in own), key=lambda v: v.severity, default=Verdict.HOLD)
        paths.append(PathVerdict(pm.path, pm.step_percent, worst))
    return Analysis(metrics.release, metrics.environment, g, tuple(paths), tuple(checks))
