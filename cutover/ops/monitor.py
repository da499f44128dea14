"""`cutover monitor`: what the release is doing now — requests, errors and p95 per route,
alarm and deployment states, the last two minutes of log lines — once, or live with
--watch; --traffic N first sends N invocations with synthetic users (monitor-beta.sh
--test)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group
from rich.live import Live

from cutover.ops import appconfig, codedeploy, metrics
from cutover.ops.aws import aws_errors
from cutover.ops.context import Context
from cutover.ops.output import OK, Result, table
from cutover.runtime import metrics as emf

LOG_SECONDS = 120
SYNTHETIC = "cutover-synthetic-"


def send_traffic(ctx: Context, count: int) -> dict[str, int]:
    """N invocations of the entry point, each with its own synthetic user."""
    path = ctx.names.paths[0]
    lam = ctx.clients("lambda")
    tally = {"sent": 0, "ok": 0, "failed": 0}
    with aws_errors(f"invoke {path.entrypoint}:{path.alias}"):
        for i in range(count):
            answer = lam.invoke(FunctionName=path.entrypoint, Qualifier=path.alias,
                                Payload=json.dumps({path.sticky_key: f"{SYNTHETIC}{i}"}).encode())
            answer["Payload"].read()
            tally["sent"] += 1
            tally["failed" if answer.get("FunctionError") else "ok"] += 1
    return tally


def _routes(ctx: Context, since: int) -> list[dict[str, Any]]:
    period = ctx.spec.guardrails.period_seconds
    start, end = metrics.window(since, period)
    seconds = int((end - start).total_seconds())
    rows = []
    for i, path in enumerate(ctx.names.paths):
        counts = metrics.get_metric_data(ctx, metrics.count_queries(ctx, path, period, i), start, end)
        latency = metrics.get_metric_data(ctx, metrics.latency_queries(ctx, path, seconds, i), start, end)
        total = {name: sum(counts[f"c{i}_{j}"].values()) for j, name in enumerate(metrics.COUNTS)}
        for route in metrics.ROUTES:
            samples = sum(latency[f"l{i}_{route}_samplecount"].values())
            p95 = next(iter(latency[f"l{i}_{route}_p95"].values()), None)
            if route == "canary":
                requests, errors = total[emf.CANARY_REQUESTS], total[emf.CANARY_ERRORS]
            else:
                requests, errors = total[emf.REQUESTS] - total[emf.CANARY_REQUESTS], None
            rows.append({"path": path.name, "route": route, "requests": int(requests),
                         "errors": None if errors is None else int(errors), "latencySamples": int(samples),
                         "p95Ms": None if p95 is None else round(p95, 1)})
        rows.append({"path": path.name, "route": "served (all)", "requests": int(total[emf.REQUESTS]),
                     "errors": int(total[emf.ERRORS]), "latencySamples": None, "p95Ms": None,
                     "errorRatePct": round(100 * total[emf.ERRORS] / total[emf.REQUESTS], 3) if total[emf.REQUESTS] else None})
    return rows


def _deployments(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ctx.names.appconfig_application:
        client = ctx.clients("appconfig")
        with aws_errors("read the flag deployments (AppConfig)"):
            flags = appconfig.read(client, appconfig.resolve(client, ctx.names), ctx.names)
        out["flags"] = {**flags.to_json(), "happened": appconfig.happened(flags)}
    with aws_errors("read CodeDeploy deployments"):
        out["code"] = [d.__dict__ for g in ctx.names.deployment_groups
                       for d in codedeploy.active(ctx.clients("codedeploy"), ctx.names.codedeploy_application, g)]
    return out


def _logs(ctx: Context, now: float) -> list[dict[str, Any]]:
    events = []
    logs = ctx.clients("logs")
    for function in ctx.names.functions:
        with aws_errors(f"read the logs of {function}"):
            page = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}",
                                          startTime=int((now - LOG_SECONDS) * 1000), limit=20)
        events += [{"function": function, "time": e["timestamp"], "message": e["message"].rstrip()} for e in page.get("events", [])]
    return sorted(events, key=lambda e: e["time"])[-40:]


def snapshot(ctx: Context, since: int) -> dict[str, Any]:
    with aws_errors("describe the release's alarms"):
        answer = ctx.clients("cloudwatch").describe_alarms(AlarmNames=list(ctx.names.alarms),
                                                           AlarmTypes=["CompositeAlarm", "MetricAlarm"])
    alarms = {a["AlarmName"]: a["StateValue"] for a in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])}
    return {"env": ctx.env, "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "routes": _routes(ctx, since),
            "alarms": alarms, "deployments": _deployments(ctx), "logs": _logs(ctx, time.time())}


def _flag_rows(flags: dict[str, Any] | None) -> list[list[Any]]:
    if not flags:
        return []
    latest, served = flags["latest"], flags["served"]
    rows = [["flags (latest)", f"{latest['number']} {latest['state']} version {latest['version']}" if latest else "none"],
            ["flags (served)", f"version {served['version']}, canary "
             + ", ".join(f"{k} {v:g}%" for k, v in flags["canaryPercent"].items()) if served else "nothing"]]
    return rows + ([["flags (what happened)", flags["happened"]]] if flags["happened"] else [])


def render(data: dict[str, Any]) -> Group:
    def when(ms: int) -> str:
        return (datetime.fromtimestamp(ms / 1000, UTC)).strftime("%H:%M:%S")

    parts = [table(f"traffic ({data['at']})", ["path", "route", "requests", "errors", "p95 ms"],
                   [[r["path"], r["route"], r["requests"], r["errors"], r["p95Ms"]] for r in data["routes"]]),
             table("alarms", ["alarm", "state"], [[k, v] for k, v in data["alarms"].items()]),
             table("deployments", ["what", "state"],
                   _flag_rows(data["deployments"].get("flags")) + [[d["id"], d["status"]] for d in data["deployments"]["code"]]),
             table(f"last {LOG_SECONDS // 60} minutes of logs", ["time", "function", "message"],
                   [[when(e["time"]), e["function"], e["message"][:160]] for e in data["logs"]])]
    if "traffic" in data:
        t = data["traffic"]
        parts.insert(0, table("test traffic", ["sent", "ok", "failed"], [[t["sent"], t["ok"], t["failed"]]]))
    return Group(*parts)


def run(ctx: Context, since: int, traffic: int) -> Result:
    sent = send_traffic(ctx, traffic) if traffic else None
    data = snapshot(ctx, since)
    if sent:
        data["traffic"] = sent
    return Result("monitor", OK, data, lambda out: out.print(render(data)))


def watch(ctx: Context, since: int, traffic: int, interval: int, *, iterations: int | None = None,
          sleep: Callable[[float], None] = time.sleep, out: Console | None = None) -> int:
    """Refresh the snapshot every `interval` seconds until interrupted (or `iterations`)."""
    sent = send_traffic(ctx, traffic) if traffic else None
    done = 0
    try:
        with Live(console=out, auto_refresh=False) as live:
            while iterations is None or done < iterations:
                data = snapshot(ctx, since)
                if sent:
                    data["traffic"] = sent
                live.update(render(data), refresh=True)
                done += 1
                if iterations is None or done < iterations:
                    sleep(interval)
    except KeyboardInterrupt:
        pass
    return OK


