"""A step's go/no-go decision: its series as `cutover.metrics/1` (docs/analysis.md),
judged by the analysis package, the code behind `cutover analyze`.

The window slides: each decision judges the last DECISION_WINDOW_MINUTES before it,
never the step from its start, so one early blip cannot make a step unpromotable for
ever. An hour, because that is what the real gate judges: `cutover ramp` runs
`cutover analyze --gate`, whose CloudWatch window is the last hour (`--since 1h`,
docs/operations.md, "The release, step by step"); the rehearsal decides on what an operator would.
The window never reaches back past the step's start: the previous step's traffic is
not this step's evidence (the real gate avoids it by a hold longer than an hour).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import seams
from .clock import EPOCH

DECISION_WINDOW_MINUTES = 60  # `cutover analyze --since` default (cutover/ops/cli.py)

COUNTS = ("Requests", "Errors", "CanaryRequests", "CanaryErrors", "CanaryFallbacks", "CanaryReads",
          "CanaryReadErrors", "ShadowComparisons", "ShadowMismatches", "ShadowErrors",
          "ShadowTimeouts", "ShadowDispatched", "ShadowDispatchFailures")


@dataclass(frozen=True)
class StepAnalysis:
    verdict: str
    checks: list[dict[str, Any]]
    document: dict[str, Any]


def iso(minute: float) -> str:
    return datetime.fromtimestamp(EPOCH + minute * 60, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_start(step: Any, minute: int) -> int:
    """The first minute a decision at ``minute`` judges: the last hour, within the step."""
    return max(step.started, minute - DECISION_WINDOW_MINUTES)


def metrics_document(rehearsal: Any, step: Any, minute: int) -> dict[str, Any]:
    """The decision window [``window_start``, ``minute``) per one-minute period."""
    spec, telemetry = rehearsal.spec, rehearsal.telemetry
    path = spec.read_paths[0]
    first = window_start(step, minute)
    series = []
    for m in range(first, minute):
        counts = telemetry.minutes.get(m)
        if counts:
            period = {"start": iso(m)}
            period.update({name: int(counts[name]) for name in COUNTS if counts.get(name)})
            series.append(period)
    latency = {}
    for route in ("control", "canary"):
        p95, samples = telemetry.p95(route, first, minute)
        latency[route] = {"p95_ms": p95, "samples": samples}
    deployment = step.deployment
    deployed = None
    if deployment is not None and deployment.rolled_back_at is None and deployment.deployed_at <= minute * 60:
        deployed = iso(deployment.deployed_at / 60)
    return {
        "format": "cutover.metrics/1",
        "release": spec.release.name,
        "environment": spec.release.environment,
        "source": f"rehearsal {rehearsal.scenario.name} seed {rehearsal.scenario.seed}",
        "paths": [{
            "path": path.name, "step_percent": step.percent,
            "shadow_enabled": bool(path.shadow.enabled),
            "window": {"start": iso(first), "end": iso(minute), "period_seconds": 60},
            "rollout": {"deployed_at": deployed,
                        "poll_interval_seconds": rehearsal.world.poll_interval_s},
            "series": series, "latency": latency,
        }],
    }


def analyse_step(rehearsal: Any, step: Any, minute: int) -> StepAnalysis:
    document = metrics_document(rehearsal, step, minute)
    analysis = seams.go_no_go(document, rehearsal.spec)
    verdict = getattr(analysis.verdict, "value", analysis.verdict)
    checks = [report_check(check.to_json()) for check in analysis.checks]
    return StepAnalysis(str(verdict), checks, document)


SIMPLE_LIMIT = re.compile(r"^\s*[<>]=?\s*(-?\d+(?:\.\d+)?)\s*%?\s*(?:\(.*\))?\s*$")


def report_check(check: dict[str, Any]) -> dict[str, Any]:
    """A check as report.json carries it: ``threshold`` a number when the analysis states
    one limit (``<= 2%``), else null; the analysis' wording in ``threshold_text``."""
    text = check.get("threshold")
    check["verdict"] = getattr(check["verdict"], "value", check["verdict"])
    check["threshold_text"] = text
    match = SIMPLE_LIMIT.match(text) if isinstance(text, str) else None
    check["threshold"] = float(match.group(1)) if match else (text if isinstance(text, (int, float)) else None)
    return check
