"""Tests of generator/terraform/run.py: the plan target, its record, and the apply refusal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from cutover.generator.terraform import run as terraform_run
from cutover.generator.terraform.run import (
    ApplyRefused,
    apply_command,
    apply_environment,
    emulator_backend,
    plan_command,
    plan_environment,
    record_path,
)
from cutover.generator.terraform.wrapper import TerraformError

BACKEND = {"bucket": "cutover-state", "key": "envs/production/terraform.tfstate",
           "region": "eu-west-1"}


@pytest.fixture
def env_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "terraform" / "envs" / "production"
    directory.mkdir(parents=True)
    (directory / "main.tf").write_text("# rendered\n")
    return directory


def write_plan(tmp_path: Path, target: str, env: str = "production") -> Path:
    plan = tmp_path / "plans" / f"{env}.tfplan"
    plan.parent.mkdir(parents=True, exist_ok=True)
    plan.write_bytes(b"plan")
    record_path(plan).write_text(json.dumps({
        "target": target, "env": env, "created_at": "2026-01-01T00:00:00+00:00",
        "account_id": "111111111111", "data_dir": str(tmp_path / "data"),
        "plan_sha256": terraform_run._sha256(plan),
    }))
    return plan


# --- planning ----------------------------------------------------------------------------


@pytest.mark.moto
def test_plan_against_the_emulator(env_dir, tmp_path, fake_tf, fake_terraform,
                                   no_aws_credentials, monkeypatch):
    # GIVEN no AWS credentials and a terraform whose plan has changes
    monkeypatch.setenv("FAKE_TF_EXIT_PLAN", "2")
    out = io.StringIO()
    saved = tmp_path / "plans" / "production.tfplan"
    # WHEN the environment is planned with the target left to detection
    result = plan_environment(env_dir, backend={**BACKEND, "profile": "prod"}, saved_plan=saved,
                              terraform=fake_tf, cache_dir=tmp_path / "cache", out=out)
    # THEN it ran against moto, loudly, and recorded so
    assert result.target == "emulator"
    assert result.has_changes is True
    assert "PLAN AGAINST THE LOCAL AWS EMULATOR (moto on 127.0.0.1:" in out.getvalue()
    assert "nothing here touches AWS" in out.getvalue()
    init, plan = fake_terraform.calls()
    assert init["argv"][1] == "init"
    assert "-backend-config=use_path_style=true" in init["argv"]
    assert "-backend-config=bucket=cutover-state" in init["argv"]
    assert not any("profile" in arg for arg in init["argv"])
    assert "-reconfigure" in init["argv"]
    assert plan["argv"][1] == "plan"
    for call in (init, plan):
        assert call["env"]["AWS_ENDPOINT_URL"] == result.endpoint
        assert call["env"]["AWS_ACCESS_KEY_ID"] == "testing"
        assert call["env"]["TF_DATA_DIR"].endswith("production-emulator")
    record = json.loads(result.record.read_text())
    assert record["target"] == "emulator"
    assert record["env"] == "production"
    # AND the rendered directory is left as it was
    assert sorted(p.name for p in env_dir.iterdir()) == ["main.tf"]


def test_plan_against_aws(env_dir, tmp_path, fake_tf, fake_terraform, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(terraform_run, "has_aws_credentials", lambda: True)
    monkeypatch.setattr(terraform_run, "_caller_account",
                        lambda backend: ("111111111111", "eu-west-1"))
    monkeypatch.setenv("FAKE_TF_EXIT_PLAN", "2")
    out = io.StringIO()
    result = plan_environment(env_dir, backend=BACKEND, saved_plan=tmp_path / "p.tfplan",
                              terraform=fake_tf, cache_dir=tmp_path / "cache", out=out)
    assert result.target == "aws"
    assert result.has_changes is True
    assert "PLAN AGAINST AWS account 111111111111 region eu-west-1" in out.getvalue()
    init = fake_terraform.calls()[0]
    assert "AWS_ENDPOINT_URL" not in init["env"]
    assert "-backend-config=use_path_style=true" not in init["argv"]
    assert json.loads(result.record.read_text())["target"] == "aws"


def test_emulator_needs_bucket_and_region(env_dir, tmp_path, fake_tf):
    with pytest.raises(ValueError, match="env=production: .*needs backend bucket and region"):
        plan_environment(env_dir, backend={"key": "k"}, saved_plan=tmp_path / "p.tfplan",
                         use_emulator=True, terraform=fake_tf, cache_dir=tmp_path / "c")


def test_failed_plan_leaves_no_stale_record(env_dir, tmp_path, fake_tf, monkeypatch):
    plan = write_plan(tmp_path, "aws")
    monkeypatch.setattr(terraform_run, "_caller_account", lambda backend: ("1", "r"))
    monkeypatch.setenv("FAKE_TF_EXIT_PLAN", "1")
    with pytest.raises(TerraformError):
        plan_environment(env_dir, backend=BACKEND, saved_plan=plan, use_emulator=False,
                         terraform=fake_tf, cache_dir=tmp_path / "c", out=io.StringIO())
    assert not record_path(plan).exists()
    with pytest.raises(ApplyRefused):
        apply_environment(env_dir, saved_plan=plan, terraform=fake_tf)


def test_emulator_backend_keeps_state_key_and_drops_real_account_settings():
    assert emulator_backend({**BACKEND, "profile": "p", "assume_role": {"role_arn": "r"},
                             "dynamodb_table": "locks"}) == {
        **BACKEND, "dynamodb_table": "locks", "use_path_style": True,
    }


# --- applying ----------------------------------------------------------------------------


def test_apply_refuses_a_plan_made_against_the_emulator(env_dir, tmp_path, fake_tf,
                                                        fake_terraform):
    plan = write_plan(tmp_path, "emulator")
    with pytest.raises(ApplyRefused) as refused:
        apply_environment(env_dir, saved_plan=plan, terraform=fake_tf)
    assert refused.value.exit_code == 2
    message = str(refused.value)
    assert "does not implement AppConfig environments and deployments" in message
    assert "run `make plan ENV=production` with AWS credentials, review, then " \
           "`make apply ENV=production`" in message
    assert fake_terraform.calls() == []


def test_apply_refuses_a_plan_without_record(env_dir, tmp_path, fake_tf):
    plan = write_plan(tmp_path, "aws")
    record_path(plan).unlink()
    with pytest.raises(ApplyRefused, match="no record of where it was planned"):
        apply_environment(env_dir, saved_plan=plan, terraform=fake_tf)


def test_apply_refuses_a_missing_plan(env_dir, tmp_path, fake_tf):
    with pytest.raises(ApplyRefused, match="no saved plan at"):
        apply_environment(env_dir, saved_plan=tmp_path / "none.tfplan", terraform=fake_tf)


def test_apply_refuses_a_record_of_another_plan(env_dir, tmp_path, fake_tf):
    plan = write_plan(tmp_path, "aws")
    plan.write_bytes(b"a different plan")
    with pytest.raises(ApplyRefused, match="does not describe"):
        apply_environment(env_dir, saved_plan=plan, terraform=fake_tf)


def test_apply_refuses_a_plan_of_another_environment(env_dir, tmp_path, fake_tf):
    plan = write_plan(tmp_path, "aws", env="staging")
    with pytest.raises(ApplyRefused, match="does not describe"):
        apply_environment(env_dir, saved_plan=plan, terraform=fake_tf)


def test_apply_refuses_without_credentials(env_dir, tmp_path, fake_tf, no_aws_credentials):
    plan = write_plan(tmp_path, "aws")
    with pytest.raises(ApplyRefused, match="no AWS credentials found"):
        apply_environment(env_dir, saved_plan=plan, terraform=fake_tf)


def test_apply_applies_exactly_the_saved_plan(env_dir, tmp_path, fake_tf, fake_terraform,
                                              monkeypatch):
    monkeypatch.setattr(terraform_run, "has_aws_credentials", lambda: True)
    plan = write_plan(tmp_path, "aws")
    out = io.StringIO()
    apply_environment(env_dir, saved_plan=plan, terraform=fake_tf, out=out)
    show, call = fake_terraform.calls()
    assert show["argv"][1:3] == ["show", "-json"]  # does the plan start a flag deployment?
    assert call["argv"] == [f"-chdir={env_dir}", "apply", "-input=false", "-no-color",
                            str(plan.resolve())]
    assert call["env"]["TF_DATA_DIR"] == str((tmp_path / "data").resolve())
    assert "APPLY TO AWS account 111111111111" in out.getvalue()


# --- the CLI-facing wrappers: exit codes, messages on stderr -------------------------------


def test_apply_command_exits_2_with_the_refusal(env_dir, tmp_path, fake_tf, capsys):
    plan = write_plan(tmp_path, "emulator")
    assert apply_command(env_dir, saved_plan=plan, terraform=fake_tf) == 2
    assert "cutover: env=production: refusing to apply" in capsys.readouterr().err


def test_apply_command_exits_0_after_applying(env_dir, tmp_path, fake_tf, monkeypatch):
    monkeypatch.setattr(terraform_run, "has_aws_credentials", lambda: True)
    plan = write_plan(tmp_path, "aws")
    assert apply_command(env_dir, saved_plan=plan, terraform=fake_tf, out=io.StringIO()) == 0


def test_apply_command_exits_1_when_terraform_fails(env_dir, tmp_path, fake_tf, monkeypatch,
                                                    capsys):
    monkeypatch.setattr(terraform_run, "has_aws_credentials", lambda: True)
    monkeypatch.setenv("FAKE_TF_EXIT", "1")
    monkeypatch.setenv("FAKE_TF_STDERR", "Error: AccessDenied\n")
    plan = write_plan(tmp_path, "aws")
    assert apply_command(env_dir, saved_plan=plan, terraform=fake_tf, out=io.StringIO()) == 1
    assert "Error: AccessDenied" in capsys.readouterr().err


def test_plan_command_exit_codes(env_dir, tmp_path, fake_tf, monkeypatch, capsys):
    monkeypatch.setattr(terraform_run, "_caller_account", lambda backend: ("1", "r"))
    kwargs = {"backend": BACKEND, "saved_plan": tmp_path / "p.tfplan", "use_emulator": False,
              "terraform": fake_tf, "cache_dir": tmp_path / "c", "out": io.StringIO()}
    monkeypatch.setenv("FAKE_TF_EXIT_PLAN", "2")  # changes: still a success
    assert plan_command(env_dir, **kwargs) == 0
    monkeypatch.setenv("FAKE_TF_EXIT_PLAN", "1")
    assert plan_command(env_dir, **kwargs) == 1
    assert plan_command(env_dir, **{**kwargs, "use_emulator": True, "backend": {}}) == 2
    assert "needs backend bucket and region" in capsys.readouterr().err


# --- one flag deployment per environment at a time ---------------------------------------

DEPLOYMENT_ARN = "arn:aws:appconfig:eu-west-1:111111111111:application/app1234/environment/env1234/deployment/4"


def _show(actions: list[str], before: dict | None) -> str:
    return json.dumps({"resource_changes": [{
        "address": "module.feature_flags.aws_appconfig_deployment.this",
        "change": {"actions": actions, "before": before}}]})


@pytest.fixture
def appconfig():
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("appconfig", region_name="eu-west-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("state", ["DEPLOYING", "BAKING"])
def test_apply_refuses_a_ramp_while_a_flag_deployment_runs(env_dir, tmp_path, fake_tf, fake_terraform,
                                                           monkeypatch, appconfig, state):
    # GIVEN a saved plan that replaces the flag deployment of an existing environment
    monkeypatch.setattr(terraform_run, "has_aws_credentials", lambda: True)
    before = {"application_id": "app1234", "environment_id": "env1234", "arn": DEPLOYMENT_ARN}
    monkeypatch.setenv("FAKE_TF_STDOUT", _show(["delete", "create"], before))
    client, stub = appconfig
    stub.add_response("list_deployments", {"Items": [{"DeploymentNumber": 4, "State": state}]},
                      {"ApplicationId": "app1234", "EnvironmentId": "env1234"})
    plan = write_plan(tmp_path, "aws")
    # WHEN it is applied while deployment 4 deploys or bakes
    with pytest.raises(terraform_run.FlagDeploymentInProgress) as refused:
        apply_environment(env_dir, saved_plan=plan, terraform=fake_tf, out=io.StringIO(), appconfig=client)
    # THEN nothing is applied, and the message says why and what to do
    assert refused.value.exit_code == 3
    assert [c["argv"][1] for c in fake_terraform.calls()] == ["show"]
    assert f"flag deployment 4 of AppConfig application app1234, environment env1234 is {state}" in str(refused.value)
    assert "--deployment-number 4 --query State` says COMPLETE or ROLLED_BACK" in str(refused.value)


def test_apply_goes_on_when_no_flag_deployment_runs(env_dir, tmp_path, fake_tf, fake_terraform,
                                                    monkeypatch, appconfig):
    monkeypatch.setattr(terraform_run, "has_aws_credentials", lambda: True)
    before = {"application_id": "app1234", "environment_id": "env1234", "arn": DEPLOYMENT_ARN}
    monkeypatch.setenv("FAKE_TF_STDOUT", _show(["delete", "create"], before))
    client, stub = appconfig
    stub.add_response("list_deployments", {"Items": [{"DeploymentNumber": 4, "State": "COMPLETE"},
                                                     {"DeploymentNumber": 3, "State": "ROLLED_BACK"}]})
    apply_environment(env_dir, saved_plan=write_plan(tmp_path, "aws"), terraform=fake_tf, out=io.StringIO(),
                      appconfig=client)
    assert [c["argv"][1] for c in fake_terraform.calls()] == ["show", "apply"]


def test_a_first_flag_deployment_or_none_needs_no_look(env_dir, tmp_path, fake_tf, fake_terraform,
                                                       monkeypatch, appconfig):
    monkeypatch.setattr(terraform_run, "has_aws_credentials", lambda: True)
    client, _stub = appconfig  # no call expected: the stubber fails on any
    for show in (_show(["create"], None), _show(["no-op"], {"application_id": "a"}), ""):
        monkeypatch.setenv("FAKE_TF_STDOUT", show)
        apply_environment(env_dir, saved_plan=write_plan(tmp_path, "aws"), terraform=fake_tf,
                          out=io.StringIO(), appconfig=client)
