"""The IAM actions the operations commands call (docs/operations.md, Permissions; a test
keeps the two equal). `cutover doctor --env E` simulates them for the caller."""

from __future__ import annotations

READ_ONLY = (
    "lambda:GetAlias", "lambda:ListVersionsByFunction", "lambda:GetFunctionConfiguration", "lambda:GetFunction",
    "lambda:GetFunctionEventInvokeConfig", "appconfig:ListApplications", "appconfig:ListEnvironments",
    "appconfig:ListConfigurationProfiles", "appconfig:ListDeployments", "appconfig:GetDeployment",
    "appconfig:GetEnvironment", "appconfig:GetHostedConfigurationVersion", "appconfig:StartConfigurationSession",
    "appconfig:GetLatestConfiguration", "codedeploy:GetApplication", "codedeploy:GetDeploymentGroup",
    "codedeploy:ListDeployments", "codedeploy:GetDeployment", "cloudwatch:DescribeAlarms",
    "cloudwatch:GetMetricData", "cloudwatch:GetDashboard", "logs:FilterLogEvents", "logs:StartQuery",
    "logs:GetQueryResults", "xray:GetTraceSummaries", "sqs:GetQueueUrl", "sqs:GetQueueAttributes",
    "ec2:DescribeSubnets", "ec2:DescribeRouteTables", "ec2:DescribeVpcEndpoints", "iam:ListRolePolicies",
    "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:GetPolicy", "iam:GetPolicyVersion",
    # the controller (status, controller status, ramp --sync; with delivery.controller)
    "states:ListStateMachines", "states:ListExecutions", "states:DescribeExecution", "states:GetExecutionHistory",
    # the release key: AppConfig's hosted versions and the state machine's history are encrypted with it
    "kms:Decrypt",
)  # fmt: skip

# What `cutover doctor --env` itself uses to check the rest (without them it says it could not).
DOCTOR = ("iam:SimulatePrincipalPolicy", "iam:GetRole")

# Writing actions -> the commands that need them.
WRITING = {
    "lambda:InvokeFunction": "preflight, monitor --traffic",
    "codedeploy:CreateDeployment": "deploy",
    "codedeploy:StopDeployment": "rollback",
    "appconfig:StopDeployment": "rollback",
    "appconfig:CreateHostedConfigurationVersion": "rollback",
    "appconfig:StartDeployment": "rollback",
    "appconfig:ListDeploymentStrategies": "rollback",
    "appconfig:CreateDeploymentStrategy": "rollback",
    "sts:GetCallerIdentity": "rollback, controller start|stop, approve, reject",
    "states:StartExecution": "controller start",
    "states:StopExecution": "controller stop",
    "states:SendTaskSuccess": "approve",
    "states:SendTaskFailure": "reject",
}
