"""The metric names live in one place, cutover_runtime/metrics.py (docs/contracts.md §5).

cutover/analysis/ imports nothing of ours (tests/analysis/test_layering.py), so its input
format keeps its own list of counts: it must be the functions' list. And every count
the runtime names is emitted by some function (a name no one emits is an alarm that
watches nothing).
"""

from __future__ import annotations

import ast

from cutover.runtime import metrics as emf

from cutover.analysis import metrics as analysis
from tests.conftest import ROOT


def test_the_analysis_format_counts_what_the_functions_emit():
    assert analysis.COUNTS == emf.COUNTS
    assert analysis.ROUTES == emf.ROUTES
    assert {name for pair in analysis.PART_OF for name in pair} <= set(emf.COUNTS)


def _emitted() -> set[str]:
    """Every `emf.NAME` passed to `.add(...)` in the functions' sources; a metric name
    written as a literal there fails the test."""
    found = set()
    for source in (ROOT / "functions").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add":
                for arg in node.args:
                    literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value[:1].isupper()
                    assert not literal, f"{source}:{node.lineno}: name the metric from cutover_runtime.metrics"
                    if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == "emf":
                        found.add(getattr(emf, arg.attr))
    return found


def test_every_count_named_in_the_runtime_is_emitted_by_a_function():
    assert _emitted() == set(emf.EMITTED)
