"""`cutover rollback`: break glass — canary off and code back, two independent steps.

1. Flags (what is served: `cutover_runtime.live`, the guard's rule):
   - a canary-off deployment of the guard or of an earlier `cutover rollback` in
     progress is left to finish, never stopped (stopping it with revert would put the
     canary back): nothing to do;
   - any other deployment in progress is stopped with AllowRevert, which returns the
     environment to the version before it — which may still have the canary on;
   - then, if what is served has a canary on, the canary-off document (`live.canary_off`)
     is deployed with the guard's all-at-once, no-bake strategy, its description
     starting with `live.ROLLBACK_MARK` so that the guard never stops it.
2. Code: every CodeDeploy deployment in progress is stopped with auto-rollback, except
   the rollback deployments CodeDeploy itself created.
Each step is attempted even when the other fails, and both are in the audit record.
The exit code says which failed: 0 none, 5 flags, 6 code, 7 both. A second run finds
nothing to do and says why. The printed spec line reconciles Terraform: without it the
next `make apply` deploys the canary again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from cutover.ops import appconfig, audit, codedeploy
from cutover.ops.aws import OpsError, aws_errors, error_code
from cutover.ops.context import Context
from cutover.ops.output import OK, Result, console
from cutover.ops.spec_edit import percent_lines

FLAGS_FAILED, CODE_FAILED, BOTH_FAILED = 5, 6, 7
# CodeDeploy's creator of the deployment it makes to roll another one back.
CODEDEPLOY_ROLLBACK = "codeDeployRollback"


@dataclass
class Step:
    """One independent half of the rollback: what it did, found, or failed at."""

    name: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    found: list[str] = field(default_factory=list)  # why nothing (more) was done
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.error is None, "actions": self.actions, "found": self.found, "error": self.error}


def _stop_foreign(client: Any, ids: appconfig.Ids, flags: appconfig.Flags, step: Step) -> bool:
    """Stop the deployment in progress unless the guard or a rollback started it;
    True when the canary-off step may go on."""
    running = flags.in_progress
    if running is None:
        return True
    who = appconfig.started_by(client, ids, running)
    if who in appconfig.WHO:
        step.found.append(f"{appconfig.WHO[who]}'s canary-off deployment {running.number} is {running.state}: "
                          "left to finish, not stopped; the canary is 0 once it is COMPLETE")
        return False
    if running.state == appconfig.live.ROLLING_BACK:
        step.error = (f"flag deployment {running.number} is ROLLING_BACK to the version before it; AppConfig takes "
                      "no other deployment until it ends: run `cutover rollback` again in a minute")
        return False
    answer = client.stop_deployment(ApplicationId=ids.application, EnvironmentId=ids.environment,
                                    DeploymentNumber=running.number, AllowRevert=True)
    step.actions.append({"action": "stopped the flag deployment with revert", "deployment": running.number,
                         "state": running.state, "now": answer.get("State", "")})
    return True


def _flags(ctx: Context, description: str, step: Step) -> dict[str, float] | None:
    """Turn the served canary off; returns the canary percent per path served once done."""
    names = ctx.names
    if names.appconfig_application is None:
        step.found.append("no feature flags (the release is complete)")
        return None
    client = ctx.clients("appconfig")
    with aws_errors("roll the feature flags back (AppConfig)"):
        ids = appconfig.resolve(client, names)
        flags = appconfig.read(client, ids, names)
        if not _stop_foreign(client, ids, flags, step):
            return {p: 0.0 for p in appconfig.canary_flags(names)} if step.error is None else None
        if step.actions:  # stopped: what is served now is the latest COMPLETE deployment before it
            flags = appconfig.read(client, ids, names)
            if flags.in_progress is not None:
                step.error = (f"flag deployment {flags.in_progress.number} is {flags.in_progress.state} after the stop; "
                              "AppConfig takes no other deployment until it ends: run `cutover rollback` again")
                return None
        if flags.live is None:
            step.found.append("no flag deployment ever completed: no canary is served")
            return {p: 0.0 for p in appconfig.canary_flags(names)}
        try:
            started = appconfig.deploy_canary_off(client, ids, names, flags, description)
        except Exception as exc:
            if error_code(exc) != "ConflictException":
                raise
            step.error = ("AppConfig refused the canary-off deployment (ConflictException): another deployment "
                          "started meanwhile, perhaps the guard's; run `cutover rollback` again to see which")
            return None
        if started is None:
            step.found.append(f"the served canary is already 0 (version {flags.live.version}, "
                              f"deployment {flags.live.number})")
            return flags.canary
        number, changed = started
        step.actions.append({"action": "deployed the canary-off flags at once (no bake)", "deployment": number,
                             "from": flags.canary, "flags": changed})
        return {p: 0.0 for p in flags.canary}


def _code(ctx: Context, step: Step) -> None:
    """Stop every CodeDeploy deployment in progress with rollback, group by group."""
    names, client = ctx.names, ctx.clients("codedeploy")
    errors = []
    for group in names.deployment_groups:
        try:
            with aws_errors(f"stop CodeDeploy deployments of {group}"):
                for dep in codedeploy.active(client, names.codedeploy_application, group):
                    if dep.creator == CODEDEPLOY_ROLLBACK:
                        step.found.append(f"{dep.id} ({group}) is CodeDeploy's own rollback: left to finish")
                        continue
                    try:
                        answer = client.stop_deployment(deploymentId=dep.id, autoRollbackEnabled=True)
                    except Exception as exc:
                        if error_code(exc) != "DeploymentAlreadyCompletedException":
                            raise
                        step.found.append(f"{dep.id} ({group}) completed before it could be stopped")
                        continue
                    step.actions.append({"action": "stopped the code deployment with rollback", "deployment": dep.id,
                                         "group": group, "status": answer.get("status", "")})
        except OpsError as exc:
            errors.append(str(exc))
    if errors:
        step.error = "; ".join(errors)
    elif not step.actions:
        step.found.append("no code deployment in progress")


def _attempt(step: Step, run: Any) -> Any:
    """Run one step; an error is recorded on the step, never raised past it."""
    try:
        return run()
    except OpsError as exc:
        step.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - the other step must still run and be audited
        step.error = f"{exc.__class__.__name__}: {exc}"
    return None


def _wanted(ctx: Context, served: dict[str, float] | None) -> dict[int, float]:
    """Path index -> the percent served once the rollback is done, where the spec differs."""
    return {i: served[p.name] for i, p in enumerate(ctx.names.paths)
            if served and p.name in served and served[p.name] != p.canary_percent}


def spec_changes(ctx: Context, served: dict[str, float] | None) -> list[str]:
    """The spec edit that makes Terraform agree with what is served once the rollback
    is done (empty when the spec already does)."""
    wanted = _wanted(ctx, served)
    return [percent_lines(ctx.spec_path, ctx.names.spec_file, wanted)] if wanted else []


def exit_code(flags: Step, code: Step) -> int:
    return {(False, False): OK, (True, False): FLAGS_FAILED, (False, True): CODE_FAILED,
            (True, True): BOTH_FAILED}[(flags.error is not None, code.error is not None)]


def run(ctx: Context, reason: str) -> Result:
    who = audit.who(ctx.clients)
    when = audit.now()
    description = f"{appconfig.live.ROLLBACK_MARK} by {who['user']} at {when}: {reason}"
    flags, code = Step("flags"), Step("code")
    served = _attempt(flags, lambda: _flags(ctx, description, flags))
    _attempt(code, lambda: _code(ctx, code))
    changes = _attempt(flags, lambda: spec_changes(ctx, served)) or []
    steps = {"flags": flags.to_json(), "code": code.to_json()}
    acted = bool(flags.actions or code.actions or flags.error or code.error)
    entry = {"env": ctx.env, "when": when, "who": who, "why": reason, "actions": flags.actions + code.actions,
             "steps": steps, "specChanges": changes}
    path = audit.record(ctx.root, ctx.env, entry) if acted else None
    result = exit_code(flags, code)
    data = {**entry, "auditRecord": str(path) if path else None, "nothingToDo": not acted}

    def view(out: Console) -> None:
        if not acted:
            out.print("[green]nothing left to do[/]: " + "; ".join(flags.found + code.found))
        for a in flags.actions + code.actions:
            out.print(f"[bold red]{a['action']}[/]: " + ", ".join(f"{k}={v}" for k, v in a.items() if k != "action"))
        if acted:
            for note in flags.found + code.found:
                out.print(note)
        for line in changes:
            out.print(f"reconcile Terraform (or the next `make apply` deploys the canary again): {line}")
            # With the controller on, a ramp by hand is refused: --sync writes what is served.
            edits = ([f"`cutover ramp --sync --env {ctx.env}`"] if ctx.names.state_machine else
                     [f"`cutover ramp --env {ctx.env} --path {ctx.names.paths[i].name} --to {v:g}`"
                      for i, v in _wanted(ctx, served).items()])
            out.print("make the edit with " + " and ".join(edits) + ", then commit it with the audit record")
        if path:
            out.print(f"audit record: {path} (who {who['user']} / {who['awsIdentity']}, when {when}, why: {reason})")
        err = console(stderr=True)
        for step in (flags, code):
            if step.error:
                err.print(f"cutover rollback: the {step.name} step failed: {step.error}", markup=False, soft_wrap=True)

    return Result("rollback", result, data, view)
