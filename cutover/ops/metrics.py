"""CloudWatch → the analysis input (`cutover.metrics/1`, docs/analysis.md).

The queries and the document are cutover.runtime.window's (functions/cutover_runtime/
window.py), the one collector the controller function judges with too: counts as raw
Sums per period, latency as one p95 and one SampleCount per route over the window.
This module says what to read for an environment: the rollout block says when what is
served settled (the last deployment completed, or its rollback did, `live.settled_at`),
and each path's step is the canary percent served (cutover.ops.appconfig,
cutover_runtime.live), which the guard, a rollback or the controller may have moved away
from the spec; the source line says what happened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cutover.analysis.metrics import COUNTS, FORMAT, ROUTES
from cutover.ops import appconfig
from cutover.ops.aws import OpsError, aws_errors
from cutover.ops.context import Context
from cutover.ops.names import PathNames
from cutover.runtime import window as runtime_window

# The counts and routes of the analysis format (docs/contracts.md §5), from cutover/analysis/ itself.
__all__ = ["COUNTS", "FORMAT", "ROUTES", "collect", "window"]
READ_METRICS = "read the release's metrics (cloudwatch:GetMetricData)"


def _iso(moment: datetime) -> str:
    return runtime_window.iso(moment)


def window(since: int, period: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) aligned to the period, `since` long (rounded up to whole periods)."""
    return runtime_window.window(since, period, now)


def count_queries(ctx: Context, path: PathNames, period: int, index: int) -> list[dict[str, Any]]:
    return runtime_window.count_queries(ctx.names.metrics_namespace, ctx.names.release, path.name, period, index)


def latency_queries(ctx: Context, path: PathNames, seconds: int, index: int) -> list[dict[str, Any]]:
    return runtime_window.latency_queries(ctx.names.metrics_namespace, ctx.names.release, path.name, seconds, index)


def get_metric_data(ctx: Context, queries: list[dict[str, Any]], start: datetime, end: datetime) -> dict[str, dict]:
    """Id -> {timestamp: value}, every page read."""
    with aws_errors(READ_METRICS):
        return runtime_window.get_metric_data(ctx.clients("cloudwatch"), queries, start, end)


def _flags(ctx: Context) -> tuple[dict[str, Any], dict[str, float] | None, str | None]:
    """(the rollout block, the canary percent served per path once it settled, what
    happened to the flags). A ROLLED_BACK or REVERTED latest deployment is settled: the
    environment serves the version before it since its rollback completed."""
    poll = ctx.spec.delivery.appconfig.poll_interval_s
    client = ctx.clients("appconfig")
    with aws_errors("read the flag deployments (AppConfig)"):
        ids = appconfig.resolve(client, ctx.names)
        flags = appconfig.read(client, ids, ctx.names)
        latest = flags.latest
        info = appconfig.details(client, ids, latest.number) if latest and flags.in_progress is None else {}
    settled = appconfig.settled_at(flags, info)
    who = appconfig.live.started_by(info) if latest is not None and latest == flags.live else None
    rollout = {"deployed_at": _iso(settled) if settled else None, "poll_interval_seconds": poll}
    return rollout, (flags.canary if settled is not None else None), appconfig.happened(flags, who)


def collect(ctx: Context, since: int, now: datetime | None = None) -> dict[str, Any]:
    """The cutover.metrics/1 document of the current step, read from CloudWatch
    (cutover.runtime.window, the collector the controller function uses too)."""
    if ctx.names.phase == "complete":
        raise OpsError(f"{ctx.env} is complete: there is no canary left to analyze")
    period = ctx.spec.guardrails.period_seconds
    start, end = window(since, period, now)
    rollout, served, happened = _flags(ctx)
    # What is live is judged: after the guard or a rollback that is not the spec's step.
    paths = [{"name": p.name, "shadow_enabled": p.shadow_enabled,
              "step_percent": served.get(p.name, p.canary_percent) if served is not None else p.canary_percent}
             for p in ctx.names.paths]
    source = (f"cutover analyze --env {ctx.env}: CloudWatch GetMetricData {_iso(start)}..{_iso(end)}"
              + (f"; flags: {happened}" if happened else ""))
    with aws_errors(READ_METRICS):
        return runtime_window.collect(ctx.clients("cloudwatch"), namespace=ctx.names.metrics_namespace,
                                      release=ctx.names.release, environment=ctx.env, paths=paths, period=period,
                                      start=start, end=end, rollout=rollout, source=source)
