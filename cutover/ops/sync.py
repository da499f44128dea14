"""`cutover ramp --sync`: make the spec say what is served, for every read path, and keep
the controller's decisions in the audit file.

The controller (or the guard, or `cutover rollback`) moves what AppConfig serves without
touching the spec. `--sync` sets each read path's `canary.percent` (and the phase that
follows) to the served percent, one line each, through ops/spec_edit (validated, written
atomically, the diff shown); no gate: it records what is already true. With the
controller enabled it also appends the audit entries the controller function returned in
the recent executions' histories to `audit/<env>.jsonl`, each once (an entry keeps its
`controllerEvent`: execution ARN and history event id). With the controller enabled the
flag deployment ignores the document's content (terraform/modules/feature_flags), so the
next `make apply` plans no flag deployment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.syntax import Syntax

from cutover.ops import appconfig, audit, controller, spec_edit
from cutover.ops.aws import aws_errors
from cutover.ops.context import Context
from cutover.ops.output import HOLD, OK, Result


def _served(ctx: Context) -> appconfig.Flags:
    client = ctx.clients("appconfig")
    with aws_errors("read what AppConfig serves"):
        return appconfig.read(client, appconfig.resolve(client, ctx.names), ctx.names)


def edit(ctx: Context, served: dict[str, float], data: dict[str, Any]) -> None:
    """Set every path whose spec percent differs from the served one; the diff in `data`."""
    wanted = {i: served[p.name] for i, p in enumerate(ctx.names.paths)
              if p.name in served and served[p.name] != p.canary_percent}
    if not wanted:
        return
    old = text = ctx.spec_path.read_text(encoding="utf-8")
    changes: dict[str, spec_edit.Change] = {}
    for index, percent in sorted(wanted.items()):
        text, made = spec_edit.set_canary_percent(text, ctx.names.spec_file, index, percent)
        for change in made:
            first = changes.get(change.yaml_path)
            changes[change.yaml_path] = spec_edit.Change(change.yaml_path, change.line,
                                                         first.old if first else change.old, change.new)
    spec_edit.write_validated(ctx.spec_path, text, ctx.env)
    data.update(changed=True, diff=spec_edit.diff(old, text, ctx.names.spec_file),
                changes=[c.describe(ctx.names.spec_file) for c in sorted(changes.values(), key=lambda c: c.line)
                         if c.old != c.new])


def _seen(path: Path) -> set[tuple[str, int]]:
    seen = set()
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                source = json.loads(line).get("controllerEvent") or {}
            except (ValueError, AttributeError):
                continue
            seen.add((str(source.get("execution")), int(source.get("id") or 0)))
    return seen


def keep_decisions(ctx: Context) -> list[dict[str, Any]]:
    """Append the controller's audit entries of the recent executions not yet in the file."""
    name = controller.state_machine(ctx)
    runs = controller.executions(ctx, controller.machine_arn(ctx, name), limit=controller.RECENT)
    seen = _seen(ctx.root / "audit" / f"{ctx.env}.jsonl")
    added = []
    for run in reversed(runs):  # oldest first, as they happened
        for entry in controller.decisions(controller.history(ctx, run["executionArn"]), run["executionArn"]):
            key = (entry["controllerEvent"]["execution"], int(entry["controllerEvent"]["id"] or 0))
            if key not in seen:
                seen.add(key)
                audit.record(ctx.root, ctx.env, entry)
                added.append(entry)
    return added


def run(ctx: Context) -> Result:
    flags = _served(ctx)
    data: dict[str, Any] = {"env": ctx.env, "served": flags.canary, "changed": False, "changes": [], "diff": "",
                            "spec": {"canaryPercent": {p.name: p.canary_percent for p in ctx.names.paths}},
                            "auditAdded": [], "auditRecord": None}
    busy = flags.in_progress
    if busy is not None:
        reason = (f"flag deployment {busy.number} is {busy.state} ({busy.percent_complete:g}% done): what is served "
                  f"is moving; sync again once it is COMPLETE")
        return Result("ramp", HOLD, {**data, "refused": reason}, lambda o: o.print(f"[yellow]refused[/]: {reason}"))
    edit(ctx, flags.canary, data)
    if ctx.names.state_machine is not None:
        data["auditAdded"] = keep_decisions(ctx)
        data["auditRecord"] = str(ctx.root / "audit" / f"{ctx.env}.jsonl") if data["auditAdded"] else None
    return Result("ramp", OK, data, _view(ctx, data))


def _view(ctx: Context, data: dict[str, Any]):
    def view(out: Console) -> None:
        if not data["changed"]:
            out.print("the spec already says what is served: " + (
                ", ".join(f"{p} {v:g}%" for p, v in data["served"].items()) or "no flag deployment completed yet"))
        else:
            out.print(Syntax(data["diff"], "diff", theme="ansi_dark", background_color="default"))
        if data["auditAdded"]:
            out.print(f"{len(data['auditAdded'])} controller decisions appended to {data['auditRecord']}")
        if data["changed"] or data["auditAdded"]:
            then = ("; the next `make apply` plans no flag deployment" if ctx.names.state_machine else "")
            out.print(f"review and commit {ctx.names.spec_file}"
                      f"{' and ' + data['auditRecord'] if data['auditRecord'] else ''}{then}", soft_wrap=True)

    return view
