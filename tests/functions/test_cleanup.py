"""Cleanup against moto (Lambda versions and aliases) and Stubber (AppConfig listings)."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from botocore.stub import Stubber
from cleanup.handler import Cleanup
from cleanup.pruning import hosted_versions_to_delete, lambda_versions_to_delete
from cutover_runtime.telemetry import Identity
from moto import mock_aws

from .conftest import events

IDENTITY = Identity("rel", "", "Cutover")


def test_lambda_pruning_keeps_the_newest_and_every_aliased_version():
    aliases = [{"FunctionVersion": "3",
                "RoutingConfig": {"AdditionalVersionWeights": {"4": 0.1}}},
               {"FunctionVersion": "1"}]
    versions = ["$LATEST"] + [str(v) for v in range(1, 9)]
    assert lambda_versions_to_delete(versions, aliases, keep=2) == ["2", "5", "6"]
    assert lambda_versions_to_delete(versions, [], keep=0) == [str(v) for v in range(1, 9)]


def test_hosted_pruning_keeps_newest_deployed_rollback_target_and_in_progress():
    deployments = [
        {"EnvironmentId": "e1", "DeploymentNumber": 1, "ConfigurationVersion": "1", "State": "COMPLETE"},
        {"EnvironmentId": "e1", "DeploymentNumber": 2, "ConfigurationVersion": "3", "State": "COMPLETE"},
        {"EnvironmentId": "e1", "DeploymentNumber": 3, "ConfigurationVersion": "5", "State": "ROLLED_BACK"},
        {"EnvironmentId": "e2", "DeploymentNumber": 1, "ConfigurationVersion": "4", "State": "BAKING"},
        {"EnvironmentId": "e1", "DeploymentNumber": 9, "ConfigurationVersion": "2",
         "State": "COMPLETE", "ConfigurationProfileId": "other-profile"},
    ]
    assert hosted_versions_to_delete(range(1, 11), deployments, "prof", keep=3) == [1, 2, 6, 7]


def test_hosted_pruning_keeps_what_is_served_after_two_rollbacks():
    # GIVEN version 2 is served (deployment 1, the latest COMPLETE) and the two deployments
    # after it were rolled back or reverted: the served version is not among the last two
    deployments = [
        {"EnvironmentId": "e1", "DeploymentNumber": 1, "ConfigurationVersion": "2", "State": "COMPLETE"},
        {"EnvironmentId": "e1", "DeploymentNumber": 2, "ConfigurationVersion": "4", "State": "ROLLED_BACK"},
        {"EnvironmentId": "e1", "DeploymentNumber": 3, "ConfigurationVersion": "5", "State": "REVERTED"},
    ]
    # THEN it is kept, with the last two deployments' versions; nothing else
    assert hosted_versions_to_delete(range(1, 7), deployments, "prof", keep=0) == [1, 3, 6]


@pytest.fixture
def functions_with_versions(aws_env):
    with mock_aws():
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                   "Principal": {"Service": "lambda.amazonaws.com"}}]}
        ))["Role"]["Arn"]
        client = boto3.client("lambda")
        for name in ("huntaze-mock-read", "huntaze-prisma-read"):
            for i in range(1, 9):
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w") as zf:
                    zf.writestr("handler.py", f"VERSION = {i}\n")
                if i == 1:
                    client.create_function(FunctionName=name, Runtime="python3.12", Role=role,
                                           Handler="handler.h", Code={"ZipFile": buf.getvalue()})
                else:
                    client.update_function_code(FunctionName=name, ZipFile=buf.getvalue())
                client.publish_version(FunctionName=name)
            client.create_alias(FunctionName=name, Name="live", FunctionVersion="3",
                                RoutingConfig={"AdditionalVersionWeights": {"4": 0.05}})
        yield client


def _versions(client, name):
    return sorted(int(v["Version"]) for v in client.list_versions_by_function(
        FunctionName=name)["Versions"] if v["Version"] != "$LATEST")


@pytest.mark.moto  # functions_with_versions: mock_aws
def test_dry_run_deletes_nothing_and_says_what_it_would_delete(functions_with_versions, capsys):
    cleanup = Cleanup(IDENTITY, functions_with_versions, None,
                      ["huntaze-mock-read", "huntaze-prisma-read"], keep=2, application="",
                      profile="")
    result = cleanup.run(dry_run=True)
    assert result["removed"]["huntaze-mock-read"] == ["1", "2", "5", "6"]
    assert _versions(functions_with_versions, "huntaze-mock-read") == list(range(1, 9))
    lines = events(capsys.readouterr().out, "CLEANUP-WOULD-DELETE")
    assert len(lines) == 8
    assert lines[0] == {"event": "CLEANUP-WOULD-DELETE", "release": "rel", "path": "",
                        "level": "INFO", "resource": "lambda:huntaze-mock-read", "version": "1",
                        "dryRun": 1}


@pytest.mark.moto  # functions_with_versions: mock_aws
def test_scheduled_run_deletes_unreferenced_versions_beyond_the_newest(
        functions_with_versions, capsys):
    cleanup = Cleanup(IDENTITY, functions_with_versions, None, ["huntaze-prisma-read"], keep=2,
                      application="", profile="")
    cleanup.run(dry_run=False)
    assert _versions(functions_with_versions, "huntaze-prisma-read") == [3, 4, 7, 8]
    assert _versions(functions_with_versions, "huntaze-mock-read") == list(range(1, 9))
    deleted = events(capsys.readouterr().out, "CLEANUP-DELETED")
    assert [d["version"] for d in deleted] == ["1", "2", "5", "6"]


@pytest.mark.moto  # functions_with_versions: mock_aws
def test_handler_is_dry_run_unless_the_event_says_otherwise(functions_with_versions, aws_env):
    from cleanup import handler

    aws_env.setenv("CUTOVER_CLEANUP_FUNCTIONS", "huntaze-mock-read")
    aws_env.setenv("CUTOVER_CLEANUP_KEEP", "5")
    aws_env.setenv("CUTOVER_CLEANUP_APPCONFIG_APPLICATION", "")
    aws_env.delenv("CUTOVER_CLEANUP_DRY_RUN", raising=False)
    assert handler.lambda_handler({}, None)["dryRun"] is True
    assert _versions(functions_with_versions, "huntaze-mock-read") == list(range(1, 9))
    result = handler.lambda_handler({"dryRun": False}, None)
    assert result == {"dryRun": False, "removed": {"huntaze-mock-read": ["1", "2"]}}
    assert _versions(functions_with_versions, "huntaze-mock-read") == [3, 4, 5, 6, 7, 8]


def test_appconfig_hosted_versions_are_pruned_with_the_exact_calls(aws_env, capsys):
    client = boto3.client("appconfig")
    with Stubber(client) as stub:
        stub.add_response("list_applications", {"Items": [
            {"Id": "other", "Name": "x"}, {"Id": "app1", "Name": "huntaze-flags"}]}, {})
        stub.add_response("list_configuration_profiles", {"Items": [
            {"Id": "prof1", "Name": "feature-flags", "ApplicationId": "app1"}]},
            {"ApplicationId": "app1"})
        stub.add_response("list_hosted_configuration_versions", {"Items": [
            {"VersionNumber": v} for v in range(7, 0, -1)]},
            {"ApplicationId": "app1", "ConfigurationProfileId": "prof1"})
        stub.add_response("list_environments", {"Items": [{"Id": "env1", "Name": "production"}]},
                          {"ApplicationId": "app1"})
        stub.add_response("list_deployments", {"Items": [
            {"DeploymentNumber": 4, "ConfigurationName": "feature-flags",
             "ConfigurationVersion": "2", "State": "COMPLETE"},
            {"DeploymentNumber": 5, "ConfigurationName": "feature-flags",
             "ConfigurationVersion": "6", "State": "ROLLED_BACK"}]},
            {"ApplicationId": "app1", "EnvironmentId": "env1"})
        for version in (1, 3, 4):
            stub.add_response("delete_hosted_configuration_version", {},
                              {"ApplicationId": "app1", "ConfigurationProfileId": "prof1",
                               "VersionNumber": version})
        result = Cleanup(IDENTITY, None, client, [], keep=2, application="huntaze-flags",
                         profile="feature-flags").run(dry_run=False)
        stub.assert_no_pending_responses()
    assert result["removed"] == {"appconfig:huntaze-flags/feature-flags": [1, 3, 4]}
    assert len(events(capsys.readouterr().out, "CLEANUP-DELETED")) == 3


@pytest.mark.moto  # functions_with_versions: mock_aws
def test_a_refused_delete_is_logged_and_the_run_goes_on(functions_with_versions, capsys):
    client = functions_with_versions
    with Stubber(client) as stub:
        stub.add_response("list_versions_by_function", {"Versions": [
            {"Version": v} for v in ("$LATEST", "1", "2", "3")]}, {"FunctionName": "f"})
        stub.add_response("list_aliases", {"Aliases": []}, {"FunctionName": "f"})
        stub.add_client_error("delete_function", "ResourceConflictException",
                              expected_params={"FunctionName": "f", "Qualifier": "1"})
        stub.add_response("delete_function", {}, {"FunctionName": "f", "Qualifier": "2"})
        result = Cleanup(IDENTITY, client, None, ["f"], keep=1, application="",
                         profile="").run(dry_run=False)
    assert result["removed"] == {"f": ["2"]}
    failed = events(capsys.readouterr().out, "CLEANUP-FAILED")
    assert failed[0]["version"] == "1" and failed[0]["error"] == "ResourceConflictException"


def test_hosted_pruning_never_deletes_the_deployed_the_previous_or_a_terraform_kept_version():
    # GIVEN version 6 deployed and complete after version 2 (the revert target of
    # stop-deployment --allow-revert), and versions 1 and 3 kept by Terraform
    deployments = [
        {"EnvironmentId": "e1", "DeploymentNumber": 1, "ConfigurationVersion": "2", "State": "COMPLETE"},
        {"EnvironmentId": "e1", "DeploymentNumber": 2, "ConfigurationVersion": "6", "State": "COMPLETE"},
    ]
    # WHEN nothing else is protected (keep 0)
    deleted = hosted_versions_to_delete(range(1, 8), deployments, "prof", keep=0, owned=[1, 3])
    # THEN only the brake's or the console's leftovers go
    assert deleted == [4, 5, 7]
