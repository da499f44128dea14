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
from cutover.ops.names import module_args
from cutover.ops.output import FAILED, OK, Result, table

PRICES = Path(__file__).with_name("prices.json")
SECONDS_PER_MONTH = 30 * 24 * 3600
GATEWAY_SERVICES = ("dynamodb", "s3")  # VPC endpoints of the gateway type (free); the others are interface ones

# Per-metric counts of what the functions emit (docs/contracts.md §5): router
# Requests, Errors, CanaryRequests, CanaryErrors, CanaryFallbacks, ShadowDispatched,
# ShadowDispatchFailures + Latency per Route (2); candidate ShadowComparisons,
# ShadowMismatches, ShadowTimeouts, ShadowErrors, ShadowInconclusive, CanaryReads,
# CanaryReadErrors.
ROUTER_METRICS, CANDIDATE_METRICS = 9, 7


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


def _logs(p: dict, a: Assumptions, invocations: float) -> float:
    gb = invocations * a.log_bytes_per_invocation / 1e9
    return gb * (p["cloudwatch"]["logs_ingested_gb"] + p["cloudwatch"]["logs_stored_gb_month"])


def traced_requests(requests: float, canary: float = 0.0, canary_rate: float = 0.0) -> float:
    """Traces a month: one per sampled request, whatever the invocations it makes (the
    router, the candidate and the shadow event share its trace id). Lambda's active
    tracing samples 1 request a second and 5% of the rest; the canary sampling rule
    records `canary_rate` of the canary requests the default left out."""
    rate = requests / SECONDS_PER_MONTH
    traced = requests if rate <= 1 else SECONDS_PER_MONTH + 0.05 * (requests - SECONDS_PER_MONTH)
    return traced + (1 - traced / requests if requests else 0) * canary * canary_rate


def _tracing_rate(ctx: Context) -> float:
    tracing = module_args(ctx.plan, "tracing") if ctx.plan is not None else None
    return float(tracing.get("canary_fixed_rate") or 0) if tracing else 0.0


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
        traces, base_traces = traced_requests(n, canary, _tracing_rate(ctx)), traced_requests(n)
        out += [("CloudWatch Logs", f"{(n + canary + shadow) * a.log_bytes_per_invocation / 1e9:.2f} GB",
                 _logs(p, a, n + canary + shadow)),
                ("X-Ray traces", f"{traces:,.0f} traces (per request)", traces * p["xray"]["trace_recorded"])]
        base += [("CloudWatch Logs", f"{n * a.log_bytes_per_invocation / 1e9:.2f} GB", _logs(p, a, n)),
                 ("X-Ray traces", f"{base_traces:,.0f} traces (per request)", base_traces * p["xray"]["trace_recorded"])]
    out += _fixed(ctx, p, a) + planned_lines(ctx, p)
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


def planned_lines(ctx: Context, p: dict) -> list[tuple[str, str, float]]:
    """The fixed monthly costs of what the plan creates: interface VPC endpoints (one
    network interface per subnet, i.e. per AZ) and the customer managed KMS key."""
    hours, out = p["hours_per_month"], []
    for module in getattr(ctx.plan, "modules", ()):
        args = dict(module.args)
        if module.at.source == "vpc_endpoints" and args.get("mode") == "create":
            interface = [s for s in args.get("services", []) if s not in GATEWAY_SERVICES]
            azs = len(args.get("subnet_ids") or [])
            if interface and azs:
                out.append((f"VPC interface endpoints ({', '.join(interface)}) in {args['vpc_id']}",
                            f"{len(interface)} x {azs} AZ x {hours} h",
                            len(interface) * azs * hours * p["privatelink"]["interface_endpoint_az_hour"]))
        if module.at.source == "kms" and args.get("key_arn") is None:
            kms = p["kms"]
            usage = (f"1 key, rotated yearly (+${kms['rotation_month']:g}/month after "
                     f"each of the first {kms['billed_rotations']} rotations)")
            out.append(("KMS customer managed key", usage, kms["key_month"]))
    return out


def _assumptions(ctx: Context, a: Assumptions, percent: float | None, p: dict) -> list[list[str]]:
    paths = ctx.names.paths
    rows = [["requests a month", f"{a.requests:,}, split evenly over {len(paths)} read path(s)"],
            ["canary", ", ".join(f"{x.name} {x.canary_percent if percent is None else percent:g}%" for x in paths)],
            ["shadow sample", ", ".join(f"{x.name} {r.shadow.sample_rate:g}" if x.shadow_enabled else f"{x.name} off"
                                        for x, r in zip(paths, ctx.spec.read_paths, strict=True))],
            ["durations", f"router {a.router_ms:g} ms, candidate {a.candidate_ms:g} ms, shadow {a.shadow_ms:g} ms"],
            ["logs", f"{a.log_bytes_per_invocation} bytes per invocation; Logs Insights {a.insights_gb_scanned:g} GB"],
            ["X-Ray", f"one trace per sampled request: 1/s + 5% of the rest, canary rule {_tracing_rate(ctx):g}"],
            ["database", f"{a.db_instance}, {a.db_storage_gb} GB gp3"],
            ["prices", f"{p['region']}, checked {p['checked']}, no free tier"]]
    if ctx.names.region != p["region"]:
        rows.append(["region", (f"{ctx.env} runs in {ctx.names.region}; these are {p['region']} prices "
                                "(most are within a few percent elsewhere: check the pricing pages)")])
    return rows


def run(ctx: Context, a: Assumptions, percent: float | None) -> Result:
    p = prices()
    release, baseline = lines(ctx, a, percent)
    total, base_total = sum(r["monthly"] for r in release), sum(r["monthly"] for r in baseline)
    budget = ctx.spec.cost.budget_usd if ctx.spec.cost else None
    estimate = ctx.spec.cost.estimate_usd if ctx.spec.cost else None
    within = budget is None or total <= budget
    data = {"env": ctx.env, "requestsPerMonth": a.requests, "region": ctx.names.region, "pricesRegion": p["region"],
            "pricesChecked": p["checked"], "sources": p["sources"], "assumptions": asdict(a),
            "assumed": dict(_assumptions(ctx, a, percent, p)), "release": release, "baseline": baseline,
            "total": round(total, 2), "baselineTotal": round(base_total, 2), "added": round(total - base_total, 2),
            "usersEstimate": estimate, "budget": budget, "withinBudget": within}
    return Result("cost", OK if within else FAILED, data, _view(ctx, a, data))


def _view(ctx: Context, a: Assumptions, data: dict[str, Any]):
    def view(out: Console) -> None:
        total, budget = data["total"], data["budget"]
        out.print(table(f"{ctx.names.release} ({ctx.env}): {a.requests:,} requests/month, prices {data['pricesRegion']} "
                        f"checked {data['pricesChecked']}", ["item", "usage", "release $/month"],
                        [[r["item"], r["usage"], f"{r['monthly']:.2f}"] for r in data["release"]]))
        out.print(table("control-only baseline", ["item", "usage", "$/month"],
                        [[r["item"], r["usage"], f"{r['monthly']:.2f}"] for r in data["baseline"]]))
        out.print(table("assumptions", ["what", "assumed"], [[k, v] for k, v in data["assumed"].items()]))
        colour = "green" if data["withinBudget"] else "red"
        estimate = f"; the team's estimate ${data['usersEstimate']:.2f}" if data["usersEstimate"] is not None else ""
        verdict = ("no budget in the spec (cost.budget_usd)" if budget is None else
                   f"budget ${budget:g}: " + ("within" if data["withinBudget"] else
                                               f"[red]over by ${total - budget:.2f}[/] (exit 1)"))
        out.print(f"release [{colour}]${total:.2f}[/]/month vs baseline ${data['baselineTotal']:.2f} "
                  f"(+${data['added']:.2f}){estimate}; {verdict}")
    return view
