"""What the page says, decided here: every figure formatted, every derived number computed.

The template only lays this out. Derived figures are the ones a person would otherwise
work out by hand: how long the ramp takes, how many users the candidate served at each
step, how long after a fault the rollback came.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover.rehearsal.report import geometry as g
from cutover.rehearsal.report.panels import VERDICT_MARK, charts

TOP_FIELDS = 20
# "rolled back" is when the candidate served its last canary user (the engine's
# candidate_stopped event); CodeDeploy's alias rollback is the code's
ROLLBACK_EVENTS = ("candidate_stopped", "codedeploy_rolled_back")
EVENT_NAMES = {
    "flag_deployment_started": "flag deployment started",
    "flag_deployment_done": "flag deployment done", "bake_done": "bake done",
    "appconfig_rollback": "AppConfig rolled the flags back", "brake": "brake: canary off",
    "codedeploy_started": "CodeDeploy deployment started",
    "codedeploy_rolled_back": "CodeDeploy rolled back", "codedeploy_done": "CodeDeploy done",
    "fault_start": "fault starts", "fault_end": "fault ends", "ramp": "ramp",
    "alarms_applied": "alarms re-rendered for the step", "rollback_decision": "rollback decided",
    "guard": "guard: canary off", "guard_error": "the guard failed",
    "operator_rollback": "cutover rollback: canary off", "notification_lost": "notification lost",
    "candidate_stopped": "the candidate's last canary user"}
RESULT_WORDS = {"promoted": "promoted", "rolled_back": "rolled back", "held": "held",
                "rollback_incomplete": "rollback incomplete (the candidate still served)"}


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class Bound:
    name: str
    required: str
    observed: str
    held: bool | None


def page(report: dict[str, Any]) -> dict[str, Any]:
    scenario = report["scenario"]
    return {
        "head": {"release": report["release"], "env": report["env"],
                 "spec_file": report["spec_file"], "seed": report["seed"],
                 "format": report["format"], "scenario": scenario["name"],
                 "scenario_file": scenario.get("file"),
                 "description": scenario.get("description")},
        "title": f"Rehearsal of {report['release']} ({report['env']}): {scenario['name']}",
        "outcome": outcome(report),
        "figures": figures(report),
        "bounds": bounds(report),
        "steps": steps(report),
        "paths": paths(report),
        "charts": charts(report),
        "decisions": decisions(report),
        "fields": fields(report["divergent_fields"]),
        "events": events(report["events"]),
    }


def said(result: str, step: float | None) -> str:
    """'rolled back at the 5 % step', as a scenario's expectation or a run's outcome."""
    words = RESULT_WORDS[result]
    if step is None:
        return words
    preposition = "to" if result == "promoted" else "at"
    return f"{words} {preposition} the {g.number(step)} % step"


def outcome(report: dict[str, Any]) -> dict[str, Any]:
    out, expect = report["outcome"], report["scenario"]["expect"]
    return {"result": out["result"], "said": said(out["result"], out["step"]),
            "expected": said(expect["outcome"], expect.get("step")),
            "met": out["expectation_met"], "reasons": out["reasons"]}


def figures(report: dict[str, Any]) -> list[Figure]:
    t = report["totals"]
    users, served = t["users"], t["users_served_by_candidate"]
    share = f"{g.number(round(100 * served / users, 1))} % of {g.number(users)} users" \
        if users else ""
    ramp = t["ramp_duration_minutes"]
    items = [Figure("Ramp duration", g.duration(ramp) if ramp is not None else "did not finish",
                    "shadow to 100 %, in simulated time")]
    if t.get("planned_ramp_minutes") is not None:
        items.append(Figure("Ramp with this spec", g.duration(t["planned_ramp_minutes"]),
                            "if every step is promoted at its first decision"))
    items += [Figure("Simulated time", g.duration(t["simulated_minutes"])),
              Figure("Requests", g.number(t["requests"])),
              Figure("Users served by the candidate", g.number(served), share),
              Figure("User-visible errors", g.number(t["user_visible_errors"]))]
    if t.get("wall_seconds") is not None:
        rss = t.get("peak_rss_mb")
        items.append(Figure("Rehearsal ran in", f"{g.number(round(t['wall_seconds'], 1))} s",
                            f"peak memory {g.number(round(rss))} MB" if rss is not None else ""))
    return items


def bounds(report: dict[str, Any]) -> list[Bound]:
    wanted = report["scenario"]["expect"].get("bounds") or {}
    found: list[Bound] = []
    errors_max = wanted.get("max_user_visible_errors")
    if errors_max is not None:
        seen = report["totals"]["user_visible_errors"]
        found.append(Bound("user-visible errors", f"at most {g.number(errors_max)}",
                           g.number(seen), seen <= errors_max))
    within = wanted.get("rollback_within_minutes")
    if within is not None:
        took = fault_to_rollback(report["events"])
        found.append(Bound("rollback after the fault", f"within {g.duration(within)}",
                           "no rollback after a fault" if took is None else g.duration(took),
                           None if took is None else took <= within))
    stops = wanted.get("candidate_stops_within_minutes")
    if stops is not None:
        outcome = report["outcome"]
        decided, stopped = outcome.get("rollback_decided_minute"), outcome.get("rolled_back_minute")
        took = None if decided is None or stopped is None else max(0.0, stopped - decided)
        found.append(Bound("last canary user after the rollback decision", f"within {g.duration(stops)}",
                           "no rollback decision" if decided is None else
                           "still serving at the end" if stopped is None else
                           f"{round(took * 60)} s" if took < 2 else g.duration(took),
                           None if decided is None else took is not None and took <= stops))
    flips = wanted.get("max_route_flips")
    if flips is not None:
        seen = report["totals"].get("max_route_flips")
        found.append(Bound("route changes of one user", f"at most {g.number(flips)}",
                           "–" if seen is None else g.number(seen), None if seen is None else seen <= flips))
    return found


def fault_to_rollback(events: list[dict[str, Any]]) -> float | None:
    """Simulated minutes from the first fault to the first rollback after it, if any."""
    def minute(e: dict[str, Any]) -> float:
        return e["second"] / 60 if isinstance(e.get("second"), (int, float)) else e["minute"]

    start = next((minute(e) for e in events if e["kind"] == "fault_start"), None)
    if start is None:
        return None
    back = [minute(e) for e in events if e["kind"] in ROLLBACK_EVENTS and minute(e) >= start]
    return min(back) - start if back else None


def steps(report: dict[str, Any]) -> list[dict[str, Any]]:
    users = report["totals"]["users"]
    rows = []
    for step in report["steps"]:
        end = step["ended_minute"]
        made = [d for d in report["decisions"] if d["step"] == step["percent"] and not step.get("tail")
                and d["minute"] >= step["started_minute"] and (end is None or d["minute"] <= end)]
        share = 100 * step["canary_requests"] / step["requests"] if step["requests"] else None
        rows.append({
            "step": (f"after rollback ({g.number(step['percent'])} % step)" if step.get("tail")
                     else "shadow only" if step["percent"] == 0 else f"{g.number(step['percent'])} %"),
            "from": g.clock(step["started_minute"]),
            "to": "still running" if end is None else g.clock(end),
            "lasted": "–" if end is None else g.duration(end - step["started_minute"]),
            "requests": g.number(step["requests"]),
            "canary_requests": g.number(step["canary_requests"]),
            "canary_share": "–" if share is None else f"{g.number(round(share, 2))} %",
            "users": g.number(step["users_served_by_candidate"]),
            "users_share": f"{g.number(round(100 * step['users_served_by_candidate'] / users, 1))} %"
            if users else "–",
            "decisions": [verdict(d["verdict"]) for d in made]})
    return rows


def paths(report: dict[str, Any]) -> list[dict[str, str]]:
    """One row per read path when the spec has more than one (report.json ``paths``)."""
    rows = report.get("paths") or []
    if len(rows) < 2:
        return []
    total = sum(p["requests"] for p in rows) or 1
    return [{"name": p["name"], "requests": g.number(p["requests"]),
             "share": f"{g.number(round(100 * p['requests'] / total, 1))} %",
             "canary_requests": g.number(p["canary_requests"]),
             "users": g.number(p["users_served_by_candidate"]),
             "errors": g.number(p["user_visible_errors"])} for p in rows]


def step_name(percent: float | None) -> str:
    if percent is None:
        return "no step"
    return "shadow only" if percent == 0 else f"step {g.number(percent)} %"


def verdict(name: str) -> dict[str, str]:
    return {"mark": VERDICT_MARK[name], "name": name, "cls": f"v-{name.lower()}"}


def decisions(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"n": n, "at": g.clock(d["minute"]),
             "step": step_name(d["step"]),
             "verdict": verdict(d["verdict"]), "action": d["action"],
             "checks": [{"name": c["name"], "verdict": verdict(c["verdict"]),
                         "figure": g.number(c["figure"]), "threshold": g.number(c["threshold"]),
                         "samples": g.number(c["samples"]), "seed_action": c["seed_action"] or "–",
                         "reason": c["reason"]} for c in d["checks"]]}
            for n, d in enumerate(report["decisions"], 1)]


def fields(divergent: list[dict[str, Any]]) -> dict[str, Any]:
    ranked = sorted(divergent, key=lambda f: (-f["count"], f["path"]))
    total = sum(f["count"] for f in ranked)
    top = ranked[0]["count"] if ranked else 1
    shown = [{"path": f["path"], "count": g.number(f["count"]),
              "share": f"{g.number(round(100 * f['count'] / total, 1))} %",
              "bar": g.r1(100 * f["count"] / top)} for f in ranked[:TOP_FIELDS]]
    rest = ranked[TOP_FIELDS:]
    return {"rows": shown, "total": g.number(total), "paths": len(ranked),
            "rest_paths": len(rest), "rest_count": g.number(sum(f["count"] for f in rest))}


def events(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"n": n, "at": g.clock(e["minute"]), "kind": e["kind"],
             "what": EVENT_NAMES[e["kind"]], "detail": e.get("detail") or "",
             "major": e["kind"] in ROLLBACK_EVENTS or e["kind"].startswith("fault")}
            for n, e in enumerate(items, 1)]
