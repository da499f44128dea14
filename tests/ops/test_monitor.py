"""`cutover monitor` against moto: metrics per route from GetMetricData, alarms,
deployments, the last log lines; --traffic invokes the entry point with synthetic users.
AppConfig is its shared fake (cutover.rehearsal.fakes) over loopback: monitor only reads
it. The percentile GetMetricData calls moto cannot answer stay stubbed."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from io import StringIO

from rich.console import Console

from cutover.cli import main
from cutover.ops import monitor
from cutover.ops.context import Context
from cutover.ops.names import load
from tests.ops.conftest import deployment, expect_latency


def _put(em, names, when: datetime) -> None:
    expect_latency(em.percentiles(), 0, {"control": 38.5, "canary": 50.0}, {"control": 3, "canary": 1})
    cw = em.client("cloudwatch")
    dims = [{"Name": "Release", "Value": names.release}, {"Name": "Path", "Value": "user-read"}]
    cw.put_metric_data(Namespace=names.metrics_namespace, MetricData=[
        {"MetricName": name, "Dimensions": dims, "Timestamp": when, "Value": value, "Unit": "Count"}
        for name, value in (("Requests", 400), ("Errors", 2), ("CanaryRequests", 4), ("CanaryErrors", 1))])
    for route, values in (("control", [20.0, 30.0, 40.0]), ("canary", [50.0])):
        cw.put_metric_data(Namespace=names.metrics_namespace, MetricData=[
            {"MetricName": "Latency", "Timestamp": when, "Value": v, "Unit": "Milliseconds",
             "Dimensions": [*dims, {"Name": "Route", "Value": route}]} for v in values])


def _logs(em, names) -> None:
    logs = em.client("logs")
    logs.create_log_stream(logGroupName="/aws/lambda/huntaze-mock-read", logStreamName="s")
    logs.put_log_events(logGroupName="/aws/lambda/huntaze-mock-read", logStreamName="s", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": '{"event": "REQUEST", "route": "canary"}'}])


def _flags(fake) -> None:
    fake.history(deployment(4, "ROLLED_BACK", 8), deployment(3, "COMPLETE", 7), served=1)


def test_monitor_counts_per_route_from_raw_sums(project, release, names, capsys, fake_appconfig):
    _put(release, names, datetime.now(UTC) - timedelta(minutes=3))
    _logs(release, names)
    _flags(fake_appconfig)
    code = main(["--root", str(project), "monitor", "--env", "production", "--json", "--since", "15m",
                 "--traffic", "3"], clients=release.clients())
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    routes = {r["route"]: r for r in out["routes"]}
    assert (routes["canary"]["requests"], routes["canary"]["errors"]) == (4, 1)
    assert routes["control"]["requests"] == 396
    assert routes["served (all)"]["errorRatePct"] == 0.5
    assert routes["control"]["latencySamples"] == 3 and routes["canary"]["latencySamples"] == 1
    assert (routes["control"]["p95Ms"], routes["canary"]["p95Ms"]) == (38.5, 50.0)
    assert out["traffic"] == {"sent": 3, "ok": 3, "failed": 0}
    flags = out["deployments"]["flags"]
    assert (flags["latest"]["number"], flags["latest"]["state"]) == (4, "ROLLED_BACK")
    assert (flags["served"]["number"], flags["served"]["version"]) == (3, "7")  # the latest COMPLETE
    assert flags["canaryPercent"] == {"user-read": 1.0}
    assert flags["happened"].startswith("flag deployment 4 (version 8) was ROLLED_BACK")
    assert [e["message"] for e in out["logs"]] == ['{"event": "REQUEST", "route": "canary"}']
    assert out["alarms"][names.rollback_alarm] in ("OK", "INSUFFICIENT_DATA")


def test_watch_refreshes_until_its_iterations_are_done(project, release, names, fake_appconfig):
    _flags(fake_appconfig)  # read at each refresh
    for _ in range(2):
        expect_latency(release.percentiles(), 0, {}, {})
    names_, spec, plan = load(project, "production")
    sleeps: list[float] = []
    screen = StringIO()
    code = monitor.watch(Context(project, names_, spec, release.clients(), plan), 900, 0, 30,
                         iterations=2, sleep=sleeps.append, out=Console(file=screen, width=200))
    assert code == 0
    assert sleeps == [30]
    assert fake_appconfig.server.calls.count("GET deployments") == 2  # the flags, read at each refresh
    assert "traffic" in screen.getvalue() and names.rollback_alarm in screen.getvalue()
