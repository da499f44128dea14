"""CodeDeploy (signing name ``codedeploy``, JSON 1.1): what the release's code and its
Terraform call that moto lacks, over moto's own deployment groups and deployments
(everything else is moto's).

- ``StopDeployment``: a finished deployment (Succeeded, Failed, Stopped) is refused with
  DeploymentAlreadyCompletedException; otherwise it becomes Stopped and the answer is
  ``Succeeded`` (docs/aws-rules.md, Operations commands: StopDeployment).
- ``PutLifecycleEventHookExecutionStatus``: only ``Succeeded`` or ``Failed`` may be passed
  (docs/aws-rules.md, CodeDeploy for Lambda); a ``Failed`` hook fails the deployment.
  An unknown deployment is DeploymentDoesNotExistException.

- ``UpdateDeploymentGroup`` ("Changes information about a deployment group"): each
  field sent replaces the group's (alarms, automatic rollback, deployment style, service
  role, deployment configuration...; ``newDeploymentGroupName`` renames it); the answer's
  ``hooksNotCleanedUp`` is empty (no Auto Scaling groups here). moto raises
  NotImplementedError for it, which Terraform retries for minutes.
- ``GetDeploymentGroup``: moto keeps the ``alarmConfiguration`` a group was created with
  but answers ``{}``, and answers ``{}`` for what the group was never given (an empty
  ``loadBalancerInfo`` reads as a block): the stand-in puts the alarms back and leaves
  the empty ones out, so a replan sees what was applied.

moto does not shift a Lambda alias's traffic for a deployment: the sandbox's CodeDeploy
records deployments, it does not run them.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from ..state import SandboxState
from ..wire import Request, Response
from . import _codec as codec
from ._codec import AwsError

DONE = ("Succeeded", "Failed", "Stopped")
UPDATABLE = ("deploymentConfigName", "ec2TagFilters", "onPremisesInstanceTagFilters", "autoScalingGroups",
             "serviceRoleArn", "triggerConfigurations", "alarmConfiguration", "autoRollbackConfiguration",
             "outdatedInstancesStrategy", "deploymentStyle", "blueGreenDeploymentConfiguration",
             "loadBalancerInfo", "ec2TagSet", "ecsServices", "onPremisesTagSet", "terminationHookEnabled")


def _snake(name: str) -> str:
    """moto's attribute for an API field (``alarmConfiguration`` -> ``alarm_configuration``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class CodeDeploy:
    signing_name = "codedeploy"

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def handle(self, request: Request) -> Response | None:
        operation = request.target
        if operation not in ("StopDeployment", "PutLifecycleEventHookExecutionStatus", "UpdateDeploymentGroup"):
            return None
        try:
            params = codec.json_body(request)
            with self.state.lock:
                if operation == "UpdateDeploymentGroup":
                    return codec.json_answer(self._update_group(params))
                deployment = self._deployment(str(params.get("deploymentId", "")))
                answer = (self._stop(deployment, params) if operation == "StopDeployment"
                          else self._hook(deployment, params))
            return codec.json_answer(answer)
        except AwsError as error:
            return codec.json_error(error)

    def amend(self, request: Request, answer: Response) -> Response:
        """GetDeploymentGroup as AWS answers it: with the alarms the group was given, and
        without the empty structures moto adds (a Lambda group has no ``loadBalancerInfo``)."""
        if request.target != "GetDeploymentGroup" or answer.status != 200:
            return answer
        body = json.loads(answer.body)
        info = body.get("deploymentGroupInfo") or {}
        group = self._groups(str(codec.json_body(request).get("applicationName", ""))).get(
            str(info.get("deploymentGroupName")))
        if group is not None and group.alarm_configuration:
            info["alarmConfiguration"] = group.alarm_configuration
        for key in [key for key, value in info.items() if value == {}]:
            del info[key]  # what a group was not given is absent, not an empty structure
        return Response(answer.status, json.dumps(body).encode(), answer.headers)

    def _groups(self, application_name: str) -> dict[str, Any]:
        from moto.codedeploy.models import codedeploy_backends

        backend = codedeploy_backends[self.state.account_id][self.state.region]
        if application_name not in backend.applications:
            raise AwsError("ApplicationDoesNotExistException",
                           f"The application {application_name} does not exist with the user or AWS account.")
        return backend.deployment_groups.setdefault(application_name, {})

    def _update_group(self, params: dict[str, Any]) -> dict[str, Any]:
        groups = self._groups(str(params.get("applicationName", "")))
        current = str(params.get("currentDeploymentGroupName", ""))
        group = groups.get(current)
        if group is None:
            raise AwsError("DeploymentGroupDoesNotExistException",
                           f"The deployment group {current} does not exist with the user or AWS account.")
        new_name = params.get("newDeploymentGroupName")
        if new_name and new_name != current:
            if new_name in groups:
                raise AwsError("DeploymentGroupAlreadyExistsException", f"Deployment group {new_name} already exists.")
            groups[new_name] = groups.pop(current)
            group.deployment_group_name = new_name
        for field in UPDATABLE:
            if field in params:
                setattr(group, _snake(field), params[field])
        return {"hooksNotCleanedUp": []}

    def _deployment(self, deployment_id: str) -> Any:
        from moto.codedeploy.models import codedeploy_backends

        found = codedeploy_backends[self.state.account_id][self.state.region].deployments.get(deployment_id)
        if found is None:
            raise AwsError("DeploymentDoesNotExistException",
                           f"The deployment {deployment_id} does not exist with the user or AWS account.")
        return found

    def _stop(self, deployment: Any, params: dict[str, Any]) -> dict[str, Any]:
        if deployment.status in DONE:
            raise AwsError("DeploymentAlreadyCompletedException",
                           f"The deployment {deployment.deployment_id} has already completed ({deployment.status}).")
        deployment.status = "Stopped"
        return {"status": "Succeeded", "statusMessage": "The deployment was stopped"
                + (" and rolled back" if params.get("autoRollbackEnabled") else "")}

    def _hook(self, deployment: Any, params: dict[str, Any]) -> dict[str, Any]:
        status = params.get("status")
        if status not in ("Succeeded", "Failed"):
            raise AwsError("InvalidLifecycleEventHookExecutionStatusException",
                           f"status must be Succeeded or Failed, not {status!r}")
        if not params.get("lifecycleEventHookExecutionId"):
            raise AwsError("LifecycleEventHookExecutionIdRequiredException", "lifecycleEventHookExecutionId is required")
        if status == "Failed" and deployment.status not in DONE:
            deployment.status = "Failed"
        return {"lifecycleEventHookExecutionId": str(params.get("lifecycleEventHookExecutionId") or uuid.uuid4())}
