"""The brake against botocore's Stubber: the AppConfig calls production makes, exactly.

moto implements no AppConfig environments or deployments, so every call is stubbed with
its expected parameters: a brake that listed the wrong environment, read the wrong
version or deployed with the wrong strategy fails here.
"""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from brake.decision import alarm_fired, canary_off, deployed_version
from brake.handler import Brake, lambda_handler
from cutover_runtime.telemetry import Identity

from .conftest import events

IDENTITY = Identity("rel", "", "Cutover")
ENV = {
    "CUTOVER_BRAKE_APPLICATION_ID": "app1234",
    "CUTOVER_BRAKE_ENVIRONMENT_ID": "env1234",
    "CUTOVER_BRAKE_PROFILE_ID": "prof123",
    "CUTOVER_BRAKE_STRATEGY_ID": "strat12",
    "CUTOVER_BRAKE_KMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/k1",
    "CUTOVER_BRAKE_CANARY_FLAGS": "prisma-adapter,orders-canary",
    "CUTOVER_BRAKE_ALARM_NAME": "rel-production-rollback",
}
LIST = {"ApplicationId": "app1234", "EnvironmentId": "env1234"}
STORED = {
    "version": "1",
    "flags": {"prisma-adapter": {"name": "user-read canary", "_createdAt": "2026-11-01T00:00:00Z",
                                 "_updatedAt": "2026-11-01T00:00:00Z", "attributes": {}},
              "prisma-shadow": {"name": "user-read shadow", "attributes": {}}},
    "values": {"prisma-adapter": {"enabled": True, "percent": 5, "salt": "s", "stickyKey": "userId", "step": 5},
               "prisma-shadow": {"enabled": True, "sampleRate": 0.1, "timeoutMs": 500}},
}


def deployment(number: int, version: int, state: str) -> dict:
    return {"DeploymentNumber": number, "ConfigurationName": "feature-flags",
            "ConfigurationVersion": str(version), "State": state}


def body(doc: dict) -> StreamingBody:
    raw = json.dumps(doc).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


@pytest.fixture
def appconfig():
    client = boto3.client("appconfig", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_after_the_bake_it_deploys_the_canary_off_flags_at_once(appconfig, capsys):
    client, stub = appconfig
    # GIVEN version 7 deployed (complete), an older rollback before it
    stub.add_response("list_deployments", {"Items": [deployment(3, 6, "ROLLED_BACK"), deployment(2, 7, "COMPLETE"),
                                                      deployment(1, 4, "COMPLETE")]}, LIST)
    stub.add_response("get_hosted_configuration_version", {"Content": body(STORED), "VersionNumber": 7},
                      {"ApplicationId": "app1234", "ConfigurationProfileId": "prof123", "VersionNumber": 7})
    expected = json.loads(json.dumps(STORED))
    expected["values"]["prisma-adapter"].update({"enabled": False, "percent": 0, "step": 0})
    for key in ("_createdAt", "_updatedAt"):
        expected["flags"]["prisma-adapter"].pop(key)
    content = json.dumps(expected, separators=(",", ":"), sort_keys=True).encode()
    description = "cutover brake: canary off after rel-production-rollback (from version 7)"
    stub.add_response("create_hosted_configuration_version", {"VersionNumber": 8},
                      {"ApplicationId": "app1234", "ConfigurationProfileId": "prof123", "Content": content,
                       "ContentType": "application/json", "Description": description})
    stub.add_response("start_deployment", {"DeploymentNumber": 4},
                      {**LIST, "DeploymentStrategyId": "strat12", "ConfigurationProfileId": "prof123",
                       "ConfigurationVersion": "8", "Description": description,
                       "KmsKeyIdentifier": ENV["CUTOVER_BRAKE_KMS_KEY_ARN"]})
    # WHEN the rollback alarm fires hours after the bake
    result = Brake(IDENTITY, client, ENV).apply("rel-production-rollback")
    # THEN the canary is off in a new version, shadow unchanged, with one audit line
    assert result["outcome"] == "BRAKE-APPLIED"
    assert json.loads(content)["values"]["prisma-shadow"] == STORED["values"]["prisma-shadow"]
    [line] = events(capsys.readouterr().out, "BRAKE-APPLIED")
    assert (line["fromVersion"], line["toVersion"], line["deploymentNumber"], line["flags"]) == (
        7, 8, 4, ["prisma-adapter"])
    assert line["level"] == "WARN" and line["alarm"] == "rel-production-rollback"


@pytest.mark.parametrize("state", ["DEPLOYING", "BAKING", "ROLLING_BACK", "VALIDATING"])
def test_during_a_deployment_it_leaves_the_rollback_to_appconfigs_monitor(appconfig, capsys, state):
    client, stub = appconfig
    stub.add_response("list_deployments", {"Items": [deployment(5, 9, state), deployment(4, 8, "COMPLETE")]}, LIST)
    result = Brake(IDENTITY, client, ENV).apply("rel-production-rollback")
    assert result["outcome"] == "BRAKE-SKIPPED" and result["reason"] == "deployment-in-progress"
    assert events(capsys.readouterr().out, "BRAKE-SKIPPED")[0]["state"] == state


def test_with_the_canary_already_off_it_does_nothing(appconfig, capsys):
    client, stub = appconfig
    off = json.loads(json.dumps(STORED))
    off["values"]["prisma-adapter"].update({"enabled": False, "percent": 0, "step": 0})
    stub.add_response("list_deployments", {"Items": [deployment(1, 2, "COMPLETE")]}, LIST)
    stub.add_response("get_hosted_configuration_version", {"Content": body(off), "VersionNumber": 2},
                      {"ApplicationId": "app1234", "ConfigurationProfileId": "prof123", "VersionNumber": 2})
    assert Brake(IDENTITY, client, ENV).apply("a")["outcome"] == "BRAKE-NOOP"
    assert events(capsys.readouterr().out, "BRAKE-NOOP")


def test_a_deployment_started_meanwhile_wins_and_the_brake_says_so(appconfig, capsys):
    client, stub = appconfig
    stub.add_response("list_deployments", {"Items": [deployment(1, 2, "COMPLETE")]}, LIST)
    stub.add_response("get_hosted_configuration_version", {"Content": body(STORED), "VersionNumber": 2})
    stub.add_response("create_hosted_configuration_version", {"VersionNumber": 3})
    stub.add_client_error("start_deployment", service_error_code="ConflictException", http_status_code=409)
    result = Brake(IDENTITY, client, ENV).apply("a")
    assert (result["outcome"], result["reason"]) == ("BRAKE-SKIPPED", "deployment-started-meanwhile")


def test_other_alarms_and_other_states_are_ignored_without_calling_aws(monkeypatch, capsys):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)

    def sns(message: dict) -> dict:
        return {"Records": [{"Sns": {"Message": json.dumps(message)}}]}

    for event in (sns({"AlarmName": "rel-production-rollback", "NewStateValue": "OK"}),
                  sns({"AlarmName": "rel-production-shadow-error-rate", "NewStateValue": "ALARM"}),
                  {"Records": [{"Sns": {"Message": "not json"}}]}, {}):
        assert lambda_handler(event, None) == {"outcome": "BRAKE-IGNORED"}
    assert len(events(capsys.readouterr().out, "BRAKE-IGNORED")) == 4


def test_decisions():
    assert alarm_fired(json.dumps({"AlarmName": "x", "NewStateValue": "ALARM"}), "x")
    assert deployed_version([deployment(1, 2, "COMPLETE"), deployment(2, 3, "ROLLED_BACK")]) == 2
    assert deployed_version([deployment(1, 2, "ROLLED_BACK")]) is None
    content, changed = canary_off(json.dumps(STORED).encode(), ["prisma-adapter", "absent"])
    assert changed == ["prisma-adapter"]
    assert canary_off(content, ["prisma-adapter"]) is None
