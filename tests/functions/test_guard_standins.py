"""The loopback stand-ins the guard's tests and the rehearsal use, through boto3 itself:
AppConfig's StopDeployment / GetDeployment / LatestDeploymentNumber as the API reference
documents them (docs/aws-rules.md), CloudWatch's DescribeAlarms in the protocol boto3
1.44 speaks (JSON), SNS's Publish (query)."""

from __future__ import annotations

import json

import boto3
import pytest

from cutover.rehearsal.clock import VirtualClock
from cutover.rehearsal.fakes import (
    REVERT_WINDOW_S,
    AppConfig,
    ControlPlane,
    ControlPlaneServer,
    DescribeAlarmsApi,
    PublishApi,
    Strategy,
)

RAMP = Strategy("ramp", 600, 600, "LINEAR", 50)  # two growth steps over 10 min, 10 min bake
CREDS = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}


@pytest.fixture
def plane():
    clock = VirtualClock()
    appconfig = AppConfig("app", "env", "prof")
    appconfig.strategies["ramp"] = RAMP
    for percent in (1, 5):
        appconfig.host({"version": "1", "values": {"c": {"enabled": True, "percent": percent}}}, f"{percent}%")
    stopped: list = []
    server = ControlPlaneServer(ControlPlane(appconfig, clock, lambda d: None, stopped.append))
    client = boto3.client("appconfig", endpoint_url=server.url, **CREDS)
    ids = appconfig.ids
    where = {"ApplicationId": ids["application"], "EnvironmentId": ids["environment"]}

    def start(version: int, **extra) -> dict:
        return client.start_deployment(**where, DeploymentStrategyId="ramp", ConfigurationProfileId=ids["profile"],
                                       ConfigurationVersion=str(version), Description=f"v{version}", **extra)

    yield clock, appconfig, client, where, start, stopped
    server.close()


def test_stop_rolls_back_a_deploying_deployment_without_allow_revert(plane):
    clock, appconfig, client, where, start, stopped = plane
    start(1)
    clock.set(2000)
    start(2)
    clock.set(2100)  # DEPLOYING: half the clients on version 2
    answer = client.stop_deployment(**where, DeploymentNumber=2)
    assert answer["State"] == "ROLLED_BACK" and [d.number for d in stopped] == [2]
    assert appconfig.version_for("any", 2101, all_targets=True) == 1


def test_stop_needs_allow_revert_while_baking_and_then_rolls_back(plane):
    clock, appconfig, client, where, start, _ = plane
    start(1)
    clock.set(2000)
    start(2)
    clock.set(2000 + 900)  # BAKING
    with pytest.raises(client.exceptions.BadRequestException, match="without AllowRevert"):
        client.stop_deployment(**where, DeploymentNumber=2)
    assert client.stop_deployment(**where, DeploymentNumber=2, AllowRevert=True)["State"] == "ROLLED_BACK"
    # a ROLLED_BACK deployment cannot be stopped again
    with pytest.raises(client.exceptions.BadRequestException, match="ROLLED_BACK"):
        client.stop_deployment(**where, DeploymentNumber=2, AllowRevert=True)
    assert appconfig.version_for("any", 2901, all_targets=True) == 1


def test_allow_revert_reverts_a_complete_deployment_within_72_hours(plane):
    clock, appconfig, client, where, start, _ = plane
    start(1)
    clock.set(2000)
    start(2)
    done = 2000 + 1200
    clock.set(done + REVERT_WINDOW_S + 1)
    with pytest.raises(client.exceptions.BadRequestException):
        client.stop_deployment(**where, DeploymentNumber=2, AllowRevert=True)
    clock.set(done + REVERT_WINDOW_S)
    assert client.stop_deployment(**where, DeploymentNumber=2, AllowRevert=True)["State"] == "REVERTED"
    states = [(d["DeploymentNumber"], d["State"]) for d in client.list_deployments(**where)["Items"]]
    assert states == [(2, "REVERTED"), (1, "COMPLETE")]
    assert appconfig.version_for("any", clock.now, all_targets=True) == 1


def test_get_deployment_says_who_started_it_and_the_listing_does_not(plane):
    _, _, client, where, start, _ = plane
    start(1)
    detail = client.get_deployment(**where, DeploymentNumber=1)
    assert (detail["Description"], detail["DeploymentStrategyId"], detail["State"]) == ("v1", "ramp", "DEPLOYING")
    assert "Description" not in client.list_deployments(**where)["Items"][0]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_deployment(**where, DeploymentNumber=9)


def test_latest_deployment_number_refuses_a_start_from_a_stale_listing(plane):
    clock, _, client, _, start, _ = plane
    start(1)
    clock.set(3000)
    with pytest.raises(client.exceptions.ConflictException, match="LatestDeploymentNumber"):
        start(2, LatestDeploymentNumber=0)
    assert start(2, LatestDeploymentNumber=1)["DeploymentNumber"] == 2


def test_describe_alarms_speaks_json_and_returns_composites_only_when_asked():
    clock = VirtualClock()
    states = {"rollback": ("CompositeAlarm", "ALARM"), "canary-error-rate": ("MetricAlarm", "OK")}
    api = DescribeAlarmsApi(lambda: states, clock)
    try:
        client = boto3.client("cloudwatch", endpoint_url=api.url, **CREDS)
        both = client.describe_alarms(AlarmTypes=["CompositeAlarm", "MetricAlarm"])
        assert [a["AlarmName"] for a in both["CompositeAlarms"]] == ["rollback"]
        assert [a["StateValue"] for a in both["MetricAlarms"]] == ["OK"]
        # without AlarmTypes, metric alarms only (as AWS documents)
        assert client.describe_alarms(AlarmNames=["rollback"])["CompositeAlarms"] == []
        states["rollback"] = ("CompositeAlarm", "OK")
        answer = client.describe_alarms(AlarmNames=["rollback"], AlarmTypes=["CompositeAlarm"])
        assert answer["CompositeAlarms"][0]["StateValue"] == "OK"
        api.fail_next.append(("AccessDenied", 403))
        with pytest.raises(client.exceptions.ClientError, match="AccessDenied"):
            client.describe_alarms(AlarmNames=["rollback"], AlarmTypes=["CompositeAlarm"])
    finally:
        api.close()


def test_publish_records_each_notification_with_the_simulated_time():
    clock = VirtualClock()
    api = PublishApi(clock)
    try:
        client = boto3.client("sns", endpoint_url=api.url, **CREDS)
        clock.set(90)
        answer = client.publish(TopicArn="arn:aws:sns:us-east-1:1:t", Subject="s & t", Message=json.dumps({"a": 1}))
        assert answer["MessageId"] == "rehearsal-1"
        [note] = api.messages
        assert (note.at, note.topic, note.subject, json.loads(note.message)) == (90, "arn:aws:sns:us-east-1:1:t",
                                                                                 "s & t", {"a": 1})
        api.fail_next.append(("Throttled", 400))
        with pytest.raises(client.exceptions.ThrottledException):
            client.publish(TopicArn="arn:aws:sns:us-east-1:1:t", Message="again")
        assert len(api.messages) == 1
    finally:
        api.close()
