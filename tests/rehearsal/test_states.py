"""The ASL evaluator (cutover/rehearsal/states.py) against what AWS documents: definition
checks by state and field, the input/output processing order, States.Runtime on a missing
path, Retry then Catch in order, task tokens and timeouts, and history events in botocore's
GetExecutionHistory shapes. The mutation tests at the end break one rule of the evaluator
and show that the check of that rule fails."""

from __future__ import annotations

import json
from datetime import datetime

import botocore.session
import pytest

from cutover.rehearsal import asl, states
from cutover.rehearsal.states import DefinitionError, Execution, TaskFailed, TokenError

ARN = "arn:aws:states:eu-west-1:123456789012:execution:demo-prod-controller:run-1"
LAMBDA = "arn:aws:states:::lambda:invoke"
TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken"


class Script:
    """Tasks whose answers are given in order: a dict (the result), an exception, or None."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[tuple[str, dict, str | None]] = []

    def run(self, resource, parameters, token):
        self.calls.append((resource, parameters, token))
        assert self.answers, f"a task ran more often than scripted: {resource} {parameters}"
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def machine(**states_):
    first = next(iter(states_))
    return {"StartAt": first, "States": states_}


def run(definition, data=None, tasks=None, until=10_000.0):
    execution = Execution(definition, data if data is not None else {}, arn=ARN, name="run-1", start=0.0)
    tasks = tasks or Script()
    now = 0.0
    while execution.status == "RUNNING" and now <= until:
        execution.advance(now, tasks)
        if execution.wake_at is None:
            break
        now = max(now, execution.wake_at)
    return execution


def types(execution):
    return [e["type"] for e in execution.history]


# ------------------------------------------------------------------ definition checks

@pytest.mark.parametrize(("definition", "where"), [
    (machine(A={"Type": "Pass", "End": True, "ResultSelector": {}}), "States.A.ResultSelector"),
    (machine(A={"Type": "Task", "Resource": LAMBDA, "End": True, "HeartbeatSeconds": 5}), "States.A.HeartbeatSeconds"),
    (machine(A={"Type": "Map", "End": True}), "States.A.Type"),
    (machine(A={"Type": "Choice", "Choices": [{"Variable": "$.a", "StringMatches": "x*", "Next": "A"}]}),
     "States.A.Choices[0].StringMatches"),
    (machine(A={"Type": "Pass", "Parameters": {"n.$": "States.UUID()"}, "End": True}), "States.A.Parameters.n.$"),
    (machine(A={"Type": "Pass", "InputPath": "$.a[*]", "End": True}), "States.A.InputPath"),
    (machine(A={"Type": "Pass", "Next": "B"}), "States.A.Next"),
    (machine(A={"Type": "Pass", "End": True}, B={"Type": "Succeed"}), "States.B"),
    (machine(A={"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": True}), "States.A.Resource"),
    (machine(A={"Type": "Task", "Resource": TOKEN, "Parameters": {}, "End": True}), "States.A.Parameters"),
    (machine(A={"Type": "Task", "Resource": LAMBDA, "End": True,
                "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}), "States.A.Retry"),
    (machine(A={"Type": "Task", "Resource": LAMBDA, "End": True,
                "Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "FULL"}]}), "States.A.Retry[0].JitterStrategy"),
    (machine(A={"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": True}), "States.A"),
    (machine(A={"Type": "Fail", "Error": "x", "OutputPath": "$"}), "States.A.OutputPath"),
    (machine(**{"A" * 81: {"Type": "Succeed"}}), "States." + "A" * 81),
    ({"StartAt": "A", "QueryLanguage": "JSONata", "States": {"A": {"Type": "Succeed"}}}, "QueryLanguage"),
])
def test_a_definition_using_what_the_evaluator_does_not_run_is_refused_by_state_and_field(definition, where):
    with pytest.raises(DefinitionError) as refused:
        Execution(definition, {}, arn=ARN, name="run-1", start=0.0)
    assert refused.value.where == where
    assert str(refused.value).startswith(f"{where}: ")


# ------------------------------------------------------------- input and output processing

def test_inputpath_then_parameters_then_resultselector_then_resultpath_on_the_raw_input_then_outputpath():
    definition = machine(T={
        "Type": "Task", "Resource": LAMBDA, "InputPath": "$.job",
        "Parameters": {"id.$": "$.id", "static": {"k": 1}, "exec.$": "$$.Execution.Name"},
        "ResultSelector": {"answer.$": "$.Payload.answer"}, "ResultPath": "$.job.result",
        "OutputPath": "$.job", "End": True})
    tasks = Script({"Payload": {"answer": 42, "noise": True}})
    execution = run(definition, {"job": {"id": "j1"}, "other": 1}, tasks)
    assert tasks.calls[0][1] == {"id": "j1", "static": {"k": 1}, "exec": "run-1"}
    assert execution.status == "SUCCEEDED"
    assert execution.output == {"id": "j1", "result": {"answer": 42}}


def test_resultpath_null_keeps_the_input_and_absent_resultpath_replaces_it():
    keep = run(machine(P={"Type": "Pass", "Result": {"r": 1}, "ResultPath": None, "End": True}), {"a": 1})
    replace = run(machine(P={"Type": "Pass", "Result": {"r": 1}, "End": True}), {"a": 1})
    assert keep.output == {"a": 1}
    assert replace.output == {"r": 1}


def test_inputpath_and_outputpath_null_give_an_empty_object():
    execution = run(machine(P={"Type": "Pass", "InputPath": None, "OutputPath": None, "End": True}), {"a": 1})
    assert execution.output == {}


def test_templates_reach_into_arrays_and_escaped_braces_are_no_placeholders():
    definition = machine(P={"Type": "Pass", "Parameters": {
        "list": [{"id.$": "$.id"}, 2, [{"deep.$": "$.id"}]],
        "text.$": "States.Format('\\{\\} {} it\\'s', $.id)"}, "End": True})
    execution = run(definition, {"id": "u1"})
    assert execution.output == {"list": [{"id": "u1"}, 2, [{"deep": "u1"}]], "text": "{} u1 it's"}


def test_intrinsics_format_mathadd_jsontostring():
    definition = machine(P={"Type": "Pass", "Parameters": {
        "text.$": "States.Format('{} held {} times', $.path, $.n)",
        "next.$": "States.MathAdd($.n, 1)", "json.$": "States.JsonToString($.obj)"}, "End": True})
    execution = run(definition, {"path": "user-read", "n": 2, "obj": {"a": [1, "x"]}})
    assert execution.output == {"text": "user-read held 2 times", "next": 3, "json": '{"a":[1,"x"]}'}


@pytest.mark.parametrize("state", [
    {"Type": "Pass", "InputPath": "$.missing", "Next": "Done"},
    {"Type": "Pass", "OutputPath": "$.missing", "Next": "Done"},
    {"Type": "Pass", "Parameters": {"x.$": "$.missing"}, "Next": "Done"},
    {"Type": "Choice", "Choices": [{"Variable": "$.missing", "StringEquals": "x", "Next": "Done"}],
     "Default": "Done"},
])
def test_a_missing_path_fails_the_execution_with_states_runtime(state):
    execution = run(machine(S=state, Done={"Type": "Succeed"}), {"present": 1})
    assert execution.status == "FAILED"
    assert execution.error == "States.Runtime"
    assert "An error occurred while executing the state 'S'" in execution.cause


def test_states_all_does_not_catch_states_runtime():
    definition = machine(T={"Type": "Task", "Resource": LAMBDA, "Parameters": {"x.$": "$.missing"}, "End": True,
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
                         Caught={"Type": "Succeed"})
    execution = run(definition, {})
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")


def test_resultpath_into_a_non_object_is_a_runtime_failure():
    execution = run(machine(P={"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": True}), {"a": "text"})
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")


def test_choice_compares_only_values_of_the_operators_type_and_falls_to_default():
    definition = machine(
        C={"Type": "Choice", "Default": "Other", "Choices": [
            {"Variable": "$.v", "StringEquals": "1", "Next": "Str"},
            {"And": [{"Variable": "$.v", "NumericGreaterThanEquals": 1},
                     {"Not": {"Variable": "$.flag", "IsPresent": True}}], "Next": "Num"}]},
        Str={"Type": "Succeed"}, Num={"Type": "Succeed"}, Other={"Type": "Succeed"})
    assert run(definition, {"v": 1}).history[-3]["stateEnteredEventDetails"]["name"] == "Num"
    assert run(definition, {"v": "1"}).history[-3]["stateEnteredEventDetails"]["name"] == "Str"
    assert run(definition, {"v": 1, "flag": False}).history[-3]["stateEnteredEventDetails"]["name"] == "Other"


def test_no_choice_matched_without_default_fails_the_execution():
    definition = machine(C={"Type": "Choice", "Choices": [{"Variable": "$.v", "BooleanEquals": True, "Next": "D"}]},
                         D={"Type": "Succeed"})
    assert run(definition, {"v": False}).error == "States.NoChoiceMatched"


# ------------------------------------------------------------------------- Retry, Catch

def retrying(retry, catch=None):
    state = {"Type": "Task", "Resource": LAMBDA, "End": True, "Retry": retry}
    if not catch:
        return machine(T=state)
    state["Catch"] = catch
    return machine(T=state, Caught={"Type": "Pass", "End": True})


def test_retry_waits_interval_times_backoff_then_catch_gets_error_and_cause_at_its_resultpath():
    definition = retrying([{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 2,
                            "BackoffRate": 3}],
                          [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Caught"}])
    boom = TaskFailed("Lambda.ServiceException", "busy")
    execution = run(definition, {"a": 1}, Script(boom, boom, boom))
    scheduled = [e["timestamp"].timestamp() for e in execution.history if e["type"] == "TaskScheduled"]
    assert scheduled == [0.0, 2.0, 8.0]
    assert execution.output == {"a": 1, "failure": {"Error": "Lambda.ServiceException", "Cause": "busy"}}


def test_the_first_matching_retrier_decides_even_when_exhausted():
    definition = retrying([{"ErrorEquals": ["X"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}])
    execution = run(definition, {}, Script(TaskFailed("X", "no")))
    assert (execution.status, execution.error, execution.cause) == ("FAILED", "X", "no")
    assert types(execution).count("TaskScheduled") == 1


def test_catchers_are_tried_in_order():
    definition = machine(T={"Type": "Task", "Resource": LAMBDA, "End": True, "Catch": [
        {"ErrorEquals": ["cutover.Rejected"], "Next": "Rejected"},
        {"ErrorEquals": ["States.ALL"], "Next": "Other"}]},
        Rejected={"Type": "Fail", "Error": "cutover.Rejected"}, Other={"Type": "Fail", "Error": "cutover.Other"})
    assert run(definition, {}, Script(TaskFailed("cutover.Rejected", "no"))).error == "cutover.Rejected"
    assert run(definition, {}, Script(TaskFailed("Else", "no"))).error == "cutover.Other"


# ------------------------------------------------------------------- tokens and waits

ASK = machine(Ask={"Type": "Task", "Resource": TOKEN, "TimeoutSeconds": 100, "ResultPath": "$.approval", "End": True,
                   "Parameters": {"token.$": "$$.Task.Token"},
                   "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.failure", "Next": "Held"}]},
              Held={"Type": "Fail", "Error": "cutover.Held"})


def test_a_token_task_waits_for_send_task_success():
    tasks = Script(None)
    execution = Execution(ASK, {"a": 1}, arn=ARN, name="run-1", start=0.0)
    execution.advance(0.0, tasks)
    token = tasks.calls[0][1]["token"]
    assert (execution.status, execution.state, execution.wake_at) == ("RUNNING", "Ask", 100.0)
    execution.send_task_success(token, {"ok": True}, 30.0)
    execution.advance(30.0, tasks)
    assert execution.output == {"a": 1, "approval": {"ok": True}}
    with pytest.raises(TokenError) as late:
        execution.send_task_success(token, {}, 40.0)
    assert late.value.code == "TaskTimedOut"
    with pytest.raises(TokenError) as bad:
        execution.send_task_failure("nope", "x", "y", 40.0)
    assert bad.value.code == "InvalidToken"


def test_a_token_task_times_out_into_its_catch():
    execution = run(ASK, {}, Script(None))
    timed_out = next(e for e in execution.history if e["type"] == "TaskTimedOut")
    assert timed_out["timestamp"].timestamp() == 100.0
    assert (execution.status, execution.error) == ("FAILED", "cutover.Held")


def test_send_task_failure_goes_through_catch():
    tasks = Script(None)
    definition = machine(Ask={**ASK["States"]["Ask"], "Catch": [
        {"ErrorEquals": ["cutover.Rejected"], "ResultPath": "$.failure", "Next": "Rejected"}]},
        Rejected={"Type": "Fail", "Error": "cutover.Rejected"})
    execution = Execution(definition, {}, arn=ARN, name="run-1", start=0.0)
    execution.advance(0.0, tasks)
    execution.send_task_failure(tasks.calls[0][1]["token"], "cutover.Rejected", "too slow", 5.0)
    execution.advance(5.0, tasks)
    assert (execution.status, execution.error) == ("FAILED", "cutover.Rejected")


def test_wait_holds_until_its_seconds_and_stop_aborts_it():
    definition = machine(W={"Type": "Wait", "Seconds": 60, "Next": "D"}, D={"Type": "Succeed"})
    execution = Execution(definition, {}, arn=ARN, name="run-1", start=0.0)
    execution.advance(0.0, Script())
    execution.advance(59.0, Script())
    assert (execution.state, execution.wake_at) == ("W", 60.0)
    execution.stop("cutover.Stopped", "by someone", 59.5)
    assert execution.status == "ABORTED"
    assert types(execution)[-2:] == ["WaitStateAborted", "ExecutionAborted"]


# ------------------------------------------------------------ history shapes (botocore)

PYTHON_TYPES = {"string": str, "long": int, "integer": int, "boolean": bool, "timestamp": datetime}


def _value_errors(where, value, shape, shapes):
    if shape["type"] != "structure":
        expected = PYTHON_TYPES[shape["type"]]
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        return [] if ok else [f"{where}: {value!r} is not a {shape['type']}"]
    errors = [f"{where}.{k} missing" for k in shape.get("required", []) if k not in value]
    for key, inner in value.items():
        if key not in shape["members"]:
            errors.append(f"{where}.{key} is not a member")
        else:
            errors += _value_errors(f"{where}.{key}", inner, shapes[shape["members"][key]["shape"]], shapes)
    return errors


def _shape_errors(event, shapes):
    errors = _value_errors(event["type"], event, shapes["HistoryEvent"], shapes)
    if event["type"] not in shapes["HistoryEventType"]["enum"]:
        errors.append(f"{event['type']} is not a HistoryEventType")
    return errors


def test_history_events_have_botocores_get_execution_history_shapes():
    shapes = botocore.session.get_session().get_service_model("stepfunctions")._shape_resolver._shape_map
    definition = retrying([{"ErrorEquals": ["X"], "MaxAttempts": 1}],
                          [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Caught"}])
    executions = [run(definition, {"a": 1}, Script(TaskFailed("X", "c"), {"Payload": {}})),
                  run(definition, {}, Script(TaskFailed("Y", "c"))), run(ASK, {}, Script(None))]
    errors = [e for x in executions for event in x.history for e in _shape_errors(event, shapes)]
    assert not errors
    scheduled = next(e for e in executions[0].history if e["type"] == "TaskScheduled")
    assert json.loads(scheduled["taskScheduledEventDetails"]["parameters"]) == {"a": 1}
    assert scheduled["taskScheduledEventDetails"]["region"] == "eu-west-1"
    ids = [e["id"] for e in executions[0].history]
    assert ids == list(range(1, len(ids) + 1))
    assert [e["previousEventId"] for e in executions[0].history] == [i - 1 for i in ids]


def test_a_task_tasks_history_runs_entered_scheduled_started_succeeded_exited():
    execution = run(machine(T={"Type": "Task", "Resource": LAMBDA, "End": True}), {}, Script({"Payload": 1}))
    assert types(execution) == ["ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
                                "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"]


# ------------------------------------------------------- mutations: a broken rule is seen

def _runtime_is_not_caught():
    test_states_all_does_not_catch_states_runtime()


def _resultpath_is_applied_to_the_raw_input():
    test_inputpath_then_parameters_then_resultselector_then_resultpath_on_the_raw_input_then_outputpath()


def _first_retrier_decides():
    test_the_first_matching_retrier_decides_even_when_exhausted()


@pytest.mark.parametrize(("check", "target", "name", "broken"), [
    (_runtime_is_not_caught, states, "UNCATCHABLE", frozenset()),
    (_resultpath_is_applied_to_the_raw_input, states.Execution, "_output",
     lambda self, state, raw, result: state.output(state.result_path.put(
         self._effective_input(state, raw), state.result_selector.apply(result, {})))),
    (_first_retrier_decides, states.Execution, "_task_error", None),
    (test_choice_compares_only_values_of_the_operators_type_and_falls_to_default, asl, "COMPARISONS",
     {**asl.COMPARISONS, "StringEquals": (object, lambda a, b: str(a) == str(b))}),
])
def test_a_deliberately_broken_rule_fails_its_check(monkeypatch, check, target, name, broken):
    check()  # the real evaluator passes
    if broken is None:  # retry: every retrier that matches gets its turn (the rule is "first match decides")
        broken = _every_retrier_task_error
    monkeypatch.setattr(target, name, broken)
    with pytest.raises(AssertionError):
        check()


def _every_retrier_task_error(self, error, cause, now, timed_out=False):
    state = self._states[self.state]
    self._event("TaskFailed", now, taskFailedEventDetails={**self._resource(state), "error": error, "cause": cause})
    for index, retrier in enumerate(state.retry):
        if states._matches(retrier["ErrorEquals"], error) and self._retries.get(index, 0) < retrier["MaxAttempts"]:
            self._retries[index] = self._retries.get(index, 0) + 1
            self._step, self.wake_at = ("retry",), now + retrier["IntervalSeconds"]
            return
    self._fail_state(error, cause, now)


# ------------------------------------------------ the controller's own definition runs

@pytest.mark.parametrize("approval", [False, True])
def test_the_controllers_rendered_definition_is_one_the_evaluator_runs(approval):
    from cutover.generator.plan.controller import (
        PLACEHOLDERS,
        ControllerConfig,
        ControllerPath,
        definition,
        substitute,
    )

    config = ControllerConfig("demo", "production", "config/production.release.yaml",
                              (ControllerPath("user-read", "prisma-adapter", (1.0, 5.0, 100.0), 1.0, True),),
                              {"min_samples": 50}, 3600, 3, approval, 86400, 60, 45)
    text = substitute(json.dumps(definition(config)), {name: f"id-{name}" for name in PLACEHOLDERS})
    survey = {"Payload": {"action": "DONE", "stage": None, "reason": "every path is at its last step"}}
    execution = run(json.loads(text), {"startedBy": "test"}, Script(survey))
    assert (execution.status, execution.history[-3]["stateEnteredEventDetails"]["name"]) == ("SUCCEEDED", "Done")
