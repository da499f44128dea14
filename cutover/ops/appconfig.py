"""The release's AppConfig environment: ids by name, what is served and what is moving,
and the break-glass deployment of the canary-off document.

What is served, what is in progress (every deployment scanned, `live.in_progress`), who
started a deployment, the deployment states and the canary-off document are decided
once, in functions/cutover_runtime/live.py (the guard, cleanup and
`cutover apply` use the same file): the served version is the latest COMPLETE
deployment's, not the latest deployment's — a ROLLED_BACK or REVERTED one left the
environment on the version before it (docs/aws-rules.md, AppConfig).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cutover.ops.aws import OpsError, not_there, paginate
from cutover.ops.names import ReleaseNames
from cutover.runtime import live

BREAK_GLASS_STRATEGY = "break-glass"
# Who deploys the canary-off document (live.CANARY_OFF), as sentences say it.
WHO = {"guard": "the guard", "rollback": "`cutover rollback`"}


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

    @classmethod
    def of(cls, summary: dict[str, Any] | None) -> Deployment | None:
        if summary is None:
            return None
        return cls(number=int(summary["DeploymentNumber"]), state=str(summary.get("State", "")),
                   version=str(summary.get("ConfigurationVersion", "")),
                   percent_complete=float(summary.get("PercentageComplete", 0.0)))

    @property
    def rolled_back(self) -> bool:
        return self.state in live.ROLLED_BACK


@dataclass(frozen=True)
class Flags:
    """What one environment serves and what is moving, read from one listing."""

    latest: Deployment | None  # the newest deployment, whatever its state
    live: Deployment | None  # the latest COMPLETE one: its version is what clients get
    in_progress: Deployment | None
    document: dict[str, Any] | None  # the served flag document
    canary: dict[str, float] = field(default_factory=dict)  # served canary percent per read path

    def to_json(self) -> dict[str, Any]:
        return {"latest": _json(self.latest), "served": _json(self.live),
                "inProgress": _json(self.in_progress), "canaryPercent": self.canary}


def _json(dep: Deployment | None) -> dict[str, Any] | None:
    # camelCase, as every key of --json (docs/operations.md, JSON output)
    return None if dep is None else {"number": dep.number, "state": dep.state, "version": dep.version,
                                     "percentComplete": dep.percent_complete}


def _by_name(items: list[dict[str, Any]], name: str, what: str) -> str:
    for item in items:
        if item.get("Name") == name:
            return item["Id"]
    raise OpsError(not_there(f"AppConfig {what} '{name}' not found"))


def resolve(client: Any, names: ReleaseNames) -> Ids:
    if names.appconfig_application is None:
        raise OpsError(f"{names.env} is complete: it has no feature flags any more")
    app = _by_name(paginate(client, "list_applications", "Items"), names.appconfig_application, "application")
    env = _by_name(paginate(client, "list_environments", "Items", ApplicationId=app),
                   str(names.appconfig_environment), "environment")
    profile = _by_name(paginate(client, "list_configuration_profiles", "Items", ApplicationId=app),
                       str(names.appconfig_profile), "configuration profile")
    return Ids(app, env, profile)


def canary_flags(names: ReleaseNames) -> dict[str, str]:
    """Read path -> its canary flag key."""
    return {p.name: str(p.canary_flag) for p in names.paths if p.canary_flag}


def read(client: Any, ids: Ids, names: ReleaseNames) -> Flags:
    """Every deployment of the environment (all pages), judged by `live`, and the
    served document's canary percent per read path."""
    items = paginate(client, "list_deployments", "Items", ApplicationId=ids.application,
                     EnvironmentId=ids.environment)
    latest = max(items, key=lambda d: int(d["DeploymentNumber"])) if items else None
    version = live.live_version(items)
    document = None if version is None else flag_document(client, ids, str(version))
    canary = {} if document is None else live.canary_percents(document, canary_flags(names))
    return Flags(latest=Deployment.of(latest), live=Deployment.of(live.live_deployment(items)),
                 in_progress=Deployment.of(live.in_progress(items)), document=document, canary=canary)


def details(client: Any, ids: Ids, number: int) -> dict[str, Any]:
    """GetDeployment: the description (who started it), the KMS key, the event log —
    what ListDeployments' summaries leave out."""
    return client.get_deployment(ApplicationId=ids.application, EnvironmentId=ids.environment,
                                 DeploymentNumber=number)


def started_by(client: Any, ids: Ids, dep: Deployment) -> str | None:
    """"guard", "rollback" (break glass), "controller" or None (Terraform, an operator)."""
    return live.started_by(details(client, ids, dep.number))


def settled_at(flags: Flags, latest_details: dict[str, Any]) -> datetime | None:
    """When what is served stopped moving; None while a deployment is in flight.
    `latest_details`: GetDeployment of the latest deployment (the rule: `live.settled_at`)."""
    if flags.latest is None or flags.in_progress is not None:
        return None
    return live.settled_at(flags.latest.state, latest_details)


def happened(flags: Flags, starter: str | None = None) -> str | None:
    """One sentence on what the flags went through, when it is more than "the latest
    deployment completed"; `starter` is live.started_by of the served deployment."""
    latest, served = flags.latest, flags.live
    if latest is None:
        return "no flag deployment yet"
    now = ", ".join(f"{p} {v:g}%" for p, v in flags.canary.items()) or "nothing"
    where = (f"served: version {served.version} (deployment {served.number}), canary {now}"
             if served else "nothing served yet")
    running = flags.in_progress
    if running is not None:
        return f"flag deployment {running.number} (version {running.version}) is {running.state}; {where}"
    if latest.rolled_back:
        return f"flag deployment {latest.number} (version {latest.version}) was {latest.state}; {where}"
    if starter in WHO:
        return f"{WHO[starter]} turned the canary off (deployment {latest.number}); {where}"
    if starter == "controller" and served is not None:
        return f"the controller moved the canary (deployment {served.number}); {where}"
    return None


def flag_document(client: Any, ids: Ids, version: str) -> dict[str, Any]:
    answer = client.get_hosted_configuration_version(
        ApplicationId=ids.application, ConfigurationProfileId=ids.profile, VersionNumber=int(version))
    return json.loads(answer["Content"].read())


def rollback_strategy(client: Any, names: ReleaseNames) -> str:
    """The guard's all-at-once, no-bake strategy (the plan's `guard_strategy_name`), else
    `<prefix>-break-glass` (0 minutes, 0 bake, growth 100), made once. No bake: a
    deployment that bakes blocks every other one (the guard's included) until it ends."""
    existing = {s.get("Name"): s["Id"] for s in paginate(client, "list_deployment_strategies", "Items")}
    for wanted in filter(None, (names.guard_strategy, f"{names.prefix}-{BREAK_GLASS_STRATEGY}"[:64])):
        if wanted in existing:
            return existing[wanted]
    created = client.create_deployment_strategy(
        Name=f"{names.prefix}-{BREAK_GLASS_STRATEGY}"[:64],
        Description="cutover rollback: all at once, no bake (break glass)",
        DeploymentDurationInMinutes=0, FinalBakeTimeInMinutes=0, GrowthFactor=100,
        GrowthType="LINEAR", ReplicateTo="NONE")
    return created["Id"]


def deploy_canary_off(client: Any, ids: Ids, names: ReleaseNames, flags: Flags,
                      description: str) -> tuple[int, list[str]] | None:
    """Deploy the served document with every canary off (`live.canary_off`), all at once
    and encrypted with the key of the deployment it replaces; (deployment number, flags
    changed), or None when the served canary is already off everywhere."""
    if flags.document is None or flags.live is None:
        return None
    off = live.canary_off(flags.document, canary_flags(names).values())
    if off is None:
        return None
    document, changed = off
    kms = details(client, ids, flags.live.number).get("KmsKeyArn")
    version = client.create_hosted_configuration_version(
        ApplicationId=ids.application, ConfigurationProfileId=ids.profile,
        Content=live.encode(document), ContentType="application/json", Description=description[:1024])
    started = client.start_deployment(
        ApplicationId=ids.application, EnvironmentId=ids.environment,
        DeploymentStrategyId=rollback_strategy(client, names),
        ConfigurationProfileId=ids.profile, ConfigurationVersion=str(version["VersionNumber"]),
        Description=description[:1024], **({"KmsKeyIdentifier": kms} if kms else {}))
    return int(started["DeploymentNumber"]), changed
