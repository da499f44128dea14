"""The simulated release behind the sandbox, on the sandbox's AWS stand-ins, driven by
hand (``run_until``: no wall clock).

Nothing applied: the control serves everyone. Then the release's AppConfig resources,
alarms and guard are created through boto3 against the front door and a canary step is
deployed: canary users get the candidate. Candidate errors fire the rollback alarm, the
applied EventBridge rule invokes the real guard, and the guard turns the canary off
through the AppConfig stand-in: the status shows the candidate no longer serving, and no
user ever saw an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cutover.generator.spec.loader import load_spec

from cutover.sandbox.front import FrontDoor
from cutover.sandbox.services import mount
from cutover.sandbox.simulation import Simulation
from cutover.sandbox.state import SandboxClock, SandboxState

from . import applied
from .applied import START_EPOCH

ROOT = Path(__file__).resolve().parents[3]
STEP = 50.0


@pytest.fixture
def sandbox(moto: Any, build_dir: Path, database_url: str) -> Any:
    state = SandboxState("production", applied.REGION, applied.ACCOUNT,
                         SandboxClock(60.0, start_epoch=START_EPOCH, wall_time=lambda: START_EPOCH))
    aws = mount(state)
    front = FrontDoor(state, moto)
    sim = Simulation(state, aws, ROOT, "production", seed=7, users_per_minute=200, users=2000,
                     endpoint=front.url, database_url=database_url, build_dir=build_dir)
    try:
        yield state, front, sim
    finally:
        sim.stop()
        front.close()


def _minutes(sim: Simulation, count: int) -> None:
    sim.run_until(sim.clock.now + count * 60.0)


def _alias(spec: Any, role: str) -> dict[str, str]:
    fn = getattr(spec.read_paths[0], role)
    return {"FunctionName": fn.name, "Resource": f"{fn.name}:{spec.read_paths[0].alias}"}


def _apply(front: FrontDoor, spec: Any, build_dir: Path) -> None:
    ids = applied.apply_flags(front.url, spec, STEP)
    composite = applied.apply_alarms(front.url, spec, STEP)
    applied.apply_guard(front.url, spec, build_dir, {**ids, "rollback_alarm_name": composite})


def _control_only(state: SandboxState, sim: Simulation, spec: Any) -> None:
    _minutes(sim, 3)
    status = sim.status()
    assert status["requests"] > 300 and status["user_errors"] == 0
    assert not status["flags_applied"] and status["canary_percent_served"] == {"user-read": 0.0}
    assert status["users_served_by_candidate"] == 0 and not status["candidate_serving"]
    group = f"/aws/lambda/{spec.read_paths[0].control.name}"
    assert any('"event":"REQUEST"' in e.message for e in state.logs.events(group, 0, 1e12))


def _canary_serves(state: SandboxState, sim: Simulation, spec: Any) -> None:
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
    assert state.metrics.statistic("AWS/Lambda", "Invocations", _alias(spec, "candidate"), 0,
                                   int(sim.clock.now), "Sum") > 0


def _operators_invoke(front: FrontDoor, sim: Simulation, spec: Any, build_dir: Path) -> None:
    """An Invoke of the router's alias (as `cutover preflight` makes) runs the simulation's router."""
    router = spec.read_paths[0].control.name
    applied.apply_function(front.url, router, build_dir / "functions" / "router.zip", "router.handler.lambda_handler",
                           {})
    before = sim.status()["requests"]
    answer = applied.client(front.url, "lambda").invoke(
        FunctionName=router, Qualifier="live", Payload=json.dumps({"userId": "user-000001"}).encode())
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read())["userId"] == "user-000001"
    assert sim.status()["requests"] == before  # not user traffic


@pytest.mark.moto
@pytest.mark.slow
def test_nothing_applied_then_canary_then_the_guard_turns_it_off(sandbox: Any, build_dir: Path) -> None:
    state, front, sim = sandbox
    spec = load_spec(ROOT / applied.SPEC_FILE)
    _control_only(state, sim, spec)
    _apply(front, spec, build_dir)
    _canary_serves(state, sim, spec)
    _operators_invoke(front, sim, spec, build_dir)

    sim.inject("candidate_errors", rate=1.0)
    for _ in range(60):
        _minutes(sim, 1)
        if sim.status()["last_guard_action"] is not None:
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
