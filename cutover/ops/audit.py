"""Audit records of break-glass actions: who, when, why and what was done.

Appended as one JSON object per line to `audit/<env>.jsonl` in the project (commit it
with the spec change that reconciles Terraform), and carried in the description of
the AppConfig deployment the rollback starts, so AWS's own history says why too.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cutover.ops.aws import Clients


def who(clients: Clients) -> dict[str, str]:
    local = os.environ.get("GITHUB_ACTOR") or getpass.getuser()
    try:
        arn = clients("sts").get_caller_identity()["Arn"]
    except Exception as exc:  # noqa: BLE001 - the audit must not fail the rollback
        arn = f"unknown ({exc.__class__.__name__})"
    return {"user": local, "awsIdentity": arn}


def record(root: Path, env: str, entry: dict[str, Any]) -> Path:
    path = root / "audit" / f"{env}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")
    return path


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
