"""How fast the simulated release runs: simulated minutes per wall second at the default
traffic (100 requests a minute), on the sandbox's AWS stand-ins with a canary step, the
release's alarms and the guard applied (the guard's schedule runs it every minute), or
with nothing applied (step 0). Not a test (nothing here asserts a time); run it as

    .venv/bin/python -m tests.sandbox.sim.measure [MINUTES] [STEP]

It needs `make build` and starts an embedded PostgreSQL.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from cutover.generator.spec.loader import load_spec

from cutover.rehearsal.database import Database
from cutover.sandbox.front import FrontDoor, Moto
from cutover.sandbox.services import mount
from cutover.sandbox.simulation import Simulation
from cutover.sandbox.state import SandboxClock, SandboxState
from tests.sandbox.sim import applied

ROOT = Path(__file__).resolve().parents[3]


def measure(minutes: int, step: float) -> str:
    database, moto = Database.open(None), Moto()
    state = SandboxState("production", applied.REGION, applied.ACCOUNT,
                         SandboxClock(60.0, start_epoch=applied.START_EPOCH, wall_time=lambda: applied.START_EPOCH))
    front = FrontDoor(state, moto)
    sim = Simulation(state, mount(state), ROOT, "production", seed=7, endpoint=front.url,
                     database_url=database.url, build_dir=ROOT / "build")
    try:
        sim.run_until(60)  # the cold starts
        if step:
            spec = load_spec(ROOT / applied.SPEC_FILE)
            ids = applied.apply_flags(front.url, spec, step)
            composite = applied.apply_alarms(front.url, spec, step)
            applied.apply_guard(front.url, spec, ROOT / "build", {**ids, "rollback_alarm_name": composite})
        sim.run_until(15 * 60)  # past the flags' bake
        wall, cpu = time.perf_counter(), time.process_time()
        sim.run_until(15 * 60 + minutes * 60)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        status = sim.status()
    finally:
        sim.stop()
        front.close()
        moto.stop()
        database.close()
    return (f"canary step {step:g}%: {minutes} simulated minutes in {wall:.2f} s of wall time ({cpu:.2f} s CPU), "
            f"{minutes / wall:.1f} simulated minutes per wall second; {status['requests']} requests in all, "
            f"{status['user_errors']} user-visible errors")


if __name__ == "__main__":
    print(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 120, float(sys.argv[2]) if len(sys.argv) > 2 else 50.0))
