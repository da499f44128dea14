"""The release's CodeDeploy side: deployments in progress, AppSpec, stop with rollback."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

ACTIVE = ["Created", "Queued", "InProgress", "Baking", "Ready"]
DONE = ("Succeeded", "Failed", "Stopped")


@dataclass(frozen=True)
class CodeDeployment:
    id: str
    group: str
    status: str
    overview: dict[str, int]
    error: str
    creator: str = ""  # "user", or "codeDeployRollback" for CodeDeploy's own rollback deployment

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def appspec(function: str, alias: str, current: str, target: str,
            hooks: list[dict[str, str]] | None = None) -> str:
    """A Lambda AppSpec moving `alias` from `current` to `target` (AppSpec 'version: 0.0').

    `hooks` is the AppSpec 'Hooks' section (`[{"BeforeAllowTraffic": function}]`): the
    deploy probe judges the target version before any traffic moves; without it in the
    AppSpec CodeDeploy never runs it (docs/aws-rules.md, CodeDeploy)."""
    resource = {"Type": "AWS::Lambda::Function",
                "Properties": {"Name": function, "Alias": alias,
                               "CurrentVersion": current, "TargetVersion": target}}
    document: dict[str, Any] = {"version": 0.0, "Resources": [{function: resource}]}
    if hooks:
        document["Hooks"] = hooks
    return json.dumps(document, sort_keys=True)


def revision(content: str) -> dict[str, Any]:
    return {"revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()}}


def get(client: Any, deployment_id: str) -> CodeDeployment:
    info = client.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    return CodeDeployment(
        id=deployment_id, group=info.get("deploymentGroupName", ""), status=info.get("status", ""),
        overview={k: int(v) for k, v in info.get("deploymentOverview", {}).items()},
        error=(info.get("errorInformation") or {}).get("message", ""), creator=info.get("creator", ""))


def active(client: Any, application: str, group: str) -> list[CodeDeployment]:
    ids = client.list_deployments(applicationName=application, deploymentGroupName=group,
                                  includeOnlyStatuses=ACTIVE).get("deployments", [])
    return [d for d in (get(client, i) for i in ids) if d.active]
