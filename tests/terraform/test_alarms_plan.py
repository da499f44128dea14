"""The planned production release (against the local AWS emulator), read back as JSON:

- every IAM statement that can read alarms (cloudwatch:DescribeAlarms) is scoped to "*",
  because AWS returns nothing about a composite alarm otherwise (DescribeAlarms API
  reference): these are the policies Terraform would send, not a hand-written copy;
- the alarms Terraform would create are exactly those of alarms.json, the file the
  rehearsal and tests/signals evaluate, and the composite's rule is the one
  cutover.rehearsal.cloudwatch builds from it.
"""

from __future__ import annotations

import json

import pytest

from cutover.rehearsal.cloudwatch import rollback_rule


@pytest.fixture(scope="module")
def planned(applied_release) -> tuple[dict, dict]:
    """(terraform show -json of the whole production plan, production alarms.json): the
    plan made after applying what the emulator implements (tests/terraform/applied.py)."""
    return applied_release.shown, json.loads((applied_release.env_dir / "alarms.json").read_text())


def _after(shown: dict, kind: str) -> dict[str, dict]:
    return {c["address"]: c["change"]["after"] for c in shown["resource_changes"] if c["type"] == kind}


def _statements(shown: dict):
    for change in shown["resource_changes"]:
        after = change["change"]["after"] or {}
        documents = [after.get("policy")] + [p.get("policy") for p in after.get("inline_policy") or []]
        for document in documents:
            if isinstance(document, str) and document:
                statements = json.loads(document)["Statement"]
                for s in statements if isinstance(statements, list) else [statements]:
                    yield change["address"], s


def test_every_statement_that_reads_alarms_is_scoped_to_star(planned):
    shown, _ = planned
    readers = []
    for address, statement in _statements(shown):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if "cloudwatch:DescribeAlarms" in actions:
            readers.append(address)
            assert statement["Resource"] == "*", f"{address}: DescribeAlarms on {statement['Resource']}"
    assert sorted(readers) == [
        "module.code_deploy.aws_iam_role_policy.this",
        "module.controller_function.aws_iam_role_policy.read_alarms[0]",
        "module.guard.aws_iam_role_policy.read_alarms[0]",
    ]


def _queries(alarm: dict) -> dict[str, tuple]:
    out = {}
    for q in alarm["metrics"]:
        out[q["id"]] = ("metric", q["namespace"], q["metric_name"], q["stat"], q["dimensions"], alarm["period"])
    for e in alarm["expressions"]:
        out[e["id"]] = ("expression", e["expression"], e["return_data"])
    return out


def _planned_queries(after: dict) -> dict[str, tuple]:
    out = {}
    for q in after["metric_query"]:
        if q.get("expression"):
            out[q["id"]] = ("expression", q["expression"], q["return_data"])
        else:
            (m,) = q["metric"]
            out[q["id"]] = ("metric", m["namespace"], m["metric_name"], m["stat"], m["dimensions"], m["period"])
    return out


def test_the_planned_alarms_are_those_of_alarms_json(planned):
    shown, document = planned
    alarms = _after(shown, "aws_cloudwatch_metric_alarm")
    changes = {c["address"]: c["change"] for c in shown["resource_changes"]}
    (topic,) = [t["arn"] for a, t in _after(shown, "aws_sns_topic").items() if a.startswith("module.alarms.")]
    assert topic.startswith("arn:aws:sns:")
    assert sorted(alarms) == sorted(f'module.alarms.aws_cloudwatch_metric_alarm.this["{k}"]' for k in document["alarms"])
    for key, alarm in document["alarms"].items():
        after = alarms[f'module.alarms.aws_cloudwatch_metric_alarm.this["{key}"]']
        assert (after["alarm_name"], after["threshold"], after["comparison_operator"]) == (
            alarm["name"], alarm["threshold"], alarm["comparison"])
        assert (after["evaluation_periods"], after["datapoints_to_alarm"], after["treat_missing_data"]) == (
            alarm["evaluation_periods"], alarm["datapoints_to_alarm"], alarm["treat_missing_data"])
        assert _planned_queries(after) == _queries(alarm), key
        unknown = changes[f'module.alarms.aws_cloudwatch_metric_alarm.this["{key}"]']["after_unknown"]
        if alarm["role"] == "rollback":  # acts only through the composite
            assert not after.get("alarm_actions") and not unknown.get("alarm_actions"), key
        else:  # notifies the alarms' topic (applied with the alarms: its ARN is known)
            assert after["alarm_actions"] == after["ok_actions"] == [topic], key


def test_the_planned_composite_is_the_rule_the_evaluator_reads(planned):
    shown, document = planned
    (composite,) = _after(shown, "aws_cloudwatch_composite_alarm").values()
    names = [document["alarms"][k]["name"] for k in document["rollback"]["members"]]
    assert composite["alarm_name"] == document["rollback"]["name"]
    assert composite["alarm_rule"] == rollback_rule(names)
    assert all(document["alarms"][k]["role"] == "rollback" for k in document["rollback"]["members"])


# --- CodeDeploy: metric alarms that judge each group's code, and the deploy probe -------

def _judges(key: str, alarm: dict) -> str:
    """alarms.json's `judges` (docs/contracts.md §5), or what the alarm's kind says when it is absent."""
    from cutover.generator.plan.deploy_probe import judges

    return judges(key, alarm)


def test_each_deployment_group_watches_the_composite_s_members_that_judge_its_code(planned):
    """CodeDeploy documents metric alarms only (docs/aws-rules.md, CodeDeploy): no group
    lists the composite; the router's group lists the members judging the router (or the
    control route), the candidate's those judging the candidate; at most 10 each."""
    shown, document = planned
    groups = _after(shown, "aws_codedeploy_deployment_group")
    by_name = {a["name"]: k for k, a in document["alarms"].items()}
    wanted = {"huntaze-mock-read": {"router", "control"}, "huntaze-prisma-read": {"candidate"}}
    assert sorted(g["deployment_group_name"] for g in groups.values()) == sorted(wanted)
    for group in groups.values():
        (config,) = group["alarm_configuration"]
        listed = config["alarms"]
        assert document["rollback"]["name"] not in listed and 0 < len(listed) <= 10
        assert config["enabled"] is True and config["ignore_poll_alarm_failure"] is False
        keys = [by_name[name] for name in listed]  # every one a metric alarm of alarms.json
        expected = [k for k in document["rollback"]["members"]
                    if _judges(k, document["alarms"][k]) in wanted[group["deployment_group_name"]]]
        assert sorted(keys) == sorted(expected)
    every = sorted(by_name[n] for g in groups.values() for n in g["alarm_configuration"][0]["alarms"])
    assert every == sorted(document["rollback"]["members"])  # every member stops some group


def test_the_code_deploy_role_may_invoke_the_deploy_probe_only(planned):
    shown, _ = planned
    (hooks,) = [s for a, s in _statements(shown)
                if a == "module.code_deploy.aws_iam_role_policy.this" and s.get("Sid") == "InvokeLifecycleHooks"]
    probe = "CodeDeployHook_huntaze-prisma-migration-production"
    assert sorted(hooks["Resource"]) == [
        f"arn:aws:lambda:us-east-1:123456789012:function:{probe}",
        f"arn:aws:lambda:us-east-1:123456789012:function:{probe}:*"]
    functions = _after(shown, "aws_lambda_function")
    (entry,) = [f for f in functions.values() if f["function_name"] == probe]
    assert entry["handler"] == "deploy_probe.handler.lambda_handler"
