"""The metrics window: CloudWatch -> the analysis input (`cutover.metrics/1`, docs/analysis.md).

The one code path for reading a step's metrics: `cutover analyze` (cutover.ops.metrics)
and the controller function (functions/controller) both call `collect`, so the
controller judges exactly what an operator would see. Standard library only; the
CloudWatch client is a boto3-shaped object the caller made.

Counts are fetched as raw Sums per period with GetMetricData, so that every rate the
analysis computes is a ratio of sums over the window; latency as one p95 and one
SampleCount per route over the whole window (percentiles of periods cannot be
combined).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from . import metrics as emf

# The analysis input's format, counts and routes (docs/contracts.md §5); cutover/analysis
# holds the same (tests/house/test_metric_names.py, tests/functions/test_window.py).
FORMAT = "cutover.metrics/1"
COUNTS = emf.COUNTS
ROUTES = emf.ROUTES
# The longest window the controller judges (GetMetricData answers 1-minute data for 15 days).
MAX_SECONDS = 24 * 3600


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window(since: int, period: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) aligned to the period, `since` long (rounded up to whole periods)."""
    now = now or datetime.now(UTC)
    end = datetime.fromtimestamp(int(now.timestamp()) // period * period, UTC)
    periods = max(1, -(-since // period))
    return end - timedelta(seconds=periods * period), end


def settled_window(settled: datetime, period: int, now: datetime,
                   longest: int = MAX_SECONDS) -> tuple[datetime, datetime] | None:
    """The whole periods after `settled` up to `now`, at most `longest` seconds (the latest
    ones); None when not one whole period has passed since."""
    end = datetime.fromtimestamp(int(now.timestamp()) // period * period, UTC)
    first = -(-int(settled.timestamp()) // period) * period
    start = max(datetime.fromtimestamp(first, UTC), end - timedelta(seconds=longest // period * period))
    return (start, end) if start < end else None


def _dims(release: str, path: str, route: str | None = None) -> list[dict[str, str]]:
    dims = [{"Name": emf.RELEASE, "Value": release}, {"Name": emf.PATH, "Value": path}]
    return dims + ([{"Name": emf.ROUTE, "Value": route}] if route else [])


def count_queries(namespace: str, release: str, path: str, period: int, index: int) -> list[dict[str, Any]]:
    return [{"Id": f"c{index}_{i}", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": _dims(release, path)},
        "Period": period, "Stat": "Sum"}} for i, name in enumerate(COUNTS)]


def latency_queries(namespace: str, release: str, path: str, seconds: int, index: int) -> list[dict[str, Any]]:
    return [{"Id": f"l{index}_{route}_{stat.lower()}", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": emf.LATENCY, "Dimensions": _dims(release, path, route)},
        "Period": seconds, "Stat": stat}} for route in ROUTES for stat in ("p95", "SampleCount")]


def get_metric_data(cloudwatch: Any, queries: list[dict[str, Any]], start: datetime,
                    end: datetime) -> dict[str, dict]:
    """Id -> {timestamp: value}, every page read."""
    out: dict[str, dict] = {q["Id"]: {} for q in queries}
    token = None
    while True:
        kwargs = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending"}
        page = cloudwatch.get_metric_data(**kwargs, **({"NextToken": token} if token else {}))
        for r in page.get("MetricDataResults", []):
            out[r["Id"]].update({ts.astimezone(UTC): v for ts, v in zip(r.get("Timestamps", []), r.get("Values", []))
                                 if v is not None})
        token = page.get("NextToken")
        if not token:
            return out


def _path(cloudwatch: Any, namespace: str, release: str, path: Mapping[str, Any], index: int,
          span: tuple[datetime, datetime, int]) -> dict[str, Any]:
    start, end, period = span
    seconds = int((end - start).total_seconds())
    name = path["name"]
    counts = get_metric_data(cloudwatch, count_queries(namespace, release, name, period, index), start, end)
    latency = get_metric_data(cloudwatch, latency_queries(namespace, release, name, seconds, index), start, end)
    series = []
    for k in range(seconds // period):
        at = start + timedelta(seconds=k * period)
        series.append({"start": iso(at), **{count: round(counts[f"c{index}_{j}"].get(at, 0))
                                            for j, count in enumerate(COUNTS)}})
    route_latency = {}
    for route in ROUTES:
        p95 = next(iter(latency[f"l{index}_{route}_p95"].values()), None)
        samples = int(sum(latency[f"l{index}_{route}_samplecount"].values()))
        route_latency[route] = {"p95_ms": p95 if samples else None, "samples": samples}
    return {"path": name, "step_percent": path["step_percent"], "shadow_enabled": path["shadow_enabled"],
            "window": {"start": iso(start), "end": iso(end), "period_seconds": period},
            "series": series, "latency": route_latency}


def collect(cloudwatch: Any, *, namespace: str, release: str, environment: str,
            paths: Iterable[Mapping[str, Any]], period: int, start: datetime, end: datetime,
            rollout: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The cutover.metrics/1 document of [start, end): `paths` are {name, step_percent,
    shadow_enabled} (the step judged is what is served), `rollout` is {deployed_at (ISO
    or None), poll_interval_seconds}, `source` says where the figures came from."""
    out = []
    for i, path in enumerate(paths):
        doc = _path(cloudwatch, namespace, release, path, i, (start, end, period))
        out.append({**{k: doc[k] for k in ("path", "step_percent", "shadow_enabled", "window")},
                    "rollout": dict(rollout), "series": doc["series"], "latency": doc["latency"]})
    return {"format": FORMAT, "release": release, "environment": environment, "source": source, "paths": out}
