"""`cutover rehearse` end to end: exit code from the expectation, report.json and
report.html written to --out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cutover.cli import main

from .conftest import ROOT

pytestmark = pytest.mark.postgres

SMALL = """\
name: cli-small
description: a short shadow phase, stopped early
seed: 7
traffic: {requests_per_minute: 100, users: 200, max_requests: 1200}
ramp: {shadow_minutes: 60, hold_minutes: 10}  # stops at max_requests, before any decision
expect:
  outcome: {outcome}
  step: {step}
"""


@pytest.fixture
def project(tmp_path, build_dir) -> Path:
    """The real config and rendered alarms, and the packages of the session's build."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "config", root / "config")
    (root / "terraform" / "envs" / "production").mkdir(parents=True)
    shutil.copy(ROOT / "terraform" / "envs" / "production" / "alarms.json",
                root / "terraform" / "envs" / "production" / "alarms.json")
    shutil.copytree(build_dir / "functions", root / "build" / "functions")
    return root


def rehearse(project: Path, scenario: Path, out: Path, database_url: str) -> int:
    return main(["--root", str(project), "rehearse", "--scenario", str(scenario), "--out", str(out),
                 "--database-url", database_url, "--quiet"])


def test_expectation_met_exits_0_and_writes_the_report(project, tmp_path, database_url, capsys):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL.replace("{outcome}", "held").replace("{step}", "0"))
    out = tmp_path / "out"
    assert rehearse(project, scenario, out, database_url) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "cutover.rehearsal-report/1"
    assert report["scenario"]["name"] == "cli-small"
    assert report["outcome"]["expectation_met"] is True
    assert (out / "report.html").is_file()
    printed = capsys.readouterr().out
    assert "cli-small: held at step 0% after" in printed and "(as expected)" in printed


def test_expectation_missed_exits_1(project, tmp_path, database_url, capsys):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL.replace("{outcome}", "promoted").replace("  step: {step}\n", ""))
    out = tmp_path / "out"
    assert rehearse(project, scenario, out, database_url) == 1
    report = json.loads((out / "report.json").read_text())
    assert report["outcome"]["expectation_met"] is False
    assert any("expected promoted, got held" in r for r in report["outcome"]["reasons"])
    assert "NOT as expected" in capsys.readouterr().out
