"""`cutover deploy`: the AppSpec from the alias's version to the target, created in moto's
CodeDeploy; following it to the end through the Stubber (moto's deployments never move)."""

from __future__ import annotations

import json

import pytest
from botocore.stub import ANY
from cutover.generator.plan import deploy_probe
from cutover.generator.spec.loader import load_spec

from cutover.cli import main
from cutover.ops import deploy
from cutover.ops.context import Context
from cutover.ops.names import load
from tests.ops.conftest import build_release


@pytest.fixture
def two_versions(emulated, names):
    build_release(emulated, names, versions=2)
    return emulated


def _run(project, em, capsys, *args) -> tuple[int, dict]:
    code = main(["--root", str(project), "deploy", "--env", "production", "--json", *args], clients=em.clients())
    return code, json.loads(capsys.readouterr().out)


def test_appspec_moves_the_alias_from_its_version_to_the_newest(project, two_versions, capsys):
    code, out = _run(project, two_versions, capsys, "--function", "huntaze-prisma-read", "--no-wait")
    assert code == 0
    [shipped] = out["deployments"]
    assert (shipped["current"], shipped["target"]) == ("1", "2")
    info = two_versions.client("codedeploy").get_deployment(deploymentId=shipped["deploymentId"])["deploymentInfo"]
    assert info["applicationName"] == "huntaze-prisma-skeleton"
    assert info["deploymentGroupName"] == "huntaze-prisma-read"
    appspec = json.loads(info["revision"]["appSpecContent"]["content"])
    assert appspec["Resources"] == [{"huntaze-prisma-read": {"Type": "AWS::Lambda::Function", "Properties": {
        "Name": "huntaze-prisma-read", "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"}}}]
    # the deploy probe judges version 2 before any traffic moves: CodeDeploy runs only
    # the hooks the AppSpec names
    probe = deploy_probe.probe_function_name(load_spec(project / "config" / "production.release.yaml"))
    assert appspec["Hooks"] == [{"BeforeAllowTraffic": probe}]


def test_an_explicit_version_must_exist(project, two_versions, capsys):
    code = main(["--root", str(project), "deploy", "--env", "production", "--function", "huntaze-prisma-read",
                 "--version", "9", "--no-wait"], clients=two_versions.clients())
    assert code == 2
    assert "resource missing" in capsys.readouterr().err


def test_nothing_to_deploy_when_the_alias_serves_the_newest(project, release, capsys):
    code, out = _run(project, release, capsys, "--function", "huntaze-mock-read", "--no-wait")
    assert code == 0
    assert out["deployments"][0]["status"] == "NothingToDo"


def test_all_ships_only_the_functions_that_lag(project, release, capsys):
    lam = release.client("lambda")
    lam.update_function_code(FunctionName="huntaze-mock-read", ZipFile=b"PK\x05\x06" + bytes(18))
    lam.publish_version(FunctionName="huntaze-mock-read")
    code, out = _run(project, release, capsys, "--all", "--no-wait")
    assert code == 0
    assert [d["function"] for d in out["deployments"]] == ["huntaze-mock-read"]


def test_unknown_function_is_refused(project, release, capsys):
    code = main(["--root", str(project), "deploy", "--env", "production", "--function", "nope"],
                clients=release.clients())
    assert code == 2
    assert "nope is not deployed by CodeDeploy" in capsys.readouterr().err


def _followed(project, em, statuses: list[tuple[str, dict]]):
    cd = em.stub("codedeploy")
    cd.add_response("create_deployment", {"deploymentId": "d-XYZ"}, {
        "applicationName": "huntaze-prisma-skeleton", "deploymentGroupName": "huntaze-prisma-read",
        "revision": ANY, "description": "cutover deploy huntaze-prisma-read:live 1 -> 2"})
    for status, overview in statuses:
        cd.add_response("get_deployment", {"deploymentInfo": {
            "deploymentId": "d-XYZ", "deploymentGroupName": "huntaze-prisma-read", "status": status,
            "deploymentOverview": overview,
            **({"errorInformation": {"code": "ALARM_ACTIVE", "message": "rollback alarm in ALARM"}}
               if status == "Stopped" else {})}}, {"deploymentId": "d-XYZ"})
    names, spec, plan = load(project, "production")
    ctx = Context(project, names, spec, em.clients(), plan)
    sleeps: list[float] = []
    result = deploy.run(ctx, ["huntaze-prisma-read"], None, True, None, sleep=sleeps.append)
    return result, sleeps


def test_follows_the_deployment_to_success(project, two_versions):
    result, sleeps = _followed(project, two_versions, [
        ("InProgress", {"Pending": 1, "InProgress": 0, "Succeeded": 0}),
        ("InProgress", {"Pending": 0, "InProgress": 1, "Succeeded": 0}),
        ("Succeeded", {"Pending": 0, "InProgress": 0, "Succeeded": 1})])
    assert result.code == 0
    assert result.data["deployments"][0]["status"] == "Succeeded"
    assert sleeps == [deploy.POLL_SECONDS, deploy.POLL_SECONDS]


def test_a_deployment_stopped_by_the_alarm_fails_the_command(project, two_versions):
    result, _ = _followed(project, two_versions, [
        ("InProgress", {"InProgress": 1}), ("Stopped", {"Failed": 1})])
    assert result.code == 1
    assert result.data["deployments"][0]["error"] == "rollback alarm in ALARM"


def test_progress_is_shown_to_a_person(project, two_versions):
    from io import StringIO

    from rich.console import Console

    cd = two_versions.stub("codedeploy")
    for status in ("InProgress", "Succeeded"):
        cd.add_response("get_deployment", {"deploymentInfo": {
            "deploymentId": "d-1", "deploymentGroupName": "huntaze-prisma-read", "status": status,
            "deploymentOverview": {"Succeeded": int(status == "Succeeded"), "InProgress": int(status != "Succeeded")}}},
            {"deploymentId": "d-1"})
    names, spec, plan = load(project, "production")
    screen = StringIO()
    final = deploy.follow(Context(project, names, spec, two_versions.clients(), plan), "d-1",
                          Console(file=screen, width=120, force_terminal=False), sleep=lambda s: None)
    assert final.status == "Succeeded"
    assert "d-1" in screen.getvalue() and "Succeeded" in screen.getvalue()


def test_progress_outside_a_terminal_is_plain_lines_labelled_with_the_function(project, two_versions):
    from io import StringIO

    from rich.console import Console

    cd = two_versions.stub("codedeploy")
    for status, done in (("InProgress", 0), ("InProgress", 0), ("Succeeded", 1)):
        cd.add_response("get_deployment", {"deploymentInfo": {
            "deploymentId": "d-1", "deploymentGroupName": "huntaze-prisma-read", "status": status,
            "deploymentOverview": {"Succeeded": done, "InProgress": 1 - done}}}, {"deploymentId": "d-1"})
    names, spec, plan = load(project, "production")
    screen = StringIO()
    deploy.follow(Context(project, names, spec, two_versions.clients(), plan), "d-1",
                  Console(file=screen, width=120, force_terminal=False), sleep=lambda s: None)
    # one line per change (the second InProgress changes nothing), each naming the function
    assert screen.getvalue().splitlines() == [
        "huntaze-prisma-read: InProgress 0% (deployment d-1)",
        "huntaze-prisma-read: Succeeded 100% (deployment d-1)",
    ]


def test_ctrl_c_says_the_deployment_goes_on_and_how_to_follow_or_stop_it(project, two_versions, capsys,
                                                                       monkeypatch):
    cd = two_versions.stub("codedeploy")
    cd.add_response("create_deployment", {"deploymentId": "d-XYZ"}, {
        "applicationName": "huntaze-prisma-skeleton", "deploymentGroupName": "huntaze-prisma-read",
        "revision": ANY, "description": "cutover deploy huntaze-prisma-read:live 1 -> 2"})

    def interrupted(client, deployment_id):
        raise KeyboardInterrupt

    monkeypatch.setattr("cutover.ops.codedeploy.get", interrupted)
    code = main(["--root", str(project), "deploy", "--env", "production", "--function", "huntaze-prisma-read",
                 "--json"], clients=two_versions.clients())
    captured = capsys.readouterr()
    assert code == 130
    assert "Traceback" not in captured.err
    err = " ".join(captured.err.split())
    assert "deployment d-XYZ of huntaze-prisma-read goes on in AWS" in err
    assert "aws deploy get-deployment --deployment-id d-XYZ" in err
    assert "aws deploy stop-deployment --deployment-id d-XYZ --auto-rollback-enabled" in err
    assert json.loads(captured.out)["error"]["kind"] == "interrupted"


def test_all_stops_after_a_deployment_the_alarm_stopped(project, two_versions):
    """Both functions lag; the first deployment is stopped by the rollback alarm. The second
    must not be shipped into an unhealthy release: it is listed as not shipped and the
    command exits 1. (The Stubber holds one create_deployment only: a second would fail.)"""
    cd = two_versions.stub("codedeploy")
    cd.add_response("create_deployment", {"deploymentId": "d-XYZ"}, {
        "applicationName": "huntaze-prisma-skeleton", "deploymentGroupName": "huntaze-prisma-read",
        "revision": ANY, "description": "cutover deploy huntaze-prisma-read:live 1 -> 2"})
    cd.add_response("get_deployment", {"deploymentInfo": {
        "deploymentId": "d-XYZ", "deploymentGroupName": "huntaze-prisma-read", "status": "Stopped",
        "deploymentOverview": {"Failed": 1},
        "errorInformation": {"code": "ALARM_ACTIVE", "message": "rollback alarm in ALARM"}}}, {"deploymentId": "d-XYZ"})
    names, spec, plan = load(project, "production")
    ctx = Context(project, names, spec, two_versions.clients(), plan)
    result = deploy.run(ctx, ["huntaze-prisma-read", "huntaze-mock-read"], None, True, None, sleep=lambda s: None)
    assert result.code == 1
    assert [(d["function"], d["status"]) for d in result.data["deployments"]] == [
        ("huntaze-prisma-read", "Stopped"), ("huntaze-mock-read", "NotShipped")]
    from io import StringIO

    from rich.console import Console

    screen = StringIO()
    result.view(Console(file=screen, width=200))
    assert "stopped: huntaze-mock-read not shipped" in screen.getvalue()
