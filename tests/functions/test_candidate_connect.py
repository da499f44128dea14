"""The candidate's connect timeout comes from the canary timeout, and a
connection that cannot be opened is waited for once per read, not twice."""

from __future__ import annotations

import socket
import threading

import psycopg
import pytest
from candidate.db import ProfileStore, connection_kwargs
from candidate.settings import DatabaseSettings


def settings(**overrides) -> DatabaseSettings:
    values = {"host": "127.0.0.1", "port": 5432, "dbname": "huntaze", "user": "reader",
              "iam_auth": False, "sslmode": "disable", "sslrootcert": "", "region": "us-east-1"}
    values.update(overrides)
    return DatabaseSettings(**values)


@pytest.mark.parametrize("timeout_ms,libpq_s", [(300, 2), (1500, 2), (2000, 2), (2500, 3),
                                                (10_000, 10)])
def test_libpq_connect_timeout_is_the_setting_in_whole_seconds_at_least_two(timeout_ms, libpq_s):
    assert connection_kwargs(settings(connect_timeout_ms=timeout_ms))["connect_timeout"] == libpq_s


def test_the_setting_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CUTOVER_DB_CONNECT_TIMEOUT_MS", "900")
    assert DatabaseSettings.from_env().connect_timeout_ms == 900


class SilentListener:
    """Accepts TCP connections and never says a word (a hung proxy)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def test_a_silent_database_is_waited_for_once_per_read():
    # GIVEN a database endpoint that accepts connections and never answers
    listener = SilentListener()
    store = ProfileStore(settings(port=listener.port, connect_timeout_ms=300))
    try:
        # WHEN the candidate reads
        with pytest.raises(psycopg.OperationalError):
            store.profile("user-1")
        # THEN it connected once (one connect_timeout), not once more for the retry
        assert len(listener.accepted) == 1
    finally:
        store.close()
        listener.close()
