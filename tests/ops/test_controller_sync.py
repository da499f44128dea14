"""`cutover ramp --sync` (the spec := what is served, and the controller's decisions kept in
the audit file) and the controller section of `cutover status`. AppConfig from the
shared fake on loopback; Step Functions from the Stubber (histories with audit entries)."""

from __future__ import annotations

import json

import pytest

from cutover.cli import main
from tests.ops.conftest import deployment
from tests.ops.controller_helpers import (
    EXECUTION,
    MACHINE,
    Events,
    disable,
    expect_description,
    expect_executions,
    expect_history,
    expect_machine,
    machine,
    summary,
)

SPEC = "config/production.release.yaml"
EARLIER = EXECUTION.replace("20261205T010000-ana", "20261204T010000-schedule")


def _run(project, em, capsys, *argv: str) -> tuple[int, dict]:
    code = main(["--root", str(project), *argv, "--env", "production", "--json"], clients=em.clients())
    return code, json.loads(capsys.readouterr().out)


def _audit(project) -> list[dict]:
    path = project / "audit" / "production.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_sync_sets_the_spec_to_what_is_served_in_one_line(project, release, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=5)
    before = (project / SPEC).read_text()
    code, out = _run(project, release, capsys, "ramp", "--sync")
    assert code == 0 and out["changed"] and out["served"] == {"user-read": 5.0}
    [change] = out["changes"]
    assert change.startswith(f"{SPEC}:") and change.endswith("read_paths[0].canary.percent: 1 -> 5")
    after = (project / SPEC).read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1].strip() == "percent: 5"
    removed = [line for line in out["diff"].splitlines() if line.startswith("-") and not line.startswith("---")]
    assert [line.strip() for line in removed] == ["-      percent: 1".strip()]
    assert out["auditAdded"] == [] and not (project / "audit").exists()  # no execution yet: no decision to keep

    code, out = _run(project, release, capsys, "ramp", "--sync")
    assert code == 0 and not out["changed"] and (project / SPEC).read_text() == after


def test_sync_to_zero_also_sets_the_phase(project, release, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=0)
    code, out = _run(project, release, capsys, "ramp", "--sync")
    assert code == 0
    assert [c.rsplit(": ", 2)[-2:] for c in out["changes"]] == [["phase", "canary -> shadow"],
                                                                 ["read_paths[0].canary.percent", "1 -> 0"]]


def test_nothing_to_change_says_the_spec_already_says_what_is_served(project, release, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=1)
    code = main(["--root", str(project), "ramp", "--sync", "--env", "production"], clients=release.clients())
    assert code == 0 and "the spec already says what is served: user-read 1%" in capsys.readouterr().out


def test_sync_waits_for_a_deployment_in_flight(project, release, capsys, fake_appconfig):
    fake_appconfig.history(deployment(4, "DEPLOYING", 8), deployment(3, "COMPLETE", 7), served=1)
    code, out = _run(project, release, capsys, "ramp", "--sync")
    assert code == 3 and out["refused"].startswith("flag deployment 4 is DEPLOYING")


@pytest.mark.parametrize("extra", [["--to", "5"], ["--apply"], ["--path", "user-read"]])
def test_sync_takes_no_step_no_apply_no_path(project, release, capsys, extra):
    code, out = _run(project, release, capsys, "ramp", "--sync", *extra)
    assert code == 2 and out["error"]["message"].endswith(f"drop {extra[0]}")


def _two_executions(stub) -> None:
    expect_machine(stub)
    expect_executions(stub, summary("RUNNING"), summary("FAILED", EARLIER), status=None, limit=20)
    expect_history(stub, Events().enter("Survey").decided("controller-stop", "the guard acted").events, EARLIER)
    expect_history(stub, Events().enter("Survey").decided("controller-deploy", "user-read 1% -> 5%")
                   .enter("Judge").decided("controller-promote", "healthy").events, EXECUTION)


def test_sync_keeps_the_controllers_decisions_once(project, release, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=5)
    stub = release.stub("stepfunctions")
    _two_executions(stub)
    _two_executions(stub)
    code, out = _run(project, release, capsys, "ramp", "--sync")
    assert code == 0 and out["changed"]
    kept = _audit(project)
    assert [e["why"] for e in kept] == ["the guard acted", "user-read 1% -> 5%", "healthy"]  # as they happened
    assert [e["controllerEvent"] for e in kept] == [{"execution": EARLIER, "id": 4}, {"execution": EXECUTION, "id": 4},
                                                    {"execution": EXECUTION, "id": 7}]
    code, out = _run(project, release, capsys, "ramp", "--sync")
    assert code == 0 and not out["changed"] and out["auditAdded"] == []
    assert _audit(project) == kept


def test_status_shows_the_controller_only_when_enabled(project, release, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=1)
    spec = (project / SPEC).read_text()
    disable(project)
    code, out = _run(project, release, capsys, "status")
    assert code == 0 and "controller" not in out

    (project / SPEC).write_text(spec)
    stub = release.stub("stepfunctions")
    expect_machine(stub)
    expect_executions(stub, summary(), status=None)
    expect_description(stub, "RUNNING")
    expect_history(stub, Events().enter("Judge").decided("controller-hold", "HOLD").ask().events)
    code, out = _run(project, release, capsys, "status")
    assert code == 0  # a controller waiting for a person is not drift
    reading = out["controller"]
    assert reading["stateMachine"] == MACHINE and reading["served"] == {"user-read": 1.0}
    assert reading["execution"]["state"] == "AskApproval" and reading["pending"]["step"] == 25


def test_status_calls_a_missing_state_machine_drift(project, release, capsys, fake_appconfig):
    release.client("stepfunctions").delete_state_machine(stateMachineArn=machine(release))
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=1)
    code, out = _run(project, release, capsys, "status")
    assert code == 1 and out["controller"]["error"].startswith(f"Step Functions state machine '{MACHINE}' not found")
    assert {d["what"]: d["fix"] for d in out["drift"]}[f"controller state machine {MACHINE} missing"] == \
        "make plan ENV=production && make apply ENV=production"


def test_status_prints_the_controller_for_a_person(project, release, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=1)
    stub = release.stub("stepfunctions")
    expect_machine(stub)
    expect_executions(stub, summary(), status=None)
    expect_description(stub, "RUNNING")
    expect_history(stub, Events().ask().events)
    main(["--root", str(project), "status", "--env", "production"], clients=release.clients())
    text = capsys.readouterr().out
    assert f"controller: state machine {MACHINE}" in text
    assert "waiting for a person: user-read at 5% -> 25%" in text and "cutover approve --env production" in text


def test_stop_records_the_spec_edit_that_says_what_is_served(project, release, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=5)
    assert _run(project, release, capsys, "controller", "start")[0] == 0
    code, out = _run(project, release, capsys, "controller", "stop", "--reason", "enough for today")
    assert code == 0 and out["specChanges"] == _audit(project)[0]["specChanges"]
    [change] = _audit(project)[0]["specChanges"]
    assert change.startswith(f"{SPEC}:") and change.endswith("read_paths[0].canary.percent: 1 -> 5")
    main(["--root", str(project), "controller", "status", "--env", "production"], clients=release.clients())
    assert "ABORTED" in capsys.readouterr().out


def test_stop_when_the_spec_says_what_is_served_records_no_edit(project, release, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=1)
    _run(project, release, capsys, "controller", "start")
    main(["--root", str(project), "controller", "stop", "--reason", "x", "--env", "production"],
         clients=release.clients())
    assert "the spec says what is served" in capsys.readouterr().out
    assert _audit(project)[0]["specChanges"] == []


def test_sync_for_a_person_shows_the_diff_and_what_the_next_apply_does(project, release, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=25)
    code = main(["--root", str(project), "ramp", "--sync", "--env", "production"], clients=release.clients())
    text = capsys.readouterr().out
    assert code == 0 and "+      percent: 25" in text
    assert f"review and commit {SPEC}; the next `make apply` plans no flag deployment" in text


def test_with_the_controller_status_reconciles_the_spec_with_sync(project, release, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=5,
                           described={3: "cutover controller 20261205T010000-ana: user-read 1% -> 5%"})
    code, out = _run(project, release, capsys, "status")
    assert code == 1
    assert {d["what"]: d["fix"] for d in out["drift"]} == {"user-read canary percent": (
        "`cutover ramp --sync --env production` (the spec := what is served) and commit it; "
        "the next `make apply` then plans no flag deployment")}


def test_a_ramp_by_hand_is_refused_while_the_controller_walks_the_steps(project, release, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=1)
    spec = (project / SPEC).read_text()
    code = main(["--root", str(project), "ramp", "--to", "0", "--env", "production"], clients=release.clients())
    err = capsys.readouterr().err
    assert code == 2 and "the controller walks the steps of production" in err
    assert "cutover controller start --env production" in err and "cutover ramp --sync --env production" in err
    assert (project / SPEC).read_text() == spec  # nothing written

    disable(project)
    code = main(["--root", str(project), "ramp", "--to", "0", "--env", "production"], clients=release.clients())
    text = capsys.readouterr().out
    assert code == 0 and "user-read: 1% -> 0%" in text
