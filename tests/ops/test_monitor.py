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
        {"timestamp": int(time.time() * 1000), "message": '{"event": "REQUEST", "servedBy": "canary"}'}])


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
    assert out["traffic"] == {"sent": 3, "ok": 3, "failed": 0, "paths": {"user-read": {"sent": 3, "ok": 3, "failed": 0}}}
    flags = out["deployments"]["flags"]
    assert (flags["latest"]["number"], flags["latest"]["state"]) == (4, "ROLLED_BACK")
    assert (flags["served"]["number"], flags["served"]["version"]) == (3, "7")  # the latest COMPLETE
    assert flags["canaryPercent"] == {"user-read": 1.0}
    assert flags["happened"].startswith("flag deployment 4 (version 8) was ROLLED_BACK")
    assert [e["message"] for e in out["logs"]] == ['{"event": "REQUEST", "servedBy": "canary"}']
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


def _busy(project, em, names, capsys, fake, answers: list) -> dict:
    """Thirty log lines in the window, shadow counts, `answers` queued for --traffic; the
    monitor's JSON snapshot. moto serves the logs, metrics and the Lambda answers."""
    when = datetime.now(UTC) - timedelta(minutes=3)
    _put(em, names, when)
    dims = [{"Name": "Release", "Value": names.release}, {"Name": "Path", "Value": "user-read"}]
    em.client("cloudwatch").put_metric_data(Namespace=names.metrics_namespace, MetricData=[
        {"MetricName": name, "Dimensions": dims, "Timestamp": when, "Value": value, "Unit": "Count"}
        for name, value in (("ShadowComparisons", 200), ("ShadowMismatches", 3))])
    logs = em.client("logs")
    logs.create_log_stream(logGroupName="/aws/lambda/huntaze-mock-read", logStreamName="s")
    start = int(time.time() * 1000) - 60_000
    logs.put_log_events(logGroupName="/aws/lambda/huntaze-mock-read", logStreamName="s", logEvents=[
        {"timestamp": start + i * 1000, "message": f"line {i:02d} " + "x" * 150} for i in range(30)])
    _flags(fake)
    em.lambda_answers(*answers)
    code = main(["--root", str(project), "monitor", "--env", "production", "--json", "--traffic", str(len(answers))],
                clients=em.clients())
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_monitor_shows_the_newest_log_lines_of_its_window(project, release, names, capsys, fake_appconfig):
    out = _busy(project, release, names, capsys, fake_appconfig, [{"ok": True}])
    assert [e["message"][:7] for e in out["logs"]] == [f"line {i:02d}" for i in range(10, 30)]


def test_traffic_counts_an_http_5xx_answer_as_failed(project, release, names, capsys, fake_appconfig):
    out = _busy(project, release, names, capsys, fake_appconfig, [
        {"statusCode": 502, "body": "bad gateway"}, {"statusCode": 200, "body": "{}"}, {"statusCode": 503, "body": ""}])
    assert out["traffic"]["paths"]["user-read"] == {"sent": 3, "ok": 1, "failed": 2}


def test_monitor_shows_the_shadow_mismatch_rate(project, release, names, capsys, fake_appconfig):
    out = _busy(project, release, names, capsys, fake_appconfig, [{"ok": True}])
    [shadow] = out["shadow"]
    assert (shadow["comparisons"], shadow["mismatches"], shadow["mismatchRatePct"]) == (200, 3, 1.5)
    screen = Console(file=StringIO(), width=200, record=True)
    screen.print(monitor.render(out))
    assert "mismatch rate 1.5% (3/200 comparisons differ; keep it under 0.5%, 1% rolls back)" in screen.export_text()


def test_the_watch_view_fits_a_40_row_terminal(project, release, names, capsys, fake_appconfig):
    """Rendered as --watch renders it (fit to the console), on a 40-row, 100-column screen:
    the full view would be taller (every alarm, twenty log lines)."""
    out = _busy(project, release, names, capsys, fake_appconfig, [{"ok": True}])
    full = Console(file=StringIO(), width=100, height=40, record=True)
    full.print(monitor.render(out))
    assert len(full.export_text().splitlines()) > 40  # else the test proves nothing
    screen = Console(file=StringIO(), width=100, height=40, record=True)
    screen.print(monitor.render(out, fit=screen))
    text = screen.export_text()
    assert len(text.splitlines()) <= 40
    assert "line 29" in text and "mismatch rate" in text and names.rollback_alarm in text


def test_traffic_goes_to_every_read_path(project, emulated, capsys):
    """preview has two read paths: each entry point gets the synthetic users."""
    from tests.ops.conftest import build_release

    names_, spec, plan = load(project, "preview")
    build_release(emulated, names_)
    sent = monitor.send_traffic(Context(project, names_, spec, emulated.clients(), plan), 2)
    assert {p: t["sent"] for p, t in sent["paths"].items()} == {"user-read": 2, "feed-read": 2}
    assert sent["sent"] == 4


SIGTERM_SCRIPT = """
import os, sys, time
from rich.console import Console
from cutover.ops import monitor

data = {"at": "now", "routes": [], "shadow": [], "alarms": {}, "deployments": {"code": []}, "logs": []}
monitor.snapshot = lambda ctx, since: data

def sleep(seconds):
    os.write(2, b"ready\\n")  # past rich's Live, which captures sys.stderr
    time.sleep(seconds)

code = monitor.watch(None, 900, 0, 3600, sleep=sleep, out=Console(force_terminal=True, width=80, height=40))
sys.stdout.write(f"\\nexit {code}\\n")
"""


def test_sigterm_ends_watch_as_ctrl_c_does_and_shows_the_cursor(tmp_path):
    """A child process runs --watch on a terminal console (no AWS: the snapshot is fixed);
    once it has drawn and sleeps, SIGTERM must end it through the Ctrl-C path: exit 0,
    the cursor shown again after it was hidden. No timing: the child says when it sleeps."""
    import signal
    import subprocess
    import sys
    import threading

    child = subprocess.Popen([sys.executable, "-c", SIGTERM_SCRIPT], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=tmp_path)
    guard = threading.Timer(300, child.kill)  # a safety net against a hung child, not a timing assert
    guard.start()
    try:
        assert child.stderr.readline() == b"ready\n"
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate()
    finally:
        guard.cancel()
    assert child.returncode == 0, err.decode()
    assert out.rindex(b"\x1b[?25h") > out.rindex(b"\x1b[?25l")  # shown after the last hide
    assert out.endswith(b"exit 0\n")
