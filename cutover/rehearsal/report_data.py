"""report.json (format cutover.rehearsal-report/1, docs/rehearsal.md, "What it
writes"): what happened, minute by minute, and whether it was expected, from a run's
``RunRecord``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cutover.runtime import metrics as emf

from .record import Outcome, RunRecord

if TYPE_CHECKING:
    from .engine import Options

FORMAT = "cutover.rehearsal-report/1"


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 3)


def _rate(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 4) if whole else None


def timeline(r: RunRecord, fallback: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"minute": [row.minute for row in r.rows], "canary_percent": [], "requests": [],
                           "canary_requests": [], "canary_error_rate": [], "control_error_rate": [],
                           "served_error_rate": [], "p95_ms": {"control": [], "canary": []}, "shadow_diff_rate": [],
                           "user_visible_errors": [], "served_by_candidate": []}
    for row in r.rows:
        c = row.published
        canary, canary_errors = c.get(emf.CANARY_REQUESTS, 0), c.get(emf.CANARY_ERRORS, 0)
        canary_served_errors = 0 if fallback else canary_errors
        out["canary_percent"].append(row.canary_percent)
        out["requests"].append(row.requests)
        out["canary_requests"].append(int(canary))
        out["canary_error_rate"].append(_rate(canary_errors, canary))
        out["control_error_rate"].append(_rate(max(0, c.get(emf.ERRORS, 0) - canary_served_errors),
                                               c.get(emf.REQUESTS, 0) - canary))
        out["served_error_rate"].append(_rate(row.user_errors, row.requests))
        for route in ("control", "canary"):
            out["p95_ms"][route].append(row.p95_ms.get(route))
        out["shadow_diff_rate"].append(_rate(c.get(emf.SHADOW_MISMATCHES, 0), c.get(emf.SHADOW_COMPARISONS, 0)))
        out["user_visible_errors"].append(row.user_errors)
        out["served_by_candidate"].append(row.served_by_candidate)
    return out


def alarm_bands(r: RunRecord) -> list[dict[str, Any]]:
    out = []
    for track in r.alarms:
        history = track.history
        bands = []
        for i, (minute, state) in enumerate(history):
            until = history[i + 1][0] if i + 1 < len(history) else r.end_minute
            bands.append({"state": state, "from_minute": minute, "to_minute": until})
        out.append({"name": track.name, "role": track.role, "bands": bands})
    return out


def build_report(r: RunRecord, o: Options, wall_seconds: float, peak_rss_mb: float) -> dict[str, Any]:
    from .expectation import judge

    spec, scenario = o.spec, o.scenario
    g = spec.guardrails
    outcome = r.outcome
    expect = scenario.expectation(o.controller)
    met, why = judge(r, expect)
    report = {
        "format": FORMAT,
        "release": spec.release.name, "env": spec.release.environment,
        "spec_file": o.spec_file, "seed": scenario.seed,
        "scenario": {"name": scenario.name, "file": o.scenario_file, "description": scenario.description,
                     "expect": expect.model_dump(mode="json")},
        "outcome": {"result": outcome.result.value, "step": outcome.step, "minute": outcome.minute,
                    "expectation_met": met, "reasons": [*outcome.reasons, *why],
                    "rollback_decided_minute": _minutes(r.rollback_decided),
                    "rolled_back_minute": _minutes(r.rolled_back_at)},
        "world": scenario.world.model_dump(),
        "thresholds": {"error_rate_pct": g.error_rate_pct, "p95_ceiling_ms": 500,
                       "p95_regression_go_pct": g.p95_regression.go_pct,
                       "p95_regression_no_go_pct": g.p95_regression.no_go_pct,
                       "shadow_diff_go_pct": g.shadow_diff.go_pct,
                       "shadow_diff_no_go_pct": g.shadow_diff.no_go_pct},
        "timeline": timeline(r, bool(spec.read_paths[0].canary.fallback)),
        "alarms": alarm_bands(r),
        "decisions": [d.to_json() for d in r.decisions],
        "events": [e.to_json() for e in r.events],
        "steps": [{"percent": s.percent, "started_minute": s.started, "ended_minute": s.ended,
                   "requests": s.requests, "canary_requests": s.canary_requests,
                   "users_served_by_candidate": s.users_served_by_candidate, "holds": s.holds, "tail": s.tail}
                  for s in r.steps],
        "paths": [{"name": p.name, "requests": p.requests, "canary_requests": p.canary_requests,
                   "user_visible_errors": p.user_errors, "users_served_by_candidate": p.users_served_by_candidate}
                  for p in r.paths],
        "notifications": [{**n, "second": round(n["second"], 3)} for n in r.notifications],
        "divergent_fields": [{"path": p, "count": n}
                             for p, n in sorted(r.divergent_fields.items(), key=lambda kv: (-kv[1], kv[0]))[:20]],
        "totals": totals(r, o, wall_seconds, peak_rss_mb),
    }
    if r.controller is not None:  # --controller: the state machine's execution walked the ramp
        report["controller"] = dict(r.controller)
    return report


def totals(r: RunRecord, o: Options, wall_seconds: float, peak_rss_mb: float) -> dict[str, Any]:
    promoted = r.outcome.result is Outcome.PROMOTED
    return {"requests": r.requests, "simulated_minutes": r.end_minute,
            "ramp_duration_minutes": r.outcome.minute if promoted else None,
            "planned_ramp_minutes": sum(o.scenario.ramp.hold(p) for p in r.plan),
            "users": o.scenario.traffic.users,
            "users_served_by_candidate": r.users_served_by_candidate,
            "user_visible_errors": r.user_errors,
            "max_route_flips": r.max_route_flips,
            "users_flipping_more_than_once": sum(1 for n in r.route_flips if n > 1),
            "guard_runs": r.guard.runs,
            "guard_idle_ticks_not_run": r.guard.idle_ticks,
            "guard_outcomes": dict(r.guard.outcomes),
            "cold_starts": dict(r.cold_starts),
            "shadow_dlq": r.shadow_dlq,
            "flag_reads": r.flag_reads,
            "wall_seconds": round(wall_seconds, 2), "peak_rss_mb": peak_rss_mb}
