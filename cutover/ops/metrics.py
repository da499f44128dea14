"""CloudWatch → the analysis input (`cutover.metrics/1`, docs/analysis.md).

Counts are fetched as raw Sums per period with GetMetricData, so that every rate the
analysis computes is a ratio of sums over the window; latency as one p95 and one
SampleCount per route over the whole window (percentiles of periods cannot be
combined). The rollout block says when what is served settled (the last deployment
completed, or its rollback did), and each path's step is the canary percent served
(cutover.ops.appconfig, cutover_runtime.live), which the guard or a rollback may have moved
away from the spec; the source line says what happened.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cutover.analysis.metrics import COUNTS, FORMAT, ROUTES
from cutover.ops import appconfig
from cutover.ops.aws import OpsError, aws_errors
from cutover.ops.context import Context
from cutover.ops.names import PathNames
from cutover.runtime import metrics as emf

# The counts and routes of the analysis format (docs/contracts.md §5), from cutover/analysis/ itself.
__all__ = ["COUNTS", "FORMAT", "ROUTES", "collect", "window"]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window(since: int, period: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) aligned to the period, `since` long (rounded up to whole periods)."""
    now = now or datetime.now(UTC)
    end = datetime.fromtimestamp(int(now.timestamp()) // period * period, UTC)
    periods = max(1, -(-since // period))
    return end - timedelta(seconds=periods * period), end


def _dims(release: str, path: str, route: str | None = None) -> list[dict[str, str]]:
    dims = [{"Name": emf.RELEASE, "Value": release}, {"Name": emf.PATH, "Value": path}]
    return dims + ([{"Name": emf.ROUTE, "Value": route}] if route else [])


def count_queries(ctx: Context, path: PathNames, period: int, index: int) -> list[dict[str, Any]]:
    return [{"Id": f"c{index}_{i}", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": ctx.names.metrics_namespace, "MetricName": name,
                   "Dimensions": _dims(ctx.names.release, path.name)},
        "Period": period, "Stat": "Sum"}} for i, name in enumerate(COUNTS)]


def latency_queries(ctx: Context, path: PathNames, seconds: int, index: int) -> list[dict[str, Any]]:
    return [{"Id": f"l{index}_{route}_{stat.lower()}", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": ctx.names.metrics_namespace, "MetricName": emf.LATENCY,
                   "Dimensions": _dims(ctx.names.release, path.name, route)},
        "Period": seconds, "Stat": stat}} for route in ROUTES for stat in ("p95", "SampleCount")]


def get_metric_data(ctx: Context, queries: list[dict[str, Any]], start: datetime, end: datetime) -> dict[str, dict]:
    """Id -> {timestamp: value}, every page read."""
    out: dict[str, dict] = {q["Id"]: {} for q in queries}
    client, token = ctx.clients("cloudwatch"), None
    with aws_errors("read the release's metrics (cloudwatch:GetMetricData)"):
        while True:
            kwargs = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending"}
            page = client.get_metric_data(**kwargs, **({"NextToken": token} if token else {}))
            for r in page.get("MetricDataResults", []):
                out[r["Id"]].update({ts.astimezone(UTC): v for ts, v in zip(r.get("Timestamps", []), r.get("Values", []))
                                     if v is not None})
            token = page.get("NextToken")
            if not token:
                return out


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
    """The cutover.metrics/1 document of the current step, read from CloudWatch."""
    if ctx.names.phase == "complete":
        raise OpsError(f"{ctx.env} is complete: there is no canary left to analyze")
    period = ctx.spec.guardrails.period_seconds
    start, end = window(since, period, now)
    seconds = int((end - start).total_seconds())
    rollout, served, happened = _flags(ctx)
    paths = []
    for i, path in enumerate(ctx.names.paths):
        counts = get_metric_data(ctx, count_queries(ctx, path, period, i), start, end)
        latency = get_metric_data(ctx, latency_queries(ctx, path, seconds, i), start, end)
        series = []
        for k in range(seconds // period):
            at = start + timedelta(seconds=k * period)
            series.append({"start": _iso(at), **{name: round(counts[f"c{i}_{j}"].get(at, 0))
                                                 for j, name in enumerate(COUNTS)}})
        route_latency = {}
        for route in ROUTES:
            p95 = next(iter(latency[f"l{i}_{route}_p95"].values()), None)
            samples = int(sum(latency[f"l{i}_{route}_samplecount"].values()))
            route_latency[route] = {"p95_ms": p95 if samples else None, "samples": samples}
        # What is live is judged: after the guard or a rollback that is not the spec's step.
        step = served.get(path.name, path.canary_percent) if served is not None else path.canary_percent
        paths.append({"path": path.name, "step_percent": step, "shadow_enabled": path.shadow_enabled,
                      "window": {"start": _iso(start), "end": _iso(end), "period_seconds": period},
                      "rollout": rollout, "series": series, "latency": route_latency})
    return {"format": FORMAT, "release": ctx.names.release, "environment": ctx.env,
            "source": f"cutover analyze --env {ctx.env}: CloudWatch GetMetricData {_iso(start)}..{_iso(end)}"
                      + (f"; flags: {happened}" if happened else ""),
            "paths": paths}
