"""The AWS stand-ins the sandbox mounts on its front door beyond moto, and what moto is
seeded with.

``mount(state)`` registers AppConfig (control and data plane), CloudWatch alarms and
metrics (``monitoring``), CloudWatch Logs' queries and events (``logs``) and X-Ray
(``xray``) and CodeDeploy's StopDeployment / PutLifecycleEventHookExecutionStatus in
``state.services``, Lambda's Invoke for the functions the simulation registers
(``aws.lambda_.register``: moto runs code only in Docker), and Step Functions' executions
(``aws.stepfunctions``: the ASL evaluator runs them as the simulation advances); everything else (Lambda, IAM, EventBridge, SQS, SNS, KMS, DynamoDB,
the rest of CodeDeploy, log groups, dashboards, S3, STS, SSM, EC2) is moto's. Where moto
keeps what an apply set but leaves it out of its answers (a deployment group's alarms, a
function's dead-letter queue and logging, a referenced group rule's description), the
stand-in for that service puts it back (``amend``): a replan after an apply is empty.
``SandboxAws.tick(now_s)`` is called by the simulation after each simulated minute's
traffic: every alarm is evaluated at that time, then AppConfig's monitors act on what the
alarms say; the alarm transitions are returned for EventBridge delivery.

``seed_moto(state, network)`` puts into the in-process moto what a release expects to
exist before its apply and that AWS (not the release) owns: the AppConfig agent layer's
public SSM parameter, and the VPC, subnets, security groups and route tables the spec
names (moto would otherwise refuse the VPC endpoints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover.rehearsal.appconfig import AppConfig

from ..state import SandboxState
from .appconfig import AppConfigService
from .codedeploy import CodeDeploy
from .ec2_rules import SecurityGroupRules
from .lambda_invoke import Invocation, LambdaInvoke, Outcome
from .logs import Logs
from .monitoring import Monitoring, Transition
from .stepfunctions import StepFunctions
from .xray import XRay

__all__ = ["Invocation", "Outcome", "SandboxAws", "Transition", "mount", "seed_moto"]


@dataclass
class SandboxAws:
    state: SandboxState
    appconfig: AppConfigService
    monitoring: Monitoring
    logs: Logs
    xray: XRay
    codedeploy: CodeDeploy
    lambda_: LambdaInvoke  # register(function_name, runner): Invoke runs the simulation's handler
    stepfunctions: StepFunctions  # executions; the simulation sets its tasks and advances them

    @property
    def services(self) -> dict[str, Any]:
        return self.state.services

    def tick(self, now_s: float) -> list[Transition]:
        """Every alarm evaluated at each whole minute up to ``now_s``, then AppConfig's
        monitors; the alarm state transitions, oldest first."""
        with self.state.lock:
            transitions = self.monitoring.tick(now_s)
            self.appconfig.tick(now_s)
        return transitions

    def find(self, application_name: str, environment_name: str, profile_name: str) -> AppConfig | None:
        return self.appconfig.find(application_name, environment_name, profile_name)


def _moto_log_group_exists(state: SandboxState) -> Any:
    def exists(name: str) -> bool:
        from moto.logs.models import logs_backends

        return name in logs_backends[state.account_id][state.region].groups
    return exists


def mount(state: SandboxState, *, group_exists: Any = None) -> SandboxAws:
    """Create the stand-ins and register them in ``state.services`` by signing name."""
    monitoring = Monitoring(state)

    def alarm_state(arn: str) -> str | None:
        alarm = monitoring.alarms.get(arn.split(":alarm:", 1)[-1])
        if alarm is None or alarm.arn != arn or not alarm.spec.get("ActionsEnabled", True):
            return None
        return alarm.state

    aws = SandboxAws(state, AppConfigService(state, alarm_state), monitoring,
                     Logs(state, group_exists or _moto_log_group_exists(state)), XRay(state), CodeDeploy(state), LambdaInvoke(state),
                     StepFunctions(state))
    for service in (aws.appconfig, aws.monitoring, aws.logs, aws.xray, aws.codedeploy, aws.lambda_,
                    aws.stepfunctions, SecurityGroupRules(state)):
        state.services[service.signing_name] = service
    return aws


def seed_moto(state: SandboxState, network: dict[str, Any] | None = None) -> None:
    """Seed the in-process moto (call after ``front.Moto()``, with MOTO_ACCOUNT_ID set)."""
    from .seed import seed_network, seed_public_parameters

    seed_public_parameters(state.region, state.account_id)
    if network:
        seed_network(state.region, state.account_id, network)
