"""Deploy probe (``deploy_probe.handler.lambda_handler``): CodeDeploy's BeforeAllowTraffic hook.

CodeDeploy invokes it with ``{"DeploymentId", "LifecycleEventHookExecutionId"}`` before
it moves any of the alias's traffic to the new version. The probe reads the deployment
(GetDeployment: the AppSpec's function and ``TargetVersion``), sends reads of the
configured user ids to that version (Invoke with ``Qualifier`` = the target version: no
user is served by them, and a read changes no data), checks every answer against the
read model (``user_profile.read_model``, vendored from the example), and decides with
Wald's sequential test (``cutover_runtime.sequential``) against the release's error-rate
limit. It reports ``Succeeded`` or ``Failed`` with PutLifecycleEventHookExecutionStatus;
``Failed`` fails the deployment, and CodeDeploy rolls back (the alias never moved).
Whatever it cannot judge is ``Failed``: an AppSpec it cannot read, a function that is
not the release's, no decision within its reads or its time.

Without user ids, it reads ``cutover-probe-<n>``: an answer is then a profile of that
user or the candidate's ``{"error": "not found"}``; with them, only a valid profile of
the user asked for. One ``PROBE-PASSED`` / ``PROBE-FAILED`` log line per deployment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cutover_runtime import aws
from cutover_runtime import env as env_keys
from cutover_runtime.sequential import FAIL, PASS, ErrorRateTest
from cutover_runtime.telemetry import Identity, log_event
from user_profile.read_model import MalformedResponse, validate_profile

from .appspec import Shipment, UnreadableDeployment, shipment

NOT_FOUND = {"error": "not found"}
SYNTHETIC_PREFIX = "cutover-probe-"
# Kept back from the invocation's deadline to report the verdict (PutLifecycleEventHookExecutionStatus).
REPORT_RESERVE_MS = 5000
MAX_PROBLEMS = 5


@dataclass(frozen=True)
class ProbeSettings:
    targets: dict[str, int]  # function name -> read timeout (ms)
    user_ids: tuple[str, ...]
    max_reads: int
    test: ErrorRateTest

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ProbeSettings:
        env = os.environ if environ is None else environ
        targets = json.loads(env.get(env_keys.PROBE_TARGETS, "{}"))
        return cls(targets={str(k): int(v) for k, v in targets.items()},
                   user_ids=tuple(json.loads(env.get(env_keys.PROBE_USER_IDS, "[]"))),
                   max_reads=int(env.get(env_keys.PROBE_MAX_READS, "600")),
                   test=ErrorRateTest.against_limit(float(env.get(env_keys.PROBE_ERROR_RATE_PCT, "2")),
                                                    float(env.get(env_keys.PROBE_CONFIDENCE, "0.95"))))

    def user_id(self, n: int) -> str:
        return self.user_ids[n % len(self.user_ids)] if self.user_ids else f"{SYNTHETIC_PREFIX}{n}"


@dataclass
class Tally:
    reads: int = 0
    errors: int = 0
    verdict: str | None = None
    problems: list[str] = field(default_factory=list)

    def add(self, problem: str | None, test: ErrorRateTest) -> None:
        self.reads += 1
        if problem is not None:
            self.errors += 1
            if len(self.problems) < MAX_PROBLEMS:
                self.problems.append(problem)
        self.verdict = test.decide(self.reads, self.errors)


def judge_answer(payload: bytes, user_id: str, known: bool) -> str | None:
    """None for an answer the read model allows, else what is wrong with it."""
    try:
        body = json.loads(payload)
    except ValueError:
        return "answer is not JSON"
    if not known and body == NOT_FOUND:
        return None
    try:
        validate_profile(body, user_id)
    except MalformedResponse as exc:
        return f"answer breaks the read model: {exc}"
    return None


class Probe:
    def __init__(self, settings: ProbeSettings, identity: Identity, codedeploy: Any,
                 lambda_for: Callable[[int], Any]) -> None:
        self.settings = settings
        self.identity = identity
        self.codedeploy = codedeploy
        self.lambda_for = lambda_for  # read timeout (ms) -> Lambda client

    def read(self, ship: Shipment, n: int) -> str | None:
        user_id = self.settings.user_id(n)
        client = self.lambda_for(self.settings.targets[ship.function])
        try:
            answer = client.invoke(FunctionName=ship.function, Qualifier=ship.target,
                                   Payload=json.dumps({"cutover": "probe", "userId": user_id}).encode())
        except Exception as exc:  # noqa: BLE001 - a read that cannot be made counts against the version
            return f"invoke failed: {exc.__class__.__name__}"
        if answer.get("FunctionError"):
            return f"function error: {answer['FunctionError']}"
        return judge_answer(answer["Payload"].read(), user_id, bool(self.settings.user_ids))

    def run(self, ship: Shipment, remaining_ms: Callable[[], int]) -> Tally:
        tally = Tally()
        reserve = REPORT_RESERVE_MS + self.settings.targets[ship.function]
        while tally.verdict is None and tally.reads < self.settings.max_reads and remaining_ms() > reserve:
            tally.add(self.read(ship, tally.reads), self.settings.test)
        return tally

    def handle(self, event: dict[str, Any], remaining_ms: Callable[[], int]) -> dict[str, Any]:
        deployment_id = event["DeploymentId"]
        result: dict[str, Any] = {"deploymentId": deployment_id}
        try:
            info = self.codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
            ship = shipment(info)
            if ship.function not in self.settings.targets:
                raise UnreadableDeployment(f"{ship.function} is not a function this probe judges")
            result.update(function=ship.function, version=ship.target)
            tally = self.run(ship, remaining_ms)
            result.update(reads=tally.reads, errors=tally.errors, problems=tally.problems,
                          verdict=tally.verdict or "UNDECIDED")
        except Exception as exc:  # noqa: BLE001 - what cannot be judged fails; an unreported hook waits an hour
            reason = str(exc) if isinstance(exc, UnreadableDeployment) else exc.__class__.__name__
            result.update(verdict=FAIL, reason=reason)
        status = "Succeeded" if result["verdict"] == PASS else "Failed"
        self.codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id, lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
            status=status)
        result["status"] = status
        log_event(self.identity, "PROBE-PASSED" if status == "Succeeded" else "PROBE-FAILED",
                  "INFO" if status == "Succeeded" else "WARN", **result)
        return result


def _client(service: str, timeout_ms: int | None = None) -> Any:
    """The probe's client of `service` for this timeout (`aws.client`)."""
    seconds = (timeout_ms or 10000) / 1000
    return aws.client(service, timeout_ms, connect_s=seconds, attempts=2)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    probe = Probe(ProbeSettings.from_env(), Identity.from_env(), _client("codedeploy"),
                  lambda timeout_ms: _client("lambda", timeout_ms))
    return probe.handle(event, context.get_remaining_time_in_millis)
