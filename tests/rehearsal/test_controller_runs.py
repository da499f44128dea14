"""`cutover rehearse --controller`: the rendered controller definition walks the ramp, run by the
ASL evaluator on the rehearsal's clock with the real controller function, guard, router and
candidate; each scenario must meet what it expects under the controller (expect_controller),
and a deliberately broken definition must fail candidate-errors' expectation."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cutover.cli import main
from cutover.rehearsal.scenario import load_scenario

from .conftest import ROOT, SCENARIOS, SPEC_FILE, _build_module

CONTROLLED = ("healthy", "candidate-errors", "latency-regression", "noisy-night")


@pytest.fixture
def rehearse_controller(build_dir, database_url, production_spec):
    """Run one scenario under --controller; ``definition`` may change the rendered definition."""
    from cutover.rehearsal.engine import Options, Rehearsal

    package = build_dir / "functions" / "controller.zip"
    if not package.is_file():
        _build_module().build_function("controller", build_dir)

    def run(name: str, definition: Any = None) -> dict[str, Any]:
        scenario = load_scenario(SCENARIOS / f"{name}.yaml")
        options = Options(production_spec, SPEC_FILE, scenario, f"config/scenarios/{name}.yaml", build_dir,
                          ROOT / "terraform" / "envs" / "production" / "alarms.json", database_url,
                          controller=True, controller_package=package, controller_definition=definition)
        return Rehearsal(options).run()

    return run


@pytest.mark.parametrize("name", CONTROLLED)
def test_scenario_meets_its_controller_expectation(name, rehearse_controller):
    report = rehearse_controller(name)
    outcome, expect = report["outcome"], report["scenario"]["expect"]
    assert outcome["expectation_met"], outcome["reasons"]
    assert outcome["result"] == expect["outcome"]
    assert "ended" in expect  # the scenario says how the controller ends
    controller = report["controller"]
    deployed = [s["percent"] for s in report["steps"] if not s["tail"]]
    if name == "latency-regression":  # held at 1%, asked, rejected: never past the step that regressed
        assert max(deployed) == 1 and controller["error"] == "cutover.Rejected"
        assert {d["verdict"] for d in report["decisions"] if d["step"] == 1} == {"HOLD"}
        assert controller["entered"]["AskApproval"] == 1
    if name == "candidate-errors":
        assert controller["error"] == "cutover.Stopped"
        assert any(n["by"] == "guard" for n in report["notifications"])
    if name in ("healthy", "noisy-night"):
        assert deployed[-1] == 100 and controller["last_state"] == "Done"
        assert all(d["verdict"] in ("PROMOTE", "HOLD") for d in report["decisions"])
    if name == "noisy-night":  # the night's judgements (of the shadow) hold for samples, the day's promote
        first = [d["verdict"] for d in report["decisions"] if d["step"] == report["decisions"][0]["step"]]
        assert first[-1] == "PROMOTE" and set(first[:-1]) == {"HOLD"} and len(first) > 1


def never_stops(definition: dict[str, Any]) -> dict[str, Any]:
    """A broken controller: a ROLLBACK verdict promotes, and every STOP polls again instead of stopping."""
    broken = copy.deepcopy(definition)
    states = broken["States"]
    for rule in states["Verdict"]["Choices"]:
        if rule["StringEquals"] == "ROLLBACK":
            rule["Next"] = "Promoted"
    states["Verdict"]["Default"] = "Promoted"
    states["Route"]["Default"] = "WaitBusy"
    states["Settled"]["Default"] = "WaitSettle"
    del states["Stopped"], states["RolledBack"]
    return broken


def test_a_broken_definition_fails_the_candidate_errors_expectation(rehearse_controller):
    report = rehearse_controller("candidate-errors", never_stops)
    outcome = report["outcome"]
    assert not outcome["expectation_met"]
    assert any("expected the controller to end with cutover.Stopped" in r for r in outcome["reasons"])
    assert report["controller"]["status"] == "RUNNING"  # it polls on while the guard holds the canary off


@pytest.fixture
def project(tmp_path, build_dir) -> Path:
    """The real config and rendered alarms, and the packages of the session's build."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "config", root / "config")
    (root / "terraform" / "envs" / "production").mkdir(parents=True)
    shutil.copy(ROOT / "terraform" / "envs" / "production" / "alarms.json",
                root / "terraform" / "envs" / "production" / "alarms.json")
    shutil.copytree(build_dir / "functions", root / "build" / "functions")
    if not (root / "build" / "functions" / "controller.zip").is_file():
        _build_module().build_function("controller", root / "build")
    return root


SHORT = """\
name: controller-short
seed: 7
traffic: {requests_per_minute: 100, users: 200, max_requests: 1200}
ramp: {shadow_minutes: 60, hold_minutes: 10}  # stops at max_requests, in the shadow phase
expect: {outcome: held, step: 0}
"""


def test_controller_without_its_package_is_bad_input(project, tmp_path, capsys):
    (project / "build" / "functions" / "controller.zip").unlink()
    code = main(["--root", str(project), "rehearse", "--scenario", "healthy", "--controller", "--quiet",
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert "controller.zip is missing: run `make build` first" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_controller_flag_runs_the_state_machine_and_the_report_says_so(project, tmp_path, database_url, capsys):
    scenario = tmp_path / "short.yaml"
    scenario.write_text(SHORT)
    code = main(["--root", str(project), "rehearse", "--scenario", str(scenario), "--controller", "--quiet",
                 "--database-url", database_url, "--out", str(tmp_path / "out")])
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert code == 0, report["outcome"]["reasons"]
    assert report["controller"]["status"] == "NOT_STARTED"  # the shadow phase did not end before max_requests
    assert [s["percent"] for s in report["steps"]] == [0.0]
