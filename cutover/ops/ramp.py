"""`cutover ramp`: move a read path to its next canary step (or --to N) when the
analysis says PROMOTE.

Order: refuse while a flag deployment or its bake is in progress (AppConfig allows one
deployment per environment at a time); refuse to ramp up when what is served is not the
spec's step (the guard, `cutover rollback` or a revert moved it: the spec must say so
first — a ROLLED_BACK or REVERTED deployment is not in flight, it is what happened);
run the gate (ramping up only, on what is served); edit the spec
(one line, plus the phase when it must follow) keeping every other byte; show the diff;
with --apply, build, plan and apply exactly as `make plan` / `make apply` do.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.syntax import Syntax

from cutover.ops import appconfig, spec_edit
from cutover.ops.aws import OpsError, aws_errors
from cutover.ops.context import Context
from cutover.ops.output import FAILED, HOLD, OK, Result


def next_step(current: float, steps: tuple[float, ...]) -> float | None:
    return next((s for s in steps if s > current), None)


def _target(ctx: Context, index: int, to: float | None) -> float:
    path = ctx.names.paths[index]
    allowed = (0.0, *path.steps)
    if to is not None:
        if to not in allowed:
            raise OpsError(f"--to {to:g} is not a step of {path.name}; allowed: {', '.join(f'{s:g}' for s in allowed)}")
        return to
    nxt = next_step(path.canary_percent, path.steps)
    if nxt is None:
        raise OpsError(f"{path.name} is at {path.canary_percent:g}%, the last step; completing the release "
                       f"is a decision of its own (phase: complete, docs/operations.md)")
    return nxt


def _flags(ctx: Context) -> tuple[appconfig.Flags, Callable[[], str | None]]:
    """What the environment serves and moves, and a way to say what happened to it."""
    client = ctx.clients("appconfig")
    with aws_errors("read the flag deployments (AppConfig)"):
        ids = appconfig.resolve(client, ctx.names)
        flags = appconfig.read(client, ids, ctx.names)

    def happened() -> str | None:
        with aws_errors("read who started the served flag deployment (AppConfig)"):
            who = appconfig.started_by(client, ids, flags.live) if flags.live is not None else None
        return appconfig.happened(flags, who)

    return flags, happened


def plan_and_apply(ctx: Context) -> int:
    """`make build`, then plan and apply this environment (what `make plan` + `make apply` do).

    0 applied; 3 (hold) when a flag deployment runs meanwhile: apply again once it is done;
    otherwise the refusal's or 1, with the reason on stderr."""
    from cutover.generator import workspace
    from cutover.generator.terraform.emulator import EmulatorError
    from cutover.generator.terraform.run import ApplyRefused
    from cutover.generator.terraform.toolchain import ToolchainError
    from cutover.generator.terraform.wrapper import TerraformError

    build = subprocess.run([sys.executable, str(ctx.root / "functions" / "build.py")], check=False, cwd=ctx.root)
    if build.returncode:
        return build.returncode
    layout = workspace.Layout(ctx.root)
    try:
        workspace.plan_env(layout, ctx.env, use_emulator=False)
        workspace.apply_env(layout, ctx.env)
    except ApplyRefused as refused:
        print(f"cutover ramp: {refused}", file=sys.stderr)
        return refused.exit_code
    except (TerraformError, ToolchainError, EmulatorError) as error:
        print(f"cutover ramp: {error}", file=sys.stderr)
        return FAILED
    return OK


def run(ctx: Context, to: float | None, apply: bool, path_name: str | None, since: int) -> Result:
    try:
        index = [p.name for p in ctx.names.paths].index(path_name) if path_name else 0
    except ValueError:
        raise OpsError(f"no read path '{path_name}' in {ctx.env}") from None
    path = ctx.names.paths[index]
    target = _target(ctx, index, to)
    data: dict[str, Any] = {"env": ctx.env, "path": path.name, "from": path.canary_percent, "to": target}
    if target == path.canary_percent:
        return Result("ramp", OK, {**data, "changed": False}, lambda o: o.print(f"{path.name} is already at {target:g}%"))
    flags, happened = _flags(ctx)
    busy = flags.in_progress
    if busy is not None:
        reason = (f"flag deployment {busy.number} is {busy.state} ({busy.percent_complete:g}% done); "
                  "AppConfig runs one deployment per environment: ramp again once it is COMPLETE")
        return Result("ramp", HOLD, {**data, "changed": False, "refused": reason}, lambda o: o.print(f"[yellow]refused[/]: {reason}"))
    served = flags.canary.get(path.name)
    if served is not None and served != path.canary_percent:
        # The guard, a rollback or a revert moved what is served away from the spec.
        data["served"], data["happened"] = served, happened()
        if target > path.canary_percent:
            reason = (f"{data['happened'] or f'AppConfig serves {served:g}%'}: the spec says {path.canary_percent:g}%, "
                      f"{served:g}% is served; make the spec say what is served first "
                      f"(`cutover ramp --env {ctx.env} --path {path.name} --to {served:g}`, no gate), then ramp")
            return Result("ramp", FAILED, {**data, "changed": False, "refused": reason},
                          lambda o: o.print(f"[red]refused[/]: {reason}"))
    if target > path.canary_percent:
        from cutover.ops.analyze import evaluate

        analysis, _ = evaluate(ctx, since)
        data["analysis"] = analysis.to_json()
        if analysis.verdict.value != "PROMOTE":
            return Result("ramp", analysis.exit_code, {**data, "changed": False},
                          lambda o: o.print(f"[yellow]{analysis.verdict.value}[/]: {analysis.reason}; the spec is unchanged"))
    old = ctx.spec_path.read_text(encoding="utf-8")
    new, changes = spec_edit.set_canary_percent(old, ctx.names.spec_file, index, target)
    spec_edit.write_validated(ctx.spec_path, new, ctx.env)
    diff = spec_edit.diff(old, new, ctx.names.spec_file)
    data.update(changed=True, changes=[c.describe(ctx.names.spec_file) for c in changes], diff=diff)
    code = OK
    if apply:
        data["applyExitCode"] = applied = plan_and_apply(ctx)
        # `cutover apply` exits 3 when a flag deployment started meanwhile: hold, not failure.
        code = applied if applied in (OK, HOLD) else FAILED

    def view(out: Console) -> None:
        if data.get("happened"):
            out.print(f"[yellow]{data['happened']}[/]")
        out.print(f"{path.name}: {path.canary_percent:g}% -> {target:g}%")
        out.print(Syntax(diff, "diff", theme="ansi_dark", background_color="default"))
        if not apply:
            out.print(f"review and commit {ctx.names.spec_file}, then `make plan ENV={ctx.env}` and `make apply ENV={ctx.env}` "
                      f"(or `cutover ramp --env {ctx.env} --apply`)")

    return Result("ramp", code, data, view)
