"""Every shipped scenario ends as it says it will (issue 8: scenarios are end-to-end tests).

Each runs the real router and candidate from their packages, real PostgreSQL, the
rendered flags and alarms, the go/no-go analysis; the assertion is the scenario's own
expectation, and the report's figures must be consistent with it.
"""

from __future__ import annotations

import pytest

from rehearsal.scenario import load_scenario

from .conftest import SCENARIOS

SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))

pytestmark = pytest.mark.postgres


def test_the_issue_scenarios_are_shipped():
    needed = {"healthy", "candidate-errors", "latency-regression", "data-divergence",
              "small-divergence", "flags-unavailable", "database-outage", "bad-router-deployment",
              "shadow-only-failure"}
    assert needed <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_scenario_meets_its_expectation(name, rehearse):
    path = SCENARIOS / f"{name}.yaml"
    scenario = load_scenario(path)
    report = rehearse(scenario, f"config/scenarios/{name}.yaml")
    outcome = report["outcome"]
    assert outcome["expectation_met"], outcome["reasons"]
    assert outcome["result"] == scenario.expect.outcome
    totals = report["totals"]
    assert totals["requests"] == sum(report["timeline"]["requests"])
    assert totals["user_visible_errors"] == sum(report["timeline"]["user_visible_errors"])
    if scenario.expect.outcome == "promoted":
        assert [s["percent"] for s in report["steps"]][-1] == 100
        assert totals["ramp_duration_minutes"] == outcome["minute"]
        assert report["steps"][-1]["users_served_by_candidate"] > 0
        assert all(d["verdict"] in ("PROMOTE", "HOLD") for d in report["decisions"])
    if scenario.expect.outcome == "rolled_back":
        kinds = {e["kind"] for e in report["events"]}
        assert kinds & {"appconfig_rollback", "brake", "decision"}
