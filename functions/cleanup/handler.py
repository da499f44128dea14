"""Cleanup handler (``cleanup.handler.lambda_handler``).

Dry-run unless the event says ``{"dryRun": false}`` (the schedule's event) or
``CUTOVER_CLEANUP_DRY_RUN=false``. Logs ``CLEANUP-DELETED`` or ``CLEANUP-WOULD-DELETE``
for every version, and ``CLEANUP-FAILED`` when AWS refuses one (the run goes on).
"""

from __future__ import annotations

import os
from typing import Any

from cutover_runtime import env as env_keys
from cutover_runtime.telemetry import Identity, log_event

from .pruning import TERRAFORM_KEPT, hosted_versions_to_delete, lambda_versions_to_delete


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items


class Cleanup:
    def __init__(self, identity: Identity, lambda_client: Any, appconfig_client: Any,
                 functions: list[str], keep: int, application: str, profile: str) -> None:
        self.identity = identity
        self.lambda_client = lambda_client
        self.appconfig = appconfig_client
        self.functions = functions
        self.keep = keep
        self.application = application
        self.profile = profile

    def run(self, dry_run: bool) -> dict[str, Any]:
        removed: dict[str, list[Any]] = {}
        for name in self.functions:
            removed[name] = self._prune_function(name, dry_run)
        if self.application:
            removed[f"appconfig:{self.application}/{self.profile}"] = self._prune_hosted(dry_run)
        return {"dryRun": dry_run, "removed": removed}

    def _prune_function(self, name: str, dry_run: bool) -> list[str]:
        versions = [v["Version"] for v in _paginate(self.lambda_client, "list_versions_by_function",
                                                    "Versions", FunctionName=name)]
        aliases = _paginate(self.lambda_client, "list_aliases", "Aliases", FunctionName=name)
        done = []
        for version in lambda_versions_to_delete(versions, aliases, self.keep):
            if self._delete(f"lambda:{name}", version, dry_run, lambda v=version: (
                    self.lambda_client.delete_function(FunctionName=name, Qualifier=v))):
                done.append(version)
        return done

    def _prune_hosted(self, dry_run: bool) -> list[int]:
        app_id = self._find(_paginate(self.appconfig, "list_applications", "Items"),
                            self.application, "application")
        profile_id = self._find(_paginate(self.appconfig, "list_configuration_profiles", "Items",
                                       ApplicationId=app_id), self.profile, "profile")
        listed = _paginate(self.appconfig, "list_hosted_configuration_versions", "Items",
                           ApplicationId=app_id, ConfigurationProfileId=profile_id)
        versions = [v["VersionNumber"] for v in listed]
        owned = [v["VersionNumber"] for v in listed
                 if str(v.get("Description", "")).startswith(TERRAFORM_KEPT)]
        deployments: list[dict[str, Any]] = []
        for env in _paginate(self.appconfig, "list_environments", "Items", ApplicationId=app_id):
            for d in _paginate(self.appconfig, "list_deployments", "Items", ApplicationId=app_id,
                            EnvironmentId=env["Id"]):
                # older summaries carry only the profile name
                if (d.get("ConfigurationProfileId") == profile_id
                        or d.get("ConfigurationName") == self.profile):
                    deployments.append({**d, "EnvironmentId": env["Id"],
                                        "ConfigurationProfileId": profile_id})
        done = []
        resource = f"appconfig:{self.application}/{self.profile}"
        for version in hosted_versions_to_delete(versions, deployments, profile_id, self.keep, owned):
            if self._delete(resource, version, dry_run, lambda v=version: (
                    self.appconfig.delete_hosted_configuration_version(
                        ApplicationId=app_id, ConfigurationProfileId=profile_id,
                        VersionNumber=v))):
                done.append(version)
        return done

    @staticmethod
    def _find(items: list[dict[str, Any]], name: str, kind: str) -> str:
        for item in items:
            if item.get("Name") == name:
                return item["Id"]
        raise LookupError(f"AppConfig {kind} not found: name={name}")

    def _delete(self, resource: str, version: Any, dry_run: bool, action: Any) -> bool:
        if dry_run:
            log_event(self.identity, "CLEANUP-WOULD-DELETE", resource=resource,
                      version=str(version), dryRun=1)
            return True
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - one refusal must not stop the run
            log_event(self.identity, "CLEANUP-FAILED", "WARN", resource=resource,
                      version=str(version), dryRun=0, error=exc.__class__.__name__)
            return False
        log_event(self.identity, "CLEANUP-DELETED", resource=resource, version=str(version),
                  dryRun=0)
        return True


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    import boto3  # cleanup runs on a schedule: cold start does not matter here

    env = os.environ
    dry_run = _truthy(env.get(env_keys.CLEANUP_DRY_RUN, "true"))
    if isinstance(event, dict) and isinstance(event.get("dryRun"), bool):
        dry_run = event["dryRun"]
    functions = [f.strip() for f in env.get(env_keys.CLEANUP_FUNCTIONS, "").split(",")
                 if f.strip()]
    session = boto3.session.Session()
    cleanup = Cleanup(Identity.from_env(), session.client("lambda"), session.client("appconfig"),
                      functions, int(env.get(env_keys.CLEANUP_KEEP, "5")),
                      env.get(env_keys.CLEANUP_APPCONFIG_APPLICATION, ""),
                      env.get(env_keys.CLEANUP_APPCONFIG_PROFILE, ""))
    return cleanup.run(dry_run)
