"""`cutover controller start|status|stop` against moto's Step Functions (executions stay
RUNNING there: moto does not run the definition), and against the Stubber where a test
needs a history moto cannot produce or pins the exact request."""

from __future__ import annotations

import json
import re

from cutover.cli import main
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


def _run(project, em, capsys, *argv: str) -> tuple[int, dict]:
    code = main(["--root", str(project), *argv, "--env", "production", "--json"], clients=em.clients())
    return code, json.loads(capsys.readouterr().out)


def test_a_spec_without_the_controller_is_refused_with_where_to_enable_it(project, release, capsys):
    disable(project)
    for argv in (["controller", "start"], ["controller", "status"], ["controller", "stop", "--reason", "x"],
                 ["approve"], ["reject", "--reason", "x"]):
        code, out = _run(project, release, capsys, *argv)
        assert code == 2, argv
        assert out["error"]["message"] == ("the controller is not enabled in config/production.release.yaml "
                                           "(delivery.controller)")
        assert out["command"] == " ".join(a for a in argv if not a.startswith("--") and a != "x")


def test_the_plan_names_the_state_machine(names):
    assert names.state_machine == MACHINE


def test_a_state_machine_not_applied_says_so(project, release, capsys):
    release.client("stepfunctions").delete_state_machine(stateMachineArn=machine(release))
    code, out = _run(project, release, capsys, "controller", "status")
    assert code == 2
    assert out["error"]["message"].startswith(f"Step Functions state machine '{MACHINE}' not found")
    assert "make apply" in out["error"]["message"]


def test_start_then_status_then_a_second_start_is_refused(project, release, capsys):
    arn = machine(release)
    code, out = _run(project, release, capsys, "controller", "status")
    assert code == 0 and out["execution"] is None and out["stateMachineArn"] == arn

    code, out = _run(project, release, capsys, "controller", "start")
    assert code == 0
    started = out["started"]["arn"]
    name = started.rsplit(":", 1)[1]
    assert re.fullmatch(r"\d{8}T\d{6}-[A-Za-z0-9_-]+", name)
    described = release.client("stepfunctions").describe_execution(executionArn=started)
    assert json.loads(described["input"]) == {"startedBy": out["started"]["by"]["user"]}

    code, out = _run(project, release, capsys, "controller", "status")
    assert code == 0
    assert out["execution"]["arn"] == started and out["execution"]["status"] == "RUNNING"
    assert out["execution"]["explained"].startswith("running")

    code, out = _run(project, release, capsys, "controller", "start")
    assert code == 3
    assert out["refused"].startswith(f"execution {name} is already RUNNING") and out["started"] is None
    running = release.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    assert len(running) == 1


def test_stop_stops_the_running_execution_and_audits_it(project, release, capsys):
    arn = machine(release)
    _run(project, release, capsys, "controller", "start")
    code, out = _run(project, release, capsys, "controller", "stop", "--reason", "the database is being patched")
    assert code == 0 and not out["nothingToDo"]
    [execution] = release.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]
    assert execution["status"] == "ABORTED"
    [entry] = [json.loads(line) for line in (project / "audit" / "production.jsonl").read_text().splitlines()]
    assert entry["why"] == "the database is being patched"
    assert entry["actions"] == [{"action": "controller-stop", "execution": execution["executionArn"]}]
    assert set(entry) == {"env", "when", "who", "why", "actions", "steps", "specChanges"}

    code, out = _run(project, release, capsys, "controller", "status")
    assert code == 0 and out["execution"]["status"] == "ABORTED"
    assert out["execution"]["explained"].startswith("stopped with StopExecution")


def test_stop_sends_the_cause_that_names_who_and_why(project, release, capsys, monkeypatch):
    stub = release.stub("stepfunctions")
    expect_machine(stub)
    expect_executions(stub, summary(), limit=100)
    stub.add_response("stop_execution", {"stopDate": summary()["startDate"]},
                      {"executionArn": EXECUTION, "cause": "stopped by ana: a quiet weekend"})
    monkeypatch.setattr("cutover.ops.audit.who", lambda clients: {"user": "ana", "awsIdentity": "arn:aws:sts::1:x"})
    code, out = _run(project, release, capsys, "controller", "stop", "--reason", "a quiet weekend")
    assert code == 0 and out["who"]["user"] == "ana"


def test_stop_with_nothing_running_has_nothing_to_do_and_writes_no_record(project, release, capsys):
    code, out = _run(project, release, capsys, "controller", "stop", "--reason", "x")
    assert code == 0 and out["nothingToDo"] and out["note"] == f"nothing to stop: no execution of {MACHINE} is running"
    assert not (project / "audit").exists()


def test_stop_requires_a_reason(project, release, capsys):
    try:
        main(["--root", str(project), "controller", "stop", "--env", "production", "--json"], clients=release.clients())
    except SystemExit as exc:
        assert exc.code == 2
    out = json.loads(capsys.readouterr().out)
    assert out["command"] == "controller stop" and "--reason" in out["error"]["message"]


def _failed(stub, error: str, cause: str, events: Events) -> None:
    expect_machine(stub)
    expect_executions(stub, summary("FAILED"), status=None)
    expect_description(stub, "FAILED", error=error, cause=cause)
    expect_history(stub, events.events)


def test_status_explains_how_it_ended_and_shows_the_last_decisions(project, release, capsys):
    events = Events().enter("Survey").decided("controller-deploy", "user-read 1% -> 5%").enter("Judge") \
        .decided("controller-promote", "PROMOTE: healthy").enter("Survey") \
        .decided("controller-stop", "the guard turned the canary off").enter("Stopped", "FailStateEntered")
    _failed(release.stub("stepfunctions"), "cutover.Stopped", "the guard or a person acted", events)
    code, out = _run(project, release, capsys, "controller", "status")
    assert code == 0
    run = out["execution"]
    assert run["status"] == "FAILED" and run["state"] == "Stopped" and run["error"] == "cutover.Stopped"
    assert run["explained"].startswith("it stopped itself because the guard or a person acted")
    assert [d["why"] for d in out["decisions"]] == ["user-read 1% -> 5%", "PROMOTE: healthy",
                                                    "the guard turned the canary off"]
    assert out["decisions"][0]["controllerEvent"] == {"execution": EXECUTION, "id": 4}
    assert out["pending"] is None


def test_every_ending_of_the_controller_has_its_sentence(project, release, capsys):
    endings = {"cutover.Rollback": "the judgement said ROLLBACK", "cutover.Held": "the judgement still said HOLD",
               "cutover.Rejected": "a person rejected the step", "cutover.Failed": "the controller failed",
               "States.Runtime": "it failed with States.Runtime"}
    for error, start in endings.items():
        _failed(release.stub("stepfunctions"), error, "why", Events().enter("Ending"))
        code, out = _run(project, release, capsys, "controller", "status")
        assert code == 0 and out["execution"]["explained"].startswith(start), error
        assert out["execution"]["explained"].endswith("(why)")


def test_status_shows_the_question_it_waits_on(project, release, capsys):
    stub = release.stub("stepfunctions")
    expect_machine(stub)
    expect_executions(stub, summary(), status=None)
    expect_description(stub, "RUNNING")
    expect_history(stub, Events().enter("Judge").decided("controller-hold", "HOLD: too few samples").ask().events)
    code, out = _run(project, release, capsys, "controller", "status")
    assert code == 0 and out["execution"]["state"] == "AskApproval"
    assert out["pending"] == {"event": 6, "path": "user-read", "from": 5, "step": 25,
                              "reason": "held after 3 judgements: too few samples"}


def test_a_missing_permission_says_which(project, release, capsys):
    release.stub("stepfunctions").add_client_error(
        "list_state_machines", "AccessDeniedException", "User: ana is not authorized to perform: states:ListStateMachines")
    code, out = _run(project, release, capsys, "controller", "start")
    assert code == 2 and out["error"]["message"].startswith(
        "permission missing to find the controller's state machine (states:ListStateMachines)")


def test_status_for_a_person_prints_what_aws_wrote_as_it_is(project, release, capsys):
    events = Events().enter("Judge").decided("controller-hold", "HOLD [user-read]: too few samples") \
        .enter("Held", "FailStateEntered")
    _failed(release.stub("stepfunctions"), "cutover.Held", "[bold]held[/bold]", events)
    code = main(["--root", str(project), "controller", "status", "--env", "production"], clients=release.clients())
    text = capsys.readouterr().out
    assert code == 0
    assert "controller-hold: HOLD [user-read]: too few samples" in text
    assert "([bold]held[/bold])" in text and "FAILED" in text
