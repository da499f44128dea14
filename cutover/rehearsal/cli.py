"""`cutover rehearse --env E [--scenario S] [--out DIR] [--database-url URL]`.

Exit codes: 0 the run ended as the scenario expects; 1 it did not; 2 bad input (an
invalid spec or scenario, no `make build`, no rendered alarms.json, no PostgreSQL),
with nothing written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_SCENARIO = "healthy"


class RehearsalInputError(Exception):
    """Bad input (exit code 2)."""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("rehearse", help="rehearse the whole release on this machine (docs/rehearsal.md)")
    p.add_argument("--env", help="the spec config/<env>.release.yaml (default: the scenario's env, else production)")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO,
                   help="a name under config/scenarios/ or a path to a scenario file (default: healthy)")
    p.add_argument("--out", type=Path, help="output directory (default: reports/rehearsal/<scenario>)")
    p.add_argument("--database-url", help="your own PostgreSQL (default: $CUTOVER_REHEARSAL_DATABASE_URL, "
                                          "else an embedded server)")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument("--quiet", action="store_true", help="no live progress, only the summary")
    p.add_argument("--controller", action="store_true",
                   help="the controller's state machine (Step Functions) walks the ramp instead of the operator")


def scenario_path(root: Path, value: str) -> Path:
    path = Path(value)
    if path.suffix in (".yaml", ".yml") or os.sep in value:
        return path if path.is_absolute() else (Path.cwd() / path)
    return root / "config" / "scenarios" / f"{value}.yaml"


def prepare(root: Path, env: str | None, scenario_arg: str, seed: int | None,
            controller: bool = False) -> tuple[Any, Any, Path, Path, Path]:
    """Everything checked before anything runs: spec, scenario, packages, alarms."""
    from cutover.generator.spec.loader import load_spec
    from cutover.rehearsal.functions import package_path
    from cutover.rehearsal.scenario import check_against_spec, load_scenario

    path = scenario_path(root, scenario_arg)
    if not path.is_file():
        known = sorted(p.stem for p in (root / "config" / "scenarios").glob("*.yaml"))
        raise RehearsalInputError(f"no scenario {path}; shipped: {', '.join(known)}")
    scenario = load_scenario(path)
    if env is not None and scenario.env is not None and env != scenario.env:
        raise RehearsalInputError(f"{path} is a scenario for the '{scenario.env}' spec, not '{env}'")
    env = env or scenario.env or "production"
    spec_file = root / "config" / f"{env}.release.yaml"
    if not spec_file.is_file():
        known = sorted(p.name.removesuffix(".release.yaml") for p in (root / "config").glob("*.release.yaml"))
        raise RehearsalInputError(f"no spec for environment '{env}' ({spec_file}); known: {', '.join(known)}")
    spec = load_spec(spec_file)
    check_against_spec(path, scenario, spec)
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    build = root / "build"
    needed = ("router", "candidate", *(("guard",) if getattr(spec, "guard", None) else ()),
              *(("controller",) if controller else ()))
    for package in needed:
        package_path(build, package)
    alarms = root / "terraform" / "envs" / spec.release.environment / "alarms.json"
    if not alarms.is_file():
        raise RehearsalInputError(f"{alarms} is missing: run `make render` first")
    return spec, scenario, path, build, alarms


def run(root: Path, args: argparse.Namespace) -> int:
    from cutover.generator.spec.errors import SpecInvalid
    from cutover.rehearsal.database import DatabaseUnavailable
    from cutover.rehearsal.functions import PackageMissing

    try:
        spec, scenario, path, build, alarms = prepare(root, args.env, args.scenario, args.seed,
                                                      getattr(args, "controller", False))
    except SpecInvalid as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    except (RehearsalInputError, PackageMissing) as exc:
        print(f"cutover rehearse: {exc}", file=sys.stderr)
        return 2
    out = args.out or root / "reports" / "rehearsal" / scenario.name
    try:
        report = execute(root, spec, scenario, path, build, alarms, args.database_url, args.quiet,
                         getattr(args, "controller", False))
    except DatabaseUnavailable as exc:
        print(f"cutover rehearse: {exc}", file=sys.stderr)
        return 2
    written = write_outputs(report, out)
    print_summary(report, written)
    return 0 if report["outcome"]["expectation_met"] else 1


def execute(root: Path, spec: Any, scenario: Any, path: Path, build: Path, alarms: Path,
            database_url: str | None, quiet: bool, controller: bool = False) -> dict[str, Any]:
    from cutover.rehearsal.engine import Options, Rehearsal
    from cutover.rehearsal.progress import Progress

    spec_file = _relative(root, root / "config" / f"{spec.release.environment}.release.yaml")
    options = Options(spec, spec_file, scenario, _relative(root, path), build, alarms, database_url,
                      controller=controller)
    if quiet:
        return Rehearsal(options).run()
    with Progress() as progress:
        options.progress = progress
        rehearsal = Rehearsal(options)
        try:
            return rehearsal.run()
        finally:
            if rehearsal.minutes_run:
                progress.update(rehearsal.progress_view, rehearsal.minutes_run, force=True)


def write_outputs(report: dict[str, Any], out: Path) -> list[Path]:
    """report.json (atomically), then report.html by the report renderer."""
    from cutover.rehearsal import seams

    out.mkdir(parents=True, exist_ok=True)
    target = out / "report.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(target)
    return [target, seams.render_html(report, out)]


def print_summary(report: dict[str, Any], written: list[Path]) -> None:
    outcome, totals = report["outcome"], report["totals"]
    step = f" at step {outcome['step']:g}%" if outcome["step"] is not None else ""
    verdict = "as expected" if outcome["expectation_met"] else "NOT as expected"
    print(f"{report['scenario']['name']}: {outcome['result']}{step} after {totals['simulated_minutes']} "
          f"simulated minutes ({verdict})")
    for reason in outcome["reasons"]:
        print(f"  - {reason}")
    print(f"  {totals['requests']:,} requests, {totals['users_served_by_candidate']:,} users served by the "
          f"candidate, {totals['user_visible_errors']} user-visible errors; "
          f"{totals['wall_seconds']:.1f} s wall, peak RSS {totals['peak_rss_mb']} MB")
    for path in written:
        print(f"  wrote {path}")


def _relative(root: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
