"""Guard handler (``guard.handler.lambda_handler``): EventBridge invokes it on every state
change of the composite rollback alarm and on a one-minute schedule.

Each run is level-triggered (the event is only a hint; docs/functions.md, "Guard"):

1. DescribeAlarms on the composite: not in ALARM -> nothing to do (no log line).
2. ListDeployments (every page): the deployment in progress, and what is served (the
   latest COMPLETE deployment's version, `cutover_runtime.live`).
3. A deployment in progress started by the guard or by `cutover rollback`, or rolling
   back -> ``GUARD-WAITING`` (a later run confirms). Any other -> StopDeployment with
   AllowRevert (``GUARD-STOPPED``), then on.
4. The served document has a canary on -> a new hosted version with every canary flag
   off, deployed all at once without bake, described with ``live.GUARD_MARK``
   (``GUARD-APPLIED``); a ConflictException (another run or deployment won) ->
   ``GUARD-RACED``, the next run checks.
5. Otherwise ``GUARD-HOLDING``.

One log line per run in ALARM (docs/contracts.md §6) and one SNS notification per action
(STOPPED, APPLIED). boto3 is imported on the first run only.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cutover_runtime import aws, live
from cutover_runtime import env as env_keys
from cutover_runtime.telemetry import Identity, log_event

from . import decision

WARN_EVENTS = frozenset({"GUARD-APPLIED", "GUARD-STOPPED"})


class GuardBlind(RuntimeError):
    """The rollback alarm is not visible: the guard cannot hold anything (a failed run)."""


class Settings:
    def __init__(self, env: dict[str, str]) -> None:
        self.application = env[env_keys.GUARD_APPLICATION_ID]
        self.environment = env[env_keys.GUARD_ENVIRONMENT_ID]
        self.profile = env[env_keys.GUARD_PROFILE_ID]
        self.strategy = env[env_keys.GUARD_STRATEGY_ID]
        self.kms_key = env.get(env_keys.GUARD_KMS_KEY_ARN, "")
        self.flags = [f for f in env.get(env_keys.GUARD_CANARY_FLAGS, "").split(",") if f]
        self.alarm = env[env_keys.GUARD_ALARM_NAME]
        self.topic = env.get(env_keys.GUARD_TOPIC_ARN, "")


class Guard:
    """One run of the guard, over three boto3 clients (appconfig, cloudwatch, sns)."""

    def __init__(self, identity: Identity, settings: Settings, appconfig: Any, cloudwatch: Any,
                 sns: Any) -> None:
        self.identity = identity
        self.s = settings
        self.appconfig = appconfig
        self.cloudwatch = cloudwatch
        self.sns = sns
        self.notified: list[str] = []
        self.unnotified: list[str] = []

    # -- reads ---------------------------------------------------------------------
    def _alarm_state(self) -> str | None:
        answer = self.cloudwatch.describe_alarms(AlarmNames=[self.s.alarm], AlarmTypes=["CompositeAlarm"])
        return decision.alarm_state(answer, self.s.alarm)

    def _document(self, version: int) -> dict[str, Any]:
        stored = self.appconfig.get_hosted_configuration_version(
            ApplicationId=self.s.application, ConfigurationProfileId=self.s.profile, VersionNumber=version)
        return decision.decode(stored["Content"].read())

    # -- the run -------------------------------------------------------------------
    def run(self, trigger: str = "direct") -> dict[str, Any]:
        state = self._alarm_state()
        if state is None:
            log_event(self.identity, "GUARD-BLIND", "ERROR", alarm=self.s.alarm, trigger=trigger,
                      reason="alarm-not-found")
            raise GuardBlind(f"alarm={self.s.alarm} not found by DescribeAlarms (it needs Resource '*')")
        if state != decision.ALARM:
            return {"outcome": "GUARD-IDLE", "state": state}
        fields: dict[str, Any] = {"alarm": self.s.alarm, "trigger": trigger}
        deployments = live.list_deployments(self.appconfig, self.s.application, self.s.environment)
        running = live.in_progress(deployments)
        if running is not None:
            detail = self.appconfig.get_deployment(ApplicationId=self.s.application,
                                                   EnvironmentId=self.s.environment,
                                                   DeploymentNumber=running["DeploymentNumber"])
            reason = decision.in_the_way(detail)
            number = detail["DeploymentNumber"]
            if reason is not None:
                return self._finish("GUARD-WAITING", fields, reason=reason, deploymentNumber=number,
                                    state=detail.get("State"))
            if not self._stop(detail):
                return self._finish("GUARD-RACED", fields, reason="deployment-ended-meanwhile",
                                    deploymentNumber=number)
            fields["stopped"] = number
        version = live.live_version(deployments)
        if version is None:
            return self._finish("GUARD-STOPPED" if "stopped" in fields else "GUARD-HOLDING", fields,
                                reason="nothing-deployed")
        off = decision.canary_off_content(self._document(version), self.s.flags)
        if off is None:
            return self._finish("GUARD-STOPPED" if "stopped" in fields else "GUARD-HOLDING", fields,
                                reason="canary-off", version=version)
        content, changed = off
        return self._apply(fields, version, content, changed, decision.latest_number(deployments))

    # -- actions -------------------------------------------------------------------
    def _stop(self, detail: dict[str, Any]) -> bool:
        """StopDeployment with AllowRevert (a DEPLOYING deployment rolls back; a BAKING or
        COMPLETE one reverts); False when it ended or was stopped meanwhile."""
        errors = self.appconfig.exceptions
        try:
            self.appconfig.stop_deployment(ApplicationId=self.s.application, EnvironmentId=self.s.environment,
                                           DeploymentNumber=detail["DeploymentNumber"], AllowRevert=True)
        except (errors.BadRequestException, errors.ConflictException):
            return False
        self._notify("GUARD-STOPPED", f"stopped flag deployment {detail['DeploymentNumber']}",
                     deploymentNumber=detail["DeploymentNumber"], state=detail.get("State"),
                     configurationVersion=detail.get("ConfigurationVersion"))
        return True

    def _apply(self, fields: dict[str, Any], version: int, content: bytes, changed: list[str],
               latest: int | None) -> dict[str, Any]:
        text = decision.description(self.s.alarm, version)
        created = self.appconfig.create_hosted_configuration_version(
            ApplicationId=self.s.application, ConfigurationProfileId=self.s.profile, Content=content,
            ContentType="application/json", Description=text)
        extra: dict[str, Any] = {"KmsKeyIdentifier": self.s.kms_key} if self.s.kms_key else {}
        if latest is not None:
            extra["LatestDeploymentNumber"] = latest
        try:
            started = self.appconfig.start_deployment(
                ApplicationId=self.s.application, EnvironmentId=self.s.environment,
                DeploymentStrategyId=self.s.strategy, ConfigurationProfileId=self.s.profile,
                ConfigurationVersion=str(created["VersionNumber"]), Description=text, **extra)
        except self.appconfig.exceptions.ConflictException:
            return self._finish("GUARD-RACED", fields, reason="deployment-started-meanwhile",
                                fromVersion=version, toVersion=created["VersionNumber"])
        done = {"fromVersion": version, "toVersion": created["VersionNumber"],
                "deploymentNumber": started["DeploymentNumber"], "flags": changed}
        self._notify("GUARD-APPLIED", "canary off", **done)
        return self._finish("GUARD-APPLIED", fields, **done)

    def _notify(self, event: str, summary: str, **details: Any) -> None:
        """One SNS message per action. A failed publish never undoes the action: the log
        line says which notifications went out."""
        if not self.s.topic:
            self.unnotified.append(event)
            return
        message = {"event": event, "release": self.identity.release, "alarm": self.s.alarm, **details}
        subject = f"cutover {self.identity.release}: guard {summary}"[:100]
        try:
            self.sns.publish(TopicArn=self.s.topic, Subject=subject,
                             Message=json.dumps(message, sort_keys=True, indent=2))
        except Exception:  # noqa: BLE001 - any failure to notify is reported, not raised
            self.unnotified.append(event)
        else:
            self.notified.append(event)

    def _finish(self, event: str, fields: dict[str, Any], **more: Any) -> dict[str, Any]:
        line = {**fields, **more}
        if self.notified:
            line["notified"] = self.notified
        if self.unnotified:
            line["unnotified"] = self.unnotified
        level = "WARN" if event in WARN_EVENTS or "stopped" in fields else "INFO"
        log_event(self.identity, event, level, **line)
        return {"outcome": event, **line}


def client(service: str) -> Any:
    """The guard's client of `service` (`aws.client`, kept for the execution environment),
    named by the service's endpoint variable, which tests and the rehearsal point at
    loopback stand-ins."""
    endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}", "")
    return aws.client(service, endpoint, connect_s=5, read_s=10, attempts=3)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    env = dict(os.environ)
    guard = Guard(Identity.from_env(env), Settings(env), client("appconfig"), client("cloudwatch"),
                  client("sns"))
    return guard.run(decision.trigger(event))
