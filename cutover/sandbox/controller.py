"""The release's controller in the simulation: its state machine's executions advance on
the sandbox's clock, and its tasks run where AWS would run them.

* Executions are the Step Functions stand-in's (``services/stepfunctions.py``); the
  simulation advances them after each simulated minute (``advance``), on its own thread,
  so a task's calls back into the sandbox are served by the front door meanwhile.
* ``arn:aws:states:::lambda:invoke`` (and ``.waitForTaskToken``): the function the task
  names, through the Lambda stand-in's ``call``: the controller function is registered
  there like the routers, so an operator's ``aws lambda invoke`` reaches it too. It is the
  real handler from ``build/functions/controller.zip`` with its APPLIED environment
  (GetFunctionConfiguration) and the front door as its endpoint, as the guard runs.
  Its clock: the handler's ``time.time()`` and ``datetime.now()`` are the caller's (wall)
  time, as for an operator's command, because every timestamp the stand-ins answer is shifted to the
  caller's clock (``state.py``): its "the last hour" is the last simulated hour.
* ``arn:aws:states:::aws-sdk:appconfig:startDeployment``: AppConfig StartDeployment
  through the front door (the AppConfig stand-in), its answer as the SDK integration
  gives it; an error is ``AppConfig.<Code>`` (docs/aws-rules.md, Step Functions).
* ``arn:aws:states:::sns:publish``: SNS Publish through the front door (moto).

Lambda's answer in a ``lambda:invoke`` task is AWS's: ``Payload`` (the function's JSON),
``StatusCode``, ``ExecutedVersion``; a function error fails the task with the error's
``errorType`` (cause: the payload); Lambda's own errors are ``Lambda.<Code>``.
"""

from __future__ import annotations

import json
import random
import time
from datetime import datetime
from typing import Any

from cutover.rehearsal.lambda_service import LambdaService

from .guard import GuardRunner
from .invoke import run_now
from .state import SandboxClock

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
WAIT_FOR_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken"
START_DEPLOYMENT = "arn:aws:states:::aws-sdk:appconfig:startDeployment"
SNS_PUBLISH = "arn:aws:states:::sns:publish"
PACKAGE = "controller"
# Not the rehearsal's "controller" role, whose hook puts datetime.now() on the simulated
# clock: here it stays the caller's, like time.time() (CallerClock).
ROLE = "sandbox-controller"
DEFAULT_TIMEOUT_S = 60.0


class CallerClock:
    """The sandbox's clock as an operator's process sees it: simulated seconds for the
    Lambda stand-in's timeline (``now``, ``set``, ``advance``), the wall clock for
    ``time()`` (what the stand-ins' shifted timestamps are relative to)."""

    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock

    @property
    def now(self) -> float:
        return self._clock.now

    @now.setter
    def now(self, seconds: float) -> None:
        self._clock.now = seconds

    def set(self, seconds: float) -> None:
        self._clock.set(seconds)

    def advance(self, seconds: float) -> None:
        self._clock.advance(seconds)

    def perf_counter(self) -> float:
        return self._clock.now

    def monotonic(self) -> float:
        return self._clock.now

    def time(self) -> float:
        return time.time()

    def minute(self) -> int:
        return self._clock.minute()


class Controller:
    """The controller function registered with the Lambda stand-in, and the Step Functions
    stand-in's tasks; ``advance(end)`` after each simulated minute."""

    def __init__(self, sim: Any, name: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.sim, self.name = sim, name
        world, sinks = sim.world, sim.sinks
        service = LambdaService(CallerClock(sim.clock), random.Random(f"lambda:controller:{sim.seed}"),
                                sinks.lambda_publish, sinks.ingest, world.hooks, world.lambda_.lifetime_s)
        service.run = sinks.wrap_run(service.run)  # type: ignore[method-assign]
        self.clients: dict[str, Any] = {}
        self.runner: GuardRunner | None = None
        if sim.endpoint:
            self.runner = GuardRunner(service, sim.build_dir, name, timeout_s, sim.endpoint, sim.state.region,
                                      self._client("lambda"), package=PACKAGE, role=ROLE)
        self.invocations = 0
        self.last_error: str | None = None

    def register(self, aws: Any) -> None:
        if self.runner is not None and self.name:
            aws.lambda_.register(self.name, self._run)
        aws.stepfunctions.tasks = self

    def advance(self, now_s: float) -> int:
        return int(self.sim.aws.stepfunctions.advance(now_s))

    # -- the function --------------------------------------------------------------------
    def _run(self, invocation: Any) -> Any:
        from .services.lambda_invoke import Outcome

        runner = self.runner
        assert runner is not None
        environment = runner.applied_environment()
        if environment is None:
            return Outcome(json.dumps({"errorType": "ResourceNotFoundException",
                                       "errorMessage": f"{self.name} is not applied"}).encode(), "Unhandled")
        function = runner._function(environment)
        result = run_now(self.sim, invocation, lambda event, now: runner.service.run(function, event, now, "controller"))
        if isinstance(result, Outcome):
            return result
        self.invocations += 1
        if result.throttled:
            return Outcome(json.dumps({"errorType": "TooManyRequestsException"}).encode(), "Throttled")
        return Outcome(json.dumps(result.payload, default=str).encode(), "Unhandled" if result.function_error else None)

    # -- the tasks (cutover.rehearsal.states.Tasks) ---------------------------------------
    def run(self, resource: str, parameters: dict[str, Any], token: str | None) -> dict[str, Any] | None:
        from cutover.rehearsal.states import TaskFailed

        if resource in (LAMBDA_INVOKE, WAIT_FOR_TOKEN):
            output = self._invoke(parameters)
            return None if resource == WAIT_FOR_TOKEN else output
        if resource == START_DEPLOYMENT:
            return self._sdk("appconfig", "AppConfig", "start_deployment", parameters)
        if resource == SNS_PUBLISH:
            return self._sdk("sns", "SNS", "publish", parameters)
        raise TaskFailed("States.Runtime", f"the sandbox does not run tasks of {resource}")

    def _invoke(self, parameters: dict[str, Any]) -> dict[str, Any]:
        from cutover.rehearsal.states import TaskFailed

        from .services._codec import AwsError

        payload = parameters.get("Payload", {})
        body = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        try:
            version, outcome = self.sim.aws.lambda_.call(str(parameters.get("FunctionName", "")), body)
        except AwsError as error:
            raise TaskFailed(f"Lambda.{error.code}", error.message) from None
        text = outcome.payload.decode("utf-8", "replace")
        if outcome.function_error == "Throttled":
            raise TaskFailed("Lambda.TooManyRequestsException", "Rate Exceeded.")
        try:
            answer: Any = json.loads(text) if text else None
        except ValueError:
            answer = text
        if outcome.function_error:
            error = answer.get("errorType") if isinstance(answer, dict) else None
            self.last_error = f"{error or 'Lambda.Unknown'}: {text[:200]}"
            raise TaskFailed(str(error or "Lambda.Unknown"), text)
        return {"ExecutedVersion": version, "Payload": answer, "StatusCode": 200,
                "SdkHttpMetadata": {"HttpStatusCode": 200}, "SdkResponseMetadata": {"RequestId": "sandbox"}}

    def _sdk(self, service: str, prefix: str, operation: str, parameters: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        from cutover.rehearsal.states import TaskFailed

        try:
            answer = getattr(self._client(service), operation)(**parameters)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise TaskFailed(f"{prefix}.{error.get('Code', 'Unknown')}", str(error.get("Message", exc))) from None
        except Exception as exc:  # noqa: BLE001 - a parameter the SDK refuses fails the task, as AWS does
            raise TaskFailed("States.TaskFailed", f"{exc.__class__.__name__}: {exc}") from None
        answer.pop("ResponseMetadata", None)
        return json.loads(json.dumps(answer, default=_json_value))

    def _client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = client(service, self.sim.endpoint, self.sim.state.region)
        return self.clients[service]

    def status(self) -> dict[str, Any] | None:
        """The newest execution and the function's calls; None when the plan has no controller."""
        if not self.name:
            return None
        runs = list(self.sim.aws.stepfunctions.runs.values())
        newest = max(runs, key=lambda r: r.start) if runs else None
        return {"function": self.name, "invocations": self.invocations, "executions": len(runs),
                "newest": None if newest is None else {
                    "name": newest.name, "status": newest.execution.status, "state": newest.execution.state,
                    "error": newest.execution.error},
                "last_error": self.last_error}


def client(service: str, endpoint: str, region: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=region, aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox", config=Config(retries={"total_max_attempts": 2, "mode": "standard"}))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
