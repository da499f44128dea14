"""What may be deleted: pure functions of what AWS lists, so they are easy to test.

A Lambda version is kept when it is among the newest ``keep`` or when an alias points
at it (its main version or the weighted one of a routing config). An AppConfig hosted
configuration version is kept when it is among the newest ``keep`` or when a
deployment may need it: the latest deployment of each environment, its latest
complete deployment (the rollback target) and any deployment still in progress.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

IN_PROGRESS = {"BAKING", "VALIDATING", "DEPLOYING", "ROLLING_BACK"}


def lambda_versions_to_delete(versions: Iterable[str], aliases: Iterable[dict[str, Any]],
                              keep: int) -> list[str]:
    numbered = sorted({int(v) for v in versions if v.isdigit()})
    protected = set(numbered[-keep:]) if keep > 0 else set()
    for alias in aliases:
        if str(alias.get("FunctionVersion", "")).isdigit():
            protected.add(int(alias["FunctionVersion"]))
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        protected.update(int(v) for v in weights if str(v).isdigit())
    return [str(v) for v in numbered if v not in protected]


def hosted_versions_to_delete(versions: Iterable[int], deployments: Iterable[dict[str, Any]],
                              profile_id: str, keep: int) -> list[int]:
    numbered = sorted(set(versions))
    protected = set(numbered[-keep:]) if keep > 0 else set()
    latest: dict[str, dict[str, Any]] = {}
    latest_complete: dict[str, dict[str, Any]] = {}
    for d in deployments:
        if d.get("ConfigurationProfileId") not in (None, profile_id):
            continue
        env = d.get("EnvironmentId", "")
        if env not in latest or d["DeploymentNumber"] > latest[env]["DeploymentNumber"]:
            latest[env] = d
        if d.get("State") == "COMPLETE" and (
                env not in latest_complete
                or d["DeploymentNumber"] > latest_complete[env]["DeploymentNumber"]):
            latest_complete[env] = d
        if d.get("State") in IN_PROGRESS:
            protected.add(_version(d))
    protected.update(_version(d) for d in latest.values())
    protected.update(_version(d) for d in latest_complete.values())
    return [v for v in numbered if v not in protected]


def _version(deployment: dict[str, Any]) -> int | None:
    value = str(deployment.get("ConfigurationVersion", ""))
    return int(value) if value.isdigit() else None
