"""An evaluator of Step Functions state machines (ASL, JSONPath), on the caller's clock.

The rehearsal and the sandbox run the controller's rendered definition with it, so the
transitions they test are the ones AWS would run. It is as unkind as AWS: a definition
using anything it does not support fails at construction with a ``DefinitionError``
naming the state and the field; a missing path is ``States.Runtime`` (which no Retry or
Catch handles); Retry then Catch, each in order, first match wins; the history is
GetExecutionHistory's events in botocore's shapes (docs/aws-rules.md, "Step Functions").

Time: ``now`` and ``start`` are epoch seconds of the caller's clock (the rehearsal passes
``clock.EPOCH + seconds``); history timestamps are UTC datetimes, as boto3 returns them.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime
from typing import Any, Protocol

from .asl import ALL, RUNTIME, UNCATCHABLE, DefinitionError, StateError, compact
from .asl_states import State, check_definition

__all__ = ["DefinitionError", "Execution", "TaskFailed", "Tasks", "TokenError", "check_definition"]

PAYLOAD_LIMIT = 262_144  # bytes of a state's input or output ("Step Functions service quotas")


class TaskFailed(Exception):
    """What a task's integration failed with: ``error`` (e.g. ``Lambda.ServiceException``,
    ``ValueError`` for a function error) and ``cause``."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class TokenError(Exception):
    """SendTaskSuccess/SendTaskFailure refused: ``code`` is AWS's exception name
    (``InvalidToken``: never issued; ``TaskTimedOut``: no longer awaited)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class Tasks(Protocol):
    def run(self, resource: str, parameters: dict, token: str | None) -> dict | None:
        """The task's result; None = waiting for the task token (only ``.waitForTaskToken``
        resources); raise ``TaskFailed`` for an error of the integration."""
        ...


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Execution:
    """One execution of ``definition`` (see the module docstring)."""

    def __init__(self, definition: dict, input: dict, *, arn: str, name: str, start: float) -> None:
        self._states, self._start_at, self._timeout = check_definition(definition)
        self.arn, self.name, self.start = arn, name, start
        self.status = "RUNNING"
        self.error: str | None = None
        self.cause: str | None = None
        self.output: dict | None = None
        self.state: str | None = None
        self.wake_at: float | None = None
        self.history: list[dict] = []
        self._input = copy.deepcopy(input)
        self._deadline = start + self._timeout if self._timeout else None
        self._tokens: dict[str, bool] = {}  # every token issued -> still awaited
        self._step: tuple[Any, ...] = ("enter", self._start_at, self._input)
        self._raw: Any = None  # the current state's raw input
        self._retries: dict[int, int] = {}
        self._task_deadline: float | None = None
        self._entered_at = start
        self._entered_event = 0
        self._event("ExecutionStarted", start, executionStartedEventDetails={
            "input": compact(input), "inputDetails": {"truncated": False}})
        self.wake_at = start

    # ------------------------------------------------------------------ public API

    def advance(self, now: float, tasks: Tasks) -> None:
        """Run states until a Wait that has not ended, a task token wait, or the end."""
        while self.status == "RUNNING":
            if self._deadline is not None and now >= self._deadline:
                self._finish_timed_out(now)
                return
            if self.wake_at is not None and now < self.wake_at:
                return
            kind = self._step[0]
            if kind == "token":
                if self._task_deadline is None or now < self._task_deadline:
                    return
                self._task_error("States.Timeout", "", now, timed_out=True)
            elif kind == "enter":
                self._enter(self._step[1], self._step[2], now, tasks)
            elif kind == "wait":
                self._exit(self._step[1], now)
            elif kind == "retry":
                self._schedule(now, tasks)
            self._update_wake()

    def send_task_success(self, token: str, output: dict, now: float) -> None:
        self._check_token(token)
        self._tokens[token] = False
        self._task_result(copy.deepcopy(output), now)
        self._update_wake()

    def send_task_failure(self, token: str, error: str, cause: str, now: float) -> None:
        self._check_token(token)
        self._tokens[token] = False
        self._task_error(error, cause, now)
        self._update_wake()

    def stop(self, error: str | None, cause: str | None, now: float) -> None:
        if self.status != "RUNNING":
            return
        if self.state is not None and self._step[0] in ("token", "wait", "retry"):
            kind = self._states[self.state].type
            self._event(f"{kind}StateAborted", now)
        details = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
        self._event("ExecutionAborted", now, executionAbortedEventDetails=details)
        self._end("ABORTED", error, cause)

    # ------------------------------------------------------------------ states

    def _enter(self, name: str, raw: Any, now: float, tasks: Tasks) -> None:
        state = self._states[name]
        self.state, self._raw, self._entered_at, self._retries = name, raw, now, {}
        self._event(f"{state.type}StateEntered", now, stateEnteredEventDetails={
            "name": name, "input": compact(raw), "inputDetails": {"truncated": False}})
        try:
            self._run_state(state, raw, now, tasks)
        except StateError as failure:
            self._fail_state(failure.error, failure.cause, now)

    def _run_state(self, state: State, raw: Any, now: float, tasks: Tasks) -> None:
        if state.type == "Fail":
            self._event("ExecutionFailed", now, executionFailedEventDetails=_details(state.error, state.cause))
            self._end("FAILED", state.error, state.cause)
            return
        effective = None if state.type == "Task" else self._effective_input(state, raw)
        if state.type == "Pass":
            result = copy.deepcopy(state.result) if state.has_result else effective
            self._exit(self._output(state, raw, result), now)
        elif state.type == "Choice":
            self._exit(state.output(effective), now, next_state=self._choose(state, effective))
        elif state.type == "Succeed":
            self._exit(state.output(effective), now)
        elif state.type == "Wait":
            self._step = ("wait", state.output(effective))
            self.wake_at = self._wait_until(state, effective, now)
        else:
            self._schedule(now, tasks)

    def _effective_input(self, state: State, raw: Any) -> Any:
        data = {} if state.input_path is None else state.input_path.get(raw, "InputPath")
        if state.parameters is None:
            return copy.deepcopy(data)
        return state.parameters.apply(data, self._context(state, token=None))

    def _choose(self, state: State, data: Any) -> str:
        context = self._context(state, token=None)
        for rule in state.choices:
            if rule.matches(data, context):
                return rule.next
        if state.default is None:
            raise StateError("States.NoChoiceMatched", f"No Choice matched in state '{state.name}'")
        return state.default

    def _wait_until(self, state: State, data: Any, now: float) -> float:
        if state.seconds is not None:
            return now + state.seconds
        value = state.seconds_path.get(data, "SecondsPath") if state.seconds_path else None
        if state.seconds_path is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise StateError(RUNTIME, f"SecondsPath '{state.seconds_path.text}' is not a non-negative integer")
            return now + value
        stamp = state.timestamp or state.timestamp_path.get(data, "TimestampPath")
        try:
            return datetime.fromisoformat(str(stamp)).timestamp()
        except ValueError:
            raise StateError(RUNTIME, f"{stamp!r} is not an ISO-8601 timestamp") from None

    def _output(self, state: State, raw: Any, result: Any) -> Any:
        if state.result_selector is not None:
            result = state.result_selector.apply(result, self._context(state, token=None))
        if state.result_path is None:
            combined = copy.deepcopy(raw)
        else:
            combined = state.result_path.put(copy.deepcopy(raw), result)
        return state.output(combined)

    def _exit(self, output: Any, now: float, next_state: str | None = None) -> None:
        state = self._states[self.state]
        if len(compact(output).encode()) > PAYLOAD_LIMIT:
            self._fail_state("States.DataLimitExceeded", f"The state/task '{state.name}' returned a result "
                             f"with a size exceeding the maximum number of bytes service limit.", now)
            return
        if state.type == "Succeed" or state.end:
            self._event(f"{state.type}StateExited", now, stateExitedEventDetails=_exited(state.name, output))
            self._event("ExecutionSucceeded", now, executionSucceededEventDetails={
                "output": compact(output), "outputDetails": {"truncated": False}})
            self._end("SUCCEEDED", None, None, output)
            return
        self._event(f"{state.type}StateExited", now, stateExitedEventDetails=_exited(state.name, output))
        self._step = ("enter", next_state or state.next, output)
        self.wake_at = now

    # ------------------------------------------------------------------ tasks

    def _schedule(self, now: float, tasks: Tasks) -> None:
        state = self._states[self.state]
        token = None
        if state.waits_for_token:
            token = hashlib.sha256(f"{self.arn}#{len(self.history) + 1}".encode()).hexdigest()
        try:
            parameters = self._task_parameters(state, token)
        except StateError as failure:
            self._fail_state(failure.error, failure.cause, now)
            return
        details = {"resourceType": state.resource_type, "resource": state.resource_name,
                   "region": self.arn.split(":")[3], "parameters": compact(parameters)}
        if state.timeout_seconds:
            details["timeoutInSeconds"] = state.timeout_seconds
        self._event("TaskScheduled", now, taskScheduledEventDetails=details)
        self._event("TaskStarted", now, taskStartedEventDetails=self._resource(state))
        self._task_deadline = now + state.timeout_seconds if state.timeout_seconds else None
        try:
            result = tasks.run(state.resource, parameters, token)
        except TaskFailed as failed:
            self._task_error(failed.error, failed.cause, now)
            return
        if result is None:
            if token is None:
                raise ValueError(f"state {state.name}: the task of {state.resource} returned None "
                                 "(only .waitForTaskToken tasks wait)")
            self._tokens[token] = True
            self._step = ("token", token)
            return
        self._task_result(result, now)

    def _task_parameters(self, state: State, token: str | None) -> Any:
        data = {} if state.input_path is None else state.input_path.get(self._raw, "InputPath")
        if state.parameters is None:
            return copy.deepcopy(data)
        return state.parameters.apply(data, self._context(state, token))

    def _task_result(self, result: Any, now: float) -> None:
        state = self._states[self.state]
        self._event("TaskSucceeded", now, taskSucceededEventDetails={
            **self._resource(state), "output": compact(result), "outputDetails": {"truncated": False}})
        try:
            output = self._output(state, self._raw, result)
        except StateError as failure:
            self._fail_state(failure.error, failure.cause, now)
            return
        self._exit(output, now)

    def _task_error(self, error: str, cause: str, now: float, timed_out: bool = False) -> None:
        state = self._states[self.state]
        kind = "TaskTimedOut" if timed_out else "TaskFailed"
        key = "taskTimedOutEventDetails" if timed_out else "taskFailedEventDetails"
        self._event(kind, now, **{key: {**self._resource(state), **_details(error, cause)}})
        for waiting in self._tokens:
            self._tokens[waiting] = False
        for index, retrier in enumerate(state.retry):
            if _matches(retrier["ErrorEquals"], error):
                attempts = self._retries.get(index, 0)
                if attempts < retrier["MaxAttempts"]:
                    self._retries[index] = attempts + 1
                    self._step = ("retry",)
                    self.wake_at = now + retrier["IntervalSeconds"] * retrier["BackoffRate"] ** attempts
                    return
                break  # the first retrier that matches decides, even when it is exhausted
        self._fail_state(error, cause, now)

    def _fail_state(self, error: str, cause: str, now: float) -> None:
        state = self._states[self.state]
        for catcher in [] if error in UNCATCHABLE else state.catch:
            if _matches(catcher["ErrorEquals"], error):
                try:
                    output = _catch_output(catcher, self._raw, error, cause)
                except StateError as failure:
                    return self._fail_execution(failure.error, failure.cause, now)
                self._event(f"{state.type}StateExited", now, stateExitedEventDetails=_exited(state.name, output))
                self._step = ("enter", catcher["Next"], output)
                self.wake_at = now
                return None
        return self._fail_execution(error, cause, now)

    def _fail_execution(self, error: str, cause: str, now: float) -> None:
        if error == RUNTIME:
            cause = (f"An error occurred while executing the state '{self.state}' "
                     f"(entered at the event id #{self._entered_event}). {cause}")
        self._event("ExecutionFailed", now, executionFailedEventDetails=_details(error, cause))
        self._end("FAILED", error, cause)

    def _finish_timed_out(self, now: float) -> None:
        self._event("ExecutionTimedOut", now, executionTimedOutEventDetails={})
        self._end("TIMED_OUT", "States.Timeout", None)

    # ------------------------------------------------------------------ helpers

    def _check_token(self, token: str) -> None:
        if token not in self._tokens:
            raise TokenError("InvalidToken", "Invalid token")
        if not self._tokens[token] or self.status != "RUNNING":
            raise TokenError("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")

    def _context(self, state: State, token: str | None) -> dict[str, Any]:
        parts = self.arn.split(":")
        machine = ":".join([*parts[:5], "stateMachine", parts[6]]) if len(parts) > 6 else ""
        context = {
            "Execution": {"Id": self.arn, "Input": copy.deepcopy(self._input), "Name": self.name,
                          "StartTime": _iso(self.start)},
            "State": {"Name": state.name, "EnteredTime": _iso(self._entered_at),
                      "RetryCount": sum(self._retries.values())},
            "StateMachine": {"Id": machine, "Name": parts[6] if len(parts) > 6 else ""},
        }
        if token is not None:
            context["Task"] = {"Token": token}
        return context

    def _resource(self, state: State) -> dict[str, str]:
        return {"resourceType": state.resource_type, "resource": state.resource_name}

    def _event(self, kind: str, now: float, **details: Any) -> None:
        event_id = len(self.history) + 1
        if kind.endswith("StateEntered"):
            self._entered_event = event_id
        self.history.append({"timestamp": datetime.fromtimestamp(now, UTC), "type": kind, "id": event_id,
                             "previousEventId": event_id - 1, **details})

    def _end(self, status: str, error: str | None, cause: str | None, output: Any = None) -> None:
        self.status, self.error, self.cause, self.output = status, error, cause, output
        self.wake_at = None
        for token in self._tokens:
            self._tokens[token] = False

    def _update_wake(self) -> None:
        if self.status != "RUNNING":
            self.wake_at = None
        elif self._step[0] == "token":
            self.wake_at = self._task_deadline
        if self.wake_at is not None and self._deadline is not None:
            self.wake_at = min(self.wake_at, self._deadline)


def _matches(names: list[str], error: str) -> bool:
    return error in names or (ALL in names and error not in UNCATCHABLE)


def _catch_output(catcher: dict[str, Any], raw: Any, error: str, cause: str) -> Any:
    path = catcher["ResultPath"]
    failure = {"Error": error, "Cause": cause}
    return copy.deepcopy(raw) if path is None else path.put(copy.deepcopy(raw), failure)


def _details(error: str | None, cause: str | None) -> dict[str, str]:
    return {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}


def _exited(name: str, output: Any) -> dict[str, Any]:
    return {"name": name, "output": compact(output), "outputDetails": {"truncated": False}}

