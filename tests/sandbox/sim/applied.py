"""What `make apply` puts into the sandbox for the parts the simulation reads, made here
through boto3 against the front door: the guard function with its environment, its
schedule and alarm rules and the alarm topic (moto), and, against the sandbox's AWS
stand-ins, the release's AppConfig resources with a deployment of one canary step and the
release's alarms (each alarm of the rendered alarms.json as PutMetricAlarm, the rollback
composite as PutCompositeAlarm), as the Terraform modules create them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cutover.rehearsal.release import alarm_document, flag_document, function_environment

REGION = "eu-west-1"
ACCOUNT = "123456789012"
START_EPOCH = 1_780_000_000.0  # the sandbox clock's start: no test reads the wall clock
SPEC_FILE = "config/production.release.yaml"


def client(endpoint: str, service: str) -> Any:
    import boto3

    return boto3.session.Session().client(service, endpoint_url=endpoint, region_name=REGION,
                                          aws_access_key_id="sandbox", aws_secret_access_key="sandbox")


def alarm_arn(name: str) -> str:
    return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"


def apply_guard(endpoint: str, spec: Any, build_dir: Path, resolved: dict[str, str]) -> None:
    """The guard function, its two rules and the alarm topic. ``resolved``: the Terraform
    references of its environment by their last name (application_id, environment_id,
    profile_id, guard_strategy_id, rollback_alarm_name)."""
    topic = client(endpoint, "sns").create_topic(Name="huntaze-alarms")["TopicArn"]
    known = {"key_arn": "", "topic_arn": topic, **resolved}
    environment = function_environment(spec, SPEC_FILE, "guard",
                                       resolver=lambda ref: known.get(ref.rsplit(".", 1)[-1]))
    name = spec.guard.function.name
    apply_function(endpoint, name, build_dir / "functions" / "guard.zip", "guard.handler.lambda_handler",
                   environment)
    events = client(endpoint, "events")
    target = [{"Id": "guard", "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}:live"}]
    events.put_rule(Name=name, ScheduleExpression="rate(1 minute)")
    events.put_rule(Name=f"{name}-alarm", EventPattern=json.dumps({
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [alarm_arn(resolved["rollback_alarm_name"])]}))
    for rule in (name, f"{name}-alarm"):
        events.put_targets(Rule=rule, Targets=target)


def apply_function(endpoint: str, name: str, package: Path, handler: str, environment: dict[str, str]) -> None:
    """A function with its environment, a published version and the alias ``live``."""
    iam, lambda_ = client(endpoint, "iam"), client(endpoint, "lambda")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    lambda_.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler=handler,
                            Code={"ZipFile": package.read_bytes()}, Environment={"Variables": environment})
    version = lambda_.publish_version(FunctionName=name)["Version"]
    lambda_.create_alias(FunctionName=name, Name="live", FunctionVersion=version)


def apply_flags(endpoint: str, spec: Any, percent: float) -> dict[str, str]:
    """The AppConfig application, environment, profile and strategies, the flags of the
    ``percent`` step hosted and deployed; returns the ids the guard's environment names."""
    appconfig = client(endpoint, "appconfig")
    ac = spec.delivery.appconfig
    app = appconfig.create_application(Name=ac.application)["Id"]
    env = appconfig.create_environment(ApplicationId=app, Name=ac.environment or spec.release.environment)["Id"]
    profile = appconfig.create_configuration_profile(ApplicationId=app, Name=ac.profile, LocationUri="hosted",
                                                     Type="AWS.AppConfig.FeatureFlags")["Id"]
    ramp = appconfig.create_deployment_strategy(Name="ramp", DeploymentDurationInMinutes=0, GrowthFactor=100,
                                                FinalBakeTimeInMinutes=ac.final_bake_minutes, ReplicateTo="NONE")["Id"]
    guard = appconfig.create_deployment_strategy(Name="guard", DeploymentDurationInMinutes=0, GrowthFactor=100,
                                                 FinalBakeTimeInMinutes=0, ReplicateTo="NONE")["Id"]
    content = json.dumps(flag_document(spec, SPEC_FILE, percent)).encode()
    version = appconfig.create_hosted_configuration_version(
        ApplicationId=app, ConfigurationProfileId=profile, Content=content, ContentType="application/json")
    appconfig.start_deployment(ApplicationId=app, EnvironmentId=env, DeploymentStrategyId=ramp,
                               ConfigurationProfileId=profile, ConfigurationVersion=str(version["VersionNumber"]),
                               Description="terraform apply")
    return {"application_id": app, "environment_id": env, "profile_id": profile, "guard_strategy_id": guard}


def apply_alarms(endpoint: str, spec: Any, percent: float) -> str:
    """Every alarm of alarms.json at that step, and the rollback composite; returns its name."""
    cloudwatch = client(endpoint, "cloudwatch")
    document = alarm_document(spec, percent)
    for alarm in document["alarms"].values():
        cloudwatch.put_metric_alarm(**_metric_alarm(alarm))
    rollback = document["rollback"]
    members = [document["alarms"][key]["name"] for key in rollback["members"]]
    cloudwatch.put_composite_alarm(AlarmName=rollback["name"],
                                   AlarmRule=" OR ".join(f'ALARM("{name}")' for name in members))
    return rollback["name"]


def _metric_alarm(alarm: dict[str, Any]) -> dict[str, Any]:
    """PutMetricAlarm of one alarm. The provider holds metric queries in a set, so AWS gets
    them in an order of its own: here expressions come first, in reverse (CloudWatch
    evaluates them by their references, not by their order)."""
    queries = [{"Id": m["id"], "ReturnData": False, "MetricStat": {
        "Metric": {"Namespace": m["namespace"], "MetricName": m["metric_name"],
                   "Dimensions": [{"Name": k, "Value": v} for k, v in m["dimensions"].items()]},
        "Period": alarm["period"], "Stat": m["stat"]}} for m in alarm["metrics"]]
    queries = [{"Id": e["id"], "Expression": e["expression"], "ReturnData": bool(e.get("return_data"))}
               for e in reversed(alarm.get("expressions", []))] + queries
    return {"AlarmName": alarm["name"], "ComparisonOperator": alarm["comparison"], "Threshold": alarm["threshold"],
            "EvaluationPeriods": alarm["evaluation_periods"], "DatapointsToAlarm": alarm["datapoints_to_alarm"],
            "TreatMissingData": alarm["treat_missing_data"], "Metrics": queries}
