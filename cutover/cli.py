"""`cutover`: render the release, check for drift, plan and apply; operate and rehearse it.

The top layer: it parses the arguments and calls the command of the package that owns it
(`cutover.generator.commands`, `cutover.ops.cli`, `cutover.rehearsal.cli`). Nothing else
imports it.

Exit codes: 0 done; 1 drift found by --check (or a Terraform failure, or a tool missing
for `doctor`); 2 bad input (an invalid spec, an unknown environment, an invalid metrics
file), with nothing written; `analyze --gate`: 0 promote, 3 hold, 4 rollback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cutover.generator import commands
from cutover.generator.plan.flag_document import InvalidFlagDocument
from cutover.generator.spec.errors import SpecInvalid
from cutover.generator.workspace import Layout, UsageError
from cutover.ops import cli as ops_cli
from cutover.rehearsal import cli as rehearsal_cli
from cutover.sandbox import cli as sandbox_cli


def _generator_parsers(sub: argparse._SubParsersAction) -> None:
    render = sub.add_parser("render", help="render terraform/envs/<env>/ from config/<env>.release.yaml")
    group = render.add_mutually_exclusive_group()
    group.add_argument("--env", help="one environment")
    group.add_argument("--all", action="store_true", help="every config/*.release.yaml (default)")
    render.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is stale")
    validate = sub.add_parser("validate", help="validate spec files without rendering")
    validate.add_argument("specs", nargs="+", type=Path)
    sub.add_parser("schema", help="print the spec's JSON Schema")
    doctor = sub.add_parser("doctor", help="check the tools the targets need; say how to get what is missing")
    doctor.add_argument("--env", help="also check what the operations commands need from AWS for this environment: "
                                      "region, endpoint, caller identity, permissions")
    tf = sub.add_parser("terraform", help="terraform fmt, or init + validate of the rendered envs")
    tf.add_argument("action", choices=["fmt", "validate"])
    tf.add_argument("--check", action="store_true", help="fmt: list unformatted files, change none")
    tf_envs = tf.add_mutually_exclusive_group()
    tf_envs.add_argument("--env")
    tf_envs.add_argument("--all", action="store_true")
    plan = sub.add_parser("plan", help="render, then terraform plan (saved for apply)")
    plan.add_argument("--env", required=True)
    target = plan.add_mutually_exclusive_group()
    target.add_argument("--emulator", dest="emulator", action="store_true", default=None,
                        help="plan against the local AWS emulator even with credentials")
    target.add_argument("--aws", dest="emulator", action="store_false",
                        help="plan against AWS (fails without credentials)")
    apply = sub.add_parser("apply", help="apply the saved plan")
    apply.add_argument("--env", required=True)


def _analyze_parser(sub: argparse._SubParsersAction) -> None:
    """One command, two sources: a metrics file (the generator's) or CloudWatch (the operations')."""
    analyze = sub.add_parser("analyze", help="go/no-go verdict: from a metrics file (docs/analysis.md) or CloudWatch")
    analyze.add_argument("--env", default="production",
                         help="the environment whose spec guardrails judge (default production)")
    analyze.add_argument("--metrics", type=Path, help="a cutover.metrics/1 JSON file (without it: CloudWatch, --since)")
    analyze.add_argument("--json", action="store_true", help="print the analysis as JSON (cutover.analysis/1)")
    analyze.add_argument("--gate", action="store_true", help="exit 0 promote, 3 hold, 4 rollback")
    analyze.add_argument("--since", type=ops_cli.positive_duration, default=3600,
                         help="CloudWatch window when no --metrics (default 1h)")
    analyze.add_argument("--save", type=Path, metavar="FILE",
                         help="keep the metrics read from CloudWatch (replay with --metrics)")


class _Parser(argparse.ArgumentParser):
    """argparse, except that a usage error under `--json` also prints the error document
    on stdout (docs/operations.md, JSON output); subparsers are of the same class."""

    json_errors = False

    def error(self, message: str):
        if _Parser.json_errors:
            _json_error(self.prog.removeprefix("cutover").strip() or "cutover", message, 2, "usage")
        super().error(message)


def _json_error(command: str, message: str, exit_code: int, kind: str) -> None:
    import json

    from cutover.ops.output import error_document

    sys.stdout.write(json.dumps(error_document(command, message, exit_code, kind), indent=2, sort_keys=True) + "\n")


def parser() -> argparse.ArgumentParser:
    """Every command: the generator's, the operations' and the rehearsal's."""
    top = _Parser(prog="cutover", description=__doc__.splitlines()[0])
    top.add_argument("--root", type=Path, default=Path.cwd(), help="project root (default: .)")
    sub = top.add_subparsers(dest="command", required=True)
    _generator_parsers(sub)
    _analyze_parser(sub)
    ops_cli.register(sub)
    rehearsal_cli.add_parser(sub)
    sandbox_cli.register(sub)
    return top


def _generator_command(layout: Layout, args: argparse.Namespace) -> int:
    match args.command:
        case "render":
            return commands.render(layout, layout.select(args.env, args.all), args.check)
        case "validate":
            return commands.validate(args.specs)
        case "doctor":
            return commands.doctor(layout)
        case "schema":
            return commands.schema()
        case "analyze":
            return commands.analyze_file(layout, args.env, args.metrics, args.json, args.gate)
        case "rehearse":
            return rehearsal_cli.run(layout.root, args)
        case "terraform":
            return commands.terraform(layout, args.action, layout.select(args.env, args.all), args.check)
        case "plan":
            return commands.plan(layout, args.env, args.emulator)
        case _:
            return commands.apply(layout, args.env)


def main(argv: list[str] | None = None, clients: object = None) -> int:
    """`clients`: a cutover.ops.aws.Clients for the operations commands (tests inject emulated AWS)."""
    _Parser.json_errors = "--json" in (sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    layout = Layout(args.root.resolve())
    as_json = getattr(args, "json", False)
    try:
        if args.command == "sandbox":
            return sandbox_cli.run(args, layout.root)
        if args.command == "analyze" and args.metrics and args.save:
            raise UsageError("--save keeps the metrics read from CloudWatch; with --metrics FILE they are "
                             "already in FILE: drop --save, or drop --metrics to read CloudWatch")
        if args.command in ops_cli.COMMANDS and not getattr(args, "metrics", None):
            return ops_cli.run(args, layout.root, clients)
        if args.command == "doctor" and args.env:
            return max(commands.doctor(layout), ops_cli.doctor(layout.root, args.env, clients))
        return _generator_command(layout, args)
    except SpecInvalid as exc:
        print(exc.report(), file=sys.stderr)
        if as_json:
            _json_error(ops_cli.command_name(args), exc.report(), 2, "spec")
        return 2
    except (UsageError, InvalidFlagDocument) as exc:
        print(f"cutover: {exc}", file=sys.stderr)
        if as_json:
            _json_error(ops_cli.command_name(args), str(exc), 2, "input")
        return 2


if __name__ == "__main__":
    sys.exit(main())
