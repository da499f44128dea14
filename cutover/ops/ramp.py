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

import contextlib
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


def _target(ctx: Context, index: int, to: float | None) -> float | None:
    """The step to go to; None at the last step without --to (nothing to ramp)."""
    path = ctx.names.paths[index]
    allowed = (0.0, *path.steps)
    if to is not None:
        if to not in allowed:
            raise OpsError(f"--to {to:g} is not a step of {path.name}; allowed: {', '.join(f'{s:g}' for s in allowed)}")
        return to
    return next_step(path.canary_percent, path.steps)


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

    # What the build, plan and apply print goes to stderr: stdout is the result (--json).
    build = subprocess.run([sys.executable, str(ctx.root / "functions" / "build.py")], check=False, cwd=ctx.root,
                           stdout=2)
    if build.returncode:
        return build.returncode
    layout = workspace.Layout(ctx.root)
    try:
        with contextlib.redirect_stdout(sys.stderr):
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
    if target is None:
        # The last step: an hourly ramp has nothing to do from now on, which is not a failure.
        data = {"env": ctx.env, "path": path.name, "from": path.canary_percent, "to": None, "changed": False}
        note = (f"{path.name} is at {path.canary_percent:g}%, the last step: nothing to ramp; completing the "
                f"release is a decision of its own (phase: complete, docs/operations.md)")
        return Result("ramp", OK, {**data, "note": note}, lambda o: o.print(note))
    data: dict[str, Any] = {"env": ctx.env, "path": path.name, "from": path.canary_percent, "to": target}
    edited = target == path.canary_percent
    if edited and not apply:
        return Result("ramp", OK, {**data, "changed": False},
                      lambda o: o.print(f"{path.name} is already at {target:g}% in {ctx.names.spec_file}: nothing to "
                                        f"edit (`--apply` applies it)"))
    refused = _refusal(ctx, path, target, data, edited, since)
    if refused is not None:
        return refused
    if edited:
        data["changed"] = False
    else:
        _edit(ctx, index, target, data)
    code = OK
    if apply:
        data["applyExitCode"] = applied = plan_and_apply(ctx)
        # `cutover apply` exits 3 when a flag deployment started meanwhile: hold, not failure.
        code = applied if applied in (OK, HOLD) else FAILED
    return Result("ramp", code, data, _view(ctx, path.name, path.canary_percent, target, data, apply))


def _refusal(ctx: Context, path, target: float, data: dict[str, Any], edited: bool, since: int) -> Result | None:
    """A flag deployment in flight, what is served moved away from the spec, or the gate
    not saying PROMOTE: the Result that refuses, or None. `edited`: the spec already says
    `target` (the apply of a reviewed edit): the served step is compared with it."""
    flags, happened = _flags(ctx)
    busy = flags.in_progress
    if busy is not None:
        reason = (f"flag deployment {busy.number} is {busy.state} ({busy.percent_complete:g}% done); "
                  "AppConfig runs one deployment per environment: ramp again once it is COMPLETE")
        return Result("ramp", HOLD, {**data, "changed": False, "refused": reason}, lambda o: o.print(f"[yellow]refused[/]: {reason}"))
    served = flags.canary.get(path.name)
    spec_step = path.canary_percent
    moved = served is not None and served != spec_step and (not edited or happened() is not None)
    if moved:
        # The guard, a rollback or a revert moved what is served away from the spec.
        data["served"], data["happened"] = served, happened()
        if target > (served if edited else spec_step):
            reason = (f"{data['happened'] or f'AppConfig serves {served:g}%'}: the spec says {spec_step:g}%, "
                      f"{served:g}% is served; make the spec say what is served first "
                      f"(`cutover ramp --env {ctx.env} --path {path.name} --to {served:g}`, no gate), then ramp")
            return Result("ramp", FAILED, {**data, "changed": False, "refused": reason},
                          lambda o: o.print(f"[red]refused[/]: {reason}"))
    if target > (served if edited and served is not None else spec_step):
        return _gate(ctx, data, since)
    return None


def _gate(ctx: Context, data: dict[str, Any], since: int) -> Result | None:
    """None on PROMOTE; otherwise the HOLD or ROLLBACK with the whole table of reasons."""
    from cutover.analysis.report import print_analysis
    from cutover.ops.analyze import evaluate

    analysis, _ = evaluate(ctx, since)
    data["analysis"] = analysis.to_json()
    if analysis.verdict.value == "PROMOTE":
        return None

    def view(out: Console) -> None:
        print_analysis(analysis, out)
        out.print(f"[yellow]{analysis.verdict.value}[/]: {analysis.reason}; the spec is unchanged", soft_wrap=True)

    return Result("ramp", analysis.exit_code, {**data, "changed": False}, view)


def _edit(ctx: Context, index: int, target: float, data: dict[str, Any]) -> None:
    old = ctx.spec_path.read_text(encoding="utf-8")
    new, changes = spec_edit.set_canary_percent(old, ctx.names.spec_file, index, target)
    spec_edit.write_validated(ctx.spec_path, new, ctx.env)
    data.update(changed=True, changes=[c.describe(ctx.names.spec_file) for c in changes],
                diff=spec_edit.diff(old, new, ctx.names.spec_file))


def _view(ctx: Context, path: str, old: float, target: float, data: dict[str, Any],
          apply: bool) -> Callable[[Console], None]:
    def view(out: Console) -> None:
        if data.get("happened"):
            out.print(f"[yellow]{data['happened']}[/]")
        if not data.get("changed"):
            out.print(f"{path}: the spec already says {target:g}%; applied it (exit {data.get('applyExitCode')})")
            return
        out.print(f"{path}: {old:g}% -> {target:g}%")
        out.print(Syntax(data["diff"], "diff", theme="ansi_dark", background_color="default"))
        if not apply:
            # The exact step just written: a bare `--apply` would attempt the step after it.
            out.print(f"review and commit {ctx.names.spec_file}, then `make plan ENV={ctx.env}` and "
                      f"`make apply ENV={ctx.env}` (or `cutover ramp --env {ctx.env} --path {path} "
                      f"--to {target:g} --apply`)", soft_wrap=True)

    return view
