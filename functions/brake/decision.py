"""What the brake does, as pure functions of what AppConfig lists and stores.

AppConfig's monitor rolls a flag deployment back only while it deploys and bakes; the
brake covers the rest of a step. It acts only when no deployment is in progress (one
deployment per environment at a time; during one, the monitor is in charge), starts
from the version that is deployed, and sets every canary flag to 0% and off. Shadow
flags and everything else stay as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

IN_PROGRESS = frozenset({"BAKING", "VALIDATING", "DEPLOYING", "ROLLING_BACK"})
# AppConfig adds these to every stored flag; it sets them again on the new version.
STORED_METADATA = ("_createdAt", "_updatedAt")


def deployment_in_progress(deployments: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    for deployment in deployments:
        if deployment.get("State") in IN_PROGRESS:
            return deployment
    return None


def deployed_version(deployments: Iterable[dict[str, Any]]) -> int | None:
    """The version the environment serves: that of its latest COMPLETE deployment.

    A later ROLLED_BACK deployment left the environment on the version before it, which
    is the latest complete one.
    """
    complete = [d for d in deployments if d.get("State") == "COMPLETE"]
    if not complete:
        return None
    latest = max(complete, key=lambda d: d["DeploymentNumber"])
    version = str(latest.get("ConfigurationVersion", ""))
    return int(version) if version.isdigit() else None


def canary_off(content: bytes, canary_flags: Iterable[str]) -> tuple[bytes, list[str]] | None:
    """The document with every canary flag at 0% and disabled, and the flags it changed.

    None when every canary flag is already off (the brake is idempotent).
    """
    document = json.loads(content)
    values = document.get("values", {})
    changed = []
    for key in canary_flags:
        value = values.get(key)
        if value is None:
            continue
        if value.get("enabled") is False and not value.get("percent"):
            continue
        value.update({"enabled": False, "percent": 0})
        if "step" in value:
            value["step"] = 0
        changed.append(key)
    if not changed:
        return None
    for flag in document.get("flags", {}).values():
        for key in STORED_METADATA:
            flag.pop(key, None)
    for value in values.values():
        for key in STORED_METADATA:
            value.pop(key, None)
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode(), changed


def alarm_fired(message: str, alarm_name: str) -> bool:
    """True when an SNS message is the rollback alarm going to ALARM."""
    try:
        alarm = json.loads(message)
    except ValueError:
        return False
    return (isinstance(alarm, dict) and alarm.get("AlarmName") == alarm_name
            and alarm.get("NewStateValue") == "ALARM")
