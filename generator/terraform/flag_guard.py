"""Refuse to apply a flag deployment while another one deploys or bakes.

AppConfig runs one deployment per environment at a time; starting another fails with
ConflictException (docs/aws-rules.md, AppConfig). Terraform has no data source for
deployments, so the refusal happens in `cutover apply`: when the saved plan replaces
the flag deployment of an existing environment, the environment's deployments are
listed first, and an apply during a deployment or its bake is refused with what to do.
What "in progress" means, and the listing, is decided once:
`live.deployment_in_progress` in functions/cutover_runtime/live.py (the guard, the
operations commands and cleanup use the same rule).
"""

from __future__ import annotations

from typing import Any

from cutover.generator.plan.modules import FEATURE_FLAGS

# The deployment resource inside the feature_flags module block, as `terraform show` names it.
FLAG_DEPLOYMENT = f"module.{FEATURE_FLAGS.name}.aws_appconfig_deployment.this"


def planned_flag_deployment(show: dict[str, Any]) -> tuple[str, str, str] | None:
    """(region, application id, environment id) when the plan starts a new flag
    deployment on an environment that already exists; None otherwise."""
    for change in show.get("resource_changes") or []:
        if change.get("address") != FLAG_DEPLOYMENT or "create" not in change["change"]["actions"]:
            continue
        before = change["change"].get("before") or {}
        arn = str(before.get("arn") or "")
        if before.get("application_id") and before.get("environment_id") and arn.count(":") >= 5:
            return arn.split(":")[3], before["application_id"], before["environment_id"]
    return None


def refusal(env: str, application: str, environment: str, running: dict[str, Any]) -> str:
    number = running["DeploymentNumber"]
    return (
        f"env={env}: refusing to apply: flag deployment {number} of AppConfig application "
        f"{application}, environment {environment} is {running['State']}, and AppConfig runs one "
        "deployment per environment at a time (the new one would fail with ConflictException). "
        f"Wait until `aws appconfig get-deployment --application-id {application} --environment-id "
        f"{environment} --deployment-number {number} --query State` says COMPLETE or ROLLED_BACK, "
        f"then run `make apply ENV={env}` again"
    )
