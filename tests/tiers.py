"""The test tiers: markers given by what a test uses, and a guard that fails a test which
starts an external tool without the marker of its tier.

`make test-fast` deselects every marked test (``-m "not (terraform or ...)"``), so a
marker that is missing lets Terraform, PostgreSQL or moto into the unit tier. Two ways
keep the markers true:

- ``mark_by_fixtures`` (pytest_collection_modifyitems): a test that requests one of the
  fixtures in FIXTURE_MARKERS, directly or through another fixture, gets its marker
  (and the xdist_group of FIXTURE_GROUPS). The fixtures are the single place that says
  a test needs a tool.
- ``LaunchGuard``: while a test runs (setup, call, teardown) every process it starts is
  looked at; a test that starts terraform, a PostgreSQL server, moto (its server, or
  ``mock_aws``), checkov or the browser without the matching marker fails, naming the
  marker to add. That covers the tests that start a tool in their body.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Every tier marker (registered, with its meaning, in pyproject.toml).
MARKERS = ("terraform", "checkov", "postgres", "moto", "browser", "node", "slow")
# The tiers `make test-fast` leaves out (every marker above).
FAST_DESELECT = " or ".join(MARKERS)

# A fixture -> the markers of every test that uses it (directly or through another fixture).
FIXTURE_MARKERS: dict[str, tuple[str, ...]] = {
    "terraform_bin": ("terraform",),
    "terraform_env": ("terraform",),
    "applied_release": ("terraform", "moto"),
    "moto_server": ("moto",),
    "sandbox_front": ("moto",),  # tests/sandbox/sandbox_aws.py: moto in-process behind the front door
    "postgres": ("postgres",),
    "database_url": ("postgres",),
    "tls_postgres": ("postgres",),
    "chromium": ("browser",),
    "asl_validator": ("node",),  # tests/conftest.py: the npm asl-validator under tools/
    # a local sandbox (`cutover sandbox up`): moto and the simulated release's PostgreSQL
    # run in the sandbox's own process, which the launch guard does not see
    "sandbox_project": ("moto", "postgres", "slow"),
}

# A session fixture too costly to build on every xdist worker -> the xdist_group of the tests
# that use it (`make test` runs --dist loadgroup: one group, one worker, one build).
FIXTURE_GROUPS = {"applied_release": "applied_release"}

POSTGRES_PROGRAMS = {"postgres", "pg_ctl", "initdb", "psql", "pg_isready"}


def mark_by_fixtures(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            for marker in FIXTURE_MARKERS.get(fixture, ()):
                if item.get_closest_marker(marker) is None:
                    item.add_marker(marker)
            if fixture in FIXTURE_GROUPS and item.get_closest_marker("xdist_group") is None:
                item.add_marker(pytest.mark.xdist_group(FIXTURE_GROUPS[fixture]))


# Tests that take long (seconds to minutes) start first under xdist: the workers then end
# together instead of one running a long test alone at the end.
LONG = ("slow", "terraform", "checkov", "postgres", "browser")


# The longest of them (a whole release applied, a walk-through on simulated time): first of all.
LONGEST_FIXTURES = frozenset({"applied_release", "sandbox_project"})


def long_first(items: list[pytest.Item]) -> None:
    """The longest tests, then the long ones, then the rest. Stable: the order within each
    part is the collection order."""
    def rank(item: pytest.Item) -> int:
        if LONGEST_FIXTURES & set(getattr(item, "fixturenames", ())):
            return 0
        return 1 if any(item.get_closest_marker(m) for m in LONG) else 2

    items.sort(key=rank)


@functools.cache
def _file_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def group_of(nodeid: str, root: Path) -> str | None:
    """The FIXTURE_GROUPS group of a test, from its file (the controller has nodeids only):
    a file that names a grouped fixture runs on one worker."""
    text = _file_text(root / nodeid.split("::", 1)[0])
    return next((g for f, g in FIXTURE_GROUPS.items() if re.search(rf"\b{f}\b", text)), None)


def make_scheduler(config: pytest.Config, log):
    """--dist loadgroup with FIXTURE_GROUPS applied by the controller. xdist 3.8 puts a
    test's xdist_group into its nodeid through ``item._nodeid``, which pytest 9 no longer
    reads: the markers alone group nothing."""
    from xdist.scheduler import LoadGroupScheduling

    class FixtureGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid, config.rootpath) or super()._split_scope(nodeid)

    return FixtureGroupScheduling(config, log)


def _program(args) -> tuple[str, list[str]]:
    argv = [os.fspath(a) for a in ([args] if isinstance(args, (str, bytes, os.PathLike)) else list(args))]
    argv = [a.decode() if isinstance(a, bytes) else a for a in argv]
    return (argv[0].split()[0] if argv else ""), argv


def _is_script(path: str) -> bool:
    """A stand-in written by a test (``#!`` script), not the real binary."""
    try:
        with open(path if os.sep in path else shutil.which(path) or path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def tool_of(args) -> str | None:
    """The marker a process started with ``args`` needs, or None."""
    program, argv = _program(args)
    name = Path(program).name
    if name == "terraform" and not _is_script(program):
        return "terraform"
    if name in POSTGRES_PROGRAMS:
        return "postgres"
    if name == "checkov":
        return "checkov"
    if any("moto.server" in a or "moto_server" in a or "cutover.sandbox.daemon" in a for a in argv):
        return "moto"
    if "sandbox" in argv and "up" in argv[argv.index("sandbox"):]:  # `cutover sandbox up`
        return "moto"
    if "playwright" in program or name.startswith(("chromium", "chrome")):
        return "browser"
    if name in ("node", "npm", "npx", "asl-validator"):
        return "node"
    return None


class LaunchGuard:
    """Which tools the running test started (see the module's docstring)."""

    def __init__(self) -> None:
        self.started: set[str] = set()
        self._popen_init = subprocess.Popen.__init__
        self._moto_patched = False

    def install(self) -> None:
        guard, original = self, self._popen_init

        def __init__(popen, args, *a, **kw):
            tool = tool_of(args)
            if tool is not None:
                guard.started.add(tool)
            original(popen, args, *a, **kw)

        subprocess.Popen.__init__ = __init__

    def watch_mock_aws(self) -> None:
        """moto in the process: its decorator's start(), once moto is imported."""
        models = sys.modules.get("moto.core.models")
        if self._moto_patched or models is None or not hasattr(models, "MockAWS"):
            return
        guard, original = self, models.MockAWS.start

        def start(mock, *a, **kw):
            guard.started.add("moto")
            return original(mock, *a, **kw)

        models.MockAWS.start = start
        self._moto_patched = True

    def missing(self, item: pytest.Item) -> list[str]:
        return sorted(t for t in self.started if item.get_closest_marker(t) is None)


GUARD = LaunchGuard()
