"""docs/analysis.md stays true: its examples are loaded and compared with real output."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cutover.analysis import analyze, load_metrics
from tests.analysis.builders import Scenario, document

DOC = Path(__file__).resolve().parents[2] / "docs" / "analysis.md"


def example(name: str) -> dict:
    match = re.search(rf"<!-- example: {re.escape(name)} -->\n```json\n(.*?)\n```", DOC.read_text(), re.DOTALL)
    assert match, f"no example {name} in {DOC}"
    return json.loads(match.group(1))


def test_the_metrics_example_is_valid_and_promotes():
    result = analyze(load_metrics(example("cutover.metrics/1")))
    assert result.verdict.value == "PROMOTE"


def test_the_output_example_is_what_the_analysis_prints():
    shown = example("cutover.analysis/1")
    real = analyze(load_metrics(document(Scenario(p95_canary=48)))).to_json()
    by_name = {c["name"]: c for c in real["checks"]}
    assert shown["checks"] == [by_name[c["name"]] for c in shown["checks"]]
    assert {k: v for k, v in shown.items() if k != "checks"} == {k: v for k, v in real.items() if k != "checks"}
