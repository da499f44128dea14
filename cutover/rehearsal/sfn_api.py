"""Step Functions' ListExecutions and DescribeExecution on loopback, over the rehearsal's
executions of the controller (cutover/rehearsal/states.py): what the controller function
reads to find an older execution still running (its survey's SKIP).

boto3's ``stepfunctions`` client speaks JSON 1.0 (``X-Amz-Target: AWSStepFunctions.<Op>``);
timestamps go out as epoch seconds, which botocore parses into datetimes. Functions reach
it with ``AWS_ENDPOINT_URL_SFN`` (the service id of Step Functions is ``SFN``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .cloudwatch_api import LoopbackApi

TARGET = "AWSStepFunctions."
PAGE = 100  # ListExecutions' default and largest page (maxResults 1-1000; 0 = the default 100)


class StepFunctionsApi:
    """``executions()`` returns the ``(state machine ARN, Execution)`` pairs, read on every
    call (the executions run on epoch seconds)."""

    def __init__(self, executions: Callable[[], list[tuple[str, Any]]]) -> None:
        self.executions = executions
        self.calls: list[str] = []
        self.api = LoopbackApi("sfn-api", self.route)
        self.url = self.api.url

    def _item(self, machine: str, execution: Any) -> dict[str, Any]:
        item = {"executionArn": execution.arn, "stateMachineArn": machine, "name": execution.name,
                "status": execution.status, "startDate": execution.start}
        if execution.status != "RUNNING" and execution.history:
            item["stopDate"] = execution.history[-1]["timestamp"].timestamp()
        return item

    def list_executions(self, request: dict[str, Any]) -> dict[str, Any]:
        machine, status = request.get("stateMachineArn"), request.get("statusFilter")
        items = [self._item(m, e) for m, e in self.executions()
                 if m == machine and (status is None or e.status == status)]
        items.sort(key=lambda i: -i["startDate"])  # newest first
        start = int(request.get("nextToken") or 0)
        size = int(request.get("maxResults") or PAGE)
        out: dict[str, Any] = {"executions": items[start:start + size]}
        if start + size < len(items):
            out["nextToken"] = str(start + size)
        return out

    def describe_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        for machine, execution in self.executions():
            if execution.arn == request.get("executionArn"):
                out = self._item(machine, execution)
                out["input"] = execution.history[0]["executionStartedEventDetails"]["input"]
                if execution.output is not None:
                    out["output"] = json.dumps(execution.output)
                out.update({k: v for k, v in (("error", execution.error), ("cause", execution.cause)) if v})
                return out
        raise LookupError(request.get("executionArn"))

    def route(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        operation = str(headers.get("X-Amz-Target", "")).removeprefix(TARGET)
        reply = {"Content-Type": "application/x-amz-json-1.0"}
        handlers = {"ListExecutions": self.list_executions, "DescribeExecution": self.describe_execution}
        if method != "POST" or operation not in handlers:
            return 400, json.dumps({"__type": "UnknownOperationException",
                                    "message": f"{operation or path} is not implemented here"}).encode(), reply
        self.calls.append(operation)
        try:
            answer = handlers[operation](json.loads(body or b"{}"))
        except LookupError:
            return 400, json.dumps({"__type": "ExecutionDoesNotExist", "message": "no such execution"}).encode(), reply
        return 200, json.dumps(answer).encode(), reply

    def close(self) -> None:
        self.api.close()
