"""Shared fixtures: the project root, and a copy of it to render into."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests import tiers

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    tiers.GUARD.install()
    # No wall-clock limit on a Hypothesis example: its default deadline (200 ms) and the
    # too_slow health check turn a loaded machine into a failure (the house rule).
    from hypothesis import HealthCheck, settings

    settings.register_profile("cutover", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("cutover")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group markers
def pytest_collection_modifyitems(config, items):
    tiers.mark_by_fixtures(items)
    if hasattr(config, "workerinput"):  # an xdist worker (all collect the same order)
        tiers.long_first(items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") == "loadgroup":
        return tiers.make_scheduler(config, log)
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    tiers.GUARD.started.clear()
    tiers.GUARD.watch_mock_aws()
    yield


# asl-validator (npm), pinned in tools/package.json and tools/package-lock.json and installed
# by `make setup` (`npm ci --prefix tools`); CUTOVER_ASL_VALIDATOR points at another one.
ASL_VALIDATOR = Path(os.environ.get("CUTOVER_ASL_VALIDATOR", str(ROOT / "tools" / "node_modules" / ".bin" / "asl-validator")))


@pytest.fixture(scope="session")
def asl_validator() -> str:
    """The asl-validator command (marks its tests `node`, tests/tiers.py)."""
    if not ASL_VALIDATOR.is_file() or shutil.which("node") is None:
        pytest.skip(f"no asl-validator at {ASL_VALIDATOR} or no node (`make setup` runs `npm ci --prefix tools`)")
    return str(ASL_VALIDATOR)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch project: the real config/ and terraform/modules/, nothing rendered."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    (tmp_path / "config" / "release.schema.json").unlink()
    shutil.copytree(ROOT / "terraform" / "modules", tmp_path / "terraform" / "modules")
    return tmp_path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CUTOVER_REQUIRE_ALL=1 (set by .ci/run) a skip is a failure: CI has every tool.

    Tests skip only for a missing tool (terraform, checkov, a PostgreSQL server); on a
    developer's machine that is a fair reason, in CI it would hide a broken install.
    """
    outcome = yield
    report = outcome.get_result()
    missing = tiers.GUARD.missing(item) if report.when == "call" else []
    if missing and report.passed:
        report.outcome = "failed"
        report.longrepr = (f"this test started {', '.join(missing)} but is not marked so: add "
                           + ", ".join(f"@pytest.mark.{m}" for m in missing)
                           + " (or use a fixture of tests/tiers.py FIXTURE_MARKERS); "
                           "`make test-fast` must not run it")
    if report.skipped and os.environ.get("CUTOVER_REQUIRE_ALL") == "1" and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but CUTOVER_REQUIRE_ALL=1 requires every test to run: {reason}"


STRAYS_FROM_WORKERS: list[str] = []  # on xdist's controller: what the workers reported


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if a PostgreSQL server this session started is still running (and
    stop it): a leftover server means a fixture lost track of it. An xdist worker's exit
    status does not fail the run: it hands its findings to the controller."""
    from tests import postgres_guard

    lines = list(STRAYS_FROM_WORKERS)
    strays = postgres_guard.running_servers() if postgres_guard.STARTED else []
    postgres_guard.remove_empty_parents()
    for proc in strays:
        cmdline = " ".join(proc.info.get("cmdline") or [])
        lines.append(f"stray PostgreSQL server left running by this session: pid={proc.pid} {cmdline}")
    postgres_guard.terminate(strays)
    if not lines:
        return
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["stray_postgres"] = lines
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist's controller: a worker that found a stray server fails the whole run."""
    STRAYS_FROM_WORKERS.extend(getattr(node, "workeroutput", {}).get("stray_postgres", []))
