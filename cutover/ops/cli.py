"""The operations subcommands of `cutover`: their arguments (`register`) and their bodies (`run`).

`cutover.cli` registers them beside the generator's and the rehearsal's.

Every command takes `--env` (default production) and `--json`; exit codes are those of
`cutover.ops.output` (docs/operations.md): 0 ok, 1 failed or drift, 2 bad input or missing
credentials/region/permission/resource, 3 hold, 4 rollback, 130 interrupted. With `--json`,
stdout is one JSON document on success and on error (`cutover.ops.output.error_document`).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

COMMANDS = ("status", "analyze", "ramp", "deploy", "rollback", "preflight", "monitor", "query", "traces", "cost",
            "controller", "approve", "reject")
DURATION = re.compile(r"^(\d+)([smhd])$")


def duration(text: str) -> int:
    """'90s', '15m', '1h', '2d' -> seconds."""
    match = DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration: use N followed by s, m, h or d (e.g. 1h)")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def positive_duration(text: str) -> int:
    """A duration of at least one second ('0s' is an empty window)."""
    seconds = duration(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is an empty window: use at least 1s (e.g. 30m, 1h, 2d)")
    return seconds


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds: use e.g. 0.5 or 2") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration: use a number of seconds above 0 (e.g. 0.5 or 2)")
    return seconds


def _common(p: argparse.ArgumentParser, env_default: str | None = "production") -> None:
    p.add_argument("--env", default=env_default, help="environment (config/<env>.release.yaml)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")


def command_name(args: argparse.Namespace) -> str:
    """The command as typed ("controller start"), as every result and error names it."""
    action = getattr(args, "controller_command", None)
    return f"{args.command} {action}" if args.command == "controller" and action else args.command


def _controller(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser("controller", help="the controller (Step Functions) that walks the canary: start, status, stop")
    actions = top.add_subparsers(dest="controller_command", required=True, metavar="{start,status,stop}")
    _common(actions.add_parser("start", help="start an execution (refused while one is running)"))
    _common(actions.add_parser("status", help="the newest execution: where it is, what it decided, what it waits for"))
    p = actions.add_parser("stop", help="stop the running execution (the canary stays where it is)")
    _common(p)
    p.add_argument("--reason", required=True, help="why (required: kept in the audit record)")
    p = sub.add_parser("approve", help="answer the controller's question: promote the step it holds")
    _common(p)
    p.add_argument("--reason", help="why (kept in the audit record)")
    p = sub.add_parser("reject", help="answer the controller's question: end the walk, the step stays")
    _common(p)
    p.add_argument("--reason", required=True, help="why (required: kept in the audit record)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="spec against live: flags, aliases, CodeDeploy, alarms, drift")
    _common(p)
    p = sub.add_parser("rollback", help="break glass: canary off, code deployments stopped with rollback")
    _common(p)
    p.add_argument("--reason", required=True, help="why (required: kept in the audit record)")
    p = sub.add_parser("deploy", help="ship a published function version through CodeDeploy")
    _common(p)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--function", help="the function to deploy")
    target.add_argument("--all", action="store_true", help="every function whose alias lags its newest version")
    p.add_argument("--version", help="the version to ship (default: the newest published)")
    p.add_argument("--no-wait", dest="wait", action="store_false", help="start it and return")
    p = sub.add_parser("ramp", help="edit the spec to the next canary step when the analysis says PROMOTE")
    _common(p)
    p.add_argument("--to", type=float, metavar="N", help="this step instead of the next (0 or a step; down needs no gate)")
    p.add_argument("--apply", action="store_true", help="then build, plan and apply (make plan + make apply)")
    p.add_argument("--path", help="read path (default: the first)")
    p.add_argument("--since", type=positive_duration, default=3600, help="the gate's window (default 1h)")
    p.add_argument("--sync", action="store_true", help="make the spec say what is served, every path, no gate; "
                                                       "and keep the controller's decisions in audit/<env>.jsonl")
    p = sub.add_parser("monitor", help="traffic, errors and p95 per route, alarms, deployments, recent logs")
    _common(p)
    p.add_argument("--watch", action="store_true", help="refresh until interrupted")
    p.add_argument("--interval", type=duration, default=30, help="--watch refresh (default 30s)")
    p.add_argument("--traffic", type=int, default=0, metavar="N", help="first send N test invocations (synthetic users)")
    p.add_argument("--since", type=duration, default=900, help="metrics window (default 15m)")
    p = sub.add_parser("cost", help="monthly cost of the release next to the control-only baseline")
    _common(p)
    p.add_argument("--requests-per-month", type=int, default=1_000_000, metavar="N")
    p.add_argument("--percent", type=float, help="canary percent to price (default: the spec's)")
    p.add_argument("--db-instance", default="db.t3.micro", help="the PostgreSQL instance class, for the side line")
    p = sub.add_parser("traces", help="X-Ray traces by the annotations the functions write")
    _common(p)
    p.add_argument("--canary", action="store_true", help="canary requests only")
    p.add_argument("--errors", action="store_true", help="errors and faults only")
    p.add_argument("--slow", type=_positive_seconds, metavar="SECONDS", help="at least this long (more than 0)")
    p.add_argument("--user", metavar="ID", help="one user (hashed as the functions hash it)")
    p.add_argument("--since", type=positive_duration, default=3600, help="how far back (e.g. 30m, 1h, 2d; default 1h)")
    p.add_argument("--path", help="read path (default: the first)")
    p = sub.add_parser("query", help="run one of the generated Logs Insights queries")
    _common(p)
    p.add_argument("name", help="query slug (user-read-error-rate) or template (error-rate)")
    p.add_argument("--since", type=duration, default=3600, help="how far back (default 1h)")
    p = sub.add_parser("preflight", help="the readiness checks before a beta (a table; exit 1 if any fails)")
    _common(p)
    p.add_argument("--check", action="append", dest="only", metavar="ID", help="run only this check (repeatable)")
    _controller(sub)


def run(args: argparse.Namespace, root: Path, clients=None) -> int:
    """Run one operations command; `clients` (cutover.ops.aws.Clients) replaces the default AWS clients."""
    # Imported here so that `cutover render` and friends never load boto3 or rich.
    import botocore.exceptions

    from cutover.ops import names as names_mod
    from cutover.ops.aws import REGION, Clients, OpsError, describe
    from cutover.ops.context import Context
    from cutover.ops.output import MISSING, emit, emit_error

    as_json = getattr(args, "json", False)
    command = command_name(args)
    token = REGION.set(None)
    try:
        names, spec, plan = names_mod.load(root, args.env)
        clients = clients or Clients(names.region)
        REGION.set(clients.region or clients.session.region_name)
        if args.command not in ("cost",):
            clients.require_credentials()
        ctx = Context(root, names, spec, clients, plan)
        result = _dispatch(args, ctx)
    except OpsError as exc:
        return emit_error(command, str(exc), exc.code, getattr(exc, "kind", "input"), as_json)
    except KeyboardInterrupt:
        return emit_error(command, "interrupted", 130, "interrupted", as_json)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        # Anything AWS raised outside a described call (a broken profile, say): one sentence.
        sentence = describe(exc, f"run {command}") or f"AWS: {exc}"
        return emit_error(command, sentence, MISSING, "aws", as_json)
    finally:
        REGION.reset(token)
    if isinstance(result, int):  # `monitor --watch` printed as it went: its exit code alone
        return result
    return emit(result, as_json)


def doctor(root: Path, env: str, clients=None) -> int:
    """`cutover doctor --env E`, its AWS half: 0 when the operations commands have what
    they need, 1 when something is missing (each with how to fix it)."""
    from cutover.ops import doctor as doctor_mod
    from cutover.ops import names as names_mod
    from cutover.ops.aws import Clients

    names = names_mod.load(root, env)[0]
    clients = clients or Clients(names.region)
    report = doctor_mod.check(clients, names.region)
    print(f"AWS for {env}:")
    print(report.text())
    return 1 if report.problems else 0


def _dispatch(args: argparse.Namespace, ctx):
    from cutover.ops.aws import OpsError
    from cutover.ops.output import console

    if args.command == "status":
        from cutover.ops import status

        return status.run(ctx)
    if args.command == "rollback":
        from cutover.ops import rollback

        return rollback.run(ctx, args.reason)
    if args.command == "deploy":
        from cutover.ops import deploy, lambdas

        if args.all:
            functions = [f for f in ctx.names.deployment_groups
                         if lambdas.alias_state(ctx.clients("lambda"), f, deploy._alias_of(ctx, f)).undeployed]
        else:
            functions = [args.function]
        return deploy.run(ctx, functions, args.version, args.wait, None if args.json else console())
    if args.command == "analyze":
        from cutover.ops import analyze

        return analyze.run(ctx, args.since, args.gate, args.save)
    if args.command == "ramp":
        return _ramp(args, ctx)
    if args.command in ("controller", "approve", "reject"):
        return _controller_run(args, ctx)
    if args.command == "monitor":
        from cutover.ops import monitor

        if args.traffic < 0:
            raise OpsError("--traffic must be 0 or more")
        if args.watch and not args.json:
            return monitor.watch(ctx, args.since, args.traffic, args.interval)
        return monitor.run(ctx, args.since, args.traffic)
    if args.command == "cost":
        return _cost(args, ctx)
    if args.command == "traces":
        return _traces(args, ctx)
    if args.command == "query":
        from cutover.ops import query

        return query.run(ctx, ctx.plan, args.name, args.since)
    if args.command == "preflight":
        from cutover.ops import preflight

        return preflight.run(ctx, args.only)
    raise OpsError(f"unknown command {args.command}")


def _sync(args: argparse.Namespace, ctx):
    from cutover.ops import sync
    from cutover.ops.aws import OpsError

    given = [flag for flag, value in (("--to", args.to), ("--apply", args.apply), ("--path", args.path)) if value]
    if given:
        raise OpsError(f"--sync makes the spec say what is served for every read path, with nothing to apply: "
                       f"drop {', '.join(given)}")
    return sync.run(ctx)


def _ramp(args: argparse.Namespace, ctx):
    from cutover.ops import ramp
    from cutover.ops.aws import OpsError

    if args.sync:
        return _sync(args, ctx)
    if ctx.names.state_machine:
        # With the controller on, `make apply` never deploys a step (feature_flags.controller_enabled):
        # a step written by hand would sit in the spec, unserved. Say who walks instead.
        raise OpsError(
            f"the controller walks the steps of {ctx.env} (delivery.controller.enabled in {ctx.names.spec_file}), "
            f"and `make apply` does not deploy a step written by hand: start it with `cutover controller start "
            f"--env {ctx.env}`, write the step it reached into the spec with `cutover ramp --sync --env {ctx.env}`, "
            "or turn it off (enabled: false, then make plan/apply) to ramp by hand")
    return ramp.run(ctx, args.to, args.apply, args.path, args.since)


def _controller_run(args: argparse.Namespace, ctx):
    from cutover.ops import controller

    if args.command == "approve":
        return controller.answer(ctx, True, args.reason)
    if args.command == "reject":
        return controller.answer(ctx, False, args.reason)
    run = {"start": controller.start, "status": controller.status}.get(args.controller_command)
    return run(ctx) if run else controller.stop(ctx, args.reason)


def _cost(args: argparse.Namespace, ctx):
    from cutover.ops import cost
    from cutover.ops.aws import OpsError

    if args.requests_per_month <= 0:
        raise OpsError("--requests-per-month must be a positive number")
    if args.percent is not None and not 0 <= args.percent <= 100:
        raise OpsError(f"--percent {args.percent:g} is not a canary share: allowed 0 to 100")
    if args.db_instance not in cost.prices()["rds"]:
        known = ", ".join(k for k in cost.prices()["rds"] if k.startswith("db."))
        raise OpsError(f"--db-instance {args.db_instance} is not in cutover/ops/prices.json (known: {known})")
    a = cost.Assumptions(requests=args.requests_per_month, db_instance=args.db_instance)
    return cost.run(ctx, a, args.percent)


def _traces(args: argparse.Namespace, ctx):
    from cutover.ops import traces
    from cutover.ops.aws import OpsError

    try:
        ctx.names.path(args.path)
    except KeyError:
        raise OpsError(f"no read path '{args.path}' in {ctx.env}") from None
    return traces.run(ctx, args.since, args.path, canary=args.canary, errors=args.errors,
                      slow=args.slow, user=args.user)
