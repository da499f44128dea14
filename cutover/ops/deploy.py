"""`cutover deploy`: ship a published function version to its alias through CodeDeploy.

The AppSpec moves the alias from the version it serves to the target (default: the
newest published version); CodeDeploy shifts traffic by the deployment group's config
and rolls back on the rollback alarm. The command follows the deployment until it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cutover.generator.plan import deploy_probe
from cutover.ops import codedeploy, lambdas
from cutover.ops.aws import OpsError, aws_errors
from cutover.ops.context import Context
from cutover.ops.output import FAILED, OK, Result

POLL_SECONDS = 10.0


def _alias_of(ctx: Context, function: str) -> str:
    for p in ctx.names.paths:
        if function in (p.router, p.candidate):
            return p.alias
    known = ", ".join(ctx.names.deployment_groups) or "none"
    raise OpsError(f"{function} is not deployed by CodeDeploy in {ctx.env} (functions: {known})")


def start(ctx: Context, function: str, version: str | None) -> dict[str, Any]:
    alias = _alias_of(ctx, function)
    lam = ctx.clients("lambda")
    with aws_errors(f"read {function}:{alias} and its published versions"):
        state = lambdas.alias_state(lam, function, alias)
        if version is not None:
            lam.get_function_configuration(FunctionName=function, Qualifier=version)
    target = version or state.latest
    if target is None:
        raise OpsError(f"{function} has no published version: run `make plan` and `make apply` first")
    if state.weights:
        raise OpsError(f"{function}:{alias} is already split ({state.split}): a deployment is running "
                       f"(`cutover status --env {ctx.env}`)")
    if target == state.version:
        return {"function": function, "alias": alias, "current": state.version, "target": target,
                "deploymentId": None, "status": "NothingToDo"}
    content = codedeploy.appspec(function, alias, state.version, target, deploy_probe.appspec_hooks(ctx.spec))
    with aws_errors(f"start a CodeDeploy deployment of {function}"):
        answer = ctx.clients("codedeploy").create_deployment(
            applicationName=ctx.names.codedeploy_application, deploymentGroupName=ctx.names.deployment_groups[function],
            revision=codedeploy.revision(content),
            description=f"cutover deploy {function}:{alias} {state.version} -> {target}")
    return {"function": function, "alias": alias, "current": state.version, "target": target,
            "deploymentId": answer["deploymentId"], "status": "Created", "appSpec": content}


class Interrupted(OpsError):
    """Ctrl-C while following: the deployment goes on in AWS (exit 130, as for SIGINT)."""

    code = 130
    kind = "interrupted"


def _function_of(ctx: Context, group: str) -> str:
    return next((f for f, g in ctx.names.deployment_groups.items() if g == group), group)


def _interrupted(ctx: Context, deployment_id: str, function: str) -> Interrupted:
    return Interrupted(
        f"interrupted: CodeDeploy deployment {deployment_id} of {function} goes on in AWS (it ends, or rolls back on "
        f"the alarm, on its own). Follow it: `cutover status --env {ctx.env}` or `aws deploy get-deployment "
        f"--deployment-id {deployment_id}`. Stop it and roll back: `aws deploy stop-deployment --deployment-id "
        f"{deployment_id} --auto-rollback-enabled` (or break glass: `cutover rollback --env {ctx.env} --reason ...`)")


def follow(ctx: Context, deployment_id: str, out: Console | None, sleep: Callable[[float], None] = time.sleep,
           poll: float = POLL_SECONDS, function: str | None = None) -> codedeploy.CodeDeployment:
    """Poll until the deployment ends: a progress bar labelled with the function on a
    terminal, one plain line per change elsewhere (a CI log), nothing with --json."""
    client = ctx.clients("codedeploy")
    function = function or deployment_id
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                        TimeElapsedColumn(), console=out, disable=out is None or not out.is_terminal, transient=False)
    task, shown = None, None
    try:
        with progress:
            while True:
                with aws_errors(f"follow CodeDeploy deployment {deployment_id}"):
                    dep = codedeploy.get(client, deployment_id)
                function = _function_of(ctx, dep.group) if function == deployment_id and dep.group else function
                done = dep.overview.get("Succeeded", 0)
                percent = 100 if dep.status == "Succeeded" else 100 * done / (sum(dep.overview.values()) or 1)
                if task is None:
                    task = progress.add_task(function, total=100, status="Created")
                progress.update(task, completed=percent, status=dep.status)
                if out is not None and not out.is_terminal and (dep.status, percent) != shown:
                    out.print(f"{function}: {dep.status} {percent:.0f}% (deployment {deployment_id})", markup=False)
                    shown = (dep.status, percent)
                if dep.status in codedeploy.DONE:
                    return dep
                sleep(poll)
    except KeyboardInterrupt:
        raise _interrupted(ctx, deployment_id, function) from None


def run(ctx: Context, functions: list[str], version: str | None, wait: bool,
        out: Console | None, sleep: Callable[[float], None] = time.sleep) -> Result:
    """Ship `functions` one after the other; the first that does not succeed stops the rest.

    A deployment stopped by the rollback alarm means the release is unhealthy: shipping
    the next function into it would only add a second change to roll back. The functions
    not attempted are listed as `NotShipped` and the command exits 1.
    """
    shipped: list[dict[str, Any]] = []
    code = OK
    for i, function in enumerate(functions):
        item = start(ctx, function, version)
        if item["deploymentId"] and wait:
            final = follow(ctx, item["deploymentId"], out, sleep, function=function)
            item.update(status=final.status, error=final.error)
        shipped.append(item)
        if item["status"] not in ("Succeeded", "Created", "NothingToDo"):
            code = FAILED
            shipped += [{"function": f, "alias": _alias_of(ctx, f), "deploymentId": None, "status": "NotShipped",
                         "reason": f"{function}'s deployment ended {item['status']}"} for f in functions[i + 1:]]
            break
    return Result("deploy", code, {"env": ctx.env, "deployments": shipped}, _view(shipped))


def _view(shipped: list[dict[str, Any]]) -> Callable[[Console], None]:
    def view(console: Console) -> None:
        for s in shipped:
            if s["status"] == "NotShipped":
                console.print(f"{s['function']}:{s['alias']} [red]not shipped[/]: {s['reason']}")
            elif s["deploymentId"] is None:
                console.print(f"{s['function']}:{s['alias']} already serves version {s['current']}: nothing to deploy")
            else:
                colour = "green" if s["status"] in ("Succeeded", "Created") else "red"
                console.print(f"{s['function']}:{s['alias']} {s['current']} -> {s['target']}: "
                              f"deployment {s['deploymentId']} [{colour}]{s['status']}[/] {s.get('error') or ''}")
        left = [s["function"] for s in shipped if s["status"] == "NotShipped"]
        if left:
            console.print(f"stopped: {', '.join(left)} not shipped; fix the failed deployment "
                          "(`cutover status`, `cutover monitor`), then run `cutover deploy --all` again")
    return view
