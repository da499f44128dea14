"""`cutover monitor`: what the release is doing now — requests, errors and p95 per route,
the shadow mismatch rate, alarm and deployment states, the newest log lines of the last
two minutes — once, or live with --watch; --traffic N first sends N invocations with
synthetic users to every read path (monitor-beta.sh --test)."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group
from rich.live import Live

from cutover.ops import appconfig, codedeploy, lambdas, metrics
from cutover.ops.aws import aws_errors
from cutover.ops.context import Context
from cutover.ops.output import OK, Result, table
from cutover.runtime import metrics as emf

LOG_SECONDS = 120
LOG_LINES = 20  # the newest lines of the window
SYNTHETIC = "cutover-synthetic-"


def send_traffic(ctx: Context, count: int) -> dict[str, Any]:
    """N invocations of every read path's entry point, each with its own synthetic user.

    A function error or an HTTP 5xx answer (the router's 502) counts as failed."""
    lam = ctx.clients("lambda")
    tally: dict[str, Any] = {"sent": 0, "ok": 0, "failed": 0, "paths": {}}
    for path in ctx.names.paths:
        mine = tally["paths"][path.name] = {"sent": 0, "ok": 0, "failed": 0}
        with aws_errors(f"invoke {path.entrypoint}:{path.alias}"):
            for i in range(count):
                answer = lam.invoke(FunctionName=path.entrypoint, Qualifier=path.alias,
                                    Payload=json.dumps({path.sticky_key: f"{SYNTHETIC}{i}"}).encode())
                outcome = "failed" if lambdas.answer_failed(answer.get("FunctionError"), answer["Payload"].read()) else "ok"
                for t in (tally, mine):
                    t["sent"] += 1
                    t[outcome] += 1
    return tally


def _routes(ctx: Context, since: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(a row per route and path, the shadow mismatch rate of each path)."""
    period = ctx.spec.guardrails.period_seconds
    start, end = metrics.window(since, period)
    seconds = int((end - start).total_seconds())
    rows, shadow = [], []
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
        shadow.append(_shadow(ctx, path.name, path.shadow_enabled, total))
    return rows, shadow


def _shadow(ctx: Context, path: str, enabled: bool, total: dict[str, float]) -> dict[str, Any]:
    """ShadowMismatches over ShadowComparisons in the window, next to the spec's guardrail
    (guardrails.shadow_diff: the rate must stay under go_pct; no_go_pct rolls back)."""
    compared, differ = int(total[emf.SHADOW_COMPARISONS]), int(total[emf.SHADOW_MISMATCHES])
    rule = ctx.spec.guardrails.shadow_diff
    return {"path": path, "enabled": enabled, "comparisons": compared, "mismatches": differ,
            "mismatchRatePct": round(100 * differ / compared, 3) if compared else None,
            "goPct": rule.go_pct, "noGoPct": rule.no_go_pct}


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
    """The newest LOG_LINES lines of the last LOG_SECONDS, over every function.

    FilterLogEvents answers oldest first, so every page of the window is read and only
    the newest lines are kept (a `limit` would keep the oldest)."""
    events: list[dict[str, Any]] = []
    logs = ctx.clients("logs")
    for function in ctx.names.functions:
        newest: deque[dict[str, Any]] = deque(maxlen=LOG_LINES)
        with aws_errors(f"read the logs of {function}"):
            for page in logs.get_paginator("filter_log_events").paginate(
                    logGroupName=f"/aws/lambda/{function}", startTime=int((now - LOG_SECONDS) * 1000)):
                newest.extend({"function": function, "time": e["timestamp"], "message": e["message"].rstrip()}
                              for e in page.get("events", []))
        events += newest
    return sorted(events, key=lambda e: e["time"])[-LOG_LINES:]


def snapshot(ctx: Context, since: int) -> dict[str, Any]:
    with aws_errors("describe the release's alarms"):
        answer = ctx.clients("cloudwatch").describe_alarms(AlarmNames=list(ctx.names.alarms),
                                                           AlarmTypes=["CompositeAlarm", "MetricAlarm"])
    alarms = {a["AlarmName"]: a["StateValue"] for a in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])}
    routes, shadow = _routes(ctx, since)
    return {"env": ctx.env, "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "routes": routes,
            "shadow": shadow, "alarms": alarms, "rollbackAlarm": ctx.names.rollback_alarm, "deployments": _deployments(ctx), "logs": _logs(ctx, time.time())}


def _flag_rows(flags: dict[str, Any] | None) -> list[list[Any]]:
    if not flags:
        return []
    latest, served = flags["latest"], flags["served"]
    rows = [["flags (latest)", f"{latest['number']} {latest['state']} version {latest['version']}" if latest else "none"],
            ["flags (served)", f"version {served['version']}, canary "
             + ", ".join(f"{k} {v:g}%" for k, v in flags["canaryPercent"].items()) if served else "nothing"]]
    return rows + ([["flags (what happened)", flags["happened"]]] if flags["happened"] else [])


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S")


def _shadow_line(s: dict[str, Any]) -> str:
    if not s["enabled"]:
        return f"shadow {s['path']}: off"
    if s["mismatchRatePct"] is None:
        return f"shadow {s['path']}: no comparison in the window"
    colour = "red" if s["mismatchRatePct"] >= s["noGoPct"] else "yellow" if s["mismatchRatePct"] >= s["goPct"] else "green"
    return (f"shadow {s['path']}: mismatch rate [{colour}]{s['mismatchRatePct']:g}%[/] "
            f"({s['mismatches']}/{s['comparisons']} comparisons differ; keep it under {s['goPct']:g}%, "
            f"{s['noGoPct']:g}% rolls back)")


def _alarm_line(alarms: dict[str, str], rollback: str | None) -> str:
    """One line: the rollback composite's state, how many of the others are in each state, which fire."""
    others = [v for k, v in alarms.items() if k != rollback]
    counts = ", ".join(f"{others.count(state)} {state}" for state in dict.fromkeys(others)) or "none"
    firing = [k for k, v in alarms.items() if v == "ALARM" and k != rollback]
    head = f"alarms: {rollback} {alarms.get(rollback, 'MISSING')}; others {counts}" if rollback else f"alarms: {counts}"
    return head + (f" — [red]ALARM[/]: {', '.join(firing)}" if firing else "")


def _logs_table(data: dict[str, Any], lines: int | None = None) -> Any:
    """The newest log lines; `lines` given (the --watch view): that many, one screen row each."""
    shown = data["logs"] if lines is None else data["logs"][len(data["logs"]) - lines:] if lines > 0 else []
    t = table(f"newest {len(shown)} log lines of the last {LOG_SECONDS // 60} minutes", ["time", "function", "message"],
              [[_when(e["time"]), e["function"], e["message"][:160]] for e in shown])
    if lines is not None:
        for column in t.columns:
            column.no_wrap, column.overflow = True, "ellipsis"
    return t


def render(data: dict[str, Any], fit: Console | None = None) -> Group:
    """The snapshot; with `fit` (the --watch view), within that console's height: the
    alarms as one line and only as many of the newest log lines as fit."""
    parts: list[Any] = [table(f"traffic ({data['at']})", ["path", "route", "requests", "errors", "p95 ms"],
                              [[r["path"], r["route"], r["requests"], r["errors"], r["p95Ms"]] for r in data["routes"]])]
    parts += [_shadow_line(s) for s in data.get("shadow", [])]
    parts.append(_alarm_line(data["alarms"], data.get("rollbackAlarm")) if fit else table("alarms", ["alarm", "state"],
                                                                 [[k, v] for k, v in data["alarms"].items()]))
    parts.append(table("deployments", ["what", "state"], _flag_rows(data["deployments"].get("flags"))
                       + [[d["id"], d["status"]] for d in data["deployments"]["code"]]))
    if "traffic" in data:
        t = data["traffic"]
        parts.insert(0, f"test traffic: {t['sent']} sent, {t['ok']} ok, {t['failed']} failed (a function error or HTTP 5xx)")
    if fit is None:
        return Group(*parts, _logs_table(data))
    used = len(fit.render_lines(Group(*parts), fit.options, pad=False))
    room = fit.height - used - 5  # the logs table's title, frame and header; one line for the cursor
    if room < 1:
        return Group(*parts, f"(log lines hidden: the terminal is {fit.height} rows high)")
    return Group(*parts, _logs_table(data, min(room, len(data["logs"]))))


def run(ctx: Context, since: int, traffic: int) -> Result:
    sent = send_traffic(ctx, traffic) if traffic else None
    data = snapshot(ctx, since)
    if sent:
        data["traffic"] = sent
    return Result("monitor", OK, data, lambda out: out.print(render(data)))


def _interrupt_on_sigterm() -> Callable[[], None]:
    """Make SIGTERM end --watch as Ctrl-C does (KeyboardInterrupt), so that the live view
    stops and shows the cursor again; returns what puts the previous handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


def watch(ctx: Context, since: int, traffic: int, interval: int, *, iterations: int | None = None,
          sleep: Callable[[float], None] = time.sleep, out: Console | None = None) -> int:
    """Refresh the snapshot every `interval` seconds until interrupted (Ctrl-C or SIGTERM) or `iterations`."""
    sent = send_traffic(ctx, traffic) if traffic else None
    done = 0
    restore = _interrupt_on_sigterm()
    try:
        with Live(console=out, auto_refresh=False) as live:
            while iterations is None or done < iterations:
                data = snapshot(ctx, since)
                if sent:
                    data["traffic"] = sent
                live.update(render(data, fit=live.console), refresh=True)
                done += 1
                if iterations is None or done < iterations:
                    sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        restore()
    return OK
