"""The definition checks of the evaluator: each state's fields, by type, compiled into a
``State``. A field Step Functions knows but the evaluator does not run, or a field that is
not ASL at all, is a ``DefinitionError`` naming the state and the field: the definition
is the generator's, so either is a bug to fix there, not something to run approximately.
"""

from __future__ import annotations

from typing import Any

from .asl import ALL, DefinitionError, Path, Rule, Template

_IO = ("InputPath", "OutputPath")
_FLOW = ("Next", "End")
FIELDS = {
    "Pass": {"Type", "Comment", *_IO, *_FLOW, "Parameters", "Result", "ResultPath"},
    "Task": {"Type", "Comment", *_IO, *_FLOW, "Parameters", "ResultSelector", "ResultPath", "Resource",
             "Retry", "Catch", "TimeoutSeconds"},
    "Choice": {"Type", "Comment", *_IO, "Choices", "Default"},
    "Wait": {"Type", "Comment", *_IO, *_FLOW, "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Succeed": {"Type", "Comment", *_IO},
    "Fail": {"Type", "Comment", "Error", "Cause"},
}
# Fields AWS accepts that the evaluator does not run (a clear refusal, not a silent skip).
UNSUPPORTED = {"HeartbeatSeconds", "HeartbeatSecondsPath", "TimeoutSecondsPath", "Credentials", "Assign",
               "Arguments", "Output", "QueryLanguage", "ErrorPath", "CausePath", "Branches", "ItemProcessor",
               "Iterator", "ItemsPath", "ItemSelector", "MaxConcurrency", "ItemReader", "ResultWriter"}
TOP_FIELDS = {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
RETRIER_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate"}
CATCHER_FIELDS = {"ErrorEquals", "Next", "ResultPath"}
INTEGRATION = "arn:aws:states:::"
MAX_NAME = 80  # a state's name ("Step Functions service quotas": 80 Unicode characters)


class State:
    """One state of a checked definition."""

    def __init__(self, name: str, body: Any) -> None:
        where = f"States.{name}"
        if not 1 <= len(name) <= MAX_NAME:
            raise DefinitionError(where, f"a state's name is 1 to {MAX_NAME} characters")
        if not isinstance(body, dict):
            raise DefinitionError(where, "a state must be a JSON object")
        self.name, self.type = name, body.get("Type")
        if self.type not in FIELDS:
            detail = "is not supported" if self.type in ("Parallel", "Map") else "is not a state type"
            raise DefinitionError(f"{where}.Type", f"{self.type!r} {detail} (supported: {', '.join(FIELDS)})")
        for field in body:
            if field not in FIELDS[self.type]:
                known = "is not supported by the evaluator" if field in UNSUPPORTED else \
                    f"is not a field of a {self.type} state"
                raise DefinitionError(f"{where}.{field}", known)
        self.input_path = _optional_path(body, "InputPath", where)
        self.output_path = _optional_path(body, "OutputPath", where)
        self.result_path = _optional_path(body, "ResultPath", where)
        self.parameters = Template(body["Parameters"], f"{where}.Parameters") if "Parameters" in body else None
        self.result_selector = (Template(body["ResultSelector"], f"{where}.ResultSelector")
                                if "ResultSelector" in body else None)
        self.has_result, self.result = "Result" in body, body.get("Result")
        self._flow(body, where)
        self._task(body, where)
        self._wait(body, where)
        self._choice(body, where)
        self.error, self.cause = _string(body, "Error", where), _string(body, "Cause", where)

    def output(self, data: Any) -> Any:
        return {} if self.output_path is None else self.output_path.get(data, "OutputPath")

    def _flow(self, body: dict[str, Any], where: str) -> None:
        self.next, self.end = body.get("Next"), body.get("End", False)
        if self.type in ("Pass", "Task", "Wait") and ("Next" in body) == bool(self.end):
            raise DefinitionError(where, "a state must have exactly one of Next and End: true")
        if "End" in body and self.end is not True:
            raise DefinitionError(f"{where}.End", "must be true when present")

    def _task(self, body: dict[str, Any], where: str) -> None:
        self.retry = [_retrier(r, f"{where}.Retry[{i}]") for i, r in enumerate(body.get("Retry", []))]
        self.catch = [_catcher(c, f"{where}.Catch[{i}]") for i, c in enumerate(body.get("Catch", []))]
        _all_last([r["ErrorEquals"] for r in self.retry], f"{where}.Retry")
        _all_last([c["ErrorEquals"] for c in self.catch], f"{where}.Catch")
        self.timeout_seconds = body.get("TimeoutSeconds")
        if self.timeout_seconds is not None and not _positive_int(self.timeout_seconds):
            raise DefinitionError(f"{where}.TimeoutSeconds", "must be a positive integer")
        self.resource = body.get("Resource")
        self.waits_for_token = False
        self.resource_type = self.resource_name = ""
        if self.type != "Task":
            return
        resource = self.resource
        if not isinstance(resource, str) or not resource.startswith(INTEGRATION):
            raise DefinitionError(f"{where}.Resource", f"{resource!r}: only service integrations "
                                  f"({INTEGRATION}<service>:<action>) are supported")
        service, _, action = resource[len(INTEGRATION):].rpartition(":")
        if not service or not action or action.endswith(".sync") or ".sync:" in action:
            raise DefinitionError(f"{where}.Resource", f"{resource!r}: .sync integrations are not supported")
        self.resource_type, self.resource_name = service, action
        self.waits_for_token = action.endswith(".waitForTaskToken")
        if self.waits_for_token and "$$.Task.Token" not in repr(body.get("Parameters")):
            raise DefinitionError(f"{where}.Parameters", ".waitForTaskToken needs $$.Task.Token in Parameters")

    def _wait(self, body: dict[str, Any], where: str) -> None:
        fields = [f for f in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if f in body]
        if self.type == "Wait" and len(fields) != 1:
            raise DefinitionError(where, "a Wait state takes exactly one of Seconds, SecondsPath, "
                                  f"Timestamp, TimestampPath (found {fields or 'none'})")
        self.seconds = body.get("Seconds")
        if self.seconds is not None and (not isinstance(self.seconds, int) or isinstance(self.seconds, bool)
                                         or self.seconds < 0):
            raise DefinitionError(f"{where}.Seconds", "must be a non-negative integer")
        self.seconds_path = _optional_path(body, "SecondsPath", where) if "SecondsPath" in body else None
        self.timestamp = _string(body, "Timestamp", where)
        self.timestamp_path = _optional_path(body, "TimestampPath", where) if "TimestampPath" in body else None

    def _choice(self, body: dict[str, Any], where: str) -> None:
        self.default = body.get("Default")
        self.choices: list[Rule] = []
        if self.type != "Choice":
            return
        choices = body.get("Choices")
        if not isinstance(choices, list) or not choices:
            raise DefinitionError(f"{where}.Choices", "must be a non-empty list of rules")
        self.choices = [Rule(r, f"{where}.Choices[{i}]", True) for i, r in enumerate(choices)]

    def targets(self) -> list[tuple[str, Any]]:
        found = [("Next", self.next), ("Default", self.default)]
        found += [(f"Choices[{i}].Next", r.next) for i, r in enumerate(self.choices)]
        found += [(f"Catch[{i}].Next", c["Next"]) for i, c in enumerate(self.catch)]
        return [(f, t) for f, t in found if t is not None]


def check_definition(definition: Any) -> tuple[dict[str, State], str, int | None]:
    """The states by name, the start state and the execution timeout (or None)."""
    if not isinstance(definition, dict):
        raise DefinitionError("definition", "must be a JSON object")
    for field in definition:
        if field not in TOP_FIELDS:
            raise DefinitionError(field, "is not a top-level field of a state machine")
    if definition.get("QueryLanguage", "JSONPath") != "JSONPath":
        raise DefinitionError("QueryLanguage", "only JSONPath is supported")
    body = definition.get("States")
    if not isinstance(body, dict) or not body:
        raise DefinitionError("States", "must be a non-empty JSON object")
    states = {name: State(name, state) for name, state in body.items()}
    start = definition.get("StartAt")
    if start not in states:
        raise DefinitionError("StartAt", f"{start!r} is not a state of the definition")
    for state in states.values():
        for field, target in state.targets():
            if target not in states:
                raise DefinitionError(f"States.{state.name}.{field}", f"{target!r} is not a state")
    _reachable(states, start)
    timeout = definition.get("TimeoutSeconds")
    if timeout is not None and not _positive_int(timeout):
        raise DefinitionError("TimeoutSeconds", "must be a positive integer")
    return states, start, timeout


def _reachable(states: dict[str, State], start: str) -> None:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [target for _, target in states[name].targets()]
    for name in states:
        if name not in seen:
            raise DefinitionError(f"States.{name}", "is not reachable from StartAt (Step Functions refuses it)")


def _optional_path(body: dict[str, Any], field: str, where: str) -> Path | None:
    """A path field: absent = ``$``; null = none (InputPath/OutputPath: ``{}``; ResultPath: discard)."""
    if field not in body:
        return Path("$", f"{where}.{field}")
    value = body[field]
    if value is None:
        return None
    path = Path(value, f"{where}.{field}")
    if field == "ResultPath" and path.context:
        raise DefinitionError(f"{where}.{field}", "ResultPath cannot point into the context object")
    return path


def _string(body: dict[str, Any], field: str, where: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise DefinitionError(f"{where}.{field}", "must be a string")
    return value


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _error_names(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise DefinitionError(f"{where}.ErrorEquals", "must be a non-empty list of error names")
    if ALL in value and len(value) > 1:
        raise DefinitionError(f"{where}.ErrorEquals", "States.ALL must appear alone")
    return value


def _all_last(lists: list[list[str]], where: str) -> None:
    for names in lists[:-1]:
        if ALL in names:
            raise DefinitionError(where, "States.ALL must be in the last entry")


def _retrier(body: Any, where: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise DefinitionError(where, "a retrier must be a JSON object")
    for field in body:
        if field not in RETRIER_FIELDS:
            detail = "is not supported by the evaluator" if field in ("MaxDelaySeconds", "JitterStrategy") \
                else "is not a field of a retrier"
            raise DefinitionError(f"{where}.{field}", detail)
    retrier = {"ErrorEquals": _error_names(body.get("ErrorEquals"), where), "IntervalSeconds": 1,
               "MaxAttempts": 3, "BackoffRate": 2.0}
    retrier.update({k: v for k, v in body.items() if k != "ErrorEquals"})
    if not _positive_int(retrier["IntervalSeconds"]):
        raise DefinitionError(f"{where}.IntervalSeconds", "must be a positive integer")
    if not isinstance(retrier["MaxAttempts"], int) or retrier["MaxAttempts"] < 0:
        raise DefinitionError(f"{where}.MaxAttempts", "must be a non-negative integer")
    rate = retrier["BackoffRate"]
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 1.0:
        raise DefinitionError(f"{where}.BackoffRate", "must be a number >= 1.0")
    return retrier


def _catcher(body: Any, where: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise DefinitionError(where, "a catcher must be a JSON object")
    for field in body:
        if field not in CATCHER_FIELDS:
            raise DefinitionError(f"{where}.{field}", "is not a field of a catcher")
    if not isinstance(body.get("Next"), str):
        raise DefinitionError(f"{where}.Next", "a catcher needs Next")
    return {"ErrorEquals": _error_names(body.get("ErrorEquals"), where), "Next": body["Next"],
            "ResultPath": _optional_path(body, "ResultPath", where)}
