"""Realistic report.json documents for the report's tests, built by a small seeded simulation.

Not the rehearsal engine: a few dozen lines that produce the numbers such a run would
(sticky users on a skewed population, a diurnal request rate, error and latency noise,
alarms with M-of-N evaluation, a decision at the end of each bake) so that the renderer
is tested on report.json files of a real size and shape. Same name and seed, same bytes.

    build("healthy")       promoted through 1 → 5 → 25 → 50 → 100 %
    build("rollback")      candidate errors from the 5 % step: alarm, rollback decision, guard
    build("latency")       canary p95 +45 % from the 25 % step: held there
"""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

STEPS = (1, 5, 25, 50, 100)
SHADOW_MINUTES, BAKE, USERS, RPM = 60, 120, 4000, 110
PREFIX = "huntaze-prisma-migration-production-user-read-"
MEMBERS = ("canary-error-rate", "candidate-canary-error-rate", "served-error-rate",
           "router-error-rate")
NOTIFY = ("shadow-error-rate", "shadow-dispatch-failure-rate")
FIELDS = (("$.profile.lastSeenAt", 40), ("$.stats.followers", 18), ("$.plan.renewsOn", 9),
          ("$.profile.avatarUrl", 5), ("$.settings.locale", 3), ("$.badges[*].id", 1))
THRESHOLDS = {"error_rate_pct": 2, "p95_ceiling_ms": 500, "p95_regression_go_pct": 15,
              "p95_regression_no_go_pct": 30, "shadow_diff_go_pct": 0.5,
              "shadow_diff_no_go_pct": 1}
SCENARIOS = {
    "healthy": ("Healthy candidate: every step should be promoted.", "promoted", None),
    "rollback": ("The candidate starts failing 30 minutes into the 5 % step.", "rolled_back", 5),
    "latency": ("Candidate p95 45 % above the control from the 25 % step.", "held", 25),
}


@dataclass
class Run:
    rng: random.Random
    scenario: str
    bucket: list[float]
    minute: int = 0
    percent: float = 0
    fault: bool = False
    fault_at: int = 0
    step_start: int = 0
    series: dict[str, list[Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    fields: dict[str, int] = field(default_factory=dict)
    served_users: set[int] = field(default_factory=set)
    step_users: set[int] = field(default_factory=set)
    user_visible_errors: int = 0
    done: bool = False

    def event(self, kind: str, detail: str) -> None:
        self.events.append({"minute": self.minute, "kind": kind, "detail": detail})


def build(scenario: str, seed: int = 1234) -> dict[str, Any]:
    rng = random.Random(f"{scenario}/{seed}")
    run = Run(rng, scenario, [rng.random() * 100 for _ in range(USERS)])
    for key in ("minute", "canary_percent", "requests", "canary_requests", "canary_errors",
                "canary_error_rate", "control_error_rate", "served_error_rate",
                "p95_control", "p95_canary", "shadow_diff_rate", "comparisons", "diffs"):
        run.series[key] = []
    _step(run, 0, SHADOW_MINUTES)
    for percent in STEPS:
        if run.done:
            break
        run.event("flag_deployment_started", f"flags version {len(run.steps) + 1}: canary {percent} %")
        _step(run, percent, BAKE)
    _tail(run, 45 if run.scenario == "rollback" else 30)
    return _report(run, scenario, seed)


def _step(run: Run, percent: float, bake: int) -> None:
    start, run.step_users, run.step_start = run.minute, set(), run.minute
    holds = 0
    while True:
        end = run.minute + bake
        while run.minute < end and not run.done:
            if run.minute == start + 1 and percent and run.percent != percent:
                run.percent = percent
                run.event("flag_deployment_done", f"canary {percent} % in force")
            _fault_schedule(run, percent, start)
            _minute(run)
        if run.done:
            break
        run.event("bake_done", f"{bake} min bake at {percent} % done")
        verdict = _decide(run, percent, run.minute - bake)
        if verdict == "PROMOTE":
            break
        holds += 1
        if holds == 2:
            run.done = True
            break
    _close_step(run, percent, start)


def _fault_schedule(run: Run, percent: float, start: int) -> None:
    if run.scenario == "rollback" and percent == 5 and run.minute == start + 30:
        run.fault, run.fault_at = True, run.minute
        run.event("fault_start", "candidate answers 5xx for 14 % of reads")
    if run.scenario == "latency" and percent == 25 and run.minute == start:
        run.fault = True
        run.event("fault_start", "candidate p95 +45 % (slow query plan)")


def _minute(run: Run) -> None:
    rng, s = run.rng, run.series
    rate = RPM * (1 + 0.35 * math.sin(2 * math.pi * (run.minute - 300) / 1440))
    n = max(0, round(rate + rng.gauss(0, math.sqrt(rate))))
    canary = errors = control_errors = served_errors = comparisons = diffs = 0
    bad = 0.14 if run.fault and run.scenario == "rollback" else 0.001
    for _ in range(n):
        user = int(USERS * rng.random() ** 1.6)
        if run.bucket[user] < run.percent:
            canary += 1
            run.served_users.add(user)
            run.step_users.add(user)
            if rng.random() < bad:
                errors += 1
                served_errors += rng.random() < 0.05
        else:
            control_errors += rng.random() < 0.0004
            if rng.random() < 0.25:
                comparisons += 1
                if rng.random() < 0.002 + (0.002 if run.scenario == "latency" else 0):
                    diffs += 1
                    _diverge(run)
    run.user_visible_errors += served_errors + control_errors
    slow = 1.45 if run.fault and run.scenario == "latency" else 1.08
    control_p95 = 80 * (1 + 0.06 * rng.gauss(0, 1))
    for key, value in (
        ("minute", run.minute), ("canary_percent", run.percent), ("requests", n),
        ("canary_requests", canary), ("canary_errors", errors),
        ("canary_error_rate", _pct(errors, canary)),
        ("control_error_rate", _pct(control_errors, n - canary)),
        ("served_error_rate", _pct(served_errors + control_errors, n)),
        ("p95_control", round(control_p95, 1)),
        ("p95_canary", round(control_p95 * slow * (1 + 0.1 * rng.gauss(0, 1)), 1) if canary else None),
        ("shadow_diff_rate", _pct(diffs, comparisons, 3)), ("comparisons", comparisons),
        ("diffs", diffs),
    ):
        s[key].append(value)
    run.minute += 1
    _watch(run)


def _pct(part: int, whole: int, digits: int = 2) -> float | None:
    return round(100 * part / whole, digits) if whole else None


def _diverge(run: Run) -> None:
    paths, weights = zip(*FIELDS)
    path = run.rng.choices(paths, weights)[0]
    run.fields[path] = run.fields.get(path, 0) + 1


def _watch(run: Run) -> None:
    """Alarm-driven rollback: 3 of the last 5 canary error rates above the threshold."""
    recent = [r for r in run.series["canary_error_rate"][-5:] if r is not None]
    if run.percent and sum(r > THRESHOLDS["error_rate_pct"] for r in recent) >= 3:
        run.event("rollback_decision", "the rollback alarm went from OK to ALARM")
        run.event("guard", "the guard deployed the canary-off flags")
        run.event("candidate_stopped", "the candidate served its last canary user")
        _decide(run, run.percent, run.step_start, forced=True)
        run.percent, run.done = 0, True


def _tail(run: Run, minutes: int) -> None:
    """Minutes after the last decision; an injected fault stops 40 minutes after it began."""
    for _ in range(minutes):
        if run.fault and run.scenario == "rollback" and run.minute - run.fault_at >= 40:
            run.fault = False
            run.event("fault_end", "fault injection stops")
        _minute(run)


def _decide(run: Run, percent: float, since: int, forced: bool = False) -> str:
    s, i = run.series, run.series["minute"].index(since)
    canary = sum(s["canary_requests"][i:])
    errors = sum(s["canary_errors"][i:])
    checks = [_error_check(canary, errors)] if percent else []
    checks += [_latency_check(s, i), _shadow_check(s, i), _share_check(s, i, percent)]
    if forced:
        verdict = "ROLLBACK"
    else:
        verdicts = {c["verdict"] for c in checks}
        verdict = "ROLLBACK" if "ROLLBACK" in verdicts else "HOLD" if "HOLD" in verdicts else "PROMOTE"
    following = {0: 1, **dict(itertools.pairwise(STEPS))}.get(percent)
    action = {"ROLLBACK": "roll back", "HOLD": "hold",
              "PROMOTE": f"promote to {following}" if following else "complete the release"}
    run.decisions.append({"minute": run.minute, "step": percent, "verdict": verdict,
                          "action": action[verdict], "checks": checks})
    return verdict


def _error_check(canary: int, errors: int) -> dict[str, Any]:
    rate = round(100 * errors / canary, 2) if canary else None
    limit = THRESHOLDS["error_rate_pct"]
    if canary < 50:
        return _check("canary_error_rate", "HOLD", rate, limit, canary, "rollback auto",
                      f"only {canary} canary requests, fewer than the 50 needed")
    bad = rate > limit
    return _check("canary_error_rate", "ROLLBACK" if bad else "PROMOTE", rate, limit, canary,
                  "rollback auto", f"{rate} % {'>' if bad else '<='} {limit} %")


def _latency_check(s: dict[str, list[Any]], i: int) -> dict[str, Any]:
    canary = sorted(v for v in s["p95_canary"][i:] if v is not None)
    control = sorted(s["p95_control"][i:])
    if not canary:
        return _check("p95_regression", "PROMOTE", None, 30, 0, "investigate",
                      "no canary traffic yet (shadow only)")
    change = round(100 * (canary[len(canary) // 2] / control[len(control) // 2] - 1), 1)
    held = change > THRESHOLDS["p95_regression_no_go_pct"]
    return _check("p95_regression", "HOLD" if held else "PROMOTE", change, 30, len(canary),
                  "investigate", f"canary p95 {change:+} % vs control "
                  f"({'above' if held else 'within'} the +30 % no-go)")


def _shadow_check(s: dict[str, list[Any]], i: int) -> dict[str, Any]:
    compared, diffs = sum(s["comparisons"][i:]), sum(s["diffs"][i:])
    rate = round(100 * diffs / compared, 3) if compared else None
    held = rate is not None and rate > THRESHOLDS["shadow_diff_no_go_pct"]
    return _check("shadow_diff_rate", "HOLD" if held else "PROMOTE", rate, 1,
                  compared,
                  "investigate", f"{rate} % of shadow comparisons differed")


def _share_check(s: dict[str, list[Any]], i: int, percent: float) -> dict[str, Any]:
    requests, canary = sum(s["requests"][i:]), sum(s["canary_requests"][i:])
    share = round(100 * canary / requests, 2) if requests else 0.0
    ratio = round(share / percent, 2) if percent else None
    off = ratio is not None and not 0.5 <= ratio <= 2
    return _check("canary_share", "HOLD" if off else "PROMOTE", ratio, 2, requests,
                  "check config", "shadow only: no canary share to check" if ratio is None
                  else f"canary served {share} % of requests for a {percent} % step")


def _check(name: str, verdict: str, figure: Any, threshold: Any, samples: int,
           action: str, reason: str) -> dict[str, Any]:
    return {"name": name, "verdict": verdict, "figure": figure, "threshold": threshold,
            "samples": samples, "seed_action": action, "reason": reason}


def _close_step(run: Run, percent: float, start: int) -> None:
    s, i = run.series, run.series["minute"].index(start)
    run.steps.append({"percent": percent, "started_minute": start, "ended_minute": run.minute,
                      "requests": sum(s["requests"][i:]),
                      "canary_requests": sum(s["canary_requests"][i:]),
                      "users_served_by_candidate": len(run.step_users)})


def _bands(states: list[str]) -> list[dict[str, Any]]:
    bands: list[dict[str, Any]] = []
    for minute, state in enumerate(states):
        if bands and bands[-1]["state"] == state:
            bands[-1]["to_minute"] = minute + 1
        else:
            bands.append({"state": state, "from_minute": minute, "to_minute": minute + 1})
    return bands


def _alarms(run: Run) -> list[dict[str, Any]]:
    s, limit = run.series, THRESHOLDS["error_rate_pct"]

    def states(values: list[Any], needs_canary: bool) -> list[str]:
        out = []
        for m, _ in enumerate(values):
            window = [v for v in values[max(0, m - 4):m + 1] if v is not None]
            if m < 5 or (needs_canary and not s["canary_percent"][m] and not window):
                out.append("INSUFFICIENT_DATA")
            else:
                out.append("ALARM" if sum(v > limit for v in window) >= 3 else "OK")
        return out

    members = {"canary-error-rate": states(s["canary_error_rate"], True),
               "candidate-canary-error-rate": states(s["canary_error_rate"], True),
               "served-error-rate": states(s["served_error_rate"], False),
               "router-error-rate": states(s["control_error_rate"], False)}
    composite = ["ALARM" if any(m[i] == "ALARM" for m in members.values()) else
                 "INSUFFICIENT_DATA" if i < 5 else "OK" for i in range(len(s["minute"]))]
    alarms = [{"name": PREFIX + "rollback", "role": "rollback", "bands": _bands(composite)}]
    alarms += [{"name": PREFIX + k, "role": "member", "bands": _bands(v)} for k, v in members.items()]
    quiet = states([0.0] * len(s["minute"]), False)
    alarms += [{"name": PREFIX + k, "role": "notify", "bands": _bands(quiet)} for k in NOTIFY]
    return alarms


def _report(run: Run, scenario: str, seed: int) -> dict[str, Any]:
    description, expected, expected_step = SCENARIOS[scenario]
    s = run.series
    last = run.decisions[-1]
    result = {"PROMOTE": "promoted", "HOLD": "held", "ROLLBACK": "rolled_back"}[last["verdict"]]
    met = result == expected and (expected_step is None or expected_step == last["step"])
    events = sorted(run.events, key=lambda e: e["minute"])
    return {
        "format": "cutover.rehearsal-report/1",
        "release": "huntaze-prisma-migration", "env": "production",
        "spec_file": "config/production.release.yaml", "seed": seed,
        "scenario": {"name": scenario, "file": f"config/scenarios/{scenario}.yaml",
                     "description": description,
                     "expect": {"outcome": expected, "step": expected_step,
                                "bounds": {"max_user_visible_errors": 50 if scenario != "rollback" else None,
                                           "rollback_within_minutes": 15 if scenario == "rollback" else None}}},
        "outcome": {"result": result, "step": last["step"], "expectation_met": met,
                    "reasons": [(f"last decision D{len(run.decisions)}: {last['verdict']} at the "
                                 f"{last['step']} % step ({last['action']})")]},
        "thresholds": dict(THRESHOLDS),
        "timeline": {"minute": s["minute"], "canary_percent": s["canary_percent"],
                     "requests": s["requests"], "canary_requests": s["canary_requests"],
                     "canary_error_rate": s["canary_error_rate"],
                     "control_error_rate": s["control_error_rate"],
                     "served_error_rate": s["served_error_rate"],
                     "p95_ms": {"control": s["p95_control"], "canary": s["p95_canary"]},
                     "shadow_diff_rate": s["shadow_diff_rate"]},
        "alarms": _alarms(run), "decisions": run.decisions, "events": events, "steps": run.steps,
        "divergent_fields": [{"path": p, "count": c} for p, c in sorted(run.fields.items())],
        "totals": {"requests": sum(s["requests"]), "simulated_minutes": len(s["minute"]),
                   "ramp_duration_minutes": last["minute"] if result == "promoted" else None,
                   "planned_ramp_minutes": SHADOW_MINUTES + BAKE * len(STEPS),
                   "users": USERS, "users_served_by_candidate": len(run.served_users),
                   "user_visible_errors": run.user_visible_errors,
                   "wall_seconds": 41.7, "peak_rss_mb": 182.4},
    }


HOSTILE = '</script><img src=x onerror=alert(1)>'


def hostile(seed: int = 1234) -> dict[str, Any]:
    """The rollback report with attacker-chosen strings wherever text reaches the page."""
    report = build("rollback", seed)
    report["divergent_fields"].append({"path": f"$.profile['{HOSTILE}']", "count": 999})
    report["alarms"][1]["name"] = PREFIX + '"><svg onload=alert(2)>'
    report["decisions"][0]["checks"][0]["reason"] = "<script>alert(3)</script>"
    report["scenario"]["description"] = "<style>body{display:none}</style><a href=//evil.example>x</a>"
    report["events"][0]["detail"] = "<iframe src=https://evil.example></iframe>"
    report["outcome"]["reasons"].append('<link rel=stylesheet href="https://evil.example/x.css">')
    report["release"] = "rel</title><script>alert(4)</script>"
    return report


def stretched(report: dict[str, Any], factor: int) -> dict[str, Any]:
    """The same run with every minute lasting `factor` minutes: a long ramp, cheaply."""
    long = json_copy(report)
    timeline = long["timeline"]
    for key in [k for k in timeline if k not in ("minute", "p95_ms")]:
        timeline[key] = [v for v in timeline[key] for _ in range(factor)]
    for key in timeline["p95_ms"]:
        timeline["p95_ms"][key] = [v for v in timeline["p95_ms"][key] for _ in range(factor)]
    timeline["minute"] = list(range(len(timeline["requests"])))
    for item in [*long["events"], *long["decisions"]]:
        item["minute"] *= factor
    for alarm in long["alarms"]:
        for band in alarm["bands"]:
            band["from_minute"] *= factor
            band["to_minute"] *= factor
    for step in long["steps"]:
        step["started_minute"] *= factor
        step["ended_minute"] *= factor
    long["totals"]["simulated_minutes"] *= factor
    return long


def json_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))
