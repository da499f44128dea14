"""Shared by the controller tests: the production spec's controller (enabled in the
repository's spec; `disable` turns it off in a test's project), its state machine in moto
(made by `release`), and Step Functions answers for the Stubber (a history with an
approval task, which moto cannot produce)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from botocore.stub import Stubber

from tests.ops.conftest import ACCOUNT, REGION

MACHINE = "huntaze-prisma-migration-production-controller"
MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{MACHINE}"
EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{MACHINE}:20261205T010000-ana"
T0 = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
STAGE = {"path": "user-read", "flag": "user-read-canary", "from": 5, "step": 25, "version": "9",
         "description": "cutover controller 20261205T010000-ana: user-read 5% -> 25%", "percents": {"user-read": 5}}


def disable(project) -> None:
    """The project's production spec with `delivery.controller.enabled: false`."""
    spec = project / "config" / "production.release.yaml"
    text = spec.read_text()
    start = text.index("  controller:\n")
    assert text.index("    enabled: true", start) == start + len("  controller:\n")
    spec.write_text(text.replace("  controller:\n    enabled: true", "  controller:\n    enabled: false", 1))


def machine(em) -> str:
    """The state machine `release` made (build_release: the plan names it MACHINE)."""
    return next(m["stateMachineArn"] for m in em.client("stepfunctions").list_state_machines()["stateMachines"]
                if m["name"] == MACHINE)


def expect_machine(stub: Stubber) -> None:
    stub.add_response("list_state_machines", {"stateMachines": [
        {"stateMachineArn": MACHINE_ARN, "name": MACHINE, "type": "STANDARD", "creationDate": T0}]}, {})


def summary(status: str = "RUNNING", arn: str = EXECUTION) -> dict:
    return {"executionArn": arn, "stateMachineArn": MACHINE_ARN, "name": arn.rsplit(":", 1)[1],
            "status": status, "startDate": T0}


def expect_executions(stub: Stubber, *items: dict, status: str | None = "RUNNING", limit: int = 1) -> None:
    params = {"stateMachineArn": MACHINE_ARN, "maxResults": limit, **({"statusFilter": status} if status else {})}
    stub.add_response("list_executions", {"executions": list(items)}, params)


def expect_history(stub: Stubber, events: list[dict], arn: str = EXECUTION) -> None:
    stub.add_response("get_execution_history", {"events": events}, {"executionArn": arn})


def expect_description(stub: Stubber, status: str, arn: str = EXECUTION, **extra: object) -> None:
    stub.add_response("describe_execution", {**summary(status, arn), "input": json.dumps({"startedBy": "ana"}),
                                             **extra}, {"executionArn": arn})


class Events:
    """A history as GetExecutionHistory answers it (AWS's shapes), built event by event."""

    def __init__(self) -> None:
        self.events: list[dict] = [self._event("ExecutionStarted", executionStartedEventDetails={"input": "{}"})]

    def _event(self, type_: str, **details: object) -> dict:
        n = len(getattr(self, "events", [])) + 1
        return {"id": n, "previousEventId": n - 1, "timestamp": T0, "type": type_, **details}

    def add(self, type_: str, **details: object) -> Events:
        self.events.append(self._event(type_, **details))
        return self

    def enter(self, state: str, type_: str = "TaskStateEntered") -> Events:
        return self.add(type_, stateEnteredEventDetails={"name": state, "input": "{}"})

    def decided(self, action: str, why: str, resource: str = "invoke") -> Events:
        """The controller function answered; its output carries the audit entry."""
        entry = {"env": "production", "when": "2026-12-05T01:00:00Z",
                 "who": {"user": "cutover controller", "awsIdentity": EXECUTION}, "why": why,
                 "actions": [{"action": action, "path": "user-read", "from": 1, "step": 5}], "steps": {},
                 "specChanges": []}
        output = {"StatusCode": 200, "Payload": {"verdict": "PROMOTE", "reason": why, "audit": entry}}
        self.add("TaskScheduled", taskScheduledEventDetails={
            "resourceType": "lambda", "resource": resource, "region": REGION, "parameters": "{}"})
        return self.add("TaskSucceeded", taskSucceededEventDetails={
            "resourceType": "lambda", "resource": resource, "output": json.dumps(output)})

    def ask(self, token: str = "token-123", resource: str = "invoke.waitForTaskToken",
            resource_type: str = "lambda") -> Events:
        """AskApproval scheduled: the token is in the parameters' Payload."""
        parameters = {"FunctionName": "fn", "Payload": {"action": "ask", "stage": STAGE, "token": token,
                                                        "reason": "held after 3 judgements: too few samples"}}
        self.enter("AskApproval")
        self.add("TaskScheduled", taskScheduledEventDetails={
            "resourceType": resource_type, "resource": resource, "region": REGION,
            "parameters": json.dumps(parameters)})
        return self.add("TaskStarted", taskStartedEventDetails={"resourceType": resource_type, "resource": resource})
