"""A TEST DOUBLE of the sandbox's AWS stand-ins (``cutover.sandbox.services``:
``mount(state) -> SandboxAws``), for the simulation's tests while the real services are
built elsewhere; it goes once they are on main and the end-to-end test mounts them.

It has the interface the simulation uses, on the rehearsal's own stand-ins:

* ``services["appconfig"]``: ``find(application, environment, profile)`` -> the applied
  rehearsal ``AppConfig`` (None until ``apply``), and the control-plane calls the guard
  makes (the rehearsal's ``ControlPlane``), mounted on the front door;
* ``services["monitoring"]``: DescribeAlarms over the alarms' states (the rehearsal's);
* ``tick(now_s)``: every alarm of the rendered alarms.json evaluated over
  ``state.metrics`` (the rehearsal's evaluator), returning the state transitions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cutover.rehearsal import seams
from cutover.rehearsal.appconfig import AppConfig, Strategy
from cutover.rehearsal.appconfig_api import ApiError, ControlPlane, ControlPlaneServer
from cutover.rehearsal.cloudwatch_api import DescribeAlarmsApi
from cutover.rehearsal.release import alarm_document, flag_document
from cutover.rehearsal.world import GUARD_STRATEGY
from cutover.sandbox.state import SandboxState
from cutover.sandbox.wire import Request, Response


@dataclass(frozen=True)
class Transition:
    name: str
    arn: str
    old: str
    new: str
    at_s: float
    kind: str


class Caseless(dict):
    """Request headers as the rehearsal's handlers read them (``headers.get("Description")``)."""

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(str(key).lower(), default)


class AppConfigDouble:
    signing_name = "appconfig"

    def __init__(self, state: SandboxState, names: tuple[str, str, str]) -> None:
        self.state, self.names = state, names
        self.appconfig: AppConfig | None = None
        self.server: ControlPlaneServer | None = None

    def find(self, application: str, environment: str, profile: str) -> AppConfig | None:
        return self.appconfig if (application, environment, profile) == self.names else None

    def apply(self, document: dict[str, Any], bake_s: float) -> None:
        """What `make apply` does to AppConfig: host the flags and deploy them."""
        if self.appconfig is None:
            self.appconfig = AppConfig(*self.names)
            self.appconfig.strategies[GUARD_STRATEGY.id] = GUARD_STRATEGY
            self.server = ControlPlaneServer(ControlPlane(self.appconfig, self.state.clock, lambda d: None))
        version = self.appconfig.host(document, "terraform")
        self.appconfig.deploy(version, self.state.clock.now, Strategy("ramp", 0.0, bake_s, "LINEAR", 100.0),
                              "terraform apply")

    def handle(self, request: Request) -> Response | None:
        if self.server is None:
            return Response(404, b'{"message":"nothing applied"}', {"x-amzn-ErrorType": "ResourceNotFoundException"})
        try:
            status, body, headers = self.server.route(request.method, request.path, request.body,
                                                      Caseless(request.headers))
        except ApiError as exc:
            return Response(exc.status, json.dumps({"Message": str(exc)}).encode(),
                            {"x-amzn-ErrorType": exc.kind, "Content-Type": "application/json"})
        return Response(status, body, dict(headers))

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


class MonitoringDouble:
    signing_name = "monitoring"

    def __init__(self, aws: AwsDouble) -> None:
        self.api = DescribeAlarmsApi(aws.states, aws.state.clock)

    def handle(self, request: Request) -> Response | None:
        headers = {"X-Amz-Target": request.headers.get("x-amz-target", "")}
        status, body, out = self.api.route(request.method, request.path, headers, request.body)
        return Response(status, body, out)

    def close(self) -> None:
        self.api.close()


class AwsDouble:
    """``SandboxAws`` for the simulation's tests (see the module's docstring)."""

    def __init__(self, state: SandboxState, spec: Any, spec_file: str, percent: float) -> None:
        self.state, self.spec, self.spec_file, self.percent = state, spec, spec_file, percent
        ac = spec.delivery.appconfig
        self.appconfig = AppConfigDouble(state, (ac.application, ac.environment or spec.release.environment,
                                                 ac.profile))
        self.alarms = seams.alarm_evaluator_from(alarm_document(spec, percent), state.metrics)
        self.composite = seams.rollback_name(self.alarms)
        self.monitoring = MonitoringDouble(self)
        self.previous = self._snapshot()
        state.services.update({"appconfig": self.appconfig, "monitoring": self.monitoring})

    def arn(self, name: str) -> str:
        return f"arn:aws:cloudwatch:{self.state.region}:{self.state.account_id}:alarm:{name}"

    def states(self) -> dict[str, tuple[str, str]]:
        return {name: ("CompositeAlarm" if name == self.composite else "MetricAlarm", state)
                for name, state in self._snapshot().items()}

    def _snapshot(self) -> dict[str, str]:
        names = [*seams.alarm_roles(self.alarms), self.composite]
        return {name: self.alarms.state(name) for name in names}

    def apply(self) -> None:
        self.appconfig.apply(flag_document(self.spec, self.spec_file, self.percent),
                             self.spec.delivery.appconfig.final_bake_minutes * 60.0)

    def tick(self, now_s: float) -> list[Transition]:
        self.alarms.evaluate(int(now_s))
        now = self._snapshot()
        out = [Transition(name, self.arn(name), self.previous.get(name, "INSUFFICIENT_DATA"), state, now_s,
                          "Composite" if name == self.composite else "Metric")
               for name, state in now.items() if state != self.previous.get(name, "INSUFFICIENT_DATA")]
        self.previous = now
        return out

    def close(self) -> None:
        self.appconfig.close()
        self.monitoring.close()
