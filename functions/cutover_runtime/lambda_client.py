"""The boto3 Lambda client, created on first use (boto3 costs ~100 ms to import).

Two clients per execution environment: one for the synchronous canary invoke, whose
timeouts are the canary budget and which never retries (the control answers instead),
and one for asynchronous shadow invokes.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def lambda_client(purpose: str, timeout_s: float) -> Any:
    """``purpose`` keys the cache (``canary`` / ``shadow``); timeouts apply at creation."""
    client = _clients.get(purpose)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(purpose)
        if client is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=timeout_s, read_timeout=timeout_s,
                            retries={"total_max_attempts": 1, "mode": "standard"},
                            tcp_keepalive=True)
            client = boto3.session.Session().client("lambda", config=config)
            _clients[purpose] = client
    return client


def reset_clients() -> None:
    """Forget cached clients (tests change endpoints between cases)."""
    with _lock:
        _clients.clear()
