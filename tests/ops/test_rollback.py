"""`cutover rollback`: stop with revert, canary-off at once, code rollback, idempotence,
the reconciling spec line and the audit record."""

from __future__ import annotations

import json

from botocore.stub import ANY

from generator.cli import main
from tests.ops.conftest import (
    APP,
    ENV_ID,
    PROFILE,
    deployment,
    expect_deployments,
    expect_document,
    expect_resolve,
    flags_with,
)


def _rollback(project, em, capsys, *extra) -> tuple[int, dict]:
    code = main(["--root", str(project), "rollback", "--env", "production", "--json",
                 "--reason", "canary 5xx on checkout", *extra], clients=em.clients())
    return code, json.loads(capsys.readouterr().out)


def _audit(project) -> list[dict]:
    path = project / "audit" / "production.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_baking_flag_deployment_is_stopped_with_revert(project, release, names, capsys):
    stub = release.stub("appconfig")
    expect_resolve(stub, names)
    expect_deployments(stub, deployment(4, "BAKING", 8), deployment(3, "COMPLETE", 7))
    stub.add_response("stop_deployment", {"DeploymentNumber": 4, "State": "ROLLED_BACK"},
                      {"ApplicationId": APP, "EnvironmentId": ENV_ID, "DeploymentNumber": 4, "AllowRevert": True})
    expect_deployments(stub, deployment(4, "ROLLED_BACK", 8), deployment(3, "COMPLETE", 7))
    expect_document(stub, 7, flags_with(names, 0))
    code, out = _rollback(project, release, capsys)
    assert code == 0
    assert [a["action"] for a in out["actions"]] == ["stopped the flag deployment with revert"]
    lines = (project / "config" / "production.release.yaml").read_text().splitlines()
    at = {key: next(i for i, line in enumerate(lines, 1) if line.strip().startswith(key)) for key in ("percent:", "phase:")}
    assert out["specChanges"] == [(f"config/production.release.yaml:{at['percent:']}: read_paths[0].canary.percent: 1 -> 0; "
                                  f"config/production.release.yaml:{at['phase:']}: phase: canary -> shadow")]
    [record] = _audit(project)
    assert record["why"] == "canary 5xx on checkout"
    assert record["who"]["awsIdentity"].startswith("arn:aws:")
    assert record["when"].endswith("Z") and record["actions"] == out["actions"]


def _canary_on(stub, names, percent=1):
    expect_resolve(stub, names)
    expect_deployments(stub, deployment(3, "COMPLETE", 7))
    expect_document(stub, 7, flags_with(names, percent))


def test_canary_on_gets_the_canary_off_flags_at_once(project, release, names, capsys):
    stub = release.stub("appconfig")
    _canary_on(stub, names)
    off = flags_with(names, 0)
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    stub.add_response("get_deployment", {"DeploymentNumber": 3, "KmsKeyArn": key},
                      {"ApplicationId": APP, "EnvironmentId": ENV_ID, "DeploymentNumber": 3})
    stub.add_response("create_hosted_configuration_version",
                      {"ApplicationId": APP, "ConfigurationProfileId": PROFILE, "VersionNumber": 8},
                      {"ApplicationId": APP, "ConfigurationProfileId": PROFILE,
                       "Content": json.dumps(off, sort_keys=True).encode(), "ContentType": "application/json",
                       "Description": ANY})
    stub.add_response("list_deployment_strategies", {"Items": []}, {})
    stub.add_response("create_deployment_strategy", {"Id": "strat01"}, {
        "Name": "huntaze-prisma-migration-production-break-glass", "Description": ANY,
        "DeploymentDurationInMinutes": 0, "FinalBakeTimeInMinutes": 0, "GrowthFactor": 100,
        "GrowthType": "LINEAR", "ReplicateTo": "NONE"})
    stub.add_response("start_deployment", {"DeploymentNumber": 4, "State": "DEPLOYING"}, {
        "ApplicationId": APP, "EnvironmentId": ENV_ID, "DeploymentStrategyId": "strat01",
        "ConfigurationProfileId": PROFILE, "ConfigurationVersion": "8", "Description": ANY,
        "KmsKeyIdentifier": key})
    code, out = _rollback(project, release, capsys)
    assert code == 0
    assert out["actions"] == [{"action": "deployed the canary-off flags at once (no bake)", "deployment": 4,
                               "from": {"user-read": 1.0}}]
    assert len(_audit(project)) == 1


def test_second_rollback_has_nothing_left_to_do(project, release, names, capsys):
    stub = release.stub("appconfig")
    _canary_on(stub, names, percent=0)
    code, out = _rollback(project, release, capsys)
    assert code == 0
    assert out["nothingToDo"] is True and out["actions"] == []
    assert _audit(project) == []  # nothing done, nothing recorded
    _canary_on(stub, names, percent=0)
    assert main(["--root", str(project), "rollback", "--env", "production"], clients=release.clients()) == 0
    assert "nothing left to do" in capsys.readouterr().out


def test_code_deployment_in_progress_is_stopped_with_rollback(project, release, names, capsys):
    _canary_on(release.stub("appconfig"), names, percent=0)
    cd = release.stub("codedeploy")
    for group in names.deployment_groups:
        active = group == "huntaze-prisma-read"
        cd.add_response("list_deployments", {"deployments": ["d-ABC123"] if active else []}, {
            "applicationName": names.codedeploy_application, "deploymentGroupName": group,
            "includeOnlyStatuses": ["Created", "Queued", "InProgress", "Baking", "Ready"]})
        if active:
            cd.add_response("get_deployment", {"deploymentInfo": {
                "deploymentId": "d-ABC123", "deploymentGroupName": group, "status": "InProgress"}},
                {"deploymentId": "d-ABC123"})
            cd.add_response("stop_deployment", {"status": "Pending", "statusMessage": "stopping"},
                            {"deploymentId": "d-ABC123", "autoRollbackEnabled": True})
    code, out = _rollback(project, release, capsys)
    assert code == 0
    assert out["actions"] == [{"action": "stopped the code deployment with rollback", "deployment": "d-ABC123",
                               "group": "huntaze-prisma-read", "status": "Pending"}]
    assert out["specChanges"] == []
    assert len(_audit(project)) == 1


def test_the_brakes_strategy_is_reused_when_the_spec_has_a_brake(project, release, names, capsys):
    assert names.brake_strategy == "huntaze-prisma-migration-production-brake"
    stub = release.stub("appconfig")
    _canary_on(stub, names)
    stub.add_response("get_deployment", {"DeploymentNumber": 3}, {"ApplicationId": APP, "EnvironmentId": ENV_ID,
                                                                  "DeploymentNumber": 3})
    stub.add_response("create_hosted_configuration_version",
                      {"ApplicationId": APP, "ConfigurationProfileId": PROFILE, "VersionNumber": 8}, {
                          "ApplicationId": APP, "ConfigurationProfileId": PROFILE, "Content": ANY,
                          "ContentType": "application/json", "Description": ANY})
    stub.add_response("list_deployment_strategies", {"Items": [
        {"Id": "brake01", "Name": "huntaze-prisma-migration-production-brake"}]}, {})
    stub.add_response("start_deployment", {"DeploymentNumber": 4}, {
        "ApplicationId": APP, "EnvironmentId": ENV_ID, "DeploymentStrategyId": "brake01",
        "ConfigurationProfileId": PROFILE, "ConfigurationVersion": "8", "Description": ANY})
    code, out = _rollback(project, release, capsys)
    assert code == 0 and out["actions"][0]["deployment"] == 4
