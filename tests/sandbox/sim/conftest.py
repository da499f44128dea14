"""Fixtures of the simulation's tests: the packaged functions and one PostgreSQL server
for the session (the rehearsal's fixtures: the same build, the same server), and moto's
server in this process, as the sandbox runs it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.rehearsal.conftest import build_dir, database_url  # noqa: F401 - fixtures shared

REGION = "eu-west-1"
ACCOUNT = "123456789012"
START_EPOCH = 1_780_000_000.0  # a fixed start: no test reads the wall clock


@pytest.fixture(scope="module")
def moto() -> Iterator[Any]:
    """moto's server, as the sandbox runs it (tests using it carry the moto marker)."""
    from cutover.sandbox.front import Moto

    server = Moto()
    try:
        yield server
    finally:
        server.stop()
