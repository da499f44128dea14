"""`cutover cost`: what the release costs per month with this spec, next to the
control-only baseline (the mock read path as it ran before the release).

Prices come from cutover/ops/prices.json (data, with its date and sources); traffic shape
(durations, log bytes) from the assumptions below, printed with the result, and
overridable on the command line. No AWS call is made.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from cutover.ops.context import Context
from cutover.ops.output import FAILED, OK, Result, table

PRICES = Path(__file__).with_name("prices.json")
SECONDS_PER_MONTH = 30 * 24 * 3600
USERS_ESTIMATE = 36.53  # the seed's own monthly estimate at 1M requests
BUDGET = 60.0

# Per-metric counts of what the functions emit (docs/contracts.md §5): router
# Requests, Errors, CanaryRequests, CanaryErrors, CanaryFallbacks, ShadowDispatched,
# ShadowDispatchFailures + Latency per Route (2); candidate ShadowComparisons,
# ShadowMismatches, ShadowTimeouts, ShadowErrors, CanaryReads, CanaryReadErrors.
ROUTER_METRICS, CANDIDATE_METRICS = 9, 6


@dataclass(frozen=True)
class Assumptions:
    requests: int = 1_000_000
    router_ms: float = 25.0  # flag read from the agent + mock answer
    candidate_ms: float = 60.0  # a PostgreSQL read through RDS Proxy
    shadow_ms: float = 90.0  # read + comparison + ledger put
    log_bytes_per_invocation: int = 1200  # START/END/REPORT + one JSON line + EMF
    db_instance: str = "db.t3.micro"
    db_storage_gb: int = 20
    insights_gb_scanned: float = 5.0


def prices() -> dict[str, Any]:
    return json.loads(PRICES.read_text())


def _lambda(p: dict, invocations: float, memory_mb: int, ms: float, arch: str) -> float:
    gb_s = invocations * memory_mb / 1024 * ms / 1000
    return invocations * p["lambda"]["request"] + gb_s * p["lambda"]["gb_second"][arch]


def _logs_xray(p: dict, a: Assumptions, invocations: float) -> tuple[float, float]:
    gb = invocations * a.log_bytes_per_invocation / 1e9
    logs = gb * (p["cloudwatch"]["logs_ingested_gb"] + p["cloudwatch"]["logs_stored_gb_month"])
    # Lambda's active tracing samples 1 request per second and 5% of the rest.
    rate = invocations / SECONDS_PER_MONTH
    traced = min(invocations, SECONDS_PER_MONTH) if rate <= 1 else SECONDS_PER_MONTH + 0.05 * (invocations - SECONDS_PER_MONTH)
    return logs, traced * p["xray"]["trace_recorded"]


def lines(ctx: Context, a: Assumptions, percent: float | None = None) -> tuple[list[dict], list[dict]]:
    """(release lines, baseline lines): each {"item", "usage", "release", "baseline"}."""
    p, spec, names = prices(), ctx.spec, ctx.names
    out, base = [], []
    for path_spec, path in zip(spec.read_paths, names.paths, strict=True):
        share = (path.canary_percent if percent is None else percent) / 100
        n = a.requests / len(names.paths)
        canary, shadow = n * share, n * (1 - share) * (path_spec.shadow.sample_rate if path.shadow_enabled else 0)
        ctl, cand = path_spec.control, path_spec.candidate
        base.append(("control Lambda", f"{n:,.0f} invocations", _lambda(p, n, ctl.memory_mb, a.router_ms, ctl.architecture)))
        if names.complete:  # the entry runs the candidate's code: no router, no hop
            out.append(("candidate Lambda, every request", f"{n:,.0f} invocations",
                        _lambda(p, n, cand.memory_mb, a.candidate_ms, cand.architecture)))
            canary = 0.0
        else:
            router = _lambda(p, n, ctl.memory_mb, a.router_ms + share * a.candidate_ms, ctl.architecture)
            out.append(("router (control) Lambda", f"{n:,.0f} invocations", router))
            out.append(("candidate Lambda, canary", f"{canary:,.0f} invocations",
                        _lambda(p, canary, cand.memory_mb, a.candidate_ms, cand.architecture)))
        out.append(("candidate Lambda, shadow", f"{shadow:,.0f} invocations",
                    _lambda(p, shadow, cand.memory_mb, a.shadow_ms, cand.architecture)))
        out.append(("DynamoDB shadow ledger", f"{shadow:,.0f} writes", shadow * p["dynamodb"]["write_request_unit"]))
        logs, xray = _logs_xray(p, a, n + canary + shadow)
        base_logs, base_xray = _logs_xray(p, a, n)
        out += [("CloudWatch Logs", f"{(n + canary + shadow) * a.log_bytes_per_invocation / 1e9:.2f} GB", logs),
                ("X-Ray traces", "1/s + 5% sampled", xray)]
        base += [("CloudWatch Logs", f"{n * a.log_bytes_per_invocation / 1e9:.2f} GB", base_logs),
                 ("X-Ray traces", "1/s + 5% sampled", base_xray)]
    out += _fixed(ctx, p, a)
    as_rows = lambda rows: [{"item": i, "usage": u, "monthly": round(c, 4)} for i, u, c in rows]
    return as_rows(out), as_rows(base)


def _fixed(ctx: Context, p: dict, a: Assumptions) -> list[tuple[str, str, float]]:
    names, spec, cw = ctx.names, ctx.spec, p["cloudwatch"]
    poll = spec.delivery.appconfig.poll_interval_s
    environments = max(1, math.ceil(a.requests / SECONDS_PER_MONTH * (a.router_ms + a.candidate_ms) / 1000 * 2))
    agent_calls = 0 if names.complete or names.appconfig_application is None else environments * len(names.paths) * SECONDS_PER_MONTH / poll
    metrics = len(names.paths) * (ROUTER_METRICS + CANDIDATE_METRICS)
    alarm_metrics = names.alarm_metrics  # each rate alarm reads its counts and its total
    hours = p["hours_per_month"]
    proxy_vcpus = max(p["rds_proxy"]["minimum_vcpus"], p["rds"][a.db_instance]["vcpus"])
    return [
        ("AppConfig agent polls", f"{agent_calls:,.0f} calls ({environments} env, every {poll} s)",
         agent_calls * p["appconfig"]["api_request"] + bool(agent_calls) * environments * 10 * p["appconfig"]["configuration_received"]),
        ("CloudWatch custom metrics (EMF)", f"{metrics} metrics", metrics * cw["metric_month"]),
        ("CloudWatch alarms", f"{len(names.alarms) - 1} alarms, {alarm_metrics} metrics + 1 composite",
         alarm_metrics * cw["alarm_metric_month"] + cw["composite_alarm_month"]),
        ("CloudWatch dashboard", "1 dashboard", cw["dashboard_month"]),
        ("Logs Insights", f"{a.insights_gb_scanned:g} GB scanned", a.insights_gb_scanned * cw["insights_scanned_gb"]),
        ("RDS Proxy", f"{proxy_vcpus} vCPU x {hours} h", proxy_vcpus * hours * p["rds_proxy"]["vcpu_hour"]),
        (f"PostgreSQL {a.db_instance} (not created by cutover)", f"{hours} h + {a.db_storage_gb} GB",
         hours * p["rds"][a.db_instance]["hour"] + a.db_storage_gb * p["rds"]["gp3_gb_month"]),
    ]


def run(ctx: Context, a: Assumptions, percent: float | None) -> Result:
    p = prices()
    release, baseline = lines(ctx, a, percent)
    total, base_total = sum(r["monthly"] for r in release), sum(r["monthly"] for r in baseline)
    data = {"env": ctx.env, "requestsPerMonth": a.requests, "region": p["region"], "pricesChecked": p["checked"],
            "sources": p["sources"], "assumptions": asdict(a), "release": release, "baseline": baseline,
            "total": round(total, 2), "baselineTotal": round(base_total, 2), "added": round(total - base_total, 2),
            "usersEstimate": USERS_ESTIMATE, "budget": BUDGET, "withinBudget": total <= BUDGET}

    def view(out: Console) -> None:
        out.print(table(f"{ctx.names.release} ({ctx.env}): {a.requests:,} requests/month, prices {p['region']} "
                        f"checked {p['checked']}", ["item", "usage", "release $/month"],
                        [[r["item"], r["usage"], f"{r['monthly']:.2f}"] for r in release]))
        out.print(table("control-only baseline", ["item", "usage", "$/month"],
                        [[r["item"], r["usage"], f"{r['monthly']:.2f}"] for r in baseline]))
        colour = "green" if total <= BUDGET else "red"
        out.print(f"release [{colour}]${total:.2f}[/]/month vs baseline ${base_total:.2f} (+${total - base_total:.2f}); "
                  f"our users' estimate ${USERS_ESTIMATE:.2f}, budget ${BUDGET:.0f}")

    return Result("cost", OK if total <= BUDGET else FAILED, data, view)
