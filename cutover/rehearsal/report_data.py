"""report.json (format cutover.rehearsal-report/1, docs/rehearsal.md, "What it
writes"): what happened, minute by minute, and whether it was expected."""

from __future__ import annotations

from typing import Any

FORMAT = "cutover.rehearsal-report/1"


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 3)


def _rate(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 4) if whole else None


def timeline(r: Any) -> dict[str, Any]:
    minutes = [row["minute"] for row in r.rows]
    fallback = bool(r.spec.read_paths[0].canary.fallback)
    out: dict[str, Any] = {"minute": minutes, "canary_percent": [], "requests": [], "canary_requests": [],
                           "canary_error_rate": [], "control_error_rate": [], "served_error_rate": [],
                           "p95_ms": {"control": [], "canary": []}, "shadow_diff_rate": [],
                           "user_visible_errors": [], "served_by_candidate": []}
    for row in r.rows:
        m = row["minute"]
        c = r.telemetry.minutes.get(m, {})
        requests = row.get("requests", 0)
        canary, canary_errors = c.get("CanaryRequests", 0), c.get("CanaryErrors", 0)
        canary_served_errors = 0 if fallback else canary_errors
        out["canary_percent"].append(row["canary_percent"])
        out["requests"].append(requests)
        out["canary_requests"].append(int(canary))
        out["canary_error_rate"].append(_rate(canary_errors, canary))
        out["control_error_rate"].append(_rate(max(0, c.get("Errors", 0) - canary_served_errors),
                                               c.get("Requests", 0) - canary))
        out["served_error_rate"].append(_rate(row.get("user_errors", 0), requests))
        for route in ("control", "canary"):
            p95, _ = r.telemetry.p95(route, m, m + 1)
            out["p95_ms"][route].append(p95)
        out["shadow_diff_rate"].append(_rate(c.get("ShadowMismatches", 0), c.get("ShadowComparisons", 0)))
        out["user_visible_errors"].append(row.get("user_errors", 0))
        out["served_by_candidate"].append(row.get("served_by_candidate", 0))
    return out


def alarm_bands(r: Any, end: int) -> list[dict[str, Any]]:
    from . import seams

    out = []
    for name, role in sorted(seams.alarm_roles(r.alarms).items(), key=lambda kv: (kv[1] != "rollback", kv[0])):
        history = r.alarm_history.get(name, [])
        bands = []
        for i, (minute, state) in enumerate(history):
            until = history[i + 1][0] if i + 1 < len(history) else end
            bands.append({"state": state, "from_minute": minute, "to_minute": until})
        out.append({"name": name, "role": role, "bands": bands})
    return out


def planned_ramp_minutes(r: Any) -> int:
    return sum(r.scenario.ramp.hold(p) for p in r.plan)


def build_report(r: Any, wall_seconds: float, peak_rss_mb: float) -> dict[str, Any]:
    from .expectation import judge

    g = r.spec.guardrails
    end = getattr(r, "end_minute", len(r.rows))
    scenario = r.scenario
    outcome = dict(r.outcome)
    met, why = judge(r)
    promoted = outcome["result"] == "promoted"
    report = {
        "format": FORMAT,
        "release": r.spec.release.name, "env": r.spec.release.environment,
        "spec_file": r.o.spec_file, "seed": scenario.seed,
        "scenario": {"name": scenario.name, "file": r.o.scenario_file, "description": scenario.description,
                     "expect": scenario.expect.model_dump(mode="json")},
        "outcome": {"result": outcome["result"], "step": outcome["step"], "minute": outcome["minute"],
                    "expectation_met": met, "reasons": outcome["reasons"] + why,
                    "rollback_decided_minute": _minutes(r.rollback_decided),
                    "rolled_back_minute": _minutes(r.rolled_back_at)},
        "world": scenario.world.model_dump(),
        "thresholds": {"error_rate_pct": g.error_rate_pct, "p95_ceiling_ms": 500,
                       "p95_regression_go_pct": g.p95_regression.go_pct,
                       "p95_regression_no_go_pct": g.p95_regression.no_go_pct,
                       "shadow_diff_go_pct": g.shadow_diff.go_pct,
                       "shadow_diff_no_go_pct": g.shadow_diff.no_go_pct},
        "timeline": timeline(r),
        "alarms": alarm_bands(r, end),
        "decisions": r.decisions,
        "events": r.events,
        "steps": [{"percent": s.percent, "started_minute": s.started, "ended_minute": s.ended,
                   "requests": s.requests, "canary_requests": s.canary_requests,
                   "users_served_by_candidate": len(s.users), "holds": s.holds, "tail": s.tail}
                  for s in r.steps],
        "paths": [{"name": name, "requests": c["requests"], "canary_requests": c["canary_requests"],
                   "user_visible_errors": c["user_errors"],
                   "users_served_by_candidate": len(r.path_users[name])} for name, c in r.path_counts.items()],
        "notifications": [{**n, "second": round(n["second"], 3)} for n in sorted(r.all_notifications(), key=lambda n: n["second"])],
        "divergent_fields": [{"path": p, "count": n}
                             for p, n in sorted(r.telemetry.divergent_fields.items(), key=lambda kv: (-kv[1], kv[0]))[:20]],
        "totals": {"requests": r.requests, "simulated_minutes": end,
                   "ramp_duration_minutes": outcome["minute"] if promoted else None,
                   "planned_ramp_minutes": planned_ramp_minutes(r),
                   "users": scenario.traffic.users,
                   "users_served_by_candidate": len(r.all_candidate_users),
                   "user_visible_errors": r.user_errors,
                   "max_route_flips": max(r.user_flips.values(), default=0),
                   "users_flipping_more_than_once": sum(1 for n in r.user_flips.values() if n > 1),
                   "guard_runs": getattr(r.responder, "runs", 0),
                   "guard_idle_ticks_not_run": getattr(r.responder, "idle_ticks", 0),
                   "guard_outcomes": dict(sorted(getattr(r.responder, "outcomes", {}).items())),
                   "cold_starts": dict(sorted(r.world.lambda_.cold_starts.items())),
                   "shadow_dlq": len(r.world.lambda_.dlq),
                   "flag_reads": r.world.agents.requests,
                   "wall_seconds": round(wall_seconds, 2), "peak_rss_mb": peak_rss_mb},
    }
    return report
