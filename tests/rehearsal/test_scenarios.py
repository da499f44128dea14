"""Every shipped scenario ends as it says it will, under both readings of what AWS leaves
undocumented (scenarios are end-to-end tests).

Each runs the real router, candidate and guard from their packages, real PostgreSQL, the
flags and alarms an apply of each step renders, the go/no-go analysis; the assertion is
the scenario's own expectation, and the report's figures must be consistent with it.
`make test` runs one seed per reading (the scenario's own); `make rehearse-matrix` runs
three seeds per reading.

The reading: whether AppConfig rolls back, at once, a deployment started while its
monitor's alarm is in ALARM (docs/aws-rules.md, AppConfig). cutover attaches no
monitor (docs/functions.md, Guard), so the guard's canary-off deployment must hold under either.
"""

from __future__ import annotations

import os

import pytest

from cutover.rehearsal.scenario import load_scenario

from .conftest import SCENARIOS

SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
READINGS = ("rolled_back", "kept")
# `make rehearse-matrix` sets 3: the scenario's seed, then +1000, +2000
SEEDS = int(os.environ.get("CUTOVER_REHEARSAL_SEEDS", "1"))

pytestmark = pytest.mark.postgres


def test_the_issue_scenarios_are_shipped():
    needed = {"healthy", "candidate-errors", "latency-regression", "data-divergence",
              "small-divergence", "flags-unavailable", "database-outage", "bad-router-deployment",
              "shadow-only-failure",
              # what the release must survive
              "fault-during-bake", "fault-after-bake", "lost-notification", "control-errors",
              "router-timeouts", "agent-outage-churn", "database-failover", "two-path-release"}
    assert needed <= set(SHIPPED)


@pytest.mark.parametrize("seed", range(SEEDS))
@pytest.mark.parametrize("reading", READINGS)
@pytest.mark.parametrize("name", SHIPPED)
def test_scenario_meets_its_expectation(name, reading, seed, rehearse):
    path = SCENARIOS / f"{name}.yaml"
    scenario = load_scenario(path)
    if seed:
        scenario = scenario.model_copy(update={"seed": scenario.seed + 1000 * seed})
    report = rehearse(scenario, f"config/scenarios/{name}.yaml", reading=reading)
    outcome = report["outcome"]
    assert outcome["expectation_met"], outcome["reasons"]
    assert outcome["result"] == scenario.expect.outcome
    totals = report["totals"]
    assert totals["requests"] == sum(report["timeline"]["requests"])
    assert totals["user_visible_errors"] == sum(report["timeline"]["user_visible_errors"])
    assert totals["requests"] == sum(s["requests"] for s in report["steps"])
    assert totals["requests"] == sum(p["requests"] for p in report["paths"])
    if scenario.expect.outcome == "promoted":
        assert [s["percent"] for s in report["steps"]][-1] == 100
        assert totals["ramp_duration_minutes"] == outcome["minute"]
        assert report["steps"][-1]["users_served_by_candidate"] > 0
        assert all(d["verdict"] in ("PROMOTE", "HOLD") for d in report["decisions"])
    if scenario.expect.outcome == "rolled_back":
        # rolled back = the candidate's last canary user, after the decision; the tail is its own row
        assert outcome["rolled_back_minute"] is not None and outcome["rollback_decided_minute"] is not None
        assert report["steps"][-1]["tail"] and not report["steps"][-2]["tail"]
        assert report["steps"][-2]["ended_minute"] == int(outcome["rollback_decided_minute"])
        stopped = [e for e in report["events"] if e["kind"] == "candidate_stopped"]
        assert len(stopped) == 1
