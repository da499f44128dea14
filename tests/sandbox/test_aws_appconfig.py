"""The sandbox's AppConfig through boto3: resources, AWS's deployment rules, the data
plane, monitors (docs/aws-rules.md, AppConfig)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

FLAGS = {"version": "1", "flags": {"canary": {"name": "canary", "attributes": {"percent": {"constraints": {
    "type": "number"}}}}}, "values": {"canary": {"enabled": True, "percent": 5}}}
OFF = {**FLAGS, "values": {"canary": {"enabled": False, "percent": 0}}}


def _release(appconfig, monitors=()):
    app = appconfig.create_application(Name="app")["Id"]
    env = appconfig.create_environment(ApplicationId=app, Name="production", Monitors=list(monitors))["Id"]
    profile = appconfig.create_configuration_profile(ApplicationId=app, Name="flags", LocationUri="hosted",
                                                     Type="AWS.AppConfig.FeatureFlags")["Id"]
    strategy = appconfig.create_deployment_strategy(Name="slow", DeploymentDurationInMinutes=10, GrowthFactor=50,
                                                    FinalBakeTimeInMinutes=5, ReplicateTo="NONE")["Id"]
    versions = [appconfig.create_hosted_configuration_version(
        ApplicationId=app, ConfigurationProfileId=profile, Content=json.dumps(doc).encode(),
        ContentType="application/json")["VersionNumber"] for doc in (OFF, FLAGS)]
    return app, env, profile, strategy, versions


def _code(error: pytest.ExceptionInfo) -> str:
    return error.value.response["Error"]["Code"]


def test_ids_are_seven_characters_and_a_bad_flag_document_is_refused(sandbox):
    appconfig = sandbox.client("appconfig")
    app, env, profile, strategy, versions = _release(appconfig)
    assert all(len(x) == 7 and x.isalnum() and x.islower() or x.isdigit() for x in (app, env, profile, strategy))
    assert versions == [1, 2]
    with pytest.raises(ClientError) as bad:
        appconfig.create_hosted_configuration_version(
            ApplicationId=app, ConfigurationProfileId=profile, Content=b'{"version": "2", "flags": {}}',
            ContentType="application/json")
    assert _code(bad) == "BadRequestException"
    with pytest.raises(ClientError) as missing:
        appconfig.get_environment(ApplicationId=app, EnvironmentId="nope123")
    assert _code(missing) == "ResourceNotFoundException"


def test_one_deployment_at_a_time_then_stop_and_revert_as_aws_documents(sandbox):
    appconfig = sandbox.client("appconfig")
    app, env, profile, strategy, (off, on) = _release(appconfig)
    first = appconfig.start_deployment(ApplicationId=app, EnvironmentId=env, ConfigurationProfileId=profile,
                                       DeploymentStrategyId=strategy, ConfigurationVersion=str(off))
    assert first["State"] == "DEPLOYING" and first["DeploymentNumber"] == 1
    with pytest.raises(ClientError) as conflict:
        appconfig.start_deployment(ApplicationId=app, EnvironmentId=env, ConfigurationProfileId=profile,
                                   DeploymentStrategyId=strategy, ConfigurationVersion=str(on))
    assert _code(conflict) == "ConflictException"
    sandbox.state.clock.set(16 * 60)  # 10 minutes deploying + 5 baking
    assert appconfig.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=1)["State"] == "COMPLETE"
    second = appconfig.start_deployment(ApplicationId=app, EnvironmentId=env, ConfigurationProfileId=profile,
                                        DeploymentStrategyId="AppConfig.AllAtOnce", ConfigurationVersion=str(on))
    sandbox.state.clock.set(16 * 60 + 700)  # AllAtOnce bakes 10 minutes
    number = second["DeploymentNumber"]
    with pytest.raises(ClientError) as refused:
        appconfig.stop_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=number)
    assert _code(refused) == "BadRequestException"
    reverted = appconfig.stop_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=number,
                                         AllowRevert=True)
    assert reverted["State"] == "REVERTED"
    assert reverted["EventLog"][0]["EventType"] == "REVERT_COMPLETED"
    listed = appconfig.list_deployments(ApplicationId=app, EnvironmentId=env)["Items"]
    assert [d["DeploymentNumber"] for d in listed] == [2, 1]


def test_find_and_the_data_plane_serve_what_is_deployed(sandbox):
    appconfig = sandbox.client("appconfig")
    app, env, profile, _, (_, on) = _release(appconfig)
    appconfig.start_deployment(ApplicationId=app, EnvironmentId=env, ConfigurationProfileId=profile,
                               DeploymentStrategyId="AppConfig.AllAtOnce", ConfigurationVersion=str(on))
    found = sandbox.aws.find("app", "production", "flags")
    assert found is not None and found.version_for("any", sandbox.state.clock.now) == on
    data = sandbox.client("appconfigdata")
    token = data.start_configuration_session(ApplicationIdentifier="app", EnvironmentIdentifier="production",
                                             ConfigurationProfileIdentifier="flags")["InitialConfigurationToken"]
    answer = data.get_latest_configuration(ConfigurationToken=token)
    assert json.loads(answer["Configuration"].read()) == FLAGS["values"]
    with pytest.raises(ClientError) as used:
        data.get_latest_configuration(ConfigurationToken=token)
    assert _code(used) == "BadRequestException"


def test_a_monitor_in_alarm_rolls_the_deployment_back(sandbox):
    cloudwatch, appconfig = sandbox.client("cloudwatch"), sandbox.client("appconfig")
    cloudwatch.put_metric_alarm(AlarmName="errors", Namespace="Cutover", MetricName="Errors", Statistic="Sum",
                                Period=60, EvaluationPeriods=1, Threshold=0, TreatMissingData="notBreaching",
                                ComparisonOperator="GreaterThanThreshold")
    arn = cloudwatch.describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0]["AlarmArn"]
    sandbox.aws.tick(60)  # no data, notBreaching: OK
    app, env, profile, strategy, (off, _) = _release(
        appconfig, [{"AlarmArn": arn, "AlarmRoleArn": "arn:aws:iam::123456789012:role/appconfig"}])
    sandbox.state.clock.set(90)
    appconfig.start_deployment(ApplicationId=app, EnvironmentId=env, ConfigurationProfileId=profile,
                               DeploymentStrategyId=strategy, ConfigurationVersion=str(off))
    sandbox.state.metrics.put("Cutover", "Errors", {}, 100, 3.0)
    sandbox.state.clock.set(180)
    transitions = sandbox.aws.tick(180)
    assert [(t.name, t.new) for t in transitions] == [("errors", "ALARM")]
    deployment = appconfig.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=1)
    assert deployment["State"] == "ROLLED_BACK"
    assert any(e["TriggeredBy"] == "CLOUDWATCH_ALARM" for e in deployment["EventLog"])


def _monitored(sandbox, alarm: str):
    cloudwatch, appconfig = sandbox.client("cloudwatch"), sandbox.client("appconfig")
    cloudwatch.put_metric_alarm(AlarmName=alarm, Namespace="Cutover", MetricName="Errors", Statistic="Sum",
                                Period=60, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold")
    arn = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["AlarmArn"]
    return cloudwatch, appconfig, _release(appconfig, [{"AlarmArn": arn}])


def test_a_monitor_in_insufficient_data_rolls_back_at_start_unless_its_actions_are_disabled(sandbox):
    """A new alarm is INSUFFICIENT_DATA; a monitor in that state during a deployment rolls
    it back, not when the alarm's actions are disabled (docs/aws-rules.md, AppConfig)."""
    cloudwatch, appconfig, (app, env, profile, strategy, (off, on)) = _monitored(sandbox, "new-alarm")
    first = appconfig.start_deployment(ApplicationId=app, EnvironmentId=env, ConfigurationProfileId=profile,
                                       DeploymentStrategyId=strategy, ConfigurationVersion=str(off))
    assert first["State"] == "ROLLED_BACK"
    cloudwatch.disable_alarm_actions(AlarmNames=["new-alarm"])
    second = appconfig.start_deployment(ApplicationId=app, EnvironmentId=env, ConfigurationProfileId=profile,
                                        DeploymentStrategyId=strategy, ConfigurationVersion=str(on))
    assert second["State"] == "DEPLOYING"
