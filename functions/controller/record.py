"""What the controller leaves behind for people: the audit entry of a decision, in the
format of `cutover rollback`'s (cutover/ops/audit.py), and its notification."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

USER = "cutover controller"
# The decisions that are recorded (audit entry) and those that notify; the rest (NEXT,
# OBSERVE, BUSY, BAKING, SETTLED, SKIP) change nothing and repeat while they last (a
# PROMOTE names the version the state machine deploys next).
RECORDED = frozenset({"STOP", "DONE", "PROMOTE", "HOLD", "ROLLBACK", "ASK"})
NOTIFIED = RECORDED - {"HOLD"}  # a HOLD notifies only when the controller gives up or asks


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry(environment: str, execution: str, decision: str, reason: str, action: dict[str, Any],
          spec_changes: list[str]) -> dict[str, Any]:
    """The audit entry (env, when, who, why, actions, steps, specChanges)."""
    return {"env": environment, "when": now(), "who": {"user": USER, "awsIdentity": execution},
            "why": reason, "actions": [{"action": f"controller-{decision.lower()}", **action}],
            "steps": {}, "specChanges": spec_changes}


def subject(release: str, decision: str) -> str:
    return f"cutover {release}: controller {decision}"[:100]


def message(audit: dict[str, Any]) -> str:
    return json.dumps(audit, sort_keys=True, indent=2)
