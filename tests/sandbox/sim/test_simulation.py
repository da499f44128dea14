"""The simulation's thread, driven without a wall clock: ``step()`` is one turn of it, the
clock's wall time a list the test moves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cutover.sandbox.simulation import Simulation
from cutover.sandbox.state import SandboxClock, SandboxState

from .applied import ACCOUNT, REGION, START_EPOCH

ROOT = Path(__file__).resolve().parents[3]


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
        sim.inject("latency", target="database", factor=3, for_minutes=1)
        assert [f["kind"] for f in sim.status()["faults_active"]] == ["latency"]
        sim.run_until(sim.clock.now + 180)  # it ends with its minute; faults change at a minute's start
        assert sim.status()["faults_active"] == []
    finally:
        sim.stop()
