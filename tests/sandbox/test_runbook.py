"""docs/operations.md "Try the runbook", run end to end against a real sandbox.

Every command the walk-through shows is run here as it is written there (each one is
checked to appear in the page, so the page and this test cannot drift apart), in a
scratch copy of the project, with the environment `cutover sandbox up` prints. Two make
targets are run as the command they end with: `make plan ENV=E` is `make render build`
then `cutover plan --env E` (the plan renders too; build/ is copied in, as `make test`
builds it first), and `make apply ENV=E` is `cutover apply --env E`.

Between steps the test waits for what the page says to wait for (simulated time to
pass, the guard to act), reading `cutover sandbox status --json`, each with a generous
bound: it never measures a duration.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cutover.generator.terraform import sandbox_target
from sandbox_life import COMMAND_TIMEOUT_S, ENV, ROOT, operator_environ, session_members

from cutover.sandbox import cli as sandbox_cli

DOC = ROOT / "docs" / "operations.md"
SECTION = "## Try the runbook"
WAIT_BOUND_S = 900.0  # a bound for a condition that never comes, not a measurement
HOLD_RETRIES = 8  # a HOLD for too few samples, run again 30 simulated minutes later
# The page shows the default speed; the test runs faster (the simulation keeps up with more
# than this with a canary applied; if it fell behind, the waits below would only take longer).
SPEED = "300"
MAKE = {f"make plan ENV={ENV}": ["plan", "--env", ENV], f"make apply ENV={ENV}": ["apply", "--env", ENV]}


def walk_through() -> str:
    text = DOC.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start:end if end != -1 else None]


class Operator:
    """A shell in the scratch project: runs the page's commands, keeps the exports of `up`."""

    def __init__(self, root: Path) -> None:
        self.root, self.environ = root, operator_environ()
        self.page = walk_through()

    def argv(self, command: str, *extra: str) -> list[str]:
        assert command in self.page, f"the walk-through does not show `{command}`"
        if command.startswith('eval "$(') and command.endswith(')"'):
            command = command[len('eval "$('):-len(')"')]
        if command in MAKE:
            return [sys.executable, "-m", "cutover", *MAKE[command]]
        words = shlex.split(command)
        assert words[0] == "cutover", command
        return [sys.executable, "-m", "cutover", *words[1:], *extra]

    def run(self, command: str, *extra: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(self.argv(command, *extra), cwd=self.root, env=self.environ, capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT_S, check=False)
        assert expect is None or done.returncode == expect, (
            f"{command}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def up(self, command: str) -> None:
        """`eval "$(cutover sandbox up ...)"` (at the test's speed): the lines it prints,
        applied to this shell."""
        done = self.run(command, "--speed", SPEED)
        for line in done.stdout.splitlines():
            words = shlex.split(line)
            if words[:1] == ["unset"]:
                for key in words[1:]:
                    self.environ.pop(key, None)
            elif words[:1] == ["export"]:
                self.environ.update(word.split("=", 1) for word in words[1:])
        assert self.environ["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")

    def sandbox(self) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-m", "cutover", "sandbox", "status", "--env", ENV, "--json"],
                              cwd=self.root, env=self.environ, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def wait(self, what: str, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_BOUND_S
        while True:
            status = self.sandbox()
            assert not status.get("error"), f"the simulation failed: {status['error']}"
            if condition(status):
                return status
            assert time.monotonic() < deadline, f"still waiting for {what}: {status}"
            time.sleep(0.5)

    def wait_simulated(self, minutes: float) -> dict[str, Any]:
        since = self.sandbox()["sim_time_s"]
        return self.wait(f"{minutes:g} simulated minutes", lambda s: s["sim_time_s"] >= since + minutes * 60)

    def watch(self, command: str, shows: str) -> tuple[int, str]:
        """A command that runs until Ctrl-C, on a terminal as a person runs it: interrupted
        once its screen shows ``shows``; its exit code and what it showed."""
        controller, terminal = pty.openpty()
        process = subprocess.Popen(self.argv(command), cwd=self.root, env={**self.environ, "COLUMNS": "160"},
                                   stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal)
        os.close(terminal)
        screen, deadline = b"", time.monotonic() + WAIT_BOUND_S
        try:
            while shows.encode() not in screen and process.poll() is None:
                assert time.monotonic() < deadline, f"{command} never showed {shows!r}:\n{screen.decode()}"
                if select.select([controller], [], [], 1.0)[0]:
                    screen += _read(controller)
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=COMMAND_TIMEOUT_S)
            while select.select([controller], [], [], 0)[0] and (chunk := _read(controller)):
                screen += chunk
        finally:
            os.close(controller)
        return code, screen.decode(errors="replace")


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # the terminal's other end closed
        return b""


@pytest.fixture
def runbook_project(sandbox_project: Path) -> Path:
    if not (ROOT / "build" / "functions" / "router.zip").is_file():
        pytest.skip("no build/ (run `make build`; `make test` does)")
    (sandbox_project / "build").unlink()
    shutil.copytree(ROOT / "build", sandbox_project / "build")
    shutil.copytree(ROOT / "terraform", sandbox_project / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    _ramp_by_hand(sandbox_project / "config" / f"{ENV}.release.yaml")
    return sandbox_project


def _ramp_by_hand(spec: Path) -> None:
    """What the page asks first: the controller off in the copy (`enabled: false` under
    `delivery.controller`), so a ramp by hand is deployed by `make apply`."""
    assert "`enabled: false` under `delivery.controller`" in " ".join(walk_through().split())
    text = spec.read_text()
    on = "  controller:\n    enabled: true\n"
    assert on in text, f"{spec} no longer enables the controller as this test expects"
    spec.write_text(text.replace(on, "  controller:\n    enabled: false\n", 1))


def canary_served(status: dict[str, Any]) -> float:
    return max((status.get("canary_percent_served") or {"": 0.0}).values())


# What a ramp step changes: the flags (the document's hash and a deployment of the version
# kept for the new percent), the alarms' windows and the dashboard's canary-percent line.
RAMP_CHANGES = re.compile(r"^module\.(feature_flags\.(terraform_data\.document|aws_appconfig_deployment\.this|"
                          r"aws_appconfig_hosted_configuration_version\.kept\[.*\])|"
                          r"alarms\.aws_cloudwatch_metric_alarm\.this\[.*\]|dashboard\.aws_cloudwatch_dashboard\.this)$")
CHANGED = re.compile(r"^\s*# (\S+) (will be|must be) ", re.MULTILINE)


def changed(plan: str) -> list[str]:
    """The addresses a plan's output says it changes."""
    return [match.group(1) for match in CHANGED.finditer(plan)]


def first_release(environ: dict[str, str]) -> None:
    """What the first apply left (read as the operator's shell would): one flag deployment,
    alarms not in ALARM, the saved queries."""
    import boto3

    def client(service: str) -> Any:
        return boto3.client(service, region_name=environ.get("AWS_REGION") or environ["AWS_DEFAULT_REGION"],
                            endpoint_url=environ["AWS_ENDPOINT_URL"], aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"])

    appconfig = client("appconfig")
    app = next(a["Id"] for a in appconfig.list_applications()["Items"])
    env = next(e["Id"] for e in appconfig.list_environments(ApplicationId=app)["Items"])
    deployments = appconfig.list_deployments(ApplicationId=app, EnvironmentId=env)["Items"]
    assert [d["DeploymentNumber"] for d in deployments] == [1]
    alarms = client("cloudwatch").describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    states = {a["StateValue"] for a in alarms["MetricAlarms"] + alarms["CompositeAlarms"]}
    assert alarms["CompositeAlarms"] and states <= {"OK", "INSUFFICIENT_DATA"}
    assert client("logs").describe_query_definitions()["queryDefinitions"]


def _ramp_when_the_gate_has_its_samples(you: Operator) -> subprocess.CompletedProcess[str]:
    """`cutover ramp` as the page says, again later while it HOLDs for too few samples (exit
    3), as an operator or the hourly workflow does: how many canary requests fall in the
    last hour depends on which users came (a sticky 1% of Zipf-skewed users), not on the
    clock alone. Anything but that HOLD ends the loop and is judged by the caller."""
    for _ in range(HOLD_RETRIES):
        ramp = you.run(f"cutover ramp --env {ENV}", expect=None)
        if ramp.returncode != 3 or "too few samples" not in ramp.stdout:
            break
        you.wait_simulated(30)
    assert ramp.returncode == 0, f"cutover ramp: exit {ramp.returncode}\n{ramp.stdout}\n{ramp.stderr}"
    return ramp


def test_try_the_runbook(runbook_project: Path, terraform_bin: str):
    you = Operator(runbook_project)
    you.up(f'eval "$(cutover sandbox up --env {ENV})"')
    pid = sandbox_target.find(runbook_project, ENV).pid

    assert "THE PLAN ABOVE RAN AGAINST THE LOCAL SANDBOX, NOT AWS" in you.run(f"make plan ENV={ENV}").stdout
    assert "Apply complete! Resources: 89 added" in you.run(f"make apply ENV={ENV}").stdout
    applied = you.wait("the flags at 1% served", lambda s: canary_served(s) == 1)
    assert applied["resources_applied"] == 89
    first_release(you.environ)
    replan = you.run(f"make plan ENV={ENV}").stdout  # what the sandbox answers is what was applied
    assert "No changes." in replan and not changed(replan), replan[-6000:]
    assert "resources applied" in you.run(f"cutover sandbox status --env {ENV}").stdout
    preflight = you.run(f"cutover preflight --env {ENV}")
    assert "18/18 passed" in preflight.stdout, preflight.stdout
    code, screen = you.watch(f"cutover monitor --env {ENV} --watch", shows="served (all)")
    assert code == 0, screen

    you.wait_simulated(70)  # an hour at 1% since the flags settled: what the gate reads
    ramp = _ramp_when_the_gate_has_its_samples(you)
    assert "user-read: 1% -> 5%" in ramp.stdout
    plan = you.run(f"make plan ENV={ENV}").stdout  # only what the step changes: flags, alarms' windows
    steps = changed(plan)
    assert "module.feature_flags.aws_appconfig_deployment.this" in steps, plan[-6000:]
    assert [address for address in steps if not RAMP_CHANGES.match(address)] == [], plan[-6000:]
    assert "Apply complete!" in you.run(f"make apply ENV={ENV}").stdout
    you.wait("the flags at 5% served", lambda s: canary_served(s) == 5)
    _break_the_candidate(you)
    _break_glass(you)

    down = you.run(f"cutover sandbox down --env {ENV}")
    assert "stopped" in down.stderr
    assert sandbox_cli._gone(pid) and session_members(pid) == []
    assert not sandbox_target.state_file(runbook_project, ENV).exists()


def _break_the_candidate(you: Operator) -> None:
    you.run(f"cutover sandbox inject --env {ENV} candidate_errors --param rate=0.5")
    guarded = you.wait("the guard to turn the canary off", lambda s: canary_served(s) == 0)
    assert guarded["last_guard_action"]["outcome"] == "GUARD-APPLIED"
    assert "GUARD-APPLIED" in you.run(f"cutover sandbox status --env {ENV}").stdout
    status = you.run(f"cutover status --env {ENV}", expect=1)
    assert "the guard turned the canary off" in status.stdout
    assert f"(`cutover ramp --env {ENV} --path user-read --to 0`)" in last_column(status.stdout)


def last_column(table: str) -> str:
    """The text of a table's last column, its wrapped lines joined."""
    cells = [line.split("│")[-2].strip() for line in table.splitlines() if line.startswith("│")]
    return " ".join(cell for cell in cells if cell)


def _break_glass(you: Operator) -> None:
    for _ in range(2):
        rollback = you.run(f'cutover rollback --env {ENV} --reason "candidate errors in the sandbox"')
        assert "nothing left to do: the served canary is already 0" in rollback.stdout
        assert "read_paths[0].canary.percent: 5 -> 0" in rollback.stdout
