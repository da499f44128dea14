"""Emulated AWS for the operations commands: moto's server; AppConfig's control plane
from the shared fakes (cutover.rehearsal.fakes) on loopback (`fake_appconfig`), for the
tests that read what AppConfig says; botocore's Stubber with expected_params where a
test pins the exact requests (the writes of `cutover rollback`, `ramp`, `deploy`) and for
what neither implements (X-Ray trace summaries, Logs Insights results).

`release` builds the production release in moto as `make apply` would leave it: the
functions with a published version behind alias `live`, the alarms, the dashboard, the
CodeDeploy application and groups, the log groups, the controller's state machine.
"""

from __future__ import annotations

import io
import json
import math
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from cutover.generator.terraform.emulator import LocalAWS

from cutover.ops import names as names_mod
from cutover.ops.aws import Clients
from cutover.rehearsal.clock import EPOCH, VirtualClock
from cutover.rehearsal.fakes import AppConfig, ControlPlane, ControlPlaneServer, Strategy
from tests.conftest import ROOT

REGION = "us-east-1"
ACCOUNT = "123456789012"


def _post(url: str, body: dict | None = None) -> None:
    data = json.dumps(body or {}).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).close()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    with LocalAWS(region=REGION, account_id=ACCOUNT) as aws:
        yield aws.endpoint


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake static credentials and no trace of the caller's own AWS configuration."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))


def _composite_as_metric_alarm(request, **_kwargs) -> None:
    """moto 5.2 stores composite alarms through its PutMetricAlarm handler (which reads
    AlarmRule) and has no PutCompositeAlarm route: send the same body there."""
    request.headers["X-Amz-Target"] = b"GraniteServiceVersion20100801.PutMetricAlarm"


@dataclass
class Emulated:
    endpoint: str
    stubs: dict[str, Stubber] = field(default_factory=dict)
    fakes: dict[str, Any] = field(default_factory=dict)  # service -> a client of its shared fake

    def client(self, service: str):
        client = boto3.client(service, region_name=REGION, endpoint_url=self.endpoint,
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        if service == "cloudwatch":
            client.meta.events.register("before-send.cloudwatch.PutCompositeAlarm", _composite_as_metric_alarm)
        return client

    def stub(self, service: str) -> Stubber:
        """A Stubber on a client of `service`; its calls never reach moto."""
        if service not in self.stubs:
            stubber = Stubber(self.client(service))
            stubber.activate()
            self.stubs[service] = stubber
        return self.stubs[service]

    def clients(self) -> Clients:
        overrides = {s: st.client for s, st in self.stubs.items() if s != "cloudwatch-percentiles"}
        overrides.update(self.fakes)
        if "cloudwatch-percentiles" in self.stubs:
            overrides["cloudwatch"] = PercentilesStubbed(self.client("cloudwatch"), self.stubs["cloudwatch-percentiles"].client)
        return Clients(REGION, endpoint_url=self.endpoint, overrides=overrides)

    def percentiles(self) -> Stubber:
        """A Stubber for the GetMetricData calls that ask for a percentile (moto 5.2
        answers them with an HTTP 500); every other CloudWatch call goes to moto."""
        if "cloudwatch-percentiles" not in self.stubs:
            stubber = Stubber(self.client("cloudwatch"))
            stubber.activate()
            self.stubs["cloudwatch-percentiles"] = stubber
        return self.stubs["cloudwatch-percentiles"]


    def lambda_answers(self, *answers: object) -> None:
        """Queue what moto's docker-less Lambda answers to the next invocations."""
        for answer in answers:
            _post(f"{self.endpoint}/moto-api/static/lambda-simple/response",
                  {"account_id": ACCOUNT, "region": REGION, "results": [json.dumps(answer)]})


class PercentilesStubbed:
    """moto's CloudWatch, except GetMetricData with a percentile statistic (stubbed)."""

    def __init__(self, moto_client, stubbed_client):
        self._moto, self._stubbed = moto_client, stubbed_client

    def get_metric_data(self, **kwargs):
        stats = {q.get("MetricStat", {}).get("Stat", "") for q in kwargs["MetricDataQueries"]}
        client = self._stubbed if any(s.startswith("p") for s in stats) else self._moto
        return client.get_metric_data(**kwargs)

    def __getattr__(self, name):
        return getattr(self._moto, name)


@pytest.fixture
def emulated(moto_server: str, aws_env: None) -> Iterator[Emulated]:
    _post(f"{moto_server}/moto-api/reset")
    _post(f"{moto_server}/moto-api/config", {"lambda": {"use_docker": False}})
    em = Emulated(moto_server)
    yield em
    for stubber in em.stubs.values():
        stubber.assert_no_pending_responses()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch project with the real config/ (audit records and spec edits land here)."""
    import shutil

    shutil.copytree(ROOT / "config", tmp_path / "config")
    return tmp_path


@pytest.fixture
def names(project: Path) -> names_mod.ReleaseNames:
    return names_mod.load(project, "production")[0]


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
    return buf.getvalue()


def build_release(em: Emulated, names: names_mod.ReleaseNames, *, versions: int = 1) -> None:
    iam = em.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    lam, logs = em.client("lambda"), em.client("logs")
    for p in names.paths:
        for fn in filter(None, (p.router, p.candidate)):
            lam.create_function(FunctionName=fn, Runtime="python3.12", Role=role, Handler="handler.lambda_handler",
                                Code={"ZipFile": _zip()}, TracingConfig={"Mode": "Active"})
            for i in range(versions):
                lam.update_function_code(FunctionName=fn, ZipFile=_zip() + bytes(i))
                lam.publish_version(FunctionName=fn)
            lam.create_alias(FunctionName=fn, Name=p.alias, FunctionVersion="1")
            logs.create_log_group(logGroupName=p.log_group(fn))
    if names.cleanup_function:
        logs.create_log_group(logGroupName=f"/aws/lambda/{names.cleanup_function}")
    cw = em.client("cloudwatch")
    for alarm in names.alarms[1:]:
        cw.put_metric_alarm(AlarmName=alarm, MetricName="Errors", Namespace=names.metrics_namespace,
                            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanThreshold")
    rule = " OR ".join(f'ALARM("{a}")' for a in names.rollback_members)
    cw.put_composite_alarm(AlarmName=names.rollback_alarm, AlarmRule=rule)
    cw.put_dashboard(DashboardName=names.dashboard, DashboardBody=json.dumps({"widgets": []}))
    cd = em.client("codedeploy")
    cd.create_application(applicationName=names.codedeploy_application, computePlatform="Lambda")
    for group in names.deployment_groups:
        cd.create_deployment_group(applicationName=names.codedeploy_application, deploymentGroupName=group,
                                   serviceRoleArn=role, deploymentConfigName="CodeDeployDefault.LambdaAllAtOnce",
                                   deploymentStyle={"deploymentType": "BLUE_GREEN",
                                                    "deploymentOption": "WITH_TRAFFIC_CONTROL"})
    if names.state_machine:  # the controller (delivery.controller): its definition does not matter here
        em.client("stepfunctions").create_state_machine(
            name=names.state_machine, roleArn=role,
            definition=json.dumps({"StartAt": "Begin", "States": {"Begin": {"Type": "Pass", "End": True}}}))


@pytest.fixture
def release(emulated: Emulated, names: names_mod.ReleaseNames) -> Emulated:
    build_release(emulated, names, versions=1)
    return emulated


# --- AppConfig through the Stubber ----------------------------------------------------

APP, ENV_ID, PROFILE = "app1234", "env1234", "prof123"


def body(document: dict) -> StreamingBody:
    raw = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def flags_with(names: names_mod.ReleaseNames, percent: float) -> dict:
    doc = json.loads(json.dumps(names.flags_document))
    for p in names.paths:
        doc["values"][p.canary_flag].update(enabled=percent > 0, percent=percent, step=percent)
    return doc


def expect_resolve(stub: Stubber, names: names_mod.ReleaseNames) -> None:
    stub.add_response("list_applications", {"Items": [{"Id": APP, "Name": names.appconfig_application}]}, {})
    stub.add_response("list_environments", {"Items": [{"Id": ENV_ID, "Name": names.appconfig_environment,
                                                       "ApplicationId": APP}]}, {"ApplicationId": APP})
    stub.add_response("list_configuration_profiles", {"Items": [{"Id": PROFILE, "Name": names.appconfig_profile,
                                                                 "ApplicationId": APP}]}, {"ApplicationId": APP})


def deployment(number: int, state: str, version: int) -> dict:
    return {"DeploymentNumber": number, "State": state, "ConfigurationVersion": str(version),
            "PercentageComplete": 100.0 if state == "COMPLETE" else 40.0,
            "ConfigurationName": "feature-flags", "DeploymentDurationInMinutes": 0}


def expect_deployments(stub: Stubber, *items: dict) -> None:
    """One page of ListDeployments (AppConfig lists them newest first)."""
    stub.add_response("list_deployments", {"Items": sorted(items, key=lambda d: -d["DeploymentNumber"])},
                      {"ApplicationId": APP, "EnvironmentId": ENV_ID})


def expect_flags(stub: Stubber, names: names_mod.ReleaseNames, *items: dict, served: float | None = None,
                 resolve: bool = True) -> None:
    """What cutover.ops.appconfig.read asks: the ids (unless known), every deployment, and the
    document of the latest COMPLETE one (with the canary at `served` percent)."""
    if resolve:
        expect_resolve(stub, names)
    expect_deployments(stub, *items)
    complete = [d for d in items if d["State"] == "COMPLETE"]
    if complete:
        live = max(complete, key=lambda d: d["DeploymentNumber"])
        expect_document(stub, int(live["ConfigurationVersion"]), flags_with(names, served or 0))


def expect_details(stub: Stubber, number: int, description: str = "", **extra: object) -> None:
    """GetDeployment: who started it (its description), its key, its event log."""
    stub.add_response("get_deployment", {"DeploymentNumber": number, "Description": description, **extra},
                      {"ApplicationId": APP, "EnvironmentId": ENV_ID, "DeploymentNumber": number})


def expect_latency(stub: Stubber, path_index: int, p95: dict[str, float | None], samples: dict[str, int]) -> None:
    """One GetMetricData answer for the p95 and SampleCount of each route."""
    results = []
    for route in ("control", "canary"):
        for stat, value in (("p95", p95.get(route)), ("samplecount", samples.get(route, 0))):
            has = value is not None and (stat == "p95" and samples.get(route) or stat == "samplecount" and value)
            results.append({"Id": f"l{path_index}_{route}_{stat}", "StatusCode": "Complete",
                            "Timestamps": [datetime(2026, 11, 29, 8, 0, tzinfo=UTC)] if has else [],
                            "Values": [float(value)] if has else []})
    stub.add_response("get_metric_data", {"MetricDataResults": results},
                      {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY, "ScanBy": "TimestampAscending"})


def expect_document(stub: Stubber, version: int, document: dict) -> None:
    stub.add_response("get_hosted_configuration_version",
                      {"ApplicationId": APP, "ConfigurationProfileId": PROFILE, "VersionNumber": version,
                       "Content": body(document), "ContentType": "application/json"},
                      {"ApplicationId": APP, "ConfigurationProfileId": PROFILE, "VersionNumber": version})


# --- AppConfig through the shared fake ------------------------------------------------

AT_ONCE = Strategy("atonce1", 0, 0, "LINEAR", 100)
SLOW = Strategy("slow123", 3600, 0, "LINEAR", 20)  # deploys for an hour
BAKES = Strategy("bakes12", 0, 3600, "LINEAR", 100)  # bakes for an hour
OTHER_PERCENT = 50  # what every version but the served one holds: reading the wrong one shows


@dataclass
class FakeAppConfig:
    """The release's AppConfig environment, in the shared fake, on loopback."""

    names: names_mod.ReleaseNames
    appconfig: AppConfig
    clock: VirtualClock
    server: ControlPlaneServer

    def history(self, *items: dict, served: float = 0, described: dict[int, str] | None = None,
                ended: datetime | None = None) -> None:
        """Make the environment's deployments `items` (`deployment(number, state, version)`,
        state COMPLETE, DEPLOYING, BAKING, ROLLED_BACK or REVERTED), earlier numbers filled
        with COMPLETE deployments of version 1; the version served (the latest COMPLETE
        deployment's) holds the canary at `served` percent, every other version at
        OTHER_PERCENT. `described`: deployment number -> description. They happen one a
        minute up to now (the time the commands read); the latest ends (completes, rolls
        back or is reverted) at `ended` when given."""
        items = sorted(items, key=lambda d: d["DeploymentNumber"])
        self._host(items, served)
        wanted = [deployment(n, "COMPLETE", 1) for n in range(1, items[0]["DeploymentNumber"])] + items
        now = math.floor(time.time()) - EPOCH
        end = math.floor(ended.timestamp()) - EPOCH if ended else now - 60
        for i, item in enumerate(wanted):
            self._deploy(item, end - 60.0 * (len(wanted) - 1 - i), (described or {}).get(item["DeploymentNumber"], ""))
        self.clock.set(now)
        plane = self.server.plane
        assert [plane.state(d) for d in self.appconfig.deployments[-len(items):]] == [d["State"] for d in items]

    def _host(self, items: list[dict], served: float) -> None:
        complete = [d for d in items if d["State"] == "COMPLETE"]
        live = int(complete[-1]["ConfigurationVersion"]) if complete else 1
        for version in range(1, max(int(d["ConfigurationVersion"]) for d in items) + 1):
            percent = served if version == live else OTHER_PERCENT
            self.appconfig.host(flags_with(self.names, percent), f"version {version}")

    def _deploy(self, item: dict, end: float, description: str) -> None:
        """One deployment in `item`'s state, ending at `end` (started then if it is in flight)."""
        state = item["State"]
        strategy = {"DEPLOYING": SLOW, "BAKING": BAKES, "ROLLED_BACK": SLOW}.get(state, AT_ONCE)
        start = end - 30 if state in ("ROLLED_BACK", "REVERTED") else end
        made = self.appconfig.deploy(int(item["ConfigurationVersion"]), start, strategy, description)
        assert made.number == item["DeploymentNumber"]
        if state in ("ROLLED_BACK", "REVERTED"):
            self.clock.set(end)
            ids = self.appconfig.ids
            self.server.plane.stop_deployment(ids["application"], ids["environment"], made.number, True)


@pytest.fixture
def fake_appconfig(emulated: Emulated, names: names_mod.ReleaseNames) -> Iterator[FakeAppConfig]:
    """AppConfig's control plane from cutover.rehearsal.fakes, named as the release names
    it; the operations commands reach it with boto3 over loopback."""
    clock = VirtualClock()
    appconfig = AppConfig(str(names.appconfig_application), str(names.appconfig_environment),
                          str(names.appconfig_profile))
    server = ControlPlaneServer(ControlPlane(appconfig, clock, lambda d: None))
    emulated.fakes["appconfig"] = boto3.client("appconfig", region_name=REGION, endpoint_url=server.url,
                                               aws_access_key_id="testing", aws_secret_access_key="testing")
    yield FakeAppConfig(names, appconfig, clock, server)
    server.close()
