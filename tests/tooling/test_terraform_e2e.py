"""End to end: real terraform + the AWS provider against moto, through an s3 backend.

Proves the emulator path: a root module with `backend "s3"` and a plain provider block
inits, plans, applies and then plans no changes, with nothing but environment variables
and -backend-config values (no override file in the module's directory).
"""

from __future__ import annotations

import dataclasses
import io
import textwrap
from pathlib import Path

import boto3
import pytest
from cutover.generator.terraform.emulator import LocalAWS, prepare_backend
from cutover.generator.terraform.run import (
    ApplyRefused,
    apply_environment,
    emulator_backend,
    plan_environment,
)
from cutover.generator.terraform.wrapper import Terraform, find_terraform, missing_terraform_message

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.skipif(find_terraform() is None, reason=missing_terraform_message()),
]

REGION = "eu-west-1"
BACKEND = {"bucket": "cutover-e2e-state", "key": "envs/e2e/terraform.tfstate", "region": REGION}

MAIN_TF = textwrap.dedent(
    """\
    terraform {
      required_version = ">= 1.6"
      required_providers {
        aws = {
          source  = "hashicorp/aws"
          version = ">= 5.0"
        }
      }
      backend "s3" {}
    }

    provider "aws" {
      region = "eu-west-1"
    }

    resource "aws_kms_key" "this" {
      description             = "cutover e2e"
      deletion_window_in_days = 7
      enable_key_rotation     = true
    }

    resource "aws_cloudwatch_log_group" "this" {
      name              = "/cutover/e2e"
      retention_in_days = 7
    }

    resource "aws_sqs_queue" "dlq" {
      name                      = "cutover-e2e-dlq"
      message_retention_seconds = 1209600
    }
    """
)


@pytest.fixture(scope="module")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    return Terraform.discover(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def env_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "envs" / "e2e"
    directory.mkdir(parents=True)
    (directory / "main.tf").write_text(MAIN_TF)
    return directory


@pytest.mark.moto
def test_init_plan_apply_then_no_changes_on_the_emulator(terraform, env_dir, tmp_path):
    with LocalAWS(region=REGION) as aws:
        prepare_backend(aws, BACKEND["bucket"], REGION)
        tf = dataclasses.replace(terraform, env=aws.env(), unset=aws.unset(),
                                 data_dir=tmp_path / "data")
        tf.init(env_dir, backend=emulator_backend(BACKEND))
        assert tf.validate(env_dir)["valid"] is True

        planfile = tmp_path / "first.tfplan"
        assert tf.plan(env_dir, planfile) is True
        changes = tf.show_json(env_dir, planfile)["resource_changes"]
        assert sorted((c["address"], c["change"]["actions"][0]) for c in changes) == [
            ("aws_cloudwatch_log_group.this", "create"),
            ("aws_kms_key.this", "create"),
            ("aws_sqs_queue.dlq", "create"),
        ]

        tf.apply(env_dir, planfile)
        assert tf.plan(env_dir, tmp_path / "second.tfplan") is False

        # the state went to the emulator's bucket, under the backend's key
        s3 = boto3.client("s3", endpoint_url=aws.endpoint, region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.head_object(Bucket=BACKEND["bucket"], Key=BACKEND["key"])

    # the rendered directory got only Terraform's lock file: no override, no .terraform
    assert sorted(p.name for p in env_dir.iterdir()) == [".terraform.lock.hcl", "main.tf"]


@pytest.mark.moto
def test_plan_environment_on_the_emulator_then_apply_is_refused(terraform, env_dir, tmp_path):
    out = io.StringIO()
    saved = tmp_path / "plans" / "e2e.tfplan"
    result = plan_environment(env_dir, backend={**BACKEND, "dynamodb_table": "cutover-locks"},
                              saved_plan=saved, use_emulator=True, terraform=terraform,
                              cache_dir=tmp_path / "cache", out=out)
    assert result.target == "emulator"
    assert result.has_changes is True
    assert saved.is_file()
    assert "PLAN AGAINST THE LOCAL AWS EMULATOR" in out.getvalue()
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in out.getvalue()
    with pytest.raises(ApplyRefused) as refused:
        apply_environment(env_dir, saved_plan=saved, terraform=terraform)
    assert refused.value.exit_code == 2


def test_fmt_check_finds_unformatted_files(terraform, tmp_path):
    (tmp_path / "ok.tf").write_text('locals {\n  a = 1\n}\n')
    (tmp_path / "bad.tf").write_text('locals {\n  a    = 1\n}\n')
    assert [p.name for p in terraform.fmt_check([tmp_path])] == ["bad.tf"]
