"""Fixtures of the simulation's tests: the packaged functions and one PostgreSQL server
for the session (the rehearsal's fixtures: the same build, the same server), and moto's
server in this process, as the sandbox runs it."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.rehearsal.conftest import build_dir, database_url  # noqa: F401 - fixtures shared


@pytest.fixture(scope="module")
def moto() -> Iterator[Any]:
    """moto's server, as the sandbox runs it (tests using it carry the moto marker)."""
    from cutover.sandbox.front import Moto

    server = Moto()
    # moto's resources are the process's: each module starts from none
    urllib.request.urlopen(urllib.request.Request(f"http://{server.host}:{server.port}/moto-api/reset",
                                                  data=b"", method="POST"), timeout=30).close()
    try:
        yield server
    finally:
        server.stop()
