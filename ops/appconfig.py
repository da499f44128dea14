"""The release's AppConfig environment: ids by name, the deployment in progress, the
flag values live, and the two break-glass moves (stop with revert, deploy canary-off).

Only one deployment may run per environment at a time; a deployment is "in progress"
while it deploys and while it bakes (docs/aws-rules.md, AppConfig).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from ops.aws import OpsError, paginate
from ops.names import ReleaseNames

IN_PROGRESS = ("DEPLOYING", "BAKING", "ROLLING_BACK", "VALIDATING")
BREAK_GLASS_STRATEGY = "break-glass"


@dataclass(frozen=True)
class Ids:
    application: str
    environment: str
    profile: str


@dataclass(frozen=True)
class Deployment:
    number: int
    state: str
    version: str
    percent_complete: float

    @property
    def in_progress(self) -> bool:
        return self.state in IN_PROGRESS


def _by_name(items: list[dict[str, Any]], name: str, what: str) -> str:
    for item in items:
        if item.get("Name") == name:
            return item["Id"]
    raise OpsError(f"AppConfig {what} '{name}' not found — was the release applied (`make apply`)?")


def resolve(client: Any, names: ReleaseNames) -> Ids:
    if names.appconfig_application is None:
        raise OpsError(f"{names.env} is complete: it has no feature flags any more")
    app = _by_name(paginate(client, "list_applications", "Items"), names.appconfig_application, "application")
    env = _by_name(paginate(client, "list_environments", "Items", ApplicationId=app),
                   str(names.appconfig_environment), "environment")
    profile = _by_name(paginate(client, "list_configuration_profiles", "Items", ApplicationId=app),
                       str(names.appconfig_profile), "configuration profile")
    return Ids(app, env, profile)


def latest_deployment(client: Any, ids: Ids) -> Deployment | None:
    page = client.list_deployments(ApplicationId=ids.application, EnvironmentId=ids.environment, MaxResults=5)
    items = page.get("Items", [])
    if not items:
        return None
    top = max(items, key=lambda d: d["DeploymentNumber"])
    return Deployment(number=top["DeploymentNumber"], state=top["State"],
                      version=str(top.get("ConfigurationVersion", "")),
                      percent_complete=float(top.get("PercentageComplete", 0.0)))


def description(client: Any, ids: Ids, number: int) -> str:
    return client.get_deployment(ApplicationId=ids.application, EnvironmentId=ids.environment,
                                 DeploymentNumber=number).get("Description", "")


def flag_document(client: Any, ids: Ids, version: str) -> dict[str, Any]:
    answer = client.get_hosted_configuration_version(
        ApplicationId=ids.application, ConfigurationProfileId=ids.profile, VersionNumber=int(version))
    return json.loads(answer["Content"].read())


def canary_percents(document: dict[str, Any], names: ReleaseNames) -> dict[str, float]:
    """Percent served by the canary per read path (disabled means 0)."""
    values = document.get("values", {})
    out = {}
    for p in names.paths:
        v = values.get(p.canary_flag, {})
        out[p.name] = float(v.get("percent", 0)) if v.get("enabled") else 0.0
    return out


def canary_off(document: dict[str, Any], names: ReleaseNames) -> dict[str, Any]:
    """The same document with every canary disabled at 0% (shadow left as it was)."""
    doc = copy.deepcopy(document)
    for p in names.paths:
        value = doc.get("values", {}).get(p.canary_flag)
        if value is not None:
            value.update({"enabled": False, "percent": 0, "step": 0})
    return doc


def break_glass_strategy(client: Any, names: ReleaseNames) -> str:
    """An all-at-once strategy with no bake: AppConfig's alarm monitor, already in ALARM,
    must not roll a canary-off deployment back to the canary. The brake's strategy (the
    plan names it when the spec has a brake), else `<prefix>-break-glass`, made once."""
    existing = {s.get("Name"): s["Id"] for s in paginate(client, "list_deployment_strategies", "Items")}
    for wanted in filter(None, (names.brake_strategy, f"{names.prefix}-{BREAK_GLASS_STRATEGY}"[:64])):
        if wanted in existing:
            return existing[wanted]
    created = client.create_deployment_strategy(
        Name=f"{names.prefix}-{BREAK_GLASS_STRATEGY}"[:64],
        Description="cutover rollback: all at once, no bake (break glass)",
        DeploymentDurationInMinutes=0, FinalBakeTimeInMinutes=0, GrowthFactor=100,
        GrowthType="LINEAR", ReplicateTo="NONE")
    return created["Id"]


def deploy_document(client: Any, ids: Ids, names: ReleaseNames, document: dict[str, Any],
                    description: str, previous: Deployment) -> int:
    """Deploy `document` at once, encrypted with the key of the deployment it replaces."""
    kms = client.get_deployment(ApplicationId=ids.application, EnvironmentId=ids.environment,
                                DeploymentNumber=previous.number).get("KmsKeyArn")
    version = client.create_hosted_configuration_version(
        ApplicationId=ids.application, ConfigurationProfileId=ids.profile,
        Content=json.dumps(document, sort_keys=True).encode(), ContentType="application/json",
        Description=description[:1024])
    started = client.start_deployment(
        ApplicationId=ids.application, EnvironmentId=ids.environment,
        DeploymentStrategyId=break_glass_strategy(client, names),
        ConfigurationProfileId=ids.profile, ConfigurationVersion=str(version["VersionNumber"]),
        Description=description[:1024], **({"KmsKeyIdentifier": kms} if kms else {}))
    return started["DeploymentNumber"]
