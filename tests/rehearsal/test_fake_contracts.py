"""Each shared AWS fake (cutover.rehearsal.fakes) that has both a Python API and a
loopback HTTP API gives the same answers through both: the same scenario, errors
included (ConflictException while a deployment runs or on a stale listing, a refused
StopDeployment, a used token, an outage, throttling), run once through the Python API
and once through boto3 against the loopback server, on fresh fakes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cutover.rehearsal.clock import VirtualClock
from cutover.rehearsal.fakes import (
    ApiError,
    AppConfig,
    ControlPlane,
    ControlPlaneServer,
    DataPlane,
    DataPlaneServer,
    DescribeAlarmsApi,
    PublishApi,
    Strategy,
)

# one attempt: boto3 would retry a throttled call and hide the fake's answer
CREDS = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x",
         "config": Config(retries={"total_max_attempts": 1})}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")
RAMP = Strategy("ramp", 600, 600, "LINEAR", 50)


def _plain(value: Any) -> Any:
    """An answer without boto3's metadata, every timestamp (a datetime from boto3; ISO
    text or epoch seconds from the Python API) as epoch seconds."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and ISO.match(value):
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC).timestamp()
    return value


def _outcome(call: Callable[[], Any]) -> Any:
    """An answer, or ("error", code, HTTP status) from either API."""
    try:
        return _plain(call())
    except ApiError as exc:
        return ("error", exc.kind, exc.status)
    except ClientError as exc:
        return ("error", exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"])


# --- AppConfig's control plane -------------------------------------------------------------


def _appconfig_world():
    clock = VirtualClock()
    appconfig = AppConfig("app", "env", "prof")
    appconfig.strategies["ramp"] = RAMP
    for percent in (1, 5, 25):
        appconfig.host({"version": "1", "values": {"c": {"enabled": True, "percent": percent}}}, f"{percent}%")
    return clock, appconfig, ControlPlane(appconfig, clock, lambda d: None)


class _PythonAppConfig:
    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        ids = plane.appconfig.ids
        self.app, self.env, self.profile = ids["application"], ids["environment"], ids["profile"]

    def start(self, version: int, **extra: Any) -> Any:
        return self.plane.start_deployment(self.app, self.env, {
            "DeploymentStrategyId": "ramp", "ConfigurationProfileId": self.profile,
            "ConfigurationVersion": str(version), "Description": f"v{version}", **extra})

    def get(self, number: int) -> Any:
        return self.plane.get_deployment(self.app, self.env, number)

    def stop(self, number: int, allow_revert: bool = False) -> Any:
        return self.plane.stop_deployment(self.app, self.env, number, allow_revert)

    def listing(self) -> Any:
        return self.plane.list_deployments(self.app, self.env)

    def hosted(self, number: int) -> Any:
        content, headers = self.plane.get_hosted(self.app, self.profile, number)
        return {"document": json.loads(content), "version": int(headers["Version-Number"]),
                "description": headers["Description"]}

    def ids(self) -> Any:
        return [self.plane.list_applications(), self.plane.list_environments(self.app),
                self.plane.list_configuration_profiles(self.app)]

    def strategies(self, create: dict[str, Any] | None = None) -> Any:
        return self.plane.create_deployment_strategy(create) if create else self.plane.list_deployment_strategies()


class _Boto3AppConfig(_PythonAppConfig):
    def __init__(self, plane: ControlPlane, client: Any) -> None:
        super().__init__(plane)
        self.client = client
        self.where = {"ApplicationId": self.app, "EnvironmentId": self.env}

    def start(self, version: int, **extra: Any) -> Any:
        return self.client.start_deployment(**self.where, DeploymentStrategyId="ramp",
                                            ConfigurationProfileId=self.profile,
                                            ConfigurationVersion=str(version), Description=f"v{version}", **extra)

    def get(self, number: int) -> Any:
        return self.client.get_deployment(**self.where, DeploymentNumber=number)

    def stop(self, number: int, allow_revert: bool = False) -> Any:
        return self.client.stop_deployment(**self.where, DeploymentNumber=number,
                                           **({"AllowRevert": True} if allow_revert else {}))

    def listing(self) -> Any:
        return self.client.list_deployments(**self.where)

    def hosted(self, number: int) -> Any:
        answer = self.client.get_hosted_configuration_version(ApplicationId=self.app,
                                                              ConfigurationProfileId=self.profile,
                                                              VersionNumber=number)
        return {"document": json.loads(answer["Content"].read()), "version": answer["VersionNumber"],
                "description": answer.get("Description", "")}

    def ids(self) -> Any:
        return [self.client.list_applications(), self.client.list_environments(ApplicationId=self.app),
                self.client.list_configuration_profiles(ApplicationId=self.app)]

    def strategies(self, create: dict[str, Any] | None = None) -> Any:
        if create:
            return self.client.create_deployment_strategy(**create)
        return self.client.list_deployment_strategies()


def _appconfig_scenario(clock: VirtualClock, api: _PythonAppConfig) -> list[Any]:
    steps: list[Callable[[], Any]] = [
        api.ids, api.strategies,
        lambda: api.strategies({"Name": "break-glass", "DeploymentDurationInMinutes": 0,
                                "FinalBakeTimeInMinutes": 0, "GrowthFactor": 100, "GrowthType": "LINEAR",
                                "ReplicateTo": "NONE"}),
        lambda: api.start(1),
        lambda: api.start(2),  # ConflictException: deployment 1 is DEPLOYING
        lambda: clock.set(1300),  # deployment 1 COMPLETE
        lambda: api.start(2, LatestDeploymentNumber=0),  # ConflictException: a stale listing
        lambda: api.start(2, LatestDeploymentNumber=1),
        lambda: api.start(9),  # ResourceNotFoundException: no such version
        lambda: clock.set(1300 + 900),  # deployment 2 BAKING
        lambda: api.stop(2),  # BadRequestException: BAKING needs AllowRevert
        lambda: api.stop(2, allow_revert=True),  # ROLLED_BACK
        lambda: api.stop(2, allow_revert=True),  # BadRequestException: already ROLLED_BACK
        lambda: api.start(3, LatestDeploymentNumber=2),
        lambda: clock.set(4000),  # deployment 3 COMPLETE
        lambda: api.stop(3, allow_revert=True),  # REVERTED
        lambda: api.get(2), lambda: api.get(3), lambda: api.get(7),  # 7: ResourceNotFoundException
        api.listing, lambda: api.hosted(2), lambda: api.hosted(9),
    ]
    return [_outcome(step) for step in steps]


def test_appconfig_control_plane_answers_alike_in_python_and_over_loopback():
    clock, _, plane = _appconfig_world()
    by_python = _appconfig_scenario(clock, _PythonAppConfig(plane))
    clock, _, plane = _appconfig_world()
    server = ControlPlaneServer(plane)
    try:
        client = boto3.client("appconfig", endpoint_url=server.url, **CREDS)
        by_boto3 = _appconfig_scenario(clock, _Boto3AppConfig(plane, client))
    finally:
        server.close()
    assert by_boto3 == by_python
    errors = [o[1] for o in by_python if isinstance(o, tuple)]
    assert errors == ["ConflictException", "ConflictException", "ConflictException",
                      "BadRequestException", "BadRequestException", "ResourceNotFoundException",
                      "ResourceNotFoundException"]
    assert [d["State"] for d in by_python[-3]["Items"]] == ["REVERTED", "ROLLED_BACK", "COMPLETE"]


# --- AppConfig's data plane ----------------------------------------------------------------

SESSION = {"ApplicationIdentifier": "app", "EnvironmentIdentifier": "env", "ConfigurationProfileIdentifier": "prof"}


def _data_world() -> tuple[VirtualClock, AppConfig, DataPlane]:
    clock = VirtualClock()
    appconfig = AppConfig("app", "env", "prof")
    appconfig.deploy(appconfig.host({"values": {"c": {"enabled": True, "percent": 5}}}), 0, Strategy(
        "at-once", 0, 0, "LINEAR", 100), "v1")
    return clock, appconfig, DataPlane(appconfig, clock)


def _python_data(plane: DataPlane) -> dict[str, Callable[..., Any]]:
    def start(body: dict[str, Any]) -> Any:
        status, answer = plane.start(body)
        if status != 201:
            raise ApiError(status, "ResourceNotFoundException" if status == 404 else "InternalServerException", "")
        return answer["InitialConfigurationToken"]

    def latest(token: str) -> Any:
        status, body, headers = plane.latest(token)
        if status != 200:
            raise ApiError(status, headers["x-amzn-ErrorType"], "")
        return {"body": body.decode(), "next": headers["Next-Poll-Configuration-Token"]}

    return {"start": start, "latest": latest}


def _boto3_data(client: Any) -> dict[str, Callable[..., Any]]:
    def latest(token: str) -> Any:
        answer = client.get_latest_configuration(ConfigurationToken=token)
        return {"body": answer["Configuration"].read().decode(), "next": answer["NextPollConfigurationToken"]}

    return {"start": lambda body: client.start_configuration_session(**body)["InitialConfigurationToken"],
            "latest": latest}


def _data_scenario(appconfig: AppConfig, plane: DataPlane, api: dict[str, Callable[..., Any]]) -> list[Any]:
    out = [_outcome(lambda: api["start"]({**SESSION, "ApplicationIdentifier": "other"}))]
    token = api["start"](SESSION)
    first = api["latest"](token)
    out += [first, _outcome(lambda: api["latest"](token))]  # the token was used: BadRequestException
    out.append(_outcome(lambda: api["latest"](first["next"])))  # unchanged: an empty body
    plane.down = True
    out += [_outcome(lambda: api["start"](SESSION)), _outcome(lambda: api["latest"]("anything"))]
    return out + [plane.reads, len(plane.started)]


def test_appconfig_data_plane_answers_alike_in_python_and_over_loopback():
    _, appconfig, plane = _data_world()
    by_python = _data_scenario(appconfig, plane, _python_data(plane))
    _, appconfig, plane = _data_world()
    server = DataPlaneServer(plane)
    try:
        client = boto3.client("appconfigdata", endpoint_url=server.url, **CREDS)
        by_boto3 = _data_scenario(appconfig, plane, _boto3_data(client))
    finally:
        server.close()
    assert by_boto3 == by_python
    assert by_python[0] == ("error", "ResourceNotFoundException", 404)
    assert json.loads(by_python[1]["body"]) == {"c": {"enabled": True, "percent": 5}}
    assert by_python[2] == ("error", "BadRequestException", 400)
    assert by_python[3]["body"] == ""
    assert by_python[4:6] == [("error", "InternalServerException", 500)] * 2
    assert by_python[6:] == [2, 1]


# --- CloudWatch's DescribeAlarms -----------------------------------------------------------

STATES = {"composite": ("CompositeAlarm", "ALARM"), "errors": ("MetricAlarm", "OK"),
          "latency": ("MetricAlarm", "INSUFFICIENT_DATA")}
ALARM_REQUESTS = [{}, {"AlarmNames": ["composite"], "AlarmTypes": ["CompositeAlarm"]},
                  {"AlarmNames": ["composite"]}, {"AlarmTypes": ["CompositeAlarm", "MetricAlarm"]}]


def _alarms_scenario(api: DescribeAlarmsApi, describe: Callable[[dict[str, Any]], Any]) -> list[Any]:
    api.fail_next.append(("Throttling", 400))
    out = [_outcome(lambda: describe(ALARM_REQUESTS[0]))]
    return out + [_outcome(lambda r=r: describe(r)) for r in ALARM_REQUESTS] + [api.calls]


@pytest.fixture
def alarms_apis():
    apis = [DescribeAlarmsApi(lambda: STATES, VirtualClock()) for _ in range(2)]
    yield apis
    for api in apis:
        api.close()


def test_describe_alarms_answers_alike_in_python_and_over_loopback(alarms_apis):
    python, loopback = alarms_apis
    by_python = _alarms_scenario(python, python.call)
    client = boto3.client("cloudwatch", endpoint_url=loopback.url, **CREDS)
    by_boto3 = _alarms_scenario(loopback, lambda request: client.describe_alarms(**request))
    assert by_boto3 == by_python
    assert by_python[0] == ("error", "Throttling", 400)
    assert [a["AlarmName"] for a in by_python[1]["MetricAlarms"]] == ["errors", "latency"]
    assert by_python[1]["CompositeAlarms"] == [] and by_python[3] == {"CompositeAlarms": [], "MetricAlarms": []}
    assert by_python[2]["CompositeAlarms"][0]["StateValue"] == "ALARM"


# --- SNS's Publish -------------------------------------------------------------------------

TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


def _sns_scenario(api: PublishApi, publish: Callable[[str, str], Any]) -> list[Any]:
    out = [_outcome(lambda: publish(TOPIC, "first"))]
    api.fail_next.append(("Throttled", 400))
    out += [_outcome(lambda: publish(TOPIC, "throttled")), _outcome(lambda: publish(TOPIC, "second"))]
    return out + [[(m.topic, m.subject, m.message) for m in api.messages]]


def test_publish_answers_alike_in_python_and_over_loopback():
    python, loopback = PublishApi(VirtualClock()), PublishApi(VirtualClock())
    try:
        by_python = _sns_scenario(python, lambda topic, subject: python.publish(
            {"Action": "Publish", "TopicArn": topic, "Subject": subject, "Message": "{}"}))
        client = boto3.client("sns", endpoint_url=loopback.url, **CREDS)
        by_boto3 = _sns_scenario(loopback, lambda topic, subject: client.publish(
            TopicArn=topic, Subject=subject, Message="{}")["MessageId"])
    finally:
        python.close()
        loopback.close()
    assert by_boto3 == by_python
    assert by_python[:3] == ["rehearsal-1", ("error", "Throttled", 400), "rehearsal-2"]
    assert [m[1] for m in by_python[3]] == ["first", "second"]


def test_the_publish_form_is_what_the_query_protocol_sends():
    """The Python API takes the form boto3 posts (so the two cannot drift apart)."""
    api = PublishApi(VirtualClock())
    try:
        sent: list[dict[str, str]] = []
        real = api.publish

        def spy(form: dict[str, str]) -> str:
            sent.append(form)
            return real(form)

        api.publish = spy  # type: ignore[method-assign]
        boto3.client("sns", endpoint_url=api.url, **CREDS).publish(TopicArn=TOPIC, Subject="s", Message="m")
    finally:
        api.close()
    assert {k: v for k, v in sent[0].items() if k != "Version"} == {
        "Action": "Publish", "TopicArn": TOPIC, "Subject": "s", "Message": "m"}
