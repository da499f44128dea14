"""The whole production release planned and applied against an in-process sandbox, the
way `make plan` / `make apply` do when a sandbox of the environment is running (its state
file found by sandbox_target.find); then the operations commands' reads answer.

One plan and one apply of every resource: slow, so one test.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest
from cutover.generator.terraform import sandbox_target
from cutover.generator.terraform.run import apply_environment, plan_environment
from cutover.generator.workspace import Layout, load_plan
from sandbox_aws import ACCOUNT, REGION

from cutover.sandbox.services import seed_moto
from cutover.sandbox.services.seed import network_of

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _running_sandbox(root, endpoint: str) -> None:
    path = sandbox_target.state_file(root, "production")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"format": sandbox_target.FORMAT, "env": "production", "pid": os.getpid(),
                                "endpoint": endpoint, "region": REGION, "account_id": ACCOUNT, "speed": 60.0,
                                "log": str(root / "sandbox.log")}))


def test_the_whole_release_applies_against_the_sandbox(sandbox, sandbox_terraform, tmp_path):
    if not (REPO / "build" / "functions" / "router.zip").is_file():
        pytest.skip("no build/ (run `make build`; `make test` does)")
    shutil.copytree(REPO / "terraform", tmp_path / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    shutil.copytree(REPO / "build", tmp_path / "build")
    seed_moto(sandbox.state, network_of(REPO, "production"))
    _running_sandbox(tmp_path, sandbox.door.url)
    env_dir = tmp_path / "terraform" / "envs" / "production"
    out = io.StringIO()
    backend = dict(load_plan(Layout(REPO), "production").backend)
    result = plan_environment(env_dir, backend=backend, saved_plan=tmp_path / "p.tfplan", env="production",
                              terraform=sandbox_terraform, cache_dir=tmp_path / "cache", out=out,
                              sandbox=sandbox_target.find(tmp_path, "production"))
    assert result.target == "sandbox" and result.has_changes
    apply_environment(env_dir, saved_plan=tmp_path / "p.tfplan", env="production",
                      terraform=sandbox_terraform, cache_dir=tmp_path / "cache", out=out)
    text = out.getvalue()
    assert "PLAN AGAINST THE LOCAL SANDBOX" in text and "APPLY TO THE LOCAL SANDBOX" in text

    appconfig = sandbox.client("appconfig")
    app = next(a["Id"] for a in appconfig.list_applications()["Items"])
    env = next(e["Id"] for e in appconfig.list_environments(ApplicationId=app)["Items"])
    deployments = appconfig.list_deployments(ApplicationId=app, EnvironmentId=env)["Items"]
    assert [d["DeploymentNumber"] for d in deployments] == [1]
    sandbox.state.clock.set(120)
    sandbox.aws.tick(120)
    alarms = sandbox.client("cloudwatch").describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    states = {a["StateValue"] for a in alarms["MetricAlarms"] + alarms["CompositeAlarms"]}
    assert alarms["CompositeAlarms"] and states <= {"OK", "INSUFFICIENT_DATA"}
    assert sandbox.client("logs").describe_query_definitions()["queryDefinitions"]
