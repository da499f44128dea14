"""`cutover status` against moto (Lambda, CloudWatch, CodeDeploy) and AppConfig's shared
fake (cutover.rehearsal.fakes) on loopback: status only reads, so what matters is what
AppConfig answers, not the exact requests (no Stubber here)."""

from __future__ import annotations

import json

import pytest

from cutover.cli import main
from tests.ops.conftest import deployment
from tests.ops.controller_helpers import disable


@pytest.fixture
def project(project):
    """The spec without the controller: with it, what is served is the controller's to move
    and the fix is `ramp --sync` (tests/ops/test_controller_sync.py)."""
    disable(project)
    return project


def _status(project, em, capsys) -> tuple[int, dict]:
    code = main(["--root", str(project), "status", "--env", "production", "--json"], clients=em.clients())
    return code, json.loads(capsys.readouterr().out)


def test_status_without_drift(project, release, names, capsys, fake_appconfig):
    fake_appconfig.history(deployment(3, "COMPLETE", 7), served=1)
    code, out = _status(project, release, capsys)
    assert out["drift"] == []
    assert code == 0
    assert out["flags"]["canaryPercent"] == {"user-read": 1.0}
    assert {a["function"]: a["version"] for a in out["aliases"]} == {"huntaze-mock-read": "1", "huntaze-prisma-read": "1"}
    assert out["alarms"][names.rollback_alarm] in ("OK", "INSUFFICIENT_DATA")


def _healthy_flags(fake, percent=1, described=""):
    fake.history(deployment(3, "COMPLETE", 7), served=percent, described={3: described})


def _drift(out) -> dict[str, str]:
    return {d["what"]: d["fix"] for d in out["drift"]}


def test_flags_live_differ_from_the_spec(project, release, names, capsys, fake_appconfig):
    _healthy_flags(fake_appconfig, percent=5, described="cutover huntaze-prisma-migration (production)")
    code, out = _status(project, release, capsys)
    assert code == 1
    assert _drift(out) == {"user-read canary percent": "make plan ENV=production && make apply ENV=production"}
    assert out["drift"][0]["live"] == 5 and out["drift"][0]["spec"] == 1


def test_flags_after_a_rollback_point_at_the_spec_change(project, release, names, capsys, fake_appconfig):
    _healthy_flags(fake_appconfig, percent=0, described="cutover rollback: by ana at 2026-12-04T19:00:00Z: errors")
    code, out = _status(project, release, capsys)
    assert code == 1
    fix = _drift(out)["user-read canary percent"]
    assert fix.startswith("set user-read canary.percent to 0 in config/production.release.yaml "
                          "(`cutover ramp --env production --path user-read --to 0`)")
    assert out["flags"]["happened"].startswith("`cutover rollback` turned the canary off (deployment 3)")


def test_after_the_guard_status_recommends_the_spec_edit_not_make_apply(project, release, names, capsys, fake_appconfig):
    # GIVEN the guard turned the canary off (its deployment 5 is COMPLETE) while the spec says 1%
    fake_appconfig.history(deployment(5, "COMPLETE", 9), deployment(4, "COMPLETE", 8), served=0,
                           described={5: "cutover guard: canary off while huntaze-prisma-migration-production-rollback is in ALARM"})
    # WHEN the operator asks for the status
    code, out = _status(project, release, capsys)
    # THEN the fix is the one-line spec edit; `make apply` would deploy the canary again
    assert code == 1
    fix = _drift(out)["user-read canary percent"]
    assert fix.startswith("set user-read canary.percent to 0")
    assert "not `make apply`, which would deploy the canary again" in fix and "make plan" not in fix
    assert out["flags"]["happened"].startswith("the guard turned the canary off (deployment 5)")
    assert out["flags"]["served"]["number"] == 5 and out["flags"]["canaryPercent"] == {"user-read": 0.0}


def test_a_guard_deployment_in_progress_is_waited_for(project, release, names, capsys, fake_appconfig):
    # GIVEN the guard's canary-off deployment deploys while 5% is still served (the spec says 1%)
    fake_appconfig.history(deployment(5, "DEPLOYING", 9), deployment(4, "COMPLETE", 8), served=5,
                           described={5: "cutover guard: canary off"})
    code, out = _status(project, release, capsys)
    assert code == 1
    fix = _drift(out)["user-read canary percent (going to 0)"]
    assert fix.startswith("wait for deployment 5 (DEPLOYING) to complete, then set user-read canary.percent to 0")
    assert out["flags"]["happened"] == "the guard is turning the canary off (deployment 5, DEPLOYING)"


def test_a_guard_deployment_in_progress_is_drift_even_before_it_serves(project, release, names, capsys, fake_appconfig):
    # GIVEN the guard has just started its canary-off deployment: 1% (the spec's) is still served
    fake_appconfig.history(deployment(5, "DEPLOYING", 9), deployment(4, "COMPLETE", 8), served=1,
                           described={5: "cutover guard: canary off"})
    code, out = _status(project, release, capsys)
    # THEN status does not say "no drift": the canary is going to 0 and the spec must follow
    assert code == 1
    [drift] = out["drift"]
    assert (drift["what"], drift["live"], drift["spec"]) == ("user-read canary percent (going to 0)", 1, 1)
    assert drift["fix"].startswith("wait for deployment 5 (DEPLOYING) to complete, then set user-read canary.percent to 0")


def test_served_is_the_latest_complete_deployment_not_a_rolled_back_one(project, release, names, capsys, fake_appconfig):
    # GIVEN the 1% deployment (5) was stopped with revert: the environment serves version 8 (0%)
    fake_appconfig.history(deployment(5, "ROLLED_BACK", 9), deployment(4, "COMPLETE", 8), served=0,
                           described={4: "cutover huntaze-prisma-migration (production)"})
    code, out = _status(project, release, capsys)
    # THEN status reports 0% served (not the rolled-back 1%) and the spec edit as the fix
    assert code == 1
    assert out["flags"]["canaryPercent"] == {"user-read": 0.0}
    assert _drift(out)["user-read canary percent"].startswith("set user-read canary.percent to 0")
    assert out["flags"]["happened"] == ("flag deployment 5 (version 9) was ROLLED_BACK; served: version 8 "
                                        "(deployment 4), canary user-read 0%")


def test_flag_deployment_in_progress_is_reported_with_its_state(project, release, names, capsys, fake_appconfig):
    fake_appconfig.history(deployment(4, "BAKING", 8), deployment(3, "COMPLETE", 7), served=5,
                           described={4: "cutover huntaze-prisma-migration (production)"})
    code, out = _status(project, release, capsys)
    assert code == 1
    assert "wait for AppConfig deployment 4 (BAKING)" in _drift(out)["user-read canary percent"]


def test_published_version_not_on_the_alias(project, release, names, capsys, fake_appconfig):
    lam = release.client("lambda")
    lam.update_function_code(FunctionName="huntaze-prisma-read", ZipFile=b"PK\x05\x06" + bytes(18))
    lam.publish_version(FunctionName="huntaze-prisma-read")
    _healthy_flags(fake_appconfig)
    code, out = _status(project, release, capsys)
    assert code == 1
    assert _drift(out) == {"huntaze-prisma-read version 2 published but live serves 1":
                           "cutover deploy --env production --function huntaze-prisma-read"}


def test_alias_split_with_no_deployment_running(project, release, names, capsys, fake_appconfig):
    lam = release.client("lambda")
    lam.update_function_code(FunctionName="huntaze-mock-read", ZipFile=b"PK\x05\x06" + bytes(18))
    lam.publish_version(FunctionName="huntaze-mock-read")
    lam.update_alias(FunctionName="huntaze-mock-read", Name="live",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})
    _healthy_flags(fake_appconfig)
    code, out = _status(project, release, capsys)
    assert code == 1
    [split] = [d for d in out["drift"] if "split" in d["what"]]
    assert split["fix"].startswith("cutover deploy --env production --function huntaze-mock-read")


def test_missing_alarm_and_rollback_alarm_in_alarm(project, release, names, capsys, fake_appconfig):
    cw = release.client("cloudwatch")
    cw.delete_alarms(AlarmNames=[names.alarms[-1]])
    cw.set_alarm_state(AlarmName=names.rollback_alarm, StateValue="ALARM", StateReason="test")
    _healthy_flags(fake_appconfig)
    code, out = _status(project, release, capsys)
    assert code == 1
    drift = _drift(out)
    assert drift[f"alarm {names.alarms[-1]} missing"] == "make plan ENV=production && make apply ENV=production"
    assert f"{names.rollback_alarm} is in ALARM" in drift


def test_human_view_lists_drift_and_fix(project, release, names, capsys, fake_appconfig):
    _healthy_flags(fake_appconfig, percent=5)
    code = main(["--root", str(project), "status", "--env", "production"], clients=release.clients())
    out = capsys.readouterr().out
    assert code == 1
    assert "drift" in out and "make plan ENV=production" in out and "huntaze-mock-read" in out


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_json_keys_are_camel_case_and_weights_read_as_a_split(project, release, names, capsys, fake_appconfig):
    # GIVEN a flag deployment in flight and an alias split 90/10
    lam = release.client("lambda")
    lam.update_function_code(FunctionName="huntaze-mock-read", ZipFile=b"PK\x05\x06" + bytes(18))
    lam.publish_version(FunctionName="huntaze-mock-read")
    lam.update_alias(FunctionName="huntaze-mock-read", Name="live",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})
    fake_appconfig.history(deployment(4, "DEPLOYING", 8), deployment(3, "COMPLETE", 7), served=1)
    _, out = _status(project, release, capsys)
    # THEN every key is camelCase (names of alarms and paths are values' keys, not fields)
    fields = _keys({k: v for k, v in out.items() if k not in ("alarms",)}) - {"user-read", "2"}
    assert [k for k in fields if "_" in k or "-" in k] == []
    [mock] = [a for a in out["aliases"] if a["function"] == "huntaze-mock-read"]
    assert mock["split"] == "version 1: 90%, version 2: 10%"
    # AND the table shows the split, not a Python dict
    main(["--root", str(project), "status", "--env", "production"], clients=release.clients())
    text = capsys.readouterr().out
    assert "version 2: 10%" in text
    assert "{'2': 0.1}" not in text
