"""The old design fails where the guard must hold.

A naive, edge-triggered brake with an AppConfig monitor attached: it reacts only to the
one SNS notification the composite's ALARM action sends, and skips while a flag
deployment is in progress (the bake). A fault that surfaces during the bake is rolled
back by the monitor "to the previous version" (canary on), the brake skipped the only
notification it will get, and the candidate goes on serving canary users: the shipped
candidate-errors scenario must FAIL under both readings of the undocumented AppConfig
case. The same scenario with the guard is in test_scenarios.py and must hold.
"""

from __future__ import annotations

from typing import Any

import pytest

from cutover.rehearsal.release import live_module
from cutover.rehearsal.scenario import load_scenario

from .conftest import SCENARIOS

pytestmark = pytest.mark.postgres

NAIVE_MARK = "naive brake:"


class NaiveBrake:
    """React to the ALARM notification once; skip during a deployment or its bake."""

    def __init__(self, rehearsal: Any) -> None:
        self.r = rehearsal
        self.runs = 0
        self.skipped = 0


    def event(self, t: float, event: dict[str, Any]) -> None:
        return None  # no EventBridge rule

    def schedule(self, t: float) -> None:
        return None  # no schedule: edge-triggered

    def notification(self, t: float, message: dict[str, Any]) -> None:
        self.runs += 1
        world = self.r.world
        appconfig = world.appconfig
        active = appconfig.current(t)
        if active is not None and active.in_progress(t):
            self.skipped += 1
            return
        version = appconfig.version_for("", t, all_targets=True)
        if not version:
            return
        off = live_module().canary_off(appconfig.versions[version], world.canary_flags)
        if off is None:
            return
        number = appconfig.host(off[0], "naive brake")
        appconfig.deploy(number, t, world.guard_strategy, f"{NAIVE_MARK} canary off on ALARM")


class NaiveBrakeMonitorAfterFirstApply(NaiveBrake):
    """The same, with the first-apply problem fixed: the monitor is attached a minute
    after the first apply (once the composite has left INSUFFICIENT_DATA)."""

    def __init__(self, rehearsal: Any) -> None:
        super().__init__(rehearsal)
        monitor = rehearsal.world.monitor
        monitor.attached = False
        rehearsal.at(90.0, lambda due: setattr(monitor, "attached", True))


class SwitchedOff(NaiveBrake):
    """No guard at all: nothing reacts to the rollback alarm."""

    def notification(self, t: float, message: dict[str, Any]) -> None:
        return None


def run(rehearse: Any, responder: Any, reading: str, from_the_first_apply: bool = False,
        **world: Any) -> dict[str, Any]:
    name = "candidate-errors"  # the fault surfaces during the bake of the 5% step
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    if from_the_first_apply:  # the release's real first apply: the shadow step
        ramp = scenario.ramp.model_copy(update={"start_step": None, "shadow_minutes": 10, "max_holds": 0})
        scenario = scenario.model_copy(update={"ramp": ramp})
    return rehearse(scenario, f"config/scenarios/{name}.yaml", reading=reading, responder=responder,
                    world=world)


def candidate_still_serves(report: dict[str, Any]) -> None:
    outcome = report["outcome"]
    assert not outcome["expectation_met"], outcome["reasons"]
    assert outcome["result"] == "rollback_incomplete"
    assert report["timeline"]["canary_percent"][-1] > 0


@pytest.mark.parametrize("reading", ["rolled_back", "kept"])
def test_candidate_errors_fails_with_the_guard_switched_off(reading, rehearse):
    candidate_still_serves(run(rehearse, SwitchedOff, reading))


@pytest.mark.parametrize("reading", ["rolled_back", "kept"])
def test_candidate_errors_fails_with_an_edge_triggered_brake(reading, rehearse):
    # GIVEN the design's AppConfig (no monitor), the guard replaced by the naive brake
    report = run(rehearse, NaiveBrake, reading)
    # THEN its one notification came during the bake, it skipped, and nothing else acts
    candidate_still_serves(report)
    assert not any(e["kind"] == "appconfig_rollback" for e in report["events"])


@pytest.mark.parametrize("reading", ["rolled_back", "kept"])
def test_the_old_design_rolls_back_its_own_first_apply(reading, rehearse):
    # GIVEN the old design: a monitor on the environment, the naive brake
    report = run(rehearse, NaiveBrake, reading, from_the_first_apply=True, appconfig_monitor=True)
    # THEN the first apply rolled its own flags back (a new composite starts in
    # INSUFFICIENT_DATA) and the release never leaves the shadow step
    outcome = report["outcome"]
    assert not outcome["expectation_met"], outcome["reasons"]
    first = report["events"][0]
    assert first["kind"] == "appconfig_rollback" and "INSUFFICIENT_DATA" in first["detail"]


def test_the_old_design_with_its_first_apply_fixed_depends_on_the_undocumented_reading(rehearse):
    # GIVEN the monitor attached only after the first apply
    # WHEN the fault's ALARM arrives during the 5% bake: the monitor goes back to the
    # previous version (1%, canary on: the scenario starts at 5% with 1% deployed before);
    # the deployment is then ROLLED_BACK, so the brake,
    # notified a few seconds later, deploys canary-off into an environment in ALARM
    strict = run(rehearse, NaiveBrakeMonitorAfterFirstApply, "rolled_back", appconfig_monitor=True)
    lenient = run(rehearse, NaiveBrakeMonitorAfterFirstApply, "kept", appconfig_monitor=True)
    # THEN under one reading AppConfig rolls that back at once and the candidate serves
    # on; only the other reading saves it: the design must not depend on which is true
    candidate_still_serves(strict)
    assert sum(e["kind"] == "appconfig_rollback" for e in strict["events"]) >= 2
    assert lenient["outcome"]["expectation_met"], lenient["outcome"]["reasons"]
