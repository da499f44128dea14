"""Brake handler (``brake.handler.lambda_handler``), subscribed to the alarm topic.

On the composite rollback alarm going to ALARM it deploys the canary-off flags at once
(a new hosted version, the brake's all-at-once strategy without bake) unless an
AppConfig deployment is in progress or the canary is already off. Every outcome leaves
one ``BRAKE-*`` log line (docs/contracts.md §6).
"""

from __future__ import annotations

import os
from typing import Any

from cutover_runtime.telemetry import Identity, log_event

from .decision import alarm_fired, canary_off, deployed_version, deployment_in_progress


class Brake:
    def __init__(self, identity: Identity, appconfig: Any, env: dict[str, str]) -> None:
        self.identity = identity
        self.appconfig = appconfig
        self.application = env["CUTOVER_BRAKE_APPLICATION_ID"]
        self.environment = env["CUTOVER_BRAKE_ENVIRONMENT_ID"]
        self.profile = env["CUTOVER_BRAKE_PROFILE_ID"]
        self.strategy = env["CUTOVER_BRAKE_STRATEGY_ID"]
        self.kms_key = env.get("CUTOVER_BRAKE_KMS_KEY_ARN", "")
        self.flags = [f for f in env.get("CUTOVER_BRAKE_CANARY_FLAGS", "").split(",") if f]

    def _deployments(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.appconfig.get_paginator("list_deployments").paginate(
                ApplicationId=self.application, EnvironmentId=self.environment):
            items.extend(page.get("Items", []))
        return items

    def _log(self, outcome: str, alarm: str, **fields: Any) -> dict[str, Any]:
        level = "WARN" if outcome == "BRAKE-APPLIED" else "INFO"
        log_event(self.identity, outcome, level, alarm=alarm, **fields)
        return {"outcome": outcome, **fields}

    def apply(self, alarm: str) -> dict[str, Any]:
        deployments = self._deployments()
        running = deployment_in_progress(deployments)
        if running is not None:
            return self._log("BRAKE-SKIPPED", alarm, reason="deployment-in-progress",
                             deploymentNumber=running["DeploymentNumber"], state=running["State"])
        version = deployed_version(deployments)
        if version is None:
            return self._log("BRAKE-SKIPPED", alarm, reason="nothing-deployed")
        stored = self.appconfig.get_hosted_configuration_version(
            ApplicationId=self.application, ConfigurationProfileId=self.profile, VersionNumber=version)
        off = canary_off(stored["Content"].read(), self.flags)
        if off is None:
            return self._log("BRAKE-NOOP", alarm, reason="canary-already-off", fromVersion=version)
        content, changed = off
        return self._deploy(alarm, version, content, changed)

    def _deploy(self, alarm: str, version: int, content: bytes, changed: list[str]) -> dict[str, Any]:
        description = f"cutover brake: canary off after {alarm} (from version {version})"[:1024]
        created = self.appconfig.create_hosted_configuration_version(
            ApplicationId=self.application, ConfigurationProfileId=self.profile, Content=content,
            ContentType="application/json", Description=description)
        extra = {"KmsKeyIdentifier": self.kms_key} if self.kms_key else {}
        try:
            started = self.appconfig.start_deployment(
                ApplicationId=self.application, EnvironmentId=self.environment,
                DeploymentStrategyId=self.strategy, ConfigurationProfileId=self.profile,
                ConfigurationVersion=str(created["VersionNumber"]), Description=description, **extra)
        except self.appconfig.exceptions.ConflictException:
            return self._log("BRAKE-SKIPPED", alarm, reason="deployment-started-meanwhile",
                             toVersion=created["VersionNumber"])
        return self._log("BRAKE-APPLIED", alarm, fromVersion=version, toVersion=created["VersionNumber"],
                         deploymentNumber=started["DeploymentNumber"], flags=changed)


def alarms_in(event: Any) -> list[str]:
    records = event.get("Records", []) if isinstance(event, dict) else []
    return [r.get("Sns", {}).get("Message", "") for r in records if isinstance(r, dict)]


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    env = dict(os.environ)
    identity = Identity.from_env(env)
    alarm = env.get("CUTOVER_BRAKE_ALARM_NAME", "")
    if not any(alarm_fired(message, alarm) for message in alarms_in(event)):
        log_event(identity, "BRAKE-IGNORED", alarm=alarm, reason="not-the-rollback-alarm-in-alarm")
        return {"outcome": "BRAKE-IGNORED"}
    import boto3  # imported only when the brake acts

    return Brake(identity, boto3.client("appconfig"), env).apply(alarm)
