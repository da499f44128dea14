"""CodeDeploy (signing name ``codedeploy``, JSON 1.1): the two operations the release's
code calls that moto lacks, over moto's own deployments (everything else is moto's).

- ``StopDeployment``: a finished deployment (Succeeded, Failed, Stopped) is refused with
  DeploymentAlreadyCompletedException; otherwise it becomes Stopped and the answer is
  ``Succeeded`` (docs/aws-rules.md, Operations commands: StopDeployment).
- ``PutLifecycleEventHookExecutionStatus``: only ``Succeeded`` or ``Failed`` may be passed
  (docs/aws-rules.md, CodeDeploy for Lambda); a ``Failed`` hook fails the deployment.
  An unknown deployment is DeploymentDoesNotExistException.

moto does not shift a Lambda alias's traffic for a deployment: the sandbox's CodeDeploy
records deployments, it does not run them.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..state import SandboxState
from ..wire import Request, Response
from . import _codec as codec
from ._codec import AwsError

DONE = ("Succeeded", "Failed", "Stopped")


class CodeDeploy:
    signing_name = "codedeploy"

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def handle(self, request: Request) -> Response | None:
        operation = request.target
        if operation not in ("StopDeployment", "PutLifecycleEventHookExecutionStatus"):
            return None
        try:
            params = codec.json_body(request)
            with self.state.lock:
                deployment = self._deployment(str(params.get("deploymentId", "")))
                answer = (self._stop(deployment, params) if operation == "StopDeployment"
                          else self._hook(deployment, params))
            return codec.json_answer(answer)
        except AwsError as error:
            return codec.json_error(error)

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
