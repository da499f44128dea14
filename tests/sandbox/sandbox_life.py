"""A project to run sandboxes in (``cutover sandbox up`` as an operator runs it), for the
lifecycle and walk-through tests; their fixtures are imported by tests/sandbox/conftest.py.

`sandbox_project` is in tests/tiers.py FIXTURE_MARKERS: a sandbox runs moto (and the
simulated release's PostgreSQL) in its own process, which the launch guard cannot see.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cutover.generator.terraform import sandbox_target
from cutover.generator.terraform.emulator import CONFLICTING_ENV

ROOT = Path(__file__).resolve().parents[2]
ENV = "production"
COMMAND_TIMEOUT_S = 600  # a bound for a hung command, never a measurement


def operator_environ(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without AWS settings that would point elsewhere."""
    drop = set(CONFLICTING_ENV) | {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    environ = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("AWS_ENDPOINT_URL_")}
    return {**environ, **(extra or {})}


def cutover(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`cutover --root ROOT ARGS...` in a process of its own (as a shell would run it)."""
    return subprocess.run([sys.executable, "-m", "cutover", "--root", str(root), *args],
                          check=False, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
                          env=env or operator_environ(), cwd=root)


def session_members(sid: int) -> list[int]:
    """Processes whose session is ``sid`` (the daemon leads its own)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] not in ("Z", "X") and int(fields[3]) == sid:
            members.append(int(stat.parent.name))
    return members


@pytest.fixture
def sandbox_project(tmp_path: Path) -> Iterator[Path]:
    """A scratch project with the real config/ (and build/, example/ when present), whose
    sandbox is stopped at the end whatever the test did."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    for shared in ("build", "example"):  # read only
        if (ROOT / shared).exists():
            (tmp_path / shared).symlink_to(ROOT / shared, target_is_directory=True)
    yield tmp_path
    target = sandbox_target.find(tmp_path, ENV)
    if target is not None:
        cutover(tmp_path, "sandbox", "down", "--env", ENV)


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    """The terraform CLI (tests/tiers.py gives its users the terraform marker)."""
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform is not installed (https://developer.hashicorp.com/terraform/install)")
    return binary
