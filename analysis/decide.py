"""`analyze`: every guardrail of every read path, and the overall verdict."""

from __future__ import annotations

from analysis.checks import canary_errors, latency, served_errors
from analysis.guardrails import Guardrails
from analysis.metrics import MetricsInput, PathMetrics
from analysis.shadow_share import canary_share, shadow
from analysis.verdict import Analysis, Check, PathVerdict, Verdict


def path_checks(pm: PathMetrics, g: Guardrails) -> list[Check]:
    """In a fixed order: errors (the only ROLLBACK), latency, shadow, share."""
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
