"""Where a running local sandbox (``cutover sandbox up``) says it listens, so that a plan
and an apply can target it.

The sandbox writes ``.cutover/sandbox/<env>/sandbox.json`` under the project root when it
is up and removes it when it is down; this module only reads it (the generator sits
below the sandbox in the layers and never imports it). The file is JSON::

    {"format": "cutover.sandbox/1", "env": "production", "pid": 1234,
     "endpoint": "http://127.0.0.1:45678", "region": "eu-west-1",
     "account_id": "123456789012", "speed": 60.0, "log": ".cutover/sandbox/production/sandbox.log"}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

FORMAT = "cutover.sandbox/1"
STATE_DIR = Path(".cutover") / "sandbox"
STATE_FILE = "sandbox.json"


@dataclass(frozen=True)
class SandboxTarget:
    env: str
    pid: int
    endpoint: str
    region: str
    account_id: str
    speed: float
    log: str


def state_dir(root: Path, env: str) -> Path:
    return root / STATE_DIR / env


def state_file(root: Path, env: str) -> Path:
    return state_dir(root, env) / STATE_FILE


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find(root: Path, env: str) -> SandboxTarget | None:
    """The sandbox running for ``env`` under ``root``, or None (no file, a stale file whose
    process is gone, or a file of another format)."""
    path = state_file(root, env)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    try:
        target = SandboxTarget(env=str(data["env"]), pid=int(data["pid"]), endpoint=str(data["endpoint"]),
                               region=str(data["region"]), account_id=str(data["account_id"]),
                               speed=float(data["speed"]), log=str(data["log"]))
    except (KeyError, TypeError, ValueError):
        return None
    return target if _alive(target.pid) else None
