"""`cutover sandbox up|status|down|inject`: what an operator sees, and that nothing of a
sandbox is left running after `down` (its process, its port, its state file, its children)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cutover.generator.terraform import sandbox_target
from sandbox_life import ENV, cutover, session_members

from cutover import cli
from cutover.sandbox import cli as sandbox_cli


def _exports(stdout: str) -> dict[str, str]:
    line = next(line for line in stdout.splitlines() if line.startswith("export "))
    return dict(item.split("=", 1) for item in line.removeprefix("export ").split())


def _refused(endpoint: str) -> bool:
    url = urlsplit(endpoint)
    try:
        socket.create_connection((url.hostname, url.port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_up_status_down_leaves_no_process_port_or_file_behind(sandbox_project: Path):
    up = cutover(sandbox_project, "sandbox", "up", "--env", ENV, "--speed", "60")
    assert up.returncode == 0, up.stderr
    exports = _exports(up.stdout)
    target = sandbox_target.find(sandbox_project, ENV)
    assert target is not None and exports["AWS_ENDPOINT_URL"] == target.endpoint
    assert exports["AWS_REGION"] == exports["AWS_DEFAULT_REGION"] == target.region == "us-east-1"
    assert urlsplit(target.endpoint).hostname == "127.0.0.1"
    assert "unset AWS_PROFILE" in up.stdout and "AWS_SESSION_TOKEN" in up.stdout

    status = cutover(sandbox_project, "sandbox", "status", "--env", ENV, "--json")
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    assert (document["pid"], document["endpoint"], document["speed"]) == (target.pid, target.endpoint, 60.0)
    assert session_members(target.pid)  # the daemon, and whatever it started, in its own session

    down = cutover(sandbox_project, "sandbox", "down", "--env", ENV)
    assert down.returncode == 0, down.stderr
    assert sandbox_cli._gone(target.pid)
    assert _refused(target.endpoint)
    assert not sandbox_target.state_file(sandbox_project, ENV).exists()
    assert session_members(target.pid) == []


def test_up_twice_prints_the_same_lines_and_down_twice_is_a_no_op(sandbox_project: Path):
    first = cutover(sandbox_project, "sandbox", "up", "--env", ENV)
    assert first.returncode == 0, first.stderr
    again = cutover(sandbox_project, "sandbox", "up", "--env", ENV)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert "already up" in again.stderr
    pid = sandbox_target.find(sandbox_project, ENV).pid

    assert cutover(sandbox_project, "sandbox", "down", "--env", ENV).returncode == 0
    second = cutover(sandbox_project, "sandbox", "down", "--env", ENV)
    assert second.returncode == 0
    assert f"no sandbox running for {ENV}" in second.stderr
    assert sandbox_cli._gone(pid) and session_members(pid) == []


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _stale_file(root: Path) -> Path:
    path = sandbox_target.state_file(root, ENV)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": sandbox_target.FORMAT, "env": ENV, "pid": _dead_pid(),
                                "endpoint": "http://127.0.0.1:9", "region": "us-east-1",
                                "account_id": "123456789012", "speed": 60.0, "log": "x.log"}))
    return path


@pytest.mark.parametrize(("action", "code"), [("status", 1), ("down", 0)])
def test_a_stale_state_file_is_removed(tmp_path: Path, capsys, action, code):
    path = _stale_file(tmp_path)
    assert cli.main(["--root", str(tmp_path), "sandbox", action, "--env", ENV]) == code
    err = capsys.readouterr().err
    assert "removed a stale state file" in err and f"no sandbox running for {ENV}" in err
    assert not path.exists()


def test_status_json_says_when_nothing_runs(tmp_path: Path, capsys):
    assert cli.main(["--root", str(tmp_path), "sandbox", "status", "--env", ENV, "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {"command": "sandbox status", "exitCode": 1,
                                                    "env": ENV, "running": False}


def test_up_over_a_stale_state_file_starts_a_new_sandbox(sandbox_project: Path):
    path = _stale_file(sandbox_project)
    up = cutover(sandbox_project, "sandbox", "up", "--env", ENV)
    assert up.returncode == 0, up.stderr
    assert "stale state file" in up.stderr
    target = sandbox_target.find(sandbox_project, ENV)
    assert target is not None and _exports(up.stdout)["AWS_ENDPOINT_URL"] == target.endpoint
    assert json.loads(path.read_text())["pid"] == target.pid


def test_inject_an_unknown_fault_says_what_is_allowed(tmp_path: Path, capsys):
    code = cli.main(["--root", str(tmp_path), "sandbox", "inject", "--env", ENV, "candidate_explodes", "--json"])
    assert code == 2
    captured = capsys.readouterr()
    error = json.loads(captured.out)["error"]
    assert (error["exitCode"], error["kind"]) == (2, "input")
    assert "unknown fault 'candidate_explodes'" in captured.err
    assert "candidate_errors" in error["message"] and "database_outage" in error["message"]


@pytest.mark.parametrize(("params", "says"), [
    (["rate=2"], "rate: Input should be less than or equal to 1"),
    (["rate=0.5", "colour=red"], "colour: unknown parameter; allowed parameters: rate, traffic, for_minutes"),
    (["rate"], "give KEY=VALUE"),
])
def test_inject_checks_the_fault_s_parameters(tmp_path: Path, capsys, params, says):
    argv = ["--root", str(tmp_path), "sandbox", "inject", "--env", ENV, "candidate_errors"]
    assert cli.main(argv + [a for p in params for a in ("--param", p)]) == 2
    assert says in capsys.readouterr().err


def test_inject_without_a_sandbox_says_how_to_start_one(tmp_path: Path, capsys):
    argv = ["--root", str(tmp_path), "sandbox", "inject", "--env", ENV, "candidate_errors", "--param", "rate=0.5"]
    assert cli.main(argv) == 2
    assert f"no sandbox running for {ENV}: `cutover sandbox up --env {ENV}`" in capsys.readouterr().err


@pytest.mark.parametrize("speed", ["0", "-1", "601", "nan"])
def test_up_refuses_a_speed_out_of_bounds(tmp_path: Path, capsys, speed):
    assert cli.main(["--root", str(tmp_path), "sandbox", "up", "--env", ENV, "--speed", speed]) == 2
    assert "more than 0 and at most 600" in capsys.readouterr().err
    assert not sandbox_target.state_dir(tmp_path, ENV).exists()


def test_inject_refuses_a_fault_the_live_release_cannot_take(tmp_path: Path, capsys):
    argv = ["--root", str(tmp_path), "sandbox", "inject", "--env", ENV, "router_deployment"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot inject 'router_deployment' (deploy a new router version with `cutover deploy` instead)" in err
    assert "allowed candidate_errors" in err and "router_deployment," not in err
