"""The simulated release behind the sandbox, driven by hand (``run_until``: no wall clock).

With nothing applied the control serves everyone; once the release's flags are applied
and deployed, canary users get the candidate; candidate errors fire the rollback alarm,
the applied EventBridge rule invokes the real guard, and the guard turns the canary off
through the AppConfig stand-in: the status shows the candidate no longer serving, and no
user ever saw an error.

AWS here is the test double of ``tests/sandbox/sim/doubles.py`` behind a real front door and
moto (EventBridge rules, the guard's Lambda configuration, SNS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cutover.generator.spec.loader import load_spec

from cutover.rehearsal.appconfig import AppConfig
from cutover.rehearsal.world import GUARD_STRATEGY
from cutover.sandbox.front import FrontDoor
from cutover.sandbox.simulation import Simulation
from cutover.sandbox.state import SandboxClock, SandboxState

from . import applied
from .applied import ACCOUNT, REGION, START_EPOCH
from .doubles import AwsDouble

ROOT = Path(__file__).resolve().parents[3]
SPEC_FILE = "config/production.release.yaml"
STEP = 50.0


def _apply_guard(front: FrontDoor, aws: AwsDouble, spec: Any, build_dir: Path) -> None:
    ids = AppConfig("a", "e", "p").ids  # the double's AppConfig: the rehearsal's ids
    applied.apply_guard(front.url, spec, build_dir, {
        "application_id": ids["application"], "environment_id": ids["environment"], "profile_id": ids["profile"],
        "guard_strategy_id": GUARD_STRATEGY.id, "rollback_alarm_name": aws.composite})


@pytest.fixture
def world(moto: Any, build_dir: Path, database_url: str) -> Any:
    state = SandboxState("production", REGION, ACCOUNT,
                         SandboxClock(60.0, start_epoch=START_EPOCH, wall_time=lambda: START_EPOCH))
    spec = load_spec(ROOT / SPEC_FILE)
    aws = AwsDouble(state, spec, SPEC_FILE, STEP)
    front = FrontDoor(state, moto)
    sim = Simulation(state, aws, ROOT, "production", seed=7, users_per_minute=200, users=2000,
                     endpoint=front.url, database_url=database_url, build_dir=build_dir)
    try:
        yield state, aws, front, sim, spec
    finally:
        sim.stop()
        front.close()
        aws.close()


def _alias(spec: Any, role: str) -> dict[str, str]:
    fn = getattr(spec.read_paths[0], role)
    return {"FunctionName": fn.name, "Resource": f"{fn.name}:{spec.read_paths[0].alias}"}


def _minutes(sim: Simulation, count: int) -> None:
    sim.run_until(sim.clock.now + count * 60.0)


@pytest.mark.moto
@pytest.mark.slow
def test_nothing_applied_then_canary_then_the_guard_turns_it_off(world: Any, build_dir: Path) -> None:
    state, aws, front, sim, spec = world
    _minutes(sim, 3)
    status = sim.status()
    assert status["requests"] > 300 and status["user_errors"] == 0
    assert not status["flags_applied"] and status["canary_percent_served"] == {"user-read": 0.0}
    assert status["users_served_by_candidate"] == 0 and not status["candidate_serving"]
    group = f"/aws/lambda/{spec.read_paths[0].control.name}"
    assert any('"event":"REQUEST"' in e.message for e in state.logs.events(group, 0, 1e12))

    _apply_guard(front, aws, spec, build_dir)
    aws.apply()
    _minutes(sim, spec.delivery.appconfig.final_bake_minutes + 3)
    status = sim.status()
    assert status["canary_percent_served"] == {"user-read": STEP}
    assert status["last_minute"]["served_by_candidate"] > 0 and status["candidate_serving"]
    assert status["last_guard_action"] is None  # it ran on its schedule and found nothing to do
    assert status["last_guard_run"]["outcome"] == "GUARD-IDLE"
    traces = state.traces.between(START_EPOCH, START_EPOCH + sim.clock.now + 60)
    canary = [t for t in traces if t.annotations.get("canary") is True]
    assert canary and {t.annotations["route"] for t in canary} <= {"candidate", "control"}
    assert {t.service for t in traces} == {spec.read_paths[0].control.name}
    assert state.metrics.statistic("AWS/Lambda", "Invocations", _alias(spec, "candidate"), 0, int(sim.clock.now),
                                   "Sum") > 0

    sim.inject("candidate_errors", rate=1.0)
    for _ in range(60):
        _minutes(sim, 1)
        if (sim.status()["last_guard_action"] or {}).get("outcome") == "GUARD-APPLIED":
            break
    _minutes(sim, 2)  # the agents poll, the routers' flag cache expires
    status = sim.status()
    assert status["last_guard_action"]["outcome"] == "GUARD-APPLIED", status
    assert status["last_guard_action"]["trigger"].startswith(("alarm", "schedule"))
    assert status["canary_percent_served"] == {"user-read": 0.0}
    assert status["last_minute"]["served_by_candidate"] == 0 and not status["candidate_serving"]
    assert status["user_errors"] == 0
    assert [f["kind"] for f in status["faults_active"]] == ["candidate_errors"]
    assert sim.clear("candidate_errors") == 1 and sim.status()["faults_active"] == []


class _NoAws:
    """Nothing mounted, no alarm: the simulation's AWS at its simplest."""

    def tick(self, now_s: float) -> list[Any]:
        return []


@pytest.mark.slow
def test_the_thread_catches_the_clock_up_to_due_minute_by_minute(build_dir: Path, database_url: str) -> None:
    wall = [START_EPOCH]
    state = SandboxState("production", REGION, ACCOUNT, SandboxClock(60.0, start_epoch=START_EPOCH,
                                                                     wall_time=lambda: wall[0]))
    sim = Simulation(state, _NoAws(), ROOT, "production", users_per_minute=20, users=100,
                     database_url=database_url, build_dir=build_dir)
    try:
        assert sim.step() is False and sim.clock.now == 0.0
        wall[0] += 2.5  # 2.5 wall seconds at speed 60: 150 simulated seconds are due
        turns = 0
        while sim.step():
            turns += 1
        assert (turns, sim.minutes, sim.clock.now) == (2, 2, 150.0)
        status = sim.status()
        assert status["requests"] > 0 and status["eventbridge"].startswith("no front door")
        with pytest.raises(ValueError, match="allowed"):
            sim.inject("meteor")
    finally:
        sim.stop()
