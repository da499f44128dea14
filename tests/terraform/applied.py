"""The production release applied in the local AWS emulator, shared by the tests that only
read the result (the `applied_release` fixture, tests/terraform/conftest.py).

Starting moto, `terraform init`, an apply and a whole plan of the production root cost
most of a minute of CPU: done once per session (and xdist worker), not once per module.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tf_layout import PLUGIN_MIRROR, REPO_ROOT

# What the emulator implements faithfully, by address (tests/terraform/test_emulator_release.py
# says why the rest stays out of an apply against it).
SUPPORTED = [
    "module.kms",
    "module.dependencies_arm64",
    *(
        f"module.{fn}.{resource}"
        for fn in ("user_read_control", "user_read_candidate", "cleanup")
        for resource in ("aws_cloudwatch_log_group.this", "aws_sqs_queue.dlq", "aws_iam_role.this")
    ),
    "module.user_read_shadow.aws_dynamodb_table.ledger",
    "module.alarms.aws_sns_topic.this",
    "module.alarms.aws_cloudwatch_metric_alarm.this",
    "module.code_deploy.aws_codedeploy_app.this",
    "module.code_deploy.aws_iam_role.this",
    "module.feature_flags.aws_appconfig_application.this",
]
# Applied too, so that their policies' ARNs are known in the plan (tests/terraform/test_iam_lint.py).
APPLIED = [
    *SUPPORTED,
    *(f"module.{fn}.{resource}" for fn in ("guard", "deploy_probe", "controller_function")
      for resource in ("aws_cloudwatch_log_group.this", "aws_sqs_queue.dlq", "aws_iam_role.this")),
    "module.controller.aws_iam_role.this",
]


@dataclass(frozen=True)
class AppliedRelease:
    """The production release applied (APPLIED) in a running emulator, then planned whole.

    Shared by the tests that only read it (one per session and xdist worker; the tests
    that use it share an xdist_group, tests/tiers.py): never apply, import or re-render
    through it. ``shown`` is ``terraform show -json`` of the whole plan after the apply.
    """

    terraform: Any  # cutover.generator.terraform.wrapper.Terraform, pointed at the emulator
    env_dir: Path
    shown: dict


@contextmanager
def release(tmp: Path) -> Iterator[AppliedRelease]:
    """Copy terraform/ and build/ into ``tmp``, apply APPLIED in a new emulator, plan the
    whole release; the emulator runs until the block ends. Skips when a tool is missing."""
    from cutover.generator.terraform.emulator import LocalAWS, prepare_backend
    from cutover.generator.terraform.run import emulator_backend, with_emulator
    from cutover.generator.terraform.wrapper import Terraform, find_terraform
    from cutover.generator.workspace import Layout, load_plan

    if find_terraform() is None:
        pytest.skip("terraform is not installed (https://developer.hashicorp.com/terraform/install)")
    if not PLUGIN_MIRROR.is_dir():
        pytest.skip(f"no provider mirror at {PLUGIN_MIRROR} (set CUTOVER_TF_PLUGIN_MIRROR)")
    if not (REPO_ROOT / "build" / "functions" / "router.zip").is_file():
        pytest.skip("no build/ (run `make build`; `make test` does)")
    shutil.copytree(REPO_ROOT / "terraform", tmp / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    shutil.copytree(REPO_ROOT / "build", tmp / "build")
    env_dir = tmp / "terraform" / "envs" / "production"
    backend = dict(load_plan(Layout(REPO_ROOT), "production").backend)
    with LocalAWS(region=str(backend["region"])) as aws:
        prepare_backend(aws, str(backend["bucket"]), str(backend["region"]))
        tf = with_emulator(Terraform.discover(cache_dir=tmp / "tf-cache"), aws, tmp / "data")
        tf.init(env_dir, backend=emulator_backend(backend))
        tf.run(env_dir, "apply", "-auto-approve", "-input=false", "-no-color", *(f"-target={t}" for t in APPLIED))
        tf.run(env_dir, "plan", "-input=false", "-no-color", f"-out={tmp / 'p.tfplan'}")
        shown = json.loads(tf.run(env_dir, "show", "-json", str(tmp / "p.tfplan")).stdout)
        yield AppliedRelease(tf, env_dir, shown)
