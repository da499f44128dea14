"""CloudWatch's GetMetricData over what the functions published in the rehearsal (its
``Telemetry``): the window the controller function judges, as CloudWatch would answer it.

Counts (``Stat: Sum``) per period: the sum of each whole minute the period covers, a
datapoint only where some value was published (CloudWatch returns no datapoint for an
empty period). Latency (``p95``, ``SampleCount``) over the query's period, per route, from
the per-minute histograms (about 2% resolution, telemetry.py), of the query's read path
(``Path`` dimension; the telemetry keeps each path's figures, ``keep_paths``). Timestamps
are epoch seconds (JSON protocol), ascending.
"""

from __future__ import annotations

from typing import Any

from cutover.runtime import metrics as emf

from .clock import EPOCH
from .telemetry import Telemetry


class MetricData:
    def __init__(self, telemetry: Telemetry, namespace: str) -> None:
        self.telemetry = telemetry
        self.namespace = namespace

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        start = int(float(request["StartTime"]) - EPOCH) // 60
        end = int(float(request["EndTime"]) - EPOCH) // 60
        results = [self._query(q, start, end) for q in request.get("MetricDataQueries", [])]
        return {"MetricDataResults": results, "Messages": []}

    def _query(self, query: dict[str, Any], start: int, end: int) -> dict[str, Any]:
        stat = query["MetricStat"]
        metric = stat["Metric"]
        period = max(1, int(stat["Period"]) // 60)
        dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
        points: list[tuple[int, float]] = []
        latency = metric["MetricName"] == emf.LATENCY
        if stat["Stat"] not in (("p95", "SampleCount") if latency else ("Sum",)):
            raise ValueError(f"{metric['MetricName']} {stat['Stat']}: the rehearsal's GetMetricData answers "
                             "Sum of counts, p95 and SampleCount of Latency")
        path = dims.get(emf.PATH) if self.telemetry.by_path is not None else None
        if metric.get("Namespace") == self.namespace:
            if latency:
                route = dims.get(emf.ROUTE, emf.CONTROL_ROUTE)
                points = self._latency(route, stat["Stat"], (start, end, period), path)
            else:
                points = self._counts(metric["MetricName"], start, end, period, path)
        return {"Id": query["Id"], "Label": metric["MetricName"], "StatusCode": "Complete",
                "Timestamps": [EPOCH + m * 60 for m, _ in points], "Values": [v for _, v in points]}

    def _counts(self, name: str, start: int, end: int, period: int, path: str | None) -> list[tuple[int, float]]:
        telemetry = self.telemetry
        minutes = telemetry.minutes if path is None or telemetry.by_path is None else telemetry.by_path.get(path, {})
        points = []
        for first in range(start, end, period):
            covered = [minutes[m][name] for m in range(first, min(first + period, end))
                       if m in minutes and name in minutes[m]]
            if covered:
                points.append((first, float(sum(covered))))
        return points

    def _latency(self, route: str, stat: str, span: tuple[int, int, int], path: str | None) -> list[tuple[int, float]]:
        start, end, period = span
        points = []
        for first in range(start, end, period):
            p95, samples = self.telemetry.p95(route, first, min(first + period, end), path)
            if samples:
                points.append((first, float(samples) if stat == "SampleCount" else float(p95 or 0.0)))
        return points
