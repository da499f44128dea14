"""boto3 clients, made on first use and kept for the execution environment: the one
cache every function uses (the router's canary and shadow invokes, the direct flag read,
the guard, the deploy probe).

boto3 costs ~100 ms to import, so it is imported by the first `client()` call, never at
load: a router whose canary is off and whose agent answers never loads it (cold start).
Clients are made under a lock (the shadow dispatch runs in threads) and each from its
own boto3 Session, which is what boto3 documents as thread-safe.

A client is kept under (service, name): `name` tells apart two clients of one service
whose settings differ (the router's ``canary`` and ``shadow`` Lambda clients, one
appconfigdata client per read budget). The settings apply when it is made. Tests and
the rehearsal put their own client in with `inject` and forget them all with `reset`.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

_lock = threading.Lock()
_clients: dict[tuple[str, Hashable], Any] = {}


def client(service: str, name: Hashable = "", *, connect_s: float, read_s: float | None = None,
           attempts: int, keepalive: bool = False) -> Any:
    """The client of `service` kept under `name`, made on first use with these timeouts
    (seconds; `read_s` defaults to `connect_s`) and at most `attempts` attempts a call."""
    key = (service, name)
    made = _clients.get(key)
    if made is not None:
        return made
    with _lock:
        made = _clients.get(key)
        if made is None:
            made = _clients[key] = _make(service, connect_s, connect_s if read_s is None else read_s,
                                         attempts, keepalive)
    return made


def _make(service: str, connect_s: float, read_s: float, attempts: int, keepalive: bool) -> Any:
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {"connect_timeout": connect_s, "read_timeout": read_s,
                               "retries": {"total_max_attempts": attempts, "mode": "standard"}}
    if keepalive:
        options["tcp_keepalive"] = True
    return boto3.session.Session().client(service, config=Config(**options))


def inject(service: str, made: Any, name: Hashable = "") -> None:
    """From now on `client(service, name)` answers `made` (a stub, a rehearsal stand-in)."""
    with _lock:
        _clients[(service, name)] = made


def reset() -> None:
    """Forget every client (tests change endpoints between cases)."""
    with _lock:
        _clients.clear()
