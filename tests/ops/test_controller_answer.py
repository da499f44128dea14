"""`cutover approve|reject`: the token of the question the running execution waits on, from
its history (botocore's Stubber: moto's histories are canned), answered with
SendTaskSuccess / SendTaskFailure; the rollback alarm from moto's CloudWatch."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from cutover.cli import main
from cutover.ops import controller
from tests.ops.controller_helpers import (
    EXECUTION,
    MACHINE,
    Events,
    expect_executions,
    expect_history,
    expect_machine,
    summary,
)

ANA = {"user": "ana", "awsIdentity": "arn:aws:sts::123456789012:assumed-role/ops/ana"}


@pytest.fixture
def answering(release, monkeypatch) -> Stubber:
    monkeypatch.setattr("cutover.ops.audit.who", lambda clients: ANA)
    return release.stub("stepfunctions")


def _run(project, em, capsys, *argv: str) -> tuple[int, dict]:
    code = main(["--root", str(project), *argv, "--env", "production", "--json"], clients=em.clients())
    return code, json.loads(capsys.readouterr().out)


def _waiting(stub: Stubber, events: Events) -> None:
    expect_machine(stub)
    expect_executions(stub, summary())
    expect_history(stub, events.events)


def _audit(project) -> list[dict]:
    path = project / "audit" / "production.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_approve_sends_the_token_with_who_and_why_and_audits_it(project, release, capsys, answering):
    _waiting(answering, Events().enter("Judge").decided("controller-hold", "HOLD").ask(token="tok-1"))
    answering.add_response("send_task_success", {}, {
        "taskToken": "tok-1", "output": json.dumps({"approvedBy": "ana", "reason": "the samples are enough"})})
    code, out = _run(project, release, capsys, "approve", "--reason", "the samples are enough")
    assert code == 0
    [entry] = _audit(project)
    assert entry["who"] == ANA and entry["why"] == "the samples are enough"
    assert entry["actions"] == [{"action": "controller-approve", "execution": EXECUTION, "path": "user-read",
                                 "from": 5, "step": 25}]
    assert out["auditRecord"].endswith("audit/production.jsonl")


def test_approve_without_a_reason_sends_an_empty_one(project, release, capsys, answering):
    _waiting(answering, Events().ask(token="tok-2"))
    answering.add_response("send_task_success", {}, {
        "taskToken": "tok-2", "output": json.dumps({"approvedBy": "ana", "reason": ""})})
    code, _ = _run(project, release, capsys, "approve")
    assert code == 0 and _audit(project)[0]["why"] == "approved"


def test_reject_fails_the_task_with_cutover_rejected(project, release, capsys, answering):
    _waiting(answering, Events().ask(token="tok-3"))
    answering.add_response("send_task_failure", {}, {
        "taskToken": "tok-3", "error": "cutover.Rejected", "cause": "rejected by ana: p95 looks off"})
    code, out = _run(project, release, capsys, "reject", "--reason", "p95 looks off")
    assert code == 0 and out["pending"]["step"] == 25
    assert _audit(project)[0]["actions"][0]["action"] == "controller-reject"


def test_reject_requires_a_reason(project, release, capsys, answering):
    with pytest.raises(SystemExit) as exc:
        main(["--root", str(project), "reject", "--env", "production", "--json"], clients=release.clients())
    assert exc.value.code == 2 and "--reason" in json.loads(capsys.readouterr().out)["error"]["message"]


def test_approve_is_refused_while_the_rollback_alarm_is_in_alarm(project, release, names, capsys, answering):
    release.client("cloudwatch").set_alarm_state(AlarmName=names.rollback_alarm, StateValue="ALARM",
                                                 StateReason="errors")
    _waiting(answering, Events().ask())
    code, out = _run(project, release, capsys, "approve", "--reason", "go")
    assert code == 1
    assert out["refused"].startswith(f"{names.rollback_alarm} is in ALARM: approving would promote a failing step")
    assert _audit(project) == []  # and no SendTaskSuccess: the Stubber has none queued


def test_reject_is_not_refused_by_the_alarm(project, release, names, capsys, answering):
    release.client("cloudwatch").set_alarm_state(AlarmName=names.rollback_alarm, StateValue="ALARM",
                                                 StateReason="errors")
    _waiting(answering, Events().ask(token="tok-4"))
    answering.add_response("send_task_failure", {}, {
        "taskToken": "tok-4", "error": "cutover.Rejected", "cause": "rejected by ana: errors"})
    assert _run(project, release, capsys, "reject", "--reason", "errors")[0] == 0


@pytest.mark.parametrize("command", [["approve"], ["reject", "--reason", "x"]])
def test_nothing_running_is_nothing_to_answer(project, release, capsys, answering, command):
    expect_machine(answering)
    expect_executions(answering)
    code, out = _run(project, release, capsys, *command)
    assert code == 1 and out["refused"] == f"nothing to answer: no execution of {MACHINE} is running"


def test_a_question_already_answered_is_nothing_to_answer(project, release, capsys, answering):
    events = Events().ask()
    events.add("TaskSucceeded", taskSucceededEventDetails={"resourceType": "lambda",
                                                          "resource": "invoke.waitForTaskToken", "output": "{}"})
    _waiting(answering, events.enter("Survey"))
    code, out = _run(project, release, capsys, "approve")
    assert code == 1 and out["refused"].startswith("nothing to answer: execution 20261205T010000-ana is not waiting")


def test_a_question_that_timed_out_meanwhile_says_so(project, release, capsys, answering):
    _waiting(answering, Events().ask(token="tok-5"))
    answering.add_client_error("send_task_success", "TaskTimedOut", "Task Timed Out: 'tok-5'")
    code, out = _run(project, release, capsys, "approve")
    assert code == 1 and out["refused"].startswith("the question is no longer pending (TaskTimedOut)")
    assert _audit(project) == []


def test_the_approval_task_is_found_in_both_spellings_of_its_resource():
    split = Events().ask(token="a").events
    whole = Events().ask(token="b", resource="arn:aws:states:::lambda:invoke.waitForTaskToken", resource_type="").events
    plain = Events().ask(token="c", resource="invoke").events  # a plain invoke waits for nothing
    assert controller.pending(split).token == "a"
    assert controller.pending(whole).token == "b"
    assert controller.pending(plain) is None


def test_the_newest_question_is_the_one_answered():
    events = Events().ask(token="old")
    events.add("TaskFailed", taskFailedEventDetails={"resourceType": "lambda", "resource": "invoke.waitForTaskToken",
                                                     "error": "States.Timeout"})
    events.ask(token="new")
    assert controller.pending(events.events).token == "new"
