"""Step Functions in the sandbox: moto keeps the state machines, the stand-in runs their
executions with the ASL evaluator on the sandbox's clock, and answers as AWS does."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from botocore.exceptions import ClientError

from cutover.rehearsal.states import TaskFailed

ROLE = "arn:aws:iam::123456789012:role/sandbox-states"
INVOKE = "arn:aws:states:::lambda:invoke"
ASK = "arn:aws:states:::lambda:invoke.waitForTaskToken"
DEFINITION = {
    "StartAt": "Survey",
    "States": {
        "Survey": {"Type": "Task", "Resource": INVOKE,
                   "Parameters": {"FunctionName": "fn", "Payload": {"action": "survey", "startedAt.$": "$$.Execution.StartTime"}},
                   "ResultSelector": {"action.$": "$.Payload.action"}, "ResultPath": "$.survey", "Next": "Observe",
                   "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Failed"}]},
        "Observe": {"Type": "Wait", "Seconds": 120, "Next": "Ask"},
        "Ask": {"Type": "Task", "Resource": ASK, "TimeoutSeconds": 600,
                "Parameters": {"FunctionName": "fn", "Payload": {"action": "ask", "token.$": "$$.Task.Token"}},
                "ResultPath": "$.approval", "Next": "Done",
                "Catch": [{"ErrorEquals": ["cutover.Rejected"], "ResultPath": "$.failure", "Next": "Rejected"}]},
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "cutover.Failed", "Cause": "the function failed"},
        "Rejected": {"Type": "Fail", "Error": "cutover.Rejected", "Cause": "a person said no"},
    },
}


class Tasks:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, dict, str | None]] = []
        self.fail = fail

    def run(self, resource, parameters, token):
        self.calls.append((resource, parameters, token))
        if self.fail:
            raise TaskFailed("Lambda.ServiceException", "down")
        return None if token else {"Payload": {"action": "DEPLOY"}, "StatusCode": 200}


@pytest.fixture
def machine(sandbox):
    states = sandbox.client("stepfunctions")
    name = f"walk-{len(sandbox.aws.stepfunctions.runs)}-{id(sandbox) % 10_000}"
    arn = states.create_state_machine(name=name, definition=json.dumps(DEFINITION), roleArn=ROLE)["stateMachineArn"]
    yield states, arn
    states.delete_state_machine(stateMachineArn=arn)


def _minutes(sandbox, minutes: float) -> None:
    """The simulation's turn: the clock moves on, then the executions that are due run."""
    sandbox.state.clock.set(sandbox.state.clock.now + minutes * 60)
    sandbox.aws.stepfunctions.advance(sandbox.state.clock.now)


def _code(call) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]["Code"]


def test_the_provider_can_validate_a_definition(sandbox):
    states = sandbox.client("stepfunctions")
    assert states.validate_state_machine_definition(definition=json.dumps(DEFINITION))["result"] == "OK"
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    answer = states.validate_state_machine_definition(definition=json.dumps(broken))
    assert answer["result"] == "FAIL"
    assert answer["diagnostics"][0]["severity"] == "ERROR" and "Nowhere" in answer["diagnostics"][0]["message"]


def test_an_execution_walks_on_the_sandbox_clock(sandbox, machine):
    states, arn = machine
    tasks = sandbox.aws.stepfunctions.tasks = Tasks()
    started = states.start_execution(stateMachineArn=arn, name="first", input='{"startedBy": "test"}')
    assert states.describe_execution(executionArn=started["executionArn"])["status"] == "RUNNING"
    assert tasks.calls == []  # nothing runs on the API's thread: the simulation's next turn does
    _minutes(sandbox, 600)  # (the simulation fell behind: ten hours in one turn)
    assert [c[1]["Payload"]["action"] for c in tasks.calls] == ["survey"]
    # the start time the function gets is the one the API shows it (the caller's clock), not
    # the sandbox's own, ten simulated hours ahead of the caller's by now
    shown = states.describe_execution(executionArn=started["executionArn"])["startDate"]
    given = datetime.fromisoformat(tasks.calls[0][1]["Payload"]["startedAt"])
    assert abs((given - shown).total_seconds()) < 3600
    _minutes(sandbox, 1)
    assert len(tasks.calls) == 1  # still in Observe (120 s)
    _minutes(sandbox, 1)
    assert tasks.calls[-1][0] == ASK and tasks.calls[-1][2]
    token = tasks.calls[-1][2]
    assert _code(lambda: states.send_task_success(taskToken="not-a-token", output="{}")) == "InvalidToken"
    states.send_task_heartbeat(taskToken=token)
    states.send_task_success(taskToken=token, output='{"approved": true}')
    assert _code(lambda: states.send_task_success(taskToken=token, output="{}")) == "TaskTimedOut"
    _minutes(sandbox, 1)
    done = states.describe_execution(executionArn=started["executionArn"])
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"])["approval"] == {"approved": True}
    assert done["stopDate"] >= done["startDate"]
    events = states.get_execution_history(executionArn=started["executionArn"])["events"]
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    newest = states.get_execution_history(executionArn=started["executionArn"], reverseOrder=True, maxResults=1)
    assert newest["events"][0]["type"] == "ExecutionSucceeded" and newest["nextToken"]


def test_names_are_unique_and_idempotent_while_running(sandbox, machine):
    states, arn = machine
    sandbox.aws.stepfunctions.tasks = Tasks()
    first = states.start_execution(stateMachineArn=arn, name="again", input="{}")
    same = states.start_execution(stateMachineArn=arn, name="again", input="{}")
    assert same["executionArn"] == first["executionArn"]
    assert _code(lambda: states.start_execution(stateMachineArn=arn, name="again", input='{"a": 1}')) \
        == "ExecutionAlreadyExists"
    states.stop_execution(executionArn=first["executionArn"], error="cutover.Stopped", cause="stopped by test")
    stopped = states.describe_execution(executionArn=first["executionArn"])
    assert (stopped["status"], stopped["error"], stopped["cause"]) == ("ABORTED", "cutover.Stopped", "stopped by test")
    assert _code(lambda: states.start_execution(stateMachineArn=arn, name="again", input="{}")) \
        == "ExecutionAlreadyExists"
    sandbox.state.clock.advance(1)
    second = states.start_execution(stateMachineArn=arn, input="{}")
    listed = states.list_executions(stateMachineArn=arn)["executions"]
    assert [e["executionArn"] for e in listed] == [second["executionArn"], first["executionArn"]]
    running = states.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert [e["executionArn"] for e in running] == [second["executionArn"]]
    assert _code(lambda: states.start_execution(stateMachineArn=arn, name="has space")) == "InvalidName"
    assert _code(lambda: states.start_execution(stateMachineArn=arn, input="{nope")) == "InvalidExecutionInput"
    missing = arn.replace(":walk-", ":missing-")
    assert _code(lambda: states.start_execution(stateMachineArn=missing)) == "StateMachineDoesNotExist"
    assert _code(lambda: states.describe_execution(
        executionArn=first["executionArn"] + "x")) == "ExecutionDoesNotExist"


def test_a_task_error_is_caught_as_the_definition_says(sandbox, machine):
    states, arn = machine
    sandbox.aws.stepfunctions.tasks = Tasks(fail=True)
    started = states.start_execution(stateMachineArn=arn, input="{}")
    _minutes(sandbox, 1)
    failed = states.describe_execution(executionArn=started["executionArn"])
    assert (failed["status"], failed["error"]) == ("FAILED", "cutover.Failed")
    machine_of = states.describe_state_machine_for_execution(executionArn=started["executionArn"])
    assert machine_of["stateMachineArn"] == arn
