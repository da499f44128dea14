"""bench/: every row still runs (smoke mode, nothing timed is asserted), the performance
page is what the runner renders from bench/results/latest.json, and bench/ shares the
fakes through tests/support/ instead of importing tests/."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import report

ROW_FIELDS = {"module", "name", "measure", "figure", "baseline", "result", "target", "met",
              "ratio", "ratio_of", "note", "values"}


def row_modules() -> set[str]:
    return {p.stem for p in (BENCH / "rows").glob("*.py") if p.stem != "__init__"}


# What a row module starts besides Python (the tiers, pyproject.toml); every row is slow.
ROW_NEEDS = {"candidate_read": ("postgres",), "candidate_cold": ("postgres",), "rehearsal": ("postgres",), "generator": ("terraform",)}


def _row_params() -> list:
    return [pytest.param(m, marks=[pytest.mark.slow, *(getattr(pytest.mark, n) for n in ROW_NEEDS.get(m, ()))])
            for m in sorted(row_modules())]


@pytest.mark.parametrize("module", _row_params())
def test_quick_mode_runs_the_row_and_writes_only_where_told(module, tmp_path):
    """`make bench-smoke` row by row (one test each, so that the rows run in parallel):
    every row module is a parameter, so together they run every row."""
    tracked = {p: p.read_bytes() for p in (BENCH / "results" / "latest.json",
                                           ROOT / "docs" / "performance.md") if p.exists()}
    run = subprocess.run([sys.executable, "bench/run.py", "--quick", "--only", module, "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=1800,
                         check=False)
    assert run.returncode == 0, run.stderr[-4000:]
    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["quick"] is True
    assert {"cpu", "cores", "python"} <= set(results["machine"])
    assert results["rows"] and {row["module"] for row in results["rows"]} == {module}
    for row in results["rows"]:
        assert ROW_FIELDS <= set(row), row["name"]
        assert isinstance(row["met"], bool)
    page = (tmp_path / "performance.md").read_text()
    assert all(row["measure"] in page for row in results["rows"])
    assert {p: p.read_bytes() for p in tracked} == tracked  # the committed figures untouched
    if module == "rehearsal":  # its smoke size ends as the healthy population should, measured
        (row,) = results["rows"]
        assert "(promoted)" in row["measure"], row["measure"]
        values = row["values"]
        assert values["requests"] > 0 and values["wall_s"] > 0
        assert values["peak_rss_mb"] > 0 and values["cpu_s"] > 0


def test_the_performance_page_is_rendered_from_the_committed_results():
    results = json.loads((BENCH / "results" / "latest.json").read_text())
    assert results["quick"] is False
    assert {row["module"] for row in results["rows"]} == row_modules()
    assert (ROOT / "docs" / "performance.md").read_text() == report.page(results)


def _results(met: bool) -> dict:
    return {"command": "python bench/run.py", "date": "2026-01-01T00:00:00+00:00",
            "machine": {"cpu": "cpu", "cores": 2, "python": "3.11.7", "implementation": "CPython",
                        "system": "Linux", "load_average_at_start": 1.0},
            "rows": [{"module": "flags", "name": "flags-assignment", "measure": "flag read",
                      "figure": "2 µs", "baseline": "Powertools 4 µs", "result": "0.50×",
                      "target": "≤ 1.0×", "met": met, "ratio": 0.5, "ratio_of": "ours / theirs",
                      "note": "n=1", "values": {}, "analysis": "hashing dominates",
                      "profile": None if met else "0.010 work  flags.py:1"}]}


def test_a_target_not_met_shows_its_profile_and_a_met_one_does_not():
    missed = report.page(_results(met=False))
    assert "| **no** |" in missed
    assert "### flag read" in missed and "0.010 work  flags.py:1" in missed
    assert "hashing dominates" in missed
    met = report.page(_results(met=True))
    assert "None in this run." in met and "0.010 work" not in met


def test_an_unknown_row_module_is_refused_with_the_allowed_names():
    run = subprocess.run([sys.executable, "bench/run.py", "--quick", "--only", "nope"], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2
    assert "no row module nope" in run.stderr and "flags" in run.stderr


@pytest.mark.parametrize("package,allowed", [("bench", ("tests.support",)), ("tests/support", ("tests.support",))])
def test_bench_and_the_support_module_import_nothing_from_tests(package, allowed):
    """bench/ takes the stand-ins from tests/support/ (and nothing else of tests/), which
    imports nothing of tests/ but itself: the benchmarks never run the tests' conftest."""
    found = []
    sources = sorted((ROOT / package).rglob("*.py"))
    assert sources, f"no Python file under {package}/"
    for source in sources:
        text = source.read_text()
        for node in ast.walk(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{source.name}: {n}" for n in names
                      if n.split(".")[0] == "tests" and not any(n.startswith(a) for a in allowed)]
        for module in allowed:
            text = text.replace(f"from {module}", "").replace(f"import {module}", "")
        if "from tests" in text or "import tests" in text:  # code run in a subprocess
            found.append(f"{source.name}: tests in a string")
    assert found == []


@pytest.mark.slow
def test_every_hostile_shape_fits_one_shadow_event_and_is_deterministic():
    from tests.support import hostile

    first, second = hostile.shapes(), hostile.shapes()
    assert set(first) == set(hostile.SHAPES)
    for name, (control, candidate) in first.items():
        assert max(hostile.size(control), hostile.size(candidate)) <= hostile.MAX_EVENT_BYTES
        if not name.startswith("deep"):  # json.dumps recurses; size() does not
            assert hostile.size(control) == len(json.dumps(control))
            assert json.dumps(second[name]) == json.dumps((control, candidate))


def test_a_partial_run_replaces_only_its_modules_rows_and_is_recorded():
    import run  # bench/run.py

    previous = _results(met=True)
    previous["rows"] = [{**previous["rows"][0], "module": m, "name": m}
                        for m in ("comparator", "flags", "generator")]
    partial = {**_results(met=False), "date": "2026-01-02T00:00:00+00:00",
               "command": "python bench/run.py --only flags --update"}
    partial["rows"] = [{**partial["rows"][0], "module": "flags", "name": "flags-new"}]
    merged = run.updated(previous, partial, ["flags"])
    assert [r["name"] for r in merged["rows"]] == ["comparator", "flags-new", "generator"]
    assert merged["date"] == previous["date"]
    assert merged["partial_runs"][0]["modules"] == ["flags"]
    assert "rows of flags measured again on 2026-01-02" in report.page(merged)
