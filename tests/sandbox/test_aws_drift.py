"""What Terraform sets is what it reads back from the sandbox (a replan after an apply
has nothing to change): the attributes moto drops are put back by the stand-ins."""

from __future__ import annotations

ROLE = "arn:aws:iam::123456789012:role/drift"


def test_a_deployment_group_round_trips_and_updates(sandbox):
    codedeploy = sandbox.client("codedeploy")
    codedeploy.create_application(applicationName="app-drift", computePlatform="Lambda")
    alarms = {"enabled": True, "ignorePollAlarmFailure": False, "alarms": [{"name": "a1"}]}
    rollback = {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}
    style = {"deploymentOption": "WITH_TRAFFIC_CONTROL", "deploymentType": "BLUE_GREEN"}
    codedeploy.create_deployment_group(applicationName="app-drift", deploymentGroupName="fn", serviceRoleArn=ROLE,
                                       alarmConfiguration=alarms, autoRollbackConfiguration=rollback,
                                       deploymentStyle=style)
    info = codedeploy.get_deployment_group(applicationName="app-drift", deploymentGroupName="fn")["deploymentGroupInfo"]
    assert (info["alarmConfiguration"], info["autoRollbackConfiguration"], info["deploymentStyle"]) == (
        alarms, rollback, style)
    assert "loadBalancerInfo" not in info

    more = {**alarms, "alarms": [{"name": "a1"}, {"name": "a2"}]}
    answer = codedeploy.update_deployment_group(applicationName="app-drift", currentDeploymentGroupName="fn",
                                                newDeploymentGroupName="fn2", alarmConfiguration=more)
    assert answer["hooksNotCleanedUp"] == []
    info = codedeploy.get_deployment_group(applicationName="app-drift", deploymentGroupName="fn2")["deploymentGroupInfo"]
    assert info["alarmConfiguration"] == more and info["deploymentStyle"] == style


def test_a_function_keeps_its_dead_letter_queue_and_logging(sandbox, tmp_path):
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    trust = '{"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
    role = sandbox.client("iam").create_role(RoleName="drift", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    lam = sandbox.client("lambda")
    dlq = "arn:aws:sqs:us-east-1:123456789012:drift-dlq"
    lam.create_function(FunctionName="drift", Runtime="python3.11", Role=role, Handler="index.handler",
                        Code={"ZipFile": code.getvalue()}, Publish=True, DeadLetterConfig={"TargetArn": dlq},
                        LoggingConfig={"LogFormat": "JSON", "LogGroup": "/aws/lambda/drift"})
    config = lam.get_function(FunctionName="drift")["Configuration"]
    assert config["DeadLetterConfig"] == {"TargetArn": dlq}
    assert config["LoggingConfig"]["LogFormat"] == "JSON"
    lam.update_function_configuration(FunctionName="drift", DeadLetterConfig={"TargetArn": ""},
                                      LoggingConfig={"LogFormat": "Text"})
    config = lam.get_function_configuration(FunctionName="drift")
    assert "DeadLetterConfig" not in config
    assert config["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/drift"}


def test_a_rule_from_another_security_group_keeps_its_description(sandbox):
    ec2 = sandbox.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    endpoints = ec2.create_security_group(GroupName="drift-endpoints", Description="e", VpcId=vpc)["GroupId"]
    clients = ec2.create_security_group(GroupName="drift-clients", Description="c", VpcId=vpc)["GroupId"]
    pair = {"GroupId": clients, "Description": "HTTPS from the functions"}
    rules = ec2.authorize_security_group_ingress(GroupId=endpoints, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [pair]}])["SecurityGroupRules"]
    read = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rules[0]["SecurityGroupRuleId"]])
    assert read["SecurityGroupRules"][0]["Description"] == "HTTPS from the functions"
