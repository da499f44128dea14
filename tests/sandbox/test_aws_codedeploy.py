"""The sandbox's CodeDeploy gap: StopDeployment and hook status over moto's deployments."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def test_stop_then_stop_again_and_only_succeeded_or_failed_hooks(sandbox):
    codedeploy = sandbox.client("codedeploy")
    codedeploy.create_application(applicationName="app-stop", computePlatform="Lambda")
    codedeploy.create_deployment_group(applicationName="app-stop", deploymentGroupName="fn",
                                       serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy")
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0"}}
    ident = codedeploy.create_deployment(applicationName="app-stop", deploymentGroupName="fn",
                                         revision=revision)["deploymentId"]
    with pytest.raises(ClientError) as bad:
        codedeploy.put_lifecycle_event_hook_execution_status(deploymentId=ident, lifecycleEventHookExecutionId="h",
                                                             status="InProgress")
    assert bad.value.response["Error"]["Code"] == "InvalidLifecycleEventHookExecutionStatusException"
    assert codedeploy.stop_deployment(deploymentId=ident, autoRollbackEnabled=True)["status"] == "Succeeded"
    assert codedeploy.get_deployment(deploymentId=ident)["deploymentInfo"]["status"] == "Stopped"
    with pytest.raises(ClientError) as done:
        codedeploy.stop_deployment(deploymentId=ident)
    assert done.value.response["Error"]["Code"] == "DeploymentAlreadyCompletedException"
