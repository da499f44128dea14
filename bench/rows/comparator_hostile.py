"""Comparator on the hostile shapes (tests/support/hostile.py: deep
nesting, NaN/Infinity, unordered lists of large unmatched elements, wide objects, huge
numbers; every document at most 240 KB, one shadow event) vs DeepDiff with equivalent
options. A row is met when ours answers (no exception) within 50 ms, or reports the
event inconclusive within 50 ms. Ours runs in this process with the production time budget, and its time is
to the answer or to giving up (inconclusive); DeepDiff runs in a fresh process per
shape, killed after a deadline. Target: no shape over 50 ms.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from common import ROOT, Row

ORDER = 12
TARGET_S = 0.050

DEEPDIFF = """
import json, sys, time
sys.path.insert(0, {root!r})
from tests.support import hostile
from deepdiff import DeepDiff
control, candidate = hostile.SHAPES[{name!r}]()
t = time.perf_counter()
try:
    found = DeepDiff(control, candidate, exclude_paths=["root['meta']['requestId']"],
                     ignore_order_func=lambda level: level.path() == "root['items']",
                     significant_digits=4)
    outcome = f"{{sum(len(v) for v in found.values())}} differences"
except Exception as exc:
    outcome = type(exc).__name__
print(json.dumps([time.perf_counter() - t, outcome]))
"""


def _comparator():
    from cutover_runtime.compare import CompareRules, ShadowComparator

    from tests.support import hostile

    return ShadowComparator(CompareRules.from_json(json.dumps(hostile.RULES)))


def _ours(comparator, control, candidate) -> tuple[float, str, float]:
    """(wall seconds, outcome, CPU seconds of this process): on a shared machine the CPU
    time says how much of the wall time was the comparison's own work."""
    t = time.perf_counter()
    cpu = time.process_time()
    try:
        outcome = f"{comparator.compare(control, candidate).total} differences"  # all counted
    except Exception as exc:  # noqa: BLE001 - the outcome is part of the figure
        outcome = "inconclusive (budget)" if "Budget" in type(exc).__name__ \
            else type(exc).__name__
    return time.perf_counter() - t, outcome, time.process_time() - cpu


def _deepdiff(name: str, deadline_s: float) -> tuple[float | None, str]:
    code = DEEPDIFF.format(root=str(ROOT), name=name)
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=deadline_s, cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        return None, f"not done after {deadline_s:.0f} s (killed)"
    if proc.returncode != 0:
        return None, f"crashed (exit {proc.returncode})"
    seconds, outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    return seconds, outcome


def _answered(outcome: str) -> bool:
    return outcome.endswith("differences") or outcome.startswith("inconclusive")


def _many(ours: float, outcome: str, cpu: float) -> str:
    """Why an answer of very many differences is over the target."""
    count = int(outcome.split()[0])
    return (f"The comparator answered ({outcome}) in {ours * 1e3:,.0f} ms ({cpu * 1e3:,.0f} ms "
            f"of CPU), over the 50 ms target: {cpu / count * 1e6:,.2f} µs of CPU per "
            f"difference. Records are built for the first 100 differences only "
            f"(docs/contracts.md §4) and the rest are counted, so the time is the walk "
            f"itself: keying both lists' elements and comparing every pair; the profile "
            f"shows which part.")


def _why(ours: float, outcome: str, budget: float | None, cpu: float) -> str:
    if _answered(outcome) and ours <= TARGET_S:
        return ""
    if outcome.endswith("differences") and int(outcome.split()[0]) >= 10_000:
        return _many(ours, outcome, cpu)
    if outcome.startswith("inconclusive"):
        return (f"The comparison gave up at the production budget ({budget} ms) and reported "
                f"the event inconclusive: bounded, but over the 50 ms target.")
    if not outcome.endswith("differences"):
        return f"The comparator raised {outcome}: no answer for this event."
    return (f"The comparator answered ({outcome}) in {ours * 1e3:,.0f} ms ({cpu * 1e3:,.0f} ms "
            f"of it this process's CPU time), over the 50 ms "
            f"target{'' if budget is None else f' (its budget is {budget} ms)'}; the profile "
            f"shows where the time goes.")


def _speed(ours: float, theirs: float | None) -> str:
    if theirs is None:
        return "DeepDiff did not answer"
    if theirs >= ours:
        return f"{theirs / ours:,.1f}× faster than DeepDiff"
    return f"{ours / theirs:,.1f}× slower than DeepDiff"


def run(ctx) -> list[Row]:
    from tests.support import hostile

    comparator = _comparator()
    budget = getattr(comparator, "budget_ms", None)
    rounds = 1 if ctx.quick else 5
    deadline = 5.0 if ctx.quick else 20.0
    rows = []
    for name, (control, candidate) in hostile.shapes().items():
        _ours(comparator, control, candidate)  # warm-up
        runs = [_ours(comparator, control, candidate) for _ in range(rounds)]
        ours = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[2] for r in runs)
        outcome = runs[-1][1]
        theirs, their_outcome = _deepdiff(name, deadline)
        kb = max(hostile.size(control), hostile.size(candidate)) / 1024
        rows.append(Row(
            name=f"hostile-{name}",
            measure=f"comparator, hostile shape {name} ({kb:,.0f} KB)",
            figure=f"{ours * 1e3:,.1f} ms ({outcome})",
            baseline=(f"DeepDiff {theirs * 1e3:,.0f} ms ({their_outcome})" if theirs is not None
                      else f"DeepDiff {their_outcome}"),
            result=_speed(ours, theirs),
            target="≤ 50 ms, an answer or inconclusive (no exception)",
            met=ours <= TARGET_S and _answered(outcome),
            analysis=_why(ours, outcome, budget, cpu),
            ratio=theirs / ours if theirs is not None else None,
            ratio_of="DeepDiff time / ours",
            values={"ours_s": ours, "ours_cpu_s": cpu, "deepdiff_s": theirs,
                    "bytes": round(kb * 1024),
                    "budget_ms": budget},
            note=f"median of {rounds} after a warm-up (CPU time {cpu * 1e3:,.1f} ms); "
                 f"comparator budget "
                 f"{budget if budget is not None else 'none'} ms; ours: {outcome}; "
                 f"DeepDiff (fresh process, deadline {deadline:.0f} s): {their_outcome}"))
    return rows


def workload(ctx, name: str):
    from tests.support import hostile

    comparator = _comparator()
    control, candidate = hostile.SHAPES[name.removeprefix("hostile-")]()
    return lambda: [_ours(comparator, control, candidate) for _ in range(5)]
