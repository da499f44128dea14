"""What a CodeDeploy deployment ships: the AppSpec's function, alias and target version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class UnreadableDeployment(ValueError):
    """A deployment whose AppSpec does not name one Lambda function and its target version."""


@dataclass(frozen=True)
class Shipment:
    function: str
    alias: str
    current: str
    target: str


def shipment(deployment_info: dict[str, Any]) -> Shipment:
    """The one AWS::Lambda::Function resource of the deployment's AppSpec (JSON content,
    as `cutover deploy` writes it: docs/aws-rules.md, CodeDeploy)."""
    revision = deployment_info.get("revision") or {}
    content = (revision.get("appSpecContent") or {}).get("content")
    if revision.get("revisionType") != "AppSpecContent" or not isinstance(content, str):
        raise UnreadableDeployment("the revision is not an AppSpecContent")
    try:
        spec = json.loads(content)
    except ValueError as exc:
        raise UnreadableDeployment("the AppSpec content is not JSON") from exc
    resources = spec.get("Resources") if isinstance(spec, dict) else None
    if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], dict):
        raise UnreadableDeployment("the AppSpec names no single resource")
    (resource,) = resources[0].values() if len(resources[0]) == 1 else (None,)
    props = (resource or {}).get("Properties") if isinstance(resource, dict) else None
    if (not isinstance(props, dict) or (resource or {}).get("Type") != "AWS::Lambda::Function"
            or not all(isinstance(props.get(k), str) and props.get(k)
                       for k in ("Name", "Alias", "TargetVersion"))):
        raise UnreadableDeployment("the AppSpec resource is not a Lambda function with a TargetVersion")
    return Shipment(function=props["Name"], alias=props["Alias"],
                    current=str(props.get("CurrentVersion", "")), target=props["TargetVersion"])
