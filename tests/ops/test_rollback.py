"""`cutover rollback`: flags and code as independent steps, each attempted and audited;
never stopping the guard's or an earlier rollback's canary-off deployment; a second run
that is a no-op and says so; the reconciling spec line.

AppConfig and CodeDeploy are botocore Stubbers with expected_params on purpose: rollback
writes, and these tests pin exactly what it sends (the hosted version's content and
description, StartDeployment's strategy, description and KmsKeyIdentifier,
StopDeployment's deployment number) and that it sends nothing else (no StopDeployment of
the guard's deployment). What AppConfig answers is exercised against its shared fake
(cutover.rehearsal.fakes) in test_status, test_ramp and test_monitor."""

from __future__ import annotations

import dataclasses
import json

import pytest
from botocore.stub import ANY
from cutover.runtime import live

from cutover.cli import main
from cutover.ops import names as names_mod
from tests.ops.conftest import (
    APP,
    ENV_ID,
    PROFILE,
    deployment,
    expect_details,
    expect_flags,
    expect_resolve,
    flags_with,
)

WHEN = "2026-12-04T19:00:00Z"
DESCRIPTION = f"cutover rollback: by ana at {WHEN}: canary 5xx on checkout"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ACTIVE = ["Created", "Queued", "InProgress", "Baking", "Ready"]


@pytest.fixture(autouse=True)
def _who_and_when(monkeypatch):
    monkeypatch.setenv("GITHUB_ACTOR", "ana")
    monkeypatch.setattr("cutover.ops.audit.now", lambda: WHEN)


def _rollback(project, em, capsys, *extra) -> tuple[int, dict]:
    code = main(["--root", str(project), "rollback", "--env", "production", "--json",
                 "--reason", "canary 5xx on checkout", *extra], clients=em.clients())
    return code, json.loads(capsys.readouterr().out)


def _audit(project) -> list[dict]:
    path = project / "audit" / "production.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _spec_line(project) -> str:
    lines = (project / "config" / "production.release.yaml").read_text().splitlines()
    at = {key: next(i for i, line in enumerate(lines, 1) if line.strip().startswith(key)) for key in ("percent:", "phase:")}
    return (f"config/production.release.yaml:{at['percent:']}: read_paths[0].canary.percent: 1 -> 0; "
            f"config/production.release.yaml:{at['phase:']}: phase: canary -> shadow")


def _no_code_deployment(em, names) -> None:
    cd = em.stub("codedeploy")
    for group in names.deployment_groups:
        cd.add_response("list_deployments", {"deployments": []}, {
            "applicationName": names.codedeploy_application, "deploymentGroupName": group, "includeOnlyStatuses": ACTIVE})


def _code_deployment_in(em, names, group_with: str, *, creator: str = "user", stopped: bool = True) -> None:
    cd = em.stub("codedeploy")
    for group in names.deployment_groups:
        active = group == group_with
        cd.add_response("list_deployments", {"deployments": ["d-ABC123"] if active else []}, {
            "applicationName": names.codedeploy_application, "deploymentGroupName": group, "includeOnlyStatuses": ACTIVE})
        if active:
            cd.add_response("get_deployment", {"deploymentInfo": {
                "deploymentId": "d-ABC123", "deploymentGroupName": group, "status": "InProgress", "creator": creator}},
                {"deploymentId": "d-ABC123"})
            if stopped:
                cd.add_response("stop_deployment", {"status": "Pending", "statusMessage": "stopping"},
                                {"deploymentId": "d-ABC123", "autoRollbackEnabled": True})


def _expect_canary_off(stub, names, *, served_number: int, new_version: int, number: int,
                       strategies: list[dict] | None = None, strategy: str = "strat01") -> None:
    """The canary-off deployment: the served document with every canary off, the key of
    the deployment it replaces, all at once, its description starting with ROLLBACK_MARK."""
    off, _changed = live.canary_off(flags_with(names, 1), [p.canary_flag for p in names.paths])
    expect_details(stub, served_number, "", KmsKeyArn=KEY)
    stub.add_response("create_hosted_configuration_version",
                      {"ApplicationId": APP, "ConfigurationProfileId": PROFILE, "VersionNumber": new_version},
                      {"ApplicationId": APP, "ConfigurationProfileId": PROFILE, "Content": live.encode(off),
                       "ContentType": "application/json", "Description": DESCRIPTION})
    stub.add_response("list_deployment_strategies", {"Items": strategies or []}, {})
    if not strategies:
        stub.add_response("create_deployment_strategy", {"Id": strategy}, {
            "Name": "huntaze-prisma-migration-production-break-glass", "Description": ANY,
            "DeploymentDurationInMinutes": 0, "FinalBakeTimeInMinutes": 0, "GrowthFactor": 100,
            "GrowthType": "LINEAR", "ReplicateTo": "NONE"})
    stub.add_response("start_deployment", {"DeploymentNumber": number, "State": "DEPLOYING"}, {
        "ApplicationId": APP, "EnvironmentId": ENV_ID, "DeploymentStrategyId": strategy,
        "ConfigurationProfileId": PROFILE, "ConfigurationVersion": str(new_version), "Description": DESCRIPTION,
        "KmsKeyIdentifier": KEY})


def test_canary_on_gets_the_canary_off_flags_at_once(project, release, names, capsys):
    stub = release.stub("appconfig")
    expect_flags(stub, names, deployment(3, "COMPLETE", 7), served=1)
    _expect_canary_off(stub, names, served_number=3, new_version=8, number=4)
    _no_code_deployment(release, names)
    code, out = _rollback(project, release, capsys)
    assert code == 0
    assert out["actions"] == [{"action": "deployed the canary-off flags at once (no bake)", "deployment": 4,
                               "from": {"user-read": 1.0}, "flags": ["prisma-adapter"]}]
    assert out["specChanges"] == [_spec_line(project)]
    [record] = _audit(project)
    assert record["why"] == "canary 5xx on checkout" and record["when"] == WHEN
    assert record["who"]["user"] == "ana" and record["who"]["awsIdentity"].startswith("arn:aws:")
    assert record["steps"]["flags"]["ok"] and record["steps"]["code"]["ok"]
    assert record["actions"] == out["actions"]


def test_a_baking_deployment_is_stopped_and_the_step_before_it_turned_off(project, release, names, capsys):
    # GIVEN the 1 -> 5% deployment (4) bakes: stopping it with revert returns to 1%, still canary on
    stub = release.stub("appconfig")
    expect_flags(stub, names, deployment(4, "BAKING", 8), deployment(3, "COMPLETE", 7), served=1)
    expect_details(stub, 4, "cutover huntaze-prisma-migration (production)")
    stub.add_response("stop_deployment", {"DeploymentNumber": 4, "State": "ROLLED_BACK"},
                      {"ApplicationId": APP, "EnvironmentId": ENV_ID, "DeploymentNumber": 4, "AllowRevert": True})
    expect_flags(stub, names, deployment(4, "ROLLED_BACK", 8), deployment(3, "COMPLETE", 7), served=1, resolve=False)
    _expect_canary_off(stub, names, served_number=3, new_version=9, number=5)
    _no_code_deployment(release, names)
    # WHEN break glass runs
    code, out = _rollback(project, release, capsys)
    # THEN the bake is stopped AND the version it returned to gets the canary-off document
    assert code == 0
    assert [a["action"] for a in out["actions"]] == ["stopped the flag deployment with revert",
                                                     "deployed the canary-off flags at once (no bake)"]
    assert out["specChanges"] == [_spec_line(project)]


def test_rollback_twice_the_second_is_a_no_op_that_says_so(project, release, names, capsys):
    # GIVEN a first rollback started the canary-off deployment 4
    stub = release.stub("appconfig")
    expect_flags(stub, names, deployment(3, "COMPLETE", 7), served=1)
    _expect_canary_off(stub, names, served_number=3, new_version=8, number=4)
    _no_code_deployment(release, names)
    assert _rollback(project, release, capsys)[0] == 0
    # WHEN it runs again a few seconds later, while deployment 4 still deploys
    expect_flags(stub, names, deployment(4, "DEPLOYING", 8), deployment(3, "COMPLETE", 7), served=1)
    expect_details(stub, 4, DESCRIPTION)
    _no_code_deployment(release, names)  # the Stubber fails on any StopDeployment
    code, out = _rollback(project, release, capsys)
    # THEN nothing is stopped (the canary stays off) and it says so; the spec line still shows
    assert code == 0 and out["nothingToDo"] is True and out["actions"] == []
    assert out["steps"]["flags"]["found"] == [("`cutover rollback`'s canary-off deployment 4 is DEPLOYING: "
                                               "left to finish, not stopped; the canary is 0 once it is COMPLETE")]
    assert out["specChanges"] == [_spec_line(project)]
    assert len(_audit(project)) == 1  # nothing done, nothing more recorded
    # AND once it is COMPLETE, a third run finds the served canary at 0
    expect_flags(stub, names, deployment(4, "COMPLETE", 8), deployment(3, "COMPLETE", 7), served=0)
    _no_code_deployment(release, names)
    assert main(["--root", str(project), "rollback", "--env", "production", "--reason", "test"],
                clients=release.clients()) == 0
    text = capsys.readouterr().out
    assert "nothing left to do" in text and "the served canary is already 0 (version 8, deployment 4)" in text


def test_the_guards_deployment_in_progress_is_not_stopped(project, release, names, capsys):
    stub = release.stub("appconfig")
    expect_flags(stub, names, deployment(5, "DEPLOYING", 9), deployment(4, "COMPLETE", 8), served=1)
    expect_details(stub, 5, "cutover guard: canary off while huntaze-prisma-migration-production-rollback is in ALARM")
    _no_code_deployment(release, names)
    code, out = _rollback(project, release, capsys)
    assert code == 0 and out["nothingToDo"] is True
    assert out["steps"]["flags"]["found"][0].startswith("the guard's canary-off deployment 5 is DEPLOYING: left to finish")
    assert out["specChanges"] == [_spec_line(project)]


def test_a_flag_failure_still_rolls_the_code_back_and_audits_both(project, release, names, capsys):
    stub = release.stub("appconfig")
    expect_resolve(stub, names)
    stub.add_client_error("list_deployments", "InternalServerException", "AppConfig is having a bad day")
    _code_deployment_in(release, names, "huntaze-prisma-read")
    code, out = _rollback(project, release, capsys)
    assert code == 5  # the flag step failed, the code step did its work
    assert out["actions"] == [{"action": "stopped the code deployment with rollback", "deployment": "d-ABC123",
                               "group": "huntaze-prisma-read", "status": "Pending"}]
    assert "bad day" in out["steps"]["flags"]["error"] and out["steps"]["code"]["ok"]
    [record] = _audit(project)
    assert record["steps"] == out["steps"]


def test_a_code_failure_still_turns_the_canary_off_and_audits_both(project, release, names, capsys):
    stub = release.stub("appconfig")
    expect_flags(stub, names, deployment(3, "COMPLETE", 7), served=1)
    _expect_canary_off(stub, names, served_number=3, new_version=8, number=4)
    cd = release.stub("codedeploy")
    for group in names.deployment_groups:
        cd.add_client_error("list_deployments", "AccessDeniedException", "not authorized to perform: codedeploy:ListDeployments")
    code, out = _rollback(project, release, capsys)
    assert code == 6  # the code step failed, the flag step did its work
    assert [a["action"] for a in out["actions"]] == ["deployed the canary-off flags at once (no bake)"]
    assert "permission missing" in out["steps"]["code"]["error"]
    [record] = _audit(project)
    assert record["steps"]["code"]["ok"] is False and record["steps"]["flags"]["ok"] is True


def test_codedeploys_own_rollback_deployment_is_not_stopped(project, release, names, capsys):
    stub = release.stub("appconfig")
    expect_flags(stub, names, deployment(4, "COMPLETE", 8), served=0)
    _code_deployment_in(release, names, "huntaze-prisma-read", creator="codeDeployRollback", stopped=False)
    code, out = _rollback(project, release, capsys)
    assert code == 0 and out["nothingToDo"] is True
    assert "d-ABC123 (huntaze-prisma-read) is CodeDeploy's own rollback: left to finish" in out["steps"]["code"]["found"]


def test_a_deployment_rolling_back_is_not_stopped_and_the_flag_step_says_run_again(project, release, names, capsys):
    stub = release.stub("appconfig")
    expect_flags(stub, names, deployment(4, "ROLLING_BACK", 8), deployment(3, "COMPLETE", 7), served=1)
    expect_details(stub, 4, "")
    _no_code_deployment(release, names)
    code, out = _rollback(project, release, capsys)
    assert code == 5
    assert "ROLLING_BACK" in out["steps"]["flags"]["error"] and "run `cutover rollback` again" in out["steps"]["flags"]["error"]
    assert len(_audit(project)) == 1


def test_a_race_with_the_guard_is_reported_not_hidden(project, release, names, capsys):
    stub = release.stub("appconfig")
    expect_flags(stub, names, deployment(3, "COMPLETE", 7), served=1)
    expect_details(stub, 3, "", KmsKeyArn=KEY)
    stub.add_response("create_hosted_configuration_version",
                      {"ApplicationId": APP, "ConfigurationProfileId": PROFILE, "VersionNumber": 8},
                      {"ApplicationId": APP, "ConfigurationProfileId": PROFILE, "Content": ANY,
                       "ContentType": "application/json", "Description": DESCRIPTION})
    stub.add_response("list_deployment_strategies", {"Items": [{"Id": "s1", "Name": "huntaze-prisma-migration-production-break-glass"}]}, {})
    stub.add_client_error("start_deployment", "ConflictException", "a deployment is in progress")
    _no_code_deployment(release, names)
    code, out = _rollback(project, release, capsys)
    assert code == 5 and "ConflictException" in out["steps"]["flags"]["error"]


def test_the_guards_strategy_is_used_when_the_plan_names_it(project, release, names, capsys, monkeypatch):
    real = names_mod.from_plan
    guard = "huntaze-prisma-migration-production-guard"
    monkeypatch.setattr(names_mod, "from_plan", lambda plan, spec: dataclasses.replace(real(plan, spec), guard_strategy=guard))
    stub = release.stub("appconfig")
    expect_flags(stub, names, deployment(3, "COMPLETE", 7), served=1)
    _expect_canary_off(stub, names, served_number=3, new_version=8, number=4, strategy="guard01",
                       strategies=[{"Id": "bg01", "Name": "huntaze-prisma-migration-production-break-glass"},
                                   {"Id": "guard01", "Name": guard}])
    _no_code_deployment(release, names)
    code, out = _rollback(project, release, capsys)
    assert code == 0 and out["actions"][0]["deployment"] == 4


def test_names_read_the_guards_strategy_from_the_plan(project, monkeypatch):
    """The plan output `guard_strategy_name`; without it rollback makes `<prefix>-break-glass`."""
    real = names_mod.module_args

    def with_guard(plan, name):
        found = real(plan, name)
        return {**found, "guard_strategy_name": "rel-guard"} if name == "feature_flags" and found else found

    monkeypatch.setattr(names_mod, "module_args", with_guard)
    assert names_mod.load(project, "production")[0].guard_strategy == "rel-guard"


@pytest.mark.parametrize("controller", [True, False])
def test_the_reconciling_edit_is_one_the_spec_allows(project, release, names, capsys, controller):
    """With the controller on, a ramp by hand is refused: the rollback names `ramp --sync` instead."""
    from tests.ops.controller_helpers import disable

    if not controller:
        disable(project)
    stub = release.stub("appconfig")
    expect_flags(stub, names, deployment(3, "COMPLETE", 7), served=1)
    _expect_canary_off(stub, names, served_number=3, new_version=8, number=4)
    _no_code_deployment(release, names)
    code = main(["--root", str(project), "rollback", "--env", "production", "--reason", "canary 5xx on checkout"],
                clients=release.clients())
    text = " ".join(capsys.readouterr().out.split())
    assert code == 0
    edit = ("`cutover ramp --sync --env production`" if controller
            else "`cutover ramp --env production --path user-read --to 0`")
    assert f"make the edit with {edit}, then commit it" in text
