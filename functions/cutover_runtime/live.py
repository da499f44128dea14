"""What is live: which flag document an AppConfig environment serves, what is in
progress, and the one canary-off document. Pure functions of what AppConfig lists and
stores (and `list_deployments`, which only pages through a client it is given).

This is the single definition used by the guard, the controller, the operations
commands (`status`, `rollback`, `ramp`, `analyze`), cleanup, `cutover apply`'s flag check
and the rehearsal. Operations, the generator and the rehearsal import it as `cutover.runtime.live`;
the functions import it from their zip as `cutover_runtime.live`: one copy of the rule.

What is served is the configuration version of the environment's latest COMPLETE
deployment, not of its latest deployment: a ROLLED_BACK or REVERTED deployment left the
environment on the version before it, and a deployment still DEPLOYING or BAKING is
served only to part of the clients (docs/aws-rules.md, AppConfig: API StopDeployment,
GetDeployment State).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

# AppConfig's deployment states (API GetDeployment, `State`): the only copy.
IN_PROGRESS = frozenset({"BAKING", "VALIDATING", "DEPLOYING", "ROLLING_BACK"})
COMPLETE = "COMPLETE"
# In progress, on its way back to the version before it (the guard waits for it).
ROLLING_BACK = "ROLLING_BACK"
# A deployment stopped with revert ends in one of these: the environment serves the
# version of the latest COMPLETE deployment before it (StopDeployment).
ROLLED_BACK = frozenset({"ROLLED_BACK", "REVERTED"})
# AppConfig adds these to every stored flag and value; it sets them again on a new version.
STORED_METADATA = ("_createdAt", "_updatedAt")
# GetDeployment's EventLog: when a rollback or a revert finished.
BACK_EVENTS = frozenset({"ROLLBACK_COMPLETED", "REVERT_COMPLETED"})
# Descriptions that mark who started a deployment. The guard never stops the canary-off
# deployments (its own and `cutover rollback`'s); the controller's are ramps like any
# other: the guard stops them in ALARM.
GUARD_MARK = "cutover guard:"
ROLLBACK_MARK = "cutover rollback:"
CONTROLLER_MARK = "cutover controller"
CANARY_OFF = frozenset({"guard", "rollback"})  # started_by values of canary-off deployments


def _number(deployment: Mapping[str, Any]) -> int:
    return int(deployment.get("DeploymentNumber", 0))


def list_deployments(appconfig: Any, application: str, environment: str) -> list[dict[str, Any]]:
    """Every deployment of an environment: all pages of ListDeployments, through the
    boto3-shaped `appconfig` client the caller made (this module never imports boto3)."""
    pages = appconfig.get_paginator("list_deployments").paginate(
        ApplicationId=application, EnvironmentId=environment)
    return [item for page in pages for item in page.get("Items", [])]


def deployment_in_progress(appconfig: Any, application: str, environment: str) -> dict[str, Any] | None:
    """The environment's deployment in progress (`in_progress` over every page), or None."""
    running = in_progress(list_deployments(appconfig, application, environment))
    return None if running is None else dict(running)


def in_progress(deployments: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The deployment in progress, or None: the one rule for "a deployment is in progress".

    Every deployment is scanned, not only the latest: AppConfig runs one deployment per
    environment at a time (a second StartDeployment fails with ConflictException), so
    the one in progress is always the latest and both scans agree on what AWS answers;
    scanning all does not depend on ListDeployments' order nor on a caller having picked
    "the latest" right, and takes the newest if AWS ever listed two.
    """
    running = [d for d in deployments if d.get("State") in IN_PROGRESS]
    return max(running, key=_number) if running else None


def live_deployment(deployments: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The deployment whose version is served: the latest COMPLETE one, or None."""
    complete = [d for d in deployments if d.get("State") == COMPLETE]
    return max(complete, key=_number) if complete else None


def live_version(deployments: Iterable[Mapping[str, Any]]) -> int | None:
    """The configuration version served, or None when nothing ever completed."""
    live = live_deployment(deployments)
    if live is None:
        return None
    version = str(live.get("ConfigurationVersion", ""))
    return int(version) if version.isdigit() else None


def started_by(deployment: Mapping[str, Any]) -> str | None:
    """"guard", "rollback" (break glass; both in CANARY_OFF), "controller" (a step of the
    Step Functions controller) or None (Terraform, an operator)."""
    description = str(deployment.get("Description") or "")
    if description.startswith(GUARD_MARK):
        return "guard"
    if description.startswith(ROLLBACK_MARK):
        return "rollback"
    if description.startswith(f"{CONTROLLER_MARK} "):
        return "controller"
    return None


def settled_at(state: str | None, latest_details: Mapping[str, Any]) -> Any:
    """When what is served stopped moving (GetDeployment's timestamp), or None while the
    latest deployment is in progress or when there is none. `state`: the environment's
    latest deployment's State; `latest_details`: its GetDeployment.

    After a COMPLETE deployment: when it completed. After a ROLLED_BACK or REVERTED one:
    when its rollback (or revert) completed — the environment is settled on the
    version before it, not in flight.
    """
    if state is None or state in IN_PROGRESS:
        return None
    if state in ROLLED_BACK:
        back = [e["OccurredAt"] for e in latest_details.get("EventLog") or []
                if e.get("EventType") in BACK_EVENTS and e.get("OccurredAt")]
        if back:
            return max(back)
    return latest_details.get("CompletedAt")


def canary_percent(document: Mapping[str, Any], flag_key: str) -> float:
    """The percent of users the candidate serves under `flag_key` (disabled means 0)."""
    value = (document.get("values") or {}).get(flag_key) or {}
    if not value.get("enabled"):
        return 0.0
    try:
        return float(value.get("percent", 0) or 0)
    except (TypeError, ValueError):
        return 0.0


def canary_percents(document: Mapping[str, Any], flags: Mapping[str, str]) -> dict[str, float]:
    """Served canary percent per read path; `flags` maps each path to its canary flag key."""
    return {path: canary_percent(document, key) for path, key in flags.items()}


def canary_is_off(document: Mapping[str, Any], flag_keys: Iterable[str]) -> bool:
    return all(canary_percent(document, key) == 0 for key in flag_keys)


def canary_off(document: Mapping[str, Any], flag_keys: Iterable[str]) -> tuple[dict[str, Any], list[str]] | None:
    """The document with every canary flag disabled at 0%, and the flags it changed.

    None when the document already serves every canary at 0% (`canary_is_off`: disabled,
    or enabled at 0%, serves no user the candidate), so a caller is idempotent and never
    deploys a document that changes nothing users see. Shadow flags and everything else
    stay as they are; AppConfig's stored metadata is dropped, since AppConfig refuses a
    document that carries it and sets it again.
    """
    flag_keys = list(flag_keys)
    if canary_is_off(document, flag_keys):
        return None
    doc = copy.deepcopy(dict(document))
    values = doc.get("values") or {}
    changed = []
    for key in flag_keys:
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
    return without_metadata(doc), changed


def without_metadata(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a flag document without AppConfig's stored metadata (STORED_METADATA) in
    its flags and values: what a caller may deploy, and how two documents are compared
    (the controller finds the hosted version of a step by its content)."""
    doc = copy.deepcopy(dict(document))
    for section in ("flags", "values"):
        for entry in (doc.get(section) or {}).values():
            if isinstance(entry, dict):
                for key in STORED_METADATA:
                    entry.pop(key, None)
    return doc


def encode(document: Mapping[str, Any]) -> bytes:
    """The bytes stored as a hosted configuration version (stable: sorted, compact)."""
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
