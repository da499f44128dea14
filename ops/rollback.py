"""`cutover rollback`: break glass — canary off and code back, at once, idempotently.

1. Flags: a flag deployment in progress (deploying or baking) is stopped with
   AllowRevert, which puts the previous version back; otherwise, if a canary is on, the
   canary-off document is deployed all at once with no bake.
2. Code: every CodeDeploy deployment in progress is stopped with auto-rollback, which
   returns the alias to its previous version.
A second run finds nothing to do. The spec line that makes Terraform agree is printed,
and an audit record (who, when, why) is written.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from ops import appconfig, audit, codedeploy
from ops.aws import aws_errors
from ops.context import Context
from ops.output import OK, Result
from ops.spec_edit import percent_line


def _previous_version(client: Any, ids: appconfig.Ids, number: int) -> str | None:
    items = client.list_deployments(ApplicationId=ids.application, EnvironmentId=ids.environment,
                                    MaxResults=5).get("Items", [])
    done = [d for d in items if d["DeploymentNumber"] < number and d["State"] == "COMPLETE"]
    return str(max(done, key=lambda d: d["DeploymentNumber"])["ConfigurationVersion"]) if done else None


def _flags(ctx: Context, description: str, actions: list[dict[str, Any]]) -> dict[str, float]:
    """Roll the flags back; returns the canary percent per path now live (changed paths only)."""
    names = ctx.names
    if names.appconfig_application is None:
        return {}
    client = ctx.clients("appconfig")
    with aws_errors("roll the feature flags back (AppConfig)"):
        ids = appconfig.resolve(client, names)
        dep = appconfig.latest_deployment(client, ids)
        if dep is None:
            return {}
        if dep.in_progress:
            client.stop_deployment(ApplicationId=ids.application, EnvironmentId=ids.environment,
                                   DeploymentNumber=dep.number, AllowRevert=True)
            actions.append({"action": "stopped the flag deployment with revert",
                            "deployment": dep.number, "state": dep.state})
            before = _previous_version(client, ids, dep.number)
            if before is None:
                return {p.name: 0.0 for p in names.paths}
            return appconfig.canary_percents(appconfig.flag_document(client, ids, before), names)
        document = appconfig.flag_document(client, ids, dep.version)
        live = appconfig.canary_percents(document, names)
        if not any(live.values()):
            return {}
        number = appconfig.deploy_document(client, ids, names, appconfig.canary_off(document, names), description, dep)
        actions.append({"action": "deployed the canary-off flags at once (no bake)",
                        "deployment": number, "from": live})
        return {p: 0.0 for p in live}


def _code(ctx: Context, actions: list[dict[str, Any]]) -> None:
    names, client = ctx.names, ctx.clients("codedeploy")
    for group in names.deployment_groups:
        with aws_errors(f"stop CodeDeploy deployments of {group}"):
            for dep in codedeploy.active(client, names.codedeploy_application, group):
                answer = client.stop_deployment(deploymentId=dep.id, autoRollbackEnabled=True)
                actions.append({"action": "stopped the code deployment with rollback", "deployment": dep.id,
                                "group": group, "status": answer.get("status", "")})


def spec_changes(ctx: Context, live: dict[str, float]) -> list[str]:
    out = []
    for i, p in enumerate(ctx.names.paths):
        if p.name in live and live[p.name] != p.canary_percent:
            out.append(percent_line(ctx.spec_path, ctx.names.spec_file, i, live[p.name]))
    return out


def run(ctx: Context, reason: str) -> Result:
    who = audit.who(ctx.clients)
    when = audit.now()
    description = f"cutover rollback by {who['user']} at {when}: {reason}"
    actions: list[dict[str, Any]] = []
    live = _flags(ctx, description, actions)
    _code(ctx, actions)
    changes = spec_changes(ctx, live)
    entry = {"env": ctx.env, "when": when, "who": who, "why": reason, "actions": actions,
             "specChanges": changes}
    path = audit.record(ctx.root, ctx.env, entry) if actions else None
    data = {**entry, "auditRecord": str(path) if path else None, "nothingToDo": not actions}

    def view(out: Console) -> None:
        if not actions:
            out.print("[green]nothing left to do[/]: no flag or code deployment in progress, no canary on")
            return
        for a in actions:
            out.print(f"[bold red]{a['action']}[/]: " + ", ".join(f"{k}={v}" for k, v in a.items() if k != "action"))
        for line in changes:
            out.print(f"reconcile Terraform: {line}")
        out.print(f"audit record: {path} (who {who['user']} / {who['awsIdentity']}, when {when}, why: {reason})")

    return Result("rollback", OK, data, view)
