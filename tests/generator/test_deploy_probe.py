"""What CodeDeploy judges a version by, as the generator decides it: each group's metric
alarms (alarms.json's `judges`) and the deploy probe (delivery.codedeploy.probe)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from cutover.generator.plan import alarms, deploy_probe
from cutover.generator.plan.release import module_calls, root_outputs
from cutover.generator.spec.errors import SpecInvalid
from cutover.generator.spec.loader import load_spec

BASE = Path(__file__).parent.parent / "data" / "base.release.yaml"
SPEC = load_spec(BASE)


def _spec(tmp_path, probe: dict):
    data = yaml.safe_load(BASE.read_text())
    data["delivery"].setdefault("codedeploy", {})["probe"] = probe
    path = tmp_path / f"{data['release']['environment']}.release.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_spec(path)


def _calls(spec) -> dict:
    return {c.at.name: dict(c.args) for c in module_calls(spec)}


def test_alarms_json_says_whom_each_alarm_judges_and_the_kind_says_the_same():
    # the fallback for an alarms.json written before `judges` agrees with the field
    doc = alarms.build(SPEC).document()
    for key, alarm in doc["alarms"].items():
        assert alarm["judges"] in ("router", "candidate", "control"), key
        stripped = {k: v for k, v in alarm.items() if k != "judges"}
        assert deploy_probe.judges(key, stripped) == alarm["judges"], key


def test_the_groups_split_the_composite_s_members_between_them():
    doc = alarms.build(SPEC).document()
    path = SPEC.read_paths[0].name
    router = deploy_probe.group_alarm_keys(SPEC, doc, path, "router")
    candidate = deploy_probe.group_alarm_keys(SPEC, doc, path, "candidate")
    assert sorted(router + candidate) == sorted(doc["rollback"]["members"])
    assert all(doc["alarms"][k]["judges"] == "candidate" for k in candidate)
    assert all(doc["alarms"][k]["judges"] in ("router", "control") for k in router)


def test_the_judges_field_decides_when_alarms_json_has_it():
    # GIVEN alarms.json whose router-error-rate blamed the candidate (its `judges` field)
    doc = copy.deepcopy(alarms.build(SPEC).document())
    path = SPEC.read_paths[0].name
    key = f"{path}/router-error-rate"
    assert key in doc["rollback"]["members"]
    doc["alarms"][key]["judges"] = "candidate"
    # THEN the candidate's group watches it, the router's does not
    assert key in deploy_probe.group_alarm_keys(SPEC, doc, path, "candidate")
    assert key not in deploy_probe.group_alarm_keys(SPEC, doc, path, "router")


def test_only_rollback_members_and_at_most_ten_per_group():
    doc = copy.deepcopy(alarms.build(SPEC).document())
    path = SPEC.read_paths[0].name
    notify = [k for k, a in doc["alarms"].items() if a["role"] != "rollback"]
    assert notify and not set(notify) & set(deploy_probe.group_alarm_keys(SPEC, doc, path, "candidate")
                                            + deploy_probe.group_alarm_keys(SPEC, doc, path, "router"))
    template = doc["alarms"][f"{path}/canary-error-rate"]
    for i in range(11):
        doc["alarms"][f"{path}/canary-extra-{i}"] = template
        doc["rollback"]["members"].append(f"{path}/canary-extra-{i}")
    with pytest.raises(ValueError, match="at most 10"):
        deploy_probe.group_alarm_keys(SPEC, doc, path, "candidate")


def test_the_probe_is_rendered_as_a_codedeploy_hook_with_the_spec_s_settings(tmp_path):
    spec = _spec(tmp_path, {"user_ids": ["user-1", "user-2"], "max_reads": 400, "error_rate_pct": 5})
    calls = _calls(spec)
    probe = calls["deploy_probe"]
    assert probe["name"].startswith("CodeDeployHook_") and len(probe["name"]) <= 64
    env = probe["environment"]
    assert (env["CUTOVER_PROBE_USER_IDS"], env["CUTOVER_PROBE_MAX_READS"], env["CUTOVER_PROBE_ERROR_RATE_PCT"]) == (
        '["user-1","user-2"]', "400", "5")
    assert env["CUTOVER_PROBE_CONFIDENCE"] == f"{spec.guardrails.confidence:g}"
    assert calls["code_deploy"]["lifecycle_hook_function_names"] == ["module.deploy_probe.function_name"]
    assert "codedeploy_before_allow_traffic_hook" in {o.name for o in root_outputs(spec)}


def test_a_disabled_probe_renders_no_hook(tmp_path):
    calls = _calls(_spec(tmp_path, {"enabled": False}))
    assert "deploy_probe" not in calls and "lifecycle_hook_function_names" not in calls["code_deploy"]


@pytest.mark.parametrize(("probe", "message"), [
    ({"max_reads": 100}, ("delivery.codedeploy.probe.max_reads: 100 reads can never pass a version: one that never "
                         "fails needs 194 to pass the sequential test against 2% at guardrails.confidence 0.95")),
    ({"function_name": "probe"}, "delivery.codedeploy.probe.function_name: 'probe' is not allowed; expected CodeDeployHook_ then"),
    ({"user_ids": ["u" * 128] * 9}, "delivery.codedeploy.probe.user_ids: is 1188 bytes of JSON; at most 1024"),
])
def test_a_probe_that_cannot_work_is_refused_where_it_is_written(tmp_path, probe, message):
    with pytest.raises(SpecInvalid) as caught:
        _spec(tmp_path, probe)
    assert message in caught.value.report()


def test_every_deployment_names_the_probe_as_its_before_allow_traffic_hook(tmp_path):
    assert deploy_probe.appspec_hooks(SPEC) == [
        {"BeforeAllowTraffic": _calls(SPEC)["deploy_probe"]["name"]}]
    assert deploy_probe.appspec_hooks(_spec(tmp_path, {"enabled": False})) == []
