"""Without credentials, region, permissions or the resources, every operations command
says what is missing and exits 2 — never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from botocore.stub import Stubber

from cutover.cli import main
from cutover.ops.aws import Clients
from tests.conftest import ROOT
from tests.ops.conftest import REGION
from tests.ops.controller_helpers import disable

# One invocation per command, with the arguments it needs.
COMMANDS = {
    "status": ["status"],
    "rollback": ["rollback", "--reason", "test"],
    "deploy": ["deploy", "--function", "huntaze-prisma-read", "--no-wait"],
    "preflight": ["preflight", "--check", "alias-exists"],
    "monitor": ["monitor"],
    "ramp": ["ramp", "--to", "0"],
    "analyze": ["analyze", "--since", "1h"],
    "query": ["query", "error-rate"],
    "traces": ["traces", "--canary"],
}
# Reads AWS with no resource of the release's own (X-Ray, Logs Insights over groups that
# Terraform creates): a missing resource shows up as a refusal or an empty answer.
NEEDS_RESOURCES = sorted(set(COMMANDS) - {"traces", "query", "preflight"})
# `cutover rollback` runs its flag and code steps independently and its exit code says
# which failed: 5 the flag step (here: AppConfig), the code step still ran (moto lists no
# CodeDeploy deployment for an application it does not have).
EXPECTED = {"rollback": 5}


@pytest.fixture
def project(project):
    """The spec without the controller: with it, a ramp by hand is refused (the controller
    walks the steps; tests/ops/test_controller_sync.py)."""
    disable(project)
    return project


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_credentials(project, no_credentials, capsys, command):
    code = main(["--root", str(project), *COMMANDS[command], "--env", "production"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no AWS credentials" in err and "AWS_PROFILE" in err
    assert "Traceback" not in err


def test_no_credentials_from_the_console_script(project, no_credentials):
    """The real entry point, in a fresh interpreter: one sentence on stderr, exit 2."""
    env = {k: v for k, v in os.environ.items()}
    done = subprocess.run([sys.executable, "-m", "cutover", "--root", str(project), "status"],
                          check=False, capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "no AWS credentials" in done.stderr


def test_no_region(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    from cutover.ops.aws import OpsError

    with pytest.raises(OpsError, match="no AWS region"):
        Clients(None).require_credentials()


@pytest.mark.parametrize("command", NEEDS_RESOURCES)
def test_missing_resources(project, emulated, capsys, command, fake_appconfig):
    """Nothing applied yet: moto has no function or alarm, and AppConfig (its shared fake,
    over loopback) holds only another release's application."""
    fake_appconfig.appconfig.path = ("another-release-flags", "production", "feature-flags")
    code = main(["--root", str(project), *COMMANDS[command], "--env", "production"], clients=emulated.clients())
    err = capsys.readouterr().err
    assert code == EXPECTED.get(command, 2), err
    assert "Traceback" not in err
    assert ("not found" in err or "resource missing" in err) and "make apply" in err


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - {"preflight"}))
def test_missing_permission(project, emulated, capsys, command):
    """Stubbers: AccessDenied from five services at once; neither moto nor the shared
    fakes model IAM permissions."""
    denied = "User: arn:aws:iam::123456789012:user/ana is not authorized to perform: {}"
    for service, operation in (("appconfig", "list_applications"), ("lambda", "get_alias"),
                               ("xray", "get_trace_summaries"), ("logs", "start_query"),
                               ("cloudwatch", "describe_alarms")):
        emulated.stub(service).add_client_error(operation, "AccessDeniedException", denied.format(operation))
    code = main(["--root", str(project), *COMMANDS[command], "--env", "production"], clients=emulated.clients())
    err = capsys.readouterr().err
    emulated.stubs.clear()
    assert code == EXPECTED.get(command, 2), err
    assert "permission missing" in err and "not authorized" in err
    assert "Traceback" not in err


def test_preflight_reports_a_refusal_in_its_table(project, emulated, capsys):
    emulated.stub("lambda").add_client_error("get_alias", "AccessDeniedException", "not authorized to perform: lambda:GetAlias")
    code = main(["--root", str(project), "preflight", "--env", "production", "--json", "--check", "alias-exists"],
                clients=emulated.clients())
    import json

    [check] = json.loads(capsys.readouterr().out)["checks"]
    assert code == 1
    assert check["ok"] is False and "permission missing" in check["detail"]  # each command stops at its first refusal


def test_unknown_environment_is_bad_input(project, capsys):
    assert main(["--root", str(project), "status", "--env", "nowhere"]) == 2
    assert "no spec for environment 'nowhere'" in capsys.readouterr().err


def test_region_comes_from_the_spec(names):
    assert Clients(names.region)("lambda").meta.region_name == REGION


def test_stubbed_client_is_used_as_given():
    client = Clients(REGION)("sts")
    stub = Stubber(client)
    assert Clients(REGION, overrides={"sts": client})("sts") is client
    stub.deactivate()


def test_a_profile_that_does_not_exist(project, no_credentials, monkeypatch, capsys):
    monkeypatch.setenv("AWS_PROFILE", "nowhere")
    code = main(["--root", str(project), "status", "--env", "production"])
    err = capsys.readouterr().err
    assert code == 2
    assert "nowhere" in err and "Traceback" not in err


def test_a_release_looked_for_in_another_region_names_the_region(project, emulated, capsys, fake_appconfig):
    """moto in us-east-1 holds nothing of the release: the sentence says where it looked."""
    fake_appconfig.appconfig.path = ("another-release-flags", "production", "feature-flags")
    code = main(["--root", str(project), "status", "--env", "production"], clients=emulated.clients())
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert f"in region {REGION}" in err and "release.region" in err


def test_rollback_needs_a_reason(project, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--root", str(project), "rollback", "--env", "production"])
    assert exc.value.code == 2 and "--reason" in capsys.readouterr().err


@pytest.mark.parametrize("argv,allowed", [
    (["traces", "--since", "0s"], "at least 1s"),
    (["traces", "--slow", "-3"], "above 0"),
    (["traces", "--slow", "0"], "above 0"),
    (["traces", "--slow", "nan"], "above 0"),
    (["ramp", "--since", "0m"], "at least 1s"),
    (["analyze", "--since", "0h"], "at least 1s"),
])
def test_empty_windows_and_negative_durations_are_refused(project, capsys, argv, allowed):
    with pytest.raises(SystemExit) as exc:
        main(["--root", str(project), *argv])
    assert exc.value.code == 2 and allowed in capsys.readouterr().err
