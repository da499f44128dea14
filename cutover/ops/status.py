"""`cutover status`: the spec against what is live, and every drift with its fix."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from cutover.ops import appconfig, codedeploy, lambdas
from cutover.ops.aws import OpsError, aws_errors
from cutover.ops.context import Context
from cutover.ops.output import FAILED, OK, Result, table


def _flag_fix(ctx: Context, flags: appconfig.Flags, who: str | None, path: str, have: float) -> str:
    """The fix for a served canary that differs from the spec. `who` started the
    deployment in progress, or else the served one (live.started_by)."""
    running = flags.in_progress
    spec_edit = (f"set {path} canary.percent to {{have:g}} in {ctx.names.spec_file} "
                 f"(`cutover ramp --env {ctx.env} --path {path} --to {{have:g}}`) and commit it; "
                 f"not `make apply`, which would deploy the canary again")
    if running is not None and who in appconfig.WHO:
        return f"wait for deployment {running.number} ({running.state}) to complete, then {spec_edit.format(have=0)}"
    if running is not None:
        return (f"wait for AppConfig deployment {running.number} ({running.state}) to finish, "
                f"or `cutover rollback --env {ctx.env} --reason ...`")
    if ctx.names.state_machine is not None:
        # The controller moves what is served; Terraform no longer redeploys the spec's step.
        return (f"`cutover ramp --sync --env {ctx.env}` (the spec := what is served) and commit it; "
                "the next `make apply` then plans no flag deployment")
    if who in appconfig.WHO or (flags.latest is not None and flags.latest.rolled_back):
        return spec_edit.format(have=have)
    return f"make plan ENV={ctx.env} && make apply ENV={ctx.env}"


def _flags(ctx: Context, drift: list[dict[str, Any]]) -> dict[str, Any]:
    names = ctx.names
    if names.appconfig_application is None:
        return {}
    client = ctx.clients("appconfig")
    with aws_errors("read the AppConfig environment and its deployments"):
        ids = appconfig.resolve(client, names)
        flags = appconfig.read(client, ids, names)
        running = flags.in_progress
        who = appconfig.started_by(client, ids, running) if running is not None else None
        # A canary-off deployment of the guard or of a rollback is what will be served.
        coming = {p: 0.0 for p in flags.canary} if who in appconfig.WHO else flags.canary
        differ = [p for p in names.paths if p.name in coming and coming[p.name] != p.canary_percent]
        if differ and running is None and flags.live is not None:
            who = appconfig.started_by(client, ids, flags.live)  # the guard, a rollback, Terraform?
    for p in differ:
        have = coming[p.name]
        going = f" (going to {have:g})" if have != flags.canary[p.name] else ""
        drift.append({"what": f"{p.name} canary percent{going}", "live": flags.canary[p.name], "spec": p.canary_percent,
                      "fix": _flag_fix(ctx, flags, who, p.name, have)})
    if running is not None and who in appconfig.WHO:
        happened = f"{appconfig.WHO[who]} is turning the canary off (deployment {running.number}, {running.state})"
    else:
        happened = appconfig.happened(flags, None if running else who)
    return {**flags.to_json(), "happened": happened}


def _aliases(ctx: Context, drift: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names, out = ctx.names, []
    lam, cd = ctx.clients("lambda"), ctx.clients("codedeploy")
    for p in names.paths:
        for function in filter(None, (p.router, p.candidate)):
            with aws_errors(f"read alias {function}:{p.alias} and its CodeDeploy deployments"):
                state = lambdas.alias_state(lam, function, p.alias)
                active = codedeploy.active(cd, names.codedeploy_application, function)
            out.append({"function": function, "alias": p.alias, "version": state.version,
                        "weights": state.weights, "split": state.split, "latestVersion": state.latest,
                        "codeDeploy": [d.__dict__ for d in active]})
            if state.weights and not active:
                drift.append({"what": f"{function}:{p.alias} split ({state.split}) with no deployment running",
                              "live": state.split, "spec": "100% on one version",
                              "fix": f"cutover deploy --env {ctx.env} --function {function} (or `cutover rollback --env {ctx.env} --reason ...`)"})
            elif state.undeployed and not active:
                drift.append({"what": f"{function} version {state.latest} published but {p.alias} serves {state.version}",
                              "live": state.version, "spec": state.latest,
                              "fix": f"cutover deploy --env {ctx.env} --function {function}"})
    return out


def _alarms(ctx: Context, drift: list[dict[str, Any]]) -> dict[str, str]:
    names = ctx.names
    with aws_errors("describe the release's alarms (cloudwatch:DescribeAlarms)"):
        answer = ctx.clients("cloudwatch").describe_alarms(
            AlarmNames=list(names.alarms), AlarmTypes=["CompositeAlarm", "MetricAlarm"])
    states = {a["AlarmName"]: a["StateValue"] for a in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])}
    for name in names.alarms:
        if name not in states:
            drift.append({"what": f"alarm {name} missing", "live": None, "spec": "defined",
                          "fix": f"make plan ENV={ctx.env} && make apply ENV={ctx.env}"})
    if states.get(names.rollback_alarm) == "ALARM":
        drift.append({"what": f"{names.rollback_alarm} is in ALARM", "live": "ALARM", "spec": "OK",
                      "fix": f"cutover monitor --env {ctx.env}; if it is real, `cutover rollback --env {ctx.env} --reason ...`"})
    return states


def _controller(ctx: Context, flags: dict[str, Any], drift: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The controller's reading (ops/controller), only when the spec enables it."""
    if ctx.names.state_machine is None:
        return None
    from cutover.ops import controller

    try:
        return controller.reading(ctx, flags.get("canaryPercent"))
    except controller.NotApplied as exc:
        drift.append({"what": f"controller state machine {ctx.names.state_machine} missing", "live": None,
                      "spec": "delivery.controller enabled", "fix": f"make plan ENV={ctx.env} && make apply ENV={ctx.env}"})
        return {"stateMachine": ctx.names.state_machine, "error": str(exc)}
    except OpsError as exc:
        return {"stateMachine": ctx.names.state_machine, "error": str(exc)}


def _controller_view(ctx: Context, reading: dict[str, Any] | None, out: Console) -> None:
    from cutover.ops import controller

    if reading is None:
        return
    if "error" in reading:
        out.print(f"controller: state machine {reading['stateMachine']}: [red]{reading['error']}[/]", soft_wrap=True)
        return
    for line in controller.lines(ctx, {**reading, "served": None}):  # served: the table above says it
        out.print(line, soft_wrap=True)


def run(ctx: Context) -> Result:
    drift: list[dict[str, Any]] = []
    flags = _flags(ctx, drift)
    aliases = _aliases(ctx, drift)
    alarms = _alarms(ctx, drift)
    controller = _controller(ctx, flags, drift)
    data = {"env": ctx.env, "phase": ctx.names.phase,
            "spec": {"canaryPercent": {p.name: p.canary_percent for p in ctx.names.paths}},
            "flags": flags, "aliases": aliases, "alarms": alarms, "drift": drift,
            **({"controller": controller} if controller is not None else {})}

    def view(out: Console) -> None:
        out.print(f"[bold]{ctx.names.release}[/] ({ctx.env}), phase {ctx.names.phase}")
        if flags:
            latest, served = flags["latest"], flags["served"]
            out.print(f"flags: latest deployment {latest['number']} {latest['state']} version {latest['version']} "
                      f"({latest['percentComplete']:g}% complete); served: version {served['version']} "
                      f"(deployment {served['number']})" if latest and served else
                      f"flags: latest deployment {latest['number']} {latest['state']}, nothing served yet"
                      if latest else "flags: never deployed")
            if flags["happened"]:
                out.print(f"[yellow]{flags['happened']}[/]")
            out.print(table("canary percent", ["path", "spec", "served"],
                            [[p.name, f"{p.canary_percent:g}", flags["canaryPercent"].get(p.name)] for p in ctx.names.paths]))
        out.print(table("aliases", ["function", "alias", "version", "traffic split", "latest", "CodeDeploy"],
                        [[a["function"], a["alias"], a["version"], a["split"], a["latestVersion"],
                          ", ".join(f"{d['id']} {d['status']}" for d in a["codeDeploy"])] for a in aliases]))
        out.print(table("alarms", ["alarm", "state"], [[n, alarms.get(n, "MISSING")] for n in ctx.names.alarms]))
        _controller_view(ctx, controller, out)
        if drift:
            out.print(table("[red]drift[/]", ["what", "live", "spec", "fix"],
                            [[d["what"], d["live"], d["spec"], d["fix"]] for d in drift]))
        else:
            out.print("[green]no drift[/]: live matches the spec")

    return Result("status", FAILED if drift else OK, data, view)
