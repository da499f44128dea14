"""What may be deleted: pure functions of what AWS lists, so they are easy to test.

A Lambda version is kept when it is among the newest ``keep`` or when an alias points
at it (its main version or the weighted one of a routing config). An AppConfig hosted
configuration version is kept when it is among the newest ``keep``, when Terraform
keeps it (its description starts with ``TERRAFORM_KEPT``: deleting it would only make
Terraform create it again), or when a deployment may need it: the latest deployment of
each environment, the one before it (what ``stop-deployment --allow-revert`` returns
to), its latest complete deployment (the rollback target) and any deployment still in
progress. Which deployment is in progress and which one is served come from
``cutover_runtime.live``, the rule the guard and the operations commands use.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cutover_runtime import live

# terraform/modules/feature_flags: the description of every version Terraform keeps.
TERRAFORM_KEPT = "cutover document sha256:"


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
                              profile_id: str, keep: int, owned: Iterable[int] = ()) -> list[int]:
    numbered = sorted(set(versions))
    protected = set(numbered[-keep:]) if keep > 0 else set()
    protected.update(owned)
    per_env: dict[str, list[dict[str, Any]]] = {}
    for d in deployments:
        if d.get("ConfigurationProfileId") not in (None, profile_id):
            continue
        per_env.setdefault(d.get("EnvironmentId", ""), []).append(d)
    for env_deployments in per_env.values():
        ordered = sorted(env_deployments, key=lambda d: d["DeploymentNumber"])
        protected.update(_version(d) for d in ordered[-2:])  # the deployed and the previous
        for kept in (live.in_progress(ordered), live.live_deployment(ordered)):
            if kept is not None:  # what is moving, and what is served (the rollback target)
                protected.add(_version(kept))
    return [v for v in numbered if v not in protected]


def _version(deployment: dict[str, Any]) -> int | None:
    value = str(deployment.get("ConfigurationVersion", ""))
    return int(value) if value.isdigit() else None
