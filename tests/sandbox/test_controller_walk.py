"""docs/operations.md "Let the controller ramp", run against a real sandbox: the state
machine Terraform applied walks the canary 1% -> 100% by itself, and a candidate that
breaks during a walk ends it: the guard turns the canary off and the execution stops
itself.

Every command is one the page shows (checked, as in test_runbook.py), in a scratch copy of
the project, with the environment `cutover sandbox up` prints; between them the test
waits for what the page waits for, reading `cutover sandbox status --json` (simulated
time, what is served, the newest execution), each wait with a generous bound and no
duration asserted. One whole apply serves both walks: where the page starts the second
walk in a fresh sandbox, the test puts the canary back to 1% with a deployment of the
first apply's version (a person's deployment, which the controller walks on from).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cutover.runtime.live import CONTROLLER_MARK
from sandbox_life import ENV, ROOT
from test_runbook import Operator, canary_served

SECTION = "## Let the controller ramp"


@pytest.fixture
def walk_project(sandbox_project: Path) -> Path:
    """The scratch project with its own build/ and terraform/ (as the runbook test's)."""
    if not (ROOT / "build" / "functions" / "controller.zip").is_file():
        pytest.skip("no build/ with the controller (run `make build`; `make test` does)")
    (sandbox_project / "build").unlink()
    shutil.copytree(ROOT / "build", sandbox_project / "build")
    shutil.copytree(ROOT / "terraform", sandbox_project / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    return sandbox_project


def section() -> str:
    text = (ROOT / "docs" / "operations.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start:end if end != -1 else None]


def newest(status: dict[str, Any]) -> dict[str, Any]:
    """The newest execution as the sandbox's status shows it ({} before the first)."""
    return (status.get("controller") or {}).get("newest") or {}


def ended(status: dict[str, Any]) -> bool:
    return newest(status).get("status") not in (None, "RUNNING")


def client(environ: dict[str, str], service: str) -> Any:
    import boto3

    return boto3.client(service, region_name=environ["AWS_REGION"], endpoint_url=environ["AWS_ENDPOINT_URL"],
                        aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"])


def test_the_controller_walks_the_canary(walk_project: Path, terraform_bin: str):
    you = Operator(walk_project)
    you.page = section()
    you.up(f'eval "$(cutover sandbox up --env {ENV})"')
    assert "THE PLAN ABOVE RAN AGAINST THE LOCAL SANDBOX, NOT AWS" in you.run(f"make plan ENV={ENV}").stdout
    assert "Apply complete!" in you.run(f"make apply ENV={ENV}").stdout
    you.wait("the flags at 1% served", lambda s: canary_served(s) == 1)

    started = you.run(f"cutover controller start --env {ENV}")
    assert "started" in started.stdout, started.stdout
    done = you.wait("the walk to end", ended)
    assert newest(done)["status"] == "SUCCEEDED", done["controller"]
    assert canary_served(done) == 100 and done["controller"]["invocations"] > 0
    status = you.run(f"cutover controller status --env {ENV}").stdout
    assert "SUCCEEDED" in status and "served: user-read 100%" in status, status
    assert "controller-done" in status, status
    assert _controller_steps(you.environ) == ["1% -> 5%", "5% -> 25%", "25% -> 50%", "50% -> 100%"]
    reading = json.loads(you.run(f"cutover controller status --env {ENV}", "--json").stdout)
    assert reading["execution"]["status"] == "SUCCEEDED" and reading["served"] == {"user-read": 100.0}

    _back_to_one_percent(you)
    _break_the_candidate_mid_walk(you)
    assert "stopped" in you.run(f"cutover sandbox down --env {ENV}").stderr


def _controller_steps(environ: dict[str, str]) -> list[str]:
    """The flag deployments the controller started, oldest first ("1% -> 5%", ...), read
    from AppConfig (their descriptions begin with the controller's mark)."""
    appconfig = client(environ, "appconfig")
    app = appconfig.list_applications()["Items"][0]["Id"]
    env = appconfig.list_environments(ApplicationId=app)["Items"][0]["Id"]
    numbers = sorted(d["DeploymentNumber"] for d in appconfig.list_deployments(ApplicationId=app, EnvironmentId=env)["Items"])
    descriptions = [str(appconfig.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=n)
                        .get("Description") or "") for n in numbers]
    return [d.split(": ", 1)[1].removeprefix("user-read ") for d in descriptions if d.startswith(CONTROLLER_MARK)]


def _back_to_one_percent(you: Operator) -> None:
    """The first apply's document (1%) deployed again, by a person (not the guard)."""
    appconfig = client(you.environ, "appconfig")
    app = appconfig.list_applications()["Items"][0]["Id"]
    env = appconfig.list_environments(ApplicationId=app)["Items"][0]["Id"]
    first = appconfig.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=1)
    appconfig.start_deployment(ApplicationId=app, EnvironmentId=env, DeploymentStrategyId=first["DeploymentStrategyId"],
                               ConfigurationProfileId=first["ConfigurationProfileId"],
                               ConfigurationVersion=first["ConfigurationVersion"], Description="back to 1% by hand")
    you.wait("the flags at 1% served again", lambda s: canary_served(s) == 1)


def _break_the_candidate_mid_walk(you: Operator) -> None:
    you.run(f"cutover controller start --env {ENV}")
    you.wait("the controller's first step", lambda s: canary_served(s) >= 5)
    you.run(f"cutover sandbox inject --env {ENV} candidate_errors --param rate=0.5")
    stopped = you.wait("the walk to end", ended)
    assert canary_served(stopped) == 0, stopped  # the guard turned the canary off
    assert stopped["last_guard_action"]["outcome"] == "GUARD-APPLIED", stopped["last_guard_action"]
    assert newest(stopped)["status"] == "FAILED", stopped["controller"]
    assert newest(stopped)["error"] in ("cutover.Stopped", "cutover.Rollback"), stopped["controller"]
    status = you.run(f"cutover controller status --env {ENV}").stdout
    assert "FAILED" in status and "served: user-read 0%" in status, status
