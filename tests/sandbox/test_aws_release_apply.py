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
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def _simulated_time(sandbox) -> Iterator[None]:
    """The sandbox's clock kept up with the wall clock x its speed, as the daemon's
    simulation loop does: a flag deployment started by the apply grows and completes as
    on AWS (with the clock stopped, a deployment would stay DEPLOYING and any later one in
    the environment would be refused with ConflictException)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(0.5):
            clock = sandbox.state.clock
            with sandbox.state.lock:
                clock.set(max(clock.now, clock.due()))
            sandbox.aws.tick(clock.now)

    thread = threading.Thread(target=run, name="sandbox-clock", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _log_requests(door, path: str | None) -> None:
    """With CUTOVER_SANDBOX_REQUEST_LOG=FILE, every request's service, path and status (to debug an apply)."""
    if not path:
        return
    answer, log = door.answer, open(path, "a")  # noqa: SIM115 (open for the test's life)

    def logged(method, raw_path, headers, body):
        result = answer(method, raw_path, headers, body)
        log.write(f"{result.status} {method} {raw_path[:100]} {headers.get('X-Amz-Target', '')} "
                  f"{body[:300]!r} -> {result.body[:300]!r}\n")
        log.flush()
        return result

    door.answer = logged


def test_the_whole_release_applies_against_the_sandbox(sandbox, sandbox_terraform, tmp_path):
    if not (REPO / "build" / "functions" / "router.zip").is_file():
        pytest.skip("no build/ (run `make build`; `make test` does)")
    shutil.copytree(REPO / "terraform", tmp_path / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    shutil.copytree(REPO / "build", tmp_path / "build")
    seed_moto(sandbox.state, network_of(REPO, "production"))
    _running_sandbox(tmp_path, sandbox.door.url)
    env_dir = tmp_path / "terraform" / "envs" / "production"
    _log_requests(sandbox.door, os.environ.get("CUTOVER_SANDBOX_REQUEST_LOG"))
    out = io.StringIO()
    backend = dict(load_plan(Layout(REPO), "production").backend)
    result = plan_environment(env_dir, backend=backend, saved_plan=tmp_path / "p.tfplan", env="production",
                              terraform=sandbox_terraform, cache_dir=tmp_path / "cache", out=out,
                              sandbox=sandbox_target.find(tmp_path, "production"))
    assert result.target == "sandbox" and result.has_changes
    with _simulated_time(sandbox):
        apply_environment(env_dir, saved_plan=tmp_path / "p.tfplan", env="production",
                          terraform=sandbox_terraform, cache_dir=tmp_path / "cache", out=out)
    text = out.getvalue()
    assert "PLAN AGAINST THE LOCAL SANDBOX" in text and "APPLY TO THE LOCAL SANDBOX" in text

    appconfig = sandbox.client("appconfig")
    app = next(a["Id"] for a in appconfig.list_applications()["Items"])
    env = next(e["Id"] for e in appconfig.list_environments(ApplicationId=app)["Items"])
    deployments = appconfig.list_deployments(ApplicationId=app, EnvironmentId=env)["Items"]
    assert [d["DeploymentNumber"] for d in deployments] == [1]
    sandbox.aws.tick(sandbox.state.clock.now)
    alarms = sandbox.client("cloudwatch").describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    states = {a["StateValue"] for a in alarms["MetricAlarms"] + alarms["CompositeAlarms"]}
    assert alarms["CompositeAlarms"] and states <= {"OK", "INSUFFICIENT_DATA"}
    assert sandbox.client("logs").describe_query_definitions()["queryDefinitions"]

    again = io.StringIO()
    replan = plan_environment(env_dir, backend=backend, saved_plan=tmp_path / "p2.tfplan", env="production",
                              terraform=sandbox_terraform, cache_dir=tmp_path / "cache", out=again,
                              sandbox=sandbox_target.find(tmp_path, "production"))
    assert not replan.has_changes, again.getvalue()[-20000:]
