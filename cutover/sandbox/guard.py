"""The guard function of the release, run in-process as Lambda would run it for EventBridge.

Its code is the real handler from ``build/functions/guard.zip``; its environment is the
one APPLIED (Lambda GetFunctionConfiguration through the front door), plus what the
Lambda runtime gives every function (region, credentials) and ``AWS_ENDPOINT_URL`` = the
front door, so its DescribeAlarms, ListDeployments, StopDeployment, StartDeployment and
Publish reach the sandbox's stand-ins exactly as on AWS. A changed environment (a new
apply) gets a new function: new execution environments, a cold start.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cutover.rehearsal.functions import package_path
from cutover.rehearsal.lambda_service import THROTTLE_RETRY_S, Function, LambdaService, Version

ACTIONS = frozenset({"GUARD-APPLIED", "GUARD-STOPPED"})  # the runs that changed what is served
MAX_THROTTLED = 10  # Lambda retries a throttled asynchronous event for hours; a few suffice here
# boto3 signs with something; the sandbox checks no signature
RUNTIME_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox"}


@dataclass(frozen=True)
class GuardRun:
    at: float  # sandbox seconds since start
    trigger: str  # what invoked it: "alarm <name> <old> -> <new>" or "schedule <rule>"
    outcome: str  # the handler's outcome (GUARD-APPLIED, GUARD-IDLE...) or the function error
    detail: str = ""

    def view(self) -> dict[str, Any]:
        return {"at_s": self.at, "trigger": self.trigger, "outcome": self.outcome, "detail": self.detail}


class GuardRunner:
    def __init__(self, service: LambdaService, build_dir: Path, name: str, timeout_s: float,
                 endpoint: str, region: str, lambda_client: Any, *, package: str = "guard",
                 role: str | None = None) -> None:
        self.service, self.build_dir, self.name, self.timeout_s = service, build_dir, name, timeout_s
        self.package = package  # build/functions/<package>.zip, handler <package>.handler
        self.role = role or package  # what the Lambda stand-in's hooks know it as
        self.endpoint, self.region, self.lambda_client = endpoint, region, lambda_client
        self.fn: Function | None = None
        self.rng = random.Random(f"guard-retry:{name}")
        self.runs: list[GuardRun] = []
        self.last_action: GuardRun | None = None  # the last run that changed something, or failed

    def applied_environment(self) -> dict[str, str] | None:
        """The function's environment as applied; None when it is not (yet) deployed."""
        try:
            config = self.lambda_client.get_function_configuration(FunctionName=self.name)
        except self.lambda_client.exceptions.ResourceNotFoundException:
            return None
        variables = dict((config.get("Environment") or {}).get("Variables") or {})
        variables.update({"AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": self.region,
                          "AWS_DEFAULT_REGION": self.region, **RUNTIME_CREDENTIALS})
        return variables

    def _function(self, environment: dict[str, str]) -> Function:
        if self.fn is None or self.fn.versions["1"].environment != environment:
            fn = Function(self.name, "live", self.role, self.timeout_s, 1)  # reserved concurrency 1
            fn.versions["1"] = Version("1", package_path(self.build_dir, self.package), f"{self.package}.handler",
                                       None, environment, environ_per_invoke=True)
            fn.routing = {"1": 1.0}
            self.service.add(fn)
            self.fn = fn
        return self.fn

    def invoke(self, event: dict[str, Any], t: float, trigger: str) -> GuardRun | None:
        """One asynchronous invocation at ``t``; None when the guard is not deployed."""
        environment = self.applied_environment()
        if environment is None:
            return None
        fn = self._function(environment)
        result = self.service.run(fn, event, t, "guard")
        for _ in range(MAX_THROTTLED):
            if not result.throttled:
                break
            # reserved concurrency 1: Lambda retries the event a few seconds after the run ends
            t = max(env.busy_until for env in fn.environments) + self.rng.uniform(*THROTTLE_RETRY_S)
            result = self.service.run(fn, event, t, "guard")
        payload = result.payload if isinstance(result.payload, dict) else {}
        if result.function_error:
            run = GuardRun(t, trigger, str(result.function_error),
                           f"{payload.get('errorType', '')}: {payload.get('errorMessage', '')}"[:200])
        else:
            run = GuardRun(t, trigger, str(payload.get("outcome", "")), str(payload.get("reason", "")))
        self.runs = [*self.runs[-99:], run]
        if run.outcome in ACTIONS or result.function_error:
            self.last_action = run
        return run
