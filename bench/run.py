"""Benchmarks, each figure side by side with its baseline measured in the same run.

    .venv/bin/python bench/run.py            every row; writes bench/results/latest.json
                                             and docs/performance.md (the table users read)
    .venv/bin/python bench/run.py --quick    smoke: every row runs, few rounds, writes
                                             nothing tracked (--out DIR to keep the files)
    .venv/bin/python bench/run.py --only flags,candidate_read   some row modules only

Rows live in bench/rows/<name>.py (one module per row group, see rows/__init__.py).
When a target is not met, the row's workload is profiled with pyinstrument and the
profile goes into docs/performance.md under the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import pkgutil
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import report
from common import BENCH, ROOT, Context, Row, saved_environ

RESULTS = BENCH / "results" / "latest.json"
PAGE = ROOT / "docs" / "performance.md"


def row_modules(only: list[str] | None = None) -> list:
    names = [m.name for m in pkgutil.iter_modules([str(BENCH / "rows")])]
    unknown = sorted(set(only or []) - set(names))
    if unknown:
        print(f"bench/run.py: --only: no row module {', '.join(unknown)} in bench/rows/; "
              f"allowed: {', '.join(sorted(names))}", file=sys.stderr)
        raise SystemExit(2)
    modules = [importlib.import_module(f"rows.{n}") for n in names if not only or n in only]
    return sorted(modules, key=lambda m: m.ORDER)


def profile_row(module, ctx: Context, row: Row) -> str | None:
    """pyinstrument's text view of the row's workload, or None when it has none."""
    if not hasattr(module, "workload"):
        return None
    from pyinstrument import Profiler

    with saved_environ():
        work = module.workload(ctx, row.name)
        if work is None:
            return None
        profiler = Profiler(interval=0.0005)
        profiler.start()
        try:
            work()
        finally:
            profiler.stop()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))  # pyinstrument walks deep stacks recursively
    try:
        text = profiler.output_text(unicode=True, color=False, show_all=False)
        return text.replace(f"{ROOT}/", "")  # the page cites repository paths, not this clone's
    except RecursionError:
        return "(pyinstrument could not render this profile: the call stack is too deep)"
    finally:
        sys.setrecursionlimit(limit)


def run_rows(modules: list, ctx: Context, profile: bool) -> tuple[list[dict], list[str]]:
    rows: list[dict] = []
    failures: list[str] = []
    for module in modules:
        started = time.perf_counter()
        name = module.__name__.split(".")[-1]
        print(f"-- {name} ...", file=sys.stderr, flush=True)
        try:
            produced = module.run(ctx)
            if not produced:
                raise RuntimeError("the module produced no row")
            for row in produced:
                if profile and not row.met:
                    row.profile = profile_row(module, ctx, row)
                rows.append({"module": name, **row.to_json()})
        except Exception:  # noqa: BLE001 - one broken row must not hide the others
            failures.append(f"{name}:\n{traceback.format_exc()}")
        print(f"   {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return rows, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cutover benchmarks")
    parser.add_argument("--quick", action="store_true",
                        help="smoke: every row runs with few rounds; writes nothing tracked")
    parser.add_argument("--only", help="comma-separated row modules (bench/rows/<name>.py)")
    parser.add_argument("--out", type=Path,
                        help="write latest.json and performance.md into this directory "
                             "instead of bench/results/ and docs/")
    parser.add_argument("--update", action="store_true",
                        help="with --only: replace those modules' rows in latest.json (the "
                             "other rows kept, the run recorded) and rewrite the page")
    parser.add_argument("--render", action="store_true",
                        help="only rewrite docs/performance.md from bench/results/latest.json")
    args = parser.parse_args(argv)
    if args.render:
        PAGE.write_text(report.page(json.loads(RESULTS.read_text())))
        return 0
    only = [n.strip() for n in args.only.split(",")] if args.only else None
    modules = row_modules(only)
    command = " ".join(["python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])])
    ctx = Context(quick=args.quick)
    started = dt.datetime.now(dt.UTC)
    try:
        with saved_environ():
            rows, failures = run_rows(modules, ctx, profile=not args.quick)
    finally:
        ctx.close()
    results = {"format": "cutover.bench/1", "date": started.isoformat(timespec="seconds"),
               "command": command, "quick": args.quick, "machine": common.machine(),
               "rows": rows}
    print(report.table(results))
    for failure in failures:
        print(f"ROW FAILED {failure}", file=sys.stderr)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write(results, args.out / "latest.json", args.out / "performance.md")
    elif not args.quick and not only and not failures:
        write(results, RESULTS, PAGE)
    elif args.update and only and not args.quick and not failures:
        write(updated(json.loads(RESULTS.read_text()), results, only), RESULTS, PAGE)
    return 1 if failures else 0


def updated(previous: dict, partial: dict, only: list[str]) -> dict:
    """``previous`` with the rows of the ``only`` modules replaced by ``partial``'s, in
    the modules' order, and the partial run recorded beside the full one."""
    order = {m.__name__.split(".")[-1]: i for i, m in enumerate(row_modules())}
    rows = [r for r in previous["rows"] if r["module"] not in only] + partial["rows"]
    rows.sort(key=lambda r: order.get(r["module"], len(order)))
    runs = [r for r in previous.get("partial_runs", []) if not set(r["modules"]) <= set(only)]
    runs.append({"modules": only, "date": partial["date"], "command": partial["command"],
                 "machine": partial["machine"]})
    return {**previous, "rows": rows, "partial_runs": runs}


def write(results: dict, json_path: Path, page_path: Path) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    page_path.write_text(report.page(results))
    print(f"wrote {json_path} and {page_path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
