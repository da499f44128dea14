"""`cutover_runtime.window`: the one collector of a step's metrics (cutover analyze and the
controller), against a CloudWatch stand-in that pages its answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cutover_runtime import window

from cutover.analysis import load_metrics
from cutover.analysis.metrics import COUNTS, FORMAT, ROUTES

T0 = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


class PagingCloudWatch:
    """GetMetricData answering each query's points from `points` (Id -> {time: value}),
    one result per page, so that a collector that reads only the first page loses data."""

    def __init__(self, points: dict[str, dict[datetime, float]]) -> None:
        self.points = points
        self.calls: list[dict] = []

    def get_metric_data(self, **kwargs):
        self.calls.append(kwargs)
        ids = [q["Id"] for q in kwargs["MetricDataQueries"]]
        at = int(kwargs.get("NextToken", 0))
        points = self.points.get(ids[at], {})
        page = {"MetricDataResults": [{"Id": ids[at], "Timestamps": list(points), "Values": list(points.values())}]}
        return {**page, **({"NextToken": str(at + 1)} if at + 1 < len(ids) else {})}


def test_the_names_are_the_analysis_formats():
    assert (window.FORMAT, window.COUNTS, window.ROUTES) == (FORMAT, COUNTS, ROUTES)


def test_collect_reads_every_page_and_builds_a_document_the_analysis_loads():
    cw = PagingCloudWatch({"c0_0": {T0: 100.0, T0 + timedelta(minutes=1): 50.0}, "c0_2": {T0: 2.0},
                           "l0_canary_p95": {T0: 41.5}, "l0_canary_samplecount": {T0: 2.0}})
    rollout = {"deployed_at": "2026-12-05T00:30:00Z", "poll_interval_seconds": 45}
    doc = window.collect(cw, namespace="Cutover", release="rel", environment="production",
                         paths=[{"name": "user-read", "step_percent": 5, "shadow_enabled": True}], period=60,
                         start=T0, end=T0 + timedelta(minutes=3), rollout=rollout, source="a test")
    assert (doc["format"], doc["release"], doc["environment"], doc["source"]) == (FORMAT, "rel", "production",
                                                                                  "a test")
    [path] = doc["paths"]
    assert [p["Requests"] for p in path["series"]] == [100, 50, 0]
    assert path["series"][0]["CanaryRequests"] == 2
    assert path["latency"] == {"control": {"p95_ms": None, "samples": 0}, "canary": {"p95_ms": 41.5, "samples": 2}}
    assert path["rollout"] == rollout and path["window"]["period_seconds"] == 60
    # two GetMetricData calls (counts, latency), every page of each
    assert len(cw.calls) == len(COUNTS) + 2 * len(ROUTES)
    metric = cw.calls[0]["MetricDataQueries"][0]["MetricStat"]
    assert metric["Metric"]["Dimensions"] == [{"Name": "Release", "Value": "rel"}, {"Name": "Path", "Value": "user-read"}]
    assert load_metrics(doc).paths[0].step_percent == 5


def test_the_settled_window_holds_only_whole_periods_after_the_step_settled():
    now = T0 + timedelta(minutes=90, seconds=42)
    settled = T0 + timedelta(minutes=20, seconds=5)
    assert window.settled_window(settled, 60, now) == (T0 + timedelta(minutes=21), T0 + timedelta(minutes=90))
    # at most `longest`: the latest periods
    assert window.settled_window(settled, 60, now, longest=600) == (T0 + timedelta(minutes=80),
                                                                     T0 + timedelta(minutes=90))
    # not one whole period yet
    assert window.settled_window(T0 + timedelta(seconds=10), 60, T0 + timedelta(seconds=70)) is None
