"""The router's boto3 Lambda clients, from the one client cache (`cutover_runtime.aws`).

Two clients per execution environment: one for the synchronous canary invoke, whose
timeouts are the canary budget and which never retries (the control answers instead),
and one for asynchronous shadow invokes.
"""

from __future__ import annotations

from typing import Any

from . import aws


def lambda_client(purpose: str, timeout_s: float) -> Any:
    """``purpose`` names the client (``canary`` / ``shadow``); timeouts apply at creation."""
    return aws.client("lambda", purpose, connect_s=timeout_s, attempts=1, keepalive=True)
