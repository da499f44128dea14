"""The judgement of a settled step: the metrics window since it settled, read by the collector
`cutover analyze` uses (cutover_runtime.window), judged by the same analysis
(cutover.analysis, vendored into this function's zip) with the spec's guardrails.

cutover.analysis is imported on the first judgement only: a survey or a settle never
pays for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cutover_runtime import window

from . import stages

# When the plan's config does not say (these keys are optional in `$.config`): the spec's
# default guardrails period, the AppConfig agent's default poll interval, and shadow on,
# the reading that can only hold a step back (no comparisons is HOLD), never promote it.
DEFAULT_PERIOD_S = 60
DEFAULT_POLL_S = 45


def guardrails(raw: Mapping[str, Any]) -> Any:
    """cutover.analysis.Guardrails from the config's dict (`analysis_guardrails(spec.guardrails)`
    as a dict, generator/plan/analysis_guardrails.py): an unknown or invalid field fails."""
    from cutover.analysis import Guardrails

    return Guardrails(**raw)


def document(cloudwatch: Any, config: Mapping[str, Any], *, namespace: str, release: str,
             served: Mapping[str, float], settled: datetime, now: datetime,
             execution: str) -> dict[str, Any] | None:
    """The cutover.metrics/1 document of the whole periods since the step settled (at most
    24 h), or None when not one whole period has passed."""
    period = int(config.get("periodSeconds", DEFAULT_PERIOD_S))
    span = window.settled_window(settled, period, now)
    if span is None:
        return None
    start, end = span
    paths = [{"name": p["name"], "step_percent": stages.number(served.get(p["name"], 0.0)),
              "shadow_enabled": bool(p.get("shadow", True))} for p in config["paths"]]
    rollout = {"deployed_at": window.iso(settled),
               "poll_interval_seconds": int(config.get("pollIntervalSeconds", DEFAULT_POLL_S))}
    source = (f"cutover controller {stages.execution_name(execution)}: CloudWatch GetMetricData "
              f"{window.iso(start)}..{window.iso(end)}")
    return window.collect(cloudwatch, namespace=namespace, release=release, environment=str(config["environment"]),
                          paths=paths, period=period, start=start, end=end, rollout=rollout, source=source)


def analyze(metrics: Mapping[str, Any], config: Mapping[str, Any]) -> Any:
    """cutover.analysis.Analysis of the document."""
    from cutover.analysis import analyze as run
    from cutover.analysis import load_metrics

    return run(load_metrics(metrics), guardrails(config["guardrails"]))


def summary(analysis: Any) -> dict[str, Any]:
    """What the state machine's history keeps of an analysis: the verdict, its reason and
    each check's (the figures stay in the log line's full analysis)."""
    full = analysis.to_json()
    return {"verdict": full["verdict"], "reason": full["reason"], "seed_actions": full["seed_actions"],
            "paths": full["paths"],
            "checks": [{k: c[k] for k in ("path", "name", "verdict", "reason")} for c in full["checks"]]}
