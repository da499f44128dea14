"""The embedded PostgreSQL fixture never leaves a server running on a deleted directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import postgres_guard

from .conftest import ROOT, Postgres, start_embedded_postgres

pytestmark = pytest.mark.postgres


def test_stop_and_delete_after_a_restart_leaves_no_server():
    # GIVEN a server that was restarted (a new postmaster embedded-postgres does not know)
    server = start_embedded_postgres()
    Postgres(server.get_uri(), server).restart()
    assert postgres_guard.running_servers([server.pgdata])
    # WHEN the fixture's teardown runs
    postgres_guard.stop_and_delete(server)
    # THEN no server runs on it and its directory is gone
    assert postgres_guard.running_servers([server.pgdata]) == []
    assert not server.pgdata.exists()


def test_the_session_guard_finds_a_server_whose_directory_was_deleted_under_it():
    # GIVEN the end state of the old teardown: a restarted server whose data directory
    # embedded-postgres deleted because it believed its (old) postmaster had stopped.
    # Whether cleanup() gets there depends on whether the old postmaster was reaped, so
    # the state is made directly.
    server = start_embedded_postgres()
    Postgres(server.get_uri(), server).restart()
    shutil.rmtree(server.pgdata)
    # THEN the guard that fails the session finds the server still running (and stops it
    # here, so that this test leaves nothing behind)
    strays = postgres_guard.running_servers([server.pgdata])
    assert len(strays) == 1
    postgres_guard.terminate(strays)
    assert postgres_guard.running_servers([server.pgdata]) == []
    postgres_guard.stop_and_delete(server)


LEAVES_A_SERVER = """
import shutil

import pytest

from tests.functions.conftest import Postgres, start_embedded_postgres


@pytest.mark.postgres  # the tiers' guard (tests/tiers.py) fails an unmarked test that starts one
def test_leaves_a_server_running_on_a_deleted_directory():
    server = start_embedded_postgres()
    Postgres(server.get_uri(), server).restart()
    shutil.rmtree(server.pgdata)
"""


@pytest.mark.parametrize("workers", [[], ["-n", "1"]], ids=["serial", "xdist"])
def test_a_session_that_leaves_a_server_running_fails(tmp_path, workers):
    # GIVEN a test session whose only test passes but leaves a server running
    (tmp_path / "test_leak.py").write_text(LEAVES_A_SERVER)
    # WHEN it runs with this project's session hooks (under xdist: in a worker, whose
    # exit status alone would not fail the run)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider", *workers,
         "--rootdir", str(tmp_path), str(tmp_path / "test_leak.py")],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    # THEN the run fails and names the server, which is stopped
    assert "1 passed" in result.stdout, result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "stray PostgreSQL server left running by this session" in result.stdout
    leaked = [line for line in result.stdout.splitlines() if "stray PostgreSQL" in line]
    pgdata = leaked[0].split(" -D ")[1].split()[0]
    assert postgres_guard.running_servers([Path(pgdata)]) == []
