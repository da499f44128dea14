"""Safety properties of the modules and of the canonical wiring in the examples.

Each test states the property and the failure it prevents.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import tf_hcl as hcl
from tf_layout import ENVS_DIR, EXAMPLES_DIR, MODULES_DIR, ROOTS


def _resources(path: Path, type_: str) -> list[tuple[str, dict[str, Any]]]:
    return [(name, body) for t, name, body in hcl.blocks(hcl.load(path), "resource") if t == type_]


def _all_resources(type_: str) -> list[tuple[Path, str, dict[str, Any]]]:
    found = []
    for path in hcl.tf_files(MODULES_DIR, EXAMPLES_DIR, ENVS_DIR):
        found.extend(
            (path, name, body)
            for t, name, body in hcl.blocks(hcl.load(path), "resource")
            if t == type_
        )
    return found


def _module(root: str, name: str) -> dict[str, Any]:
    calls = dict(hcl.module_calls(hcl.load(ROOTS[root] / "main.tf")))
    assert name in calls, f"{root} has no module.{name}"
    return calls[name]


def _has_module(root: str, name: str) -> bool:
    return name in dict(hcl.module_calls(hcl.load(ROOTS[root] / "main.tf")))


def _refs(values: list[str]) -> list[str]:
    """Bare references: python-hcl2 renders `[terraform_data.x]` as `["${terraform_data.x}"]`."""
    return [v[2:-1] if v.startswith("${") and v.endswith("}") else v for v in values]


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# --- CodeDeploy owns the alias -------------------------------------------------


def test_alias_ignores_version_and_routing():
    """Without it every apply undoes a running or finished CodeDeploy deployment."""
    aliases = _all_resources("aws_lambda_alias")
    assert aliases, "no aws_lambda_alias found"
    for path, name, body in aliases:
        ignored = set(body["lifecycle"][0]["ignore_changes"])
        assert {"function_version", "routing_config"} <= ignored, f"{path}: aws_lambda_alias.{name}"


def test_functions_publish_versions():
    for path, name, body in _all_resources("aws_lambda_function"):
        assert body.get("publish") is True, (
            f"{path}: aws_lambda_function.{name} must publish versions"
        )


# --- A shadow call is never retried ------------------------------------------


def test_event_invoke_config_never_retries():
    configs = _all_resources("aws_lambda_function_event_invoke_config")
    assert configs, "no aws_lambda_function_event_invoke_config found"
    for path, name, body in configs:
        assert body["maximum_retry_attempts"] == 0, f"{path}: {name} retries shadow events"
        on_failure = body["destination_config"][0]["on_failure"][0]
        assert on_failure["destination"] == "${var.on_failure_destination_arn}", (
            f"{path}: {name} has no failure destination"
        )


@pytest.mark.parametrize("root", [r for r in sorted(ROOTS) if _has_module(r, "user_read_shadow")])
def test_shadow_failures_go_to_the_candidates_dlq(root):
    shadow = _module(root, "user_read_shadow")
    assert shadow["on_failure_destination_arn"] == "${module.user_read_candidate.dlq_arn}"


@pytest.mark.parametrize("root", sorted(ROOTS))
def test_a_complete_release_serves_the_candidate_code_behind_the_same_entry(root):
    """Phase complete: clients keep calling the control's function and alias, which now run
    the candidate's code; no shadow wiring, no canary traces, no guard."""
    calls = dict(hcl.module_calls(hcl.load(ROOTS[root] / "main.tf")))
    assert "user_read_control" in calls, "the entry clients call must never be removed"
    entry = calls["user_read_control"]
    if entry.get("handler") == "candidate.handler.lambda_handler":
        assert not {"user_read_shadow", "tracing", "guard"} & set(calls)
        if isinstance(entry["package"], dict):  # rendered roots (the examples use a dummy zip)
            assert "candidate.zip" in entry["package"]["filename"]
        assert "CUTOVER_DB_HOST" in str(entry["environment"]) and entry.get("vpc")
    else:
        assert {"feature_flags", "user_read_candidate"} <= set(calls)


# --- The rollback alarm reaches CodeDeploy and AppConfig ----------------------


def test_code_deploy_groups_roll_back_on_alarm_and_failure():
    ((_name, group),) = _resources(
        MODULES_DIR / "code_deploy" / "main.tf", "aws_codedeploy_deployment_group"
    )
    rollback = group["auto_rollback_configuration"][0]
    assert rollback["enabled"] is True
    assert set(rollback["events"]) == {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}
    (alarms,) = [d["alarm_configuration"] for d in group["dynamic"] if "alarm_configuration" in d]
    assert alarms["for_each"].startswith("${length(each.value.alarm_names) > 0")
    assert alarms["content"][0]["alarms"] == "${alarm_configuration.value}"
    assert alarms["content"][0]["enabled"] is True
    assert group["deployment_style"][0]["deployment_option"] == "WITH_TRAFFIC_CONTROL"


def test_appconfig_environment_attaches_no_monitor():
    """A monitor rolls back to the previous (canary-on) version, also on the new
    composite's INSUFFICIENT_DATA, and its handling of a deployment started in ALARM is
    undocumented; the guard is the only automatic flag rollback, so no monitor (and no
    monitor role) exists to undo its canary-off document."""
    doc = hcl.load(MODULES_DIR / "feature_flags" / "main.tf")
    ((_name, env),) = [(n, b) for t, n, b in hcl.blocks(doc, "resource") if t == "aws_appconfig_environment"]
    assert "monitor" not in env and not [d for d in env.get("dynamic", []) if "monitor" in d]
    assert not [n for t, n, _ in hcl.blocks(doc, "resource") if t in ("aws_iam_role", "aws_iam_role_policy")]


def test_the_guards_strategy_deploys_at_once_without_bake():
    ((_name, strategy),) = [(n, b) for n, b in _resources(MODULES_DIR / "feature_flags" / "main.tf",
                                                         "aws_appconfig_deployment_strategy") if n == "guard"]
    assert (strategy["growth_factor"], strategy["deployment_duration_in_minutes"],
            strategy["final_bake_time_in_minutes"]) == (100, 0, 0)


def test_an_alarm_trigger_is_every_state_change_of_that_alarm_and_only_its_rule_invokes():
    path = MODULES_DIR / "function" / "main.tf"
    rules = dict(_resources(path, "aws_cloudwatch_event_rule"))
    pattern = rules["alarm"]["event_pattern"]
    for needle in ('source        = ["aws.cloudwatch"]', '"detail-type" = ["CloudWatch Alarm State Change"]',
                   "resources     = [var.alarm_trigger.alarm_arn]"):
        assert needle in pattern or needle.replace(" ", "") in pattern.replace(" ", ""), pattern
    permissions = dict(_resources(path, "aws_lambda_permission"))
    assert permissions["alarm"]["source_arn"] == "${aws_cloudwatch_event_rule.alarm[0].arn}"
    assert permissions["alarm"]["principal"] == "events.amazonaws.com"
    assert dict(_resources(path, "aws_cloudwatch_event_target"))["alarm"]["arn"] == "${aws_lambda_alias.this.arn}"


@pytest.mark.parametrize("root", [r for r in sorted(ROOTS) if _has_module(r, "guard")])
def test_root_runs_the_guard_on_the_composites_state_changes_and_every_minute(root):
    guard = _module(root, "guard")
    assert guard["alarm_trigger"] == {"alarm_arn": "${module.alarms.rollback_alarm_arn}"}
    assert guard["schedule"] == {"expression": "rate(1 minute)"}
    assert guard["reserved_concurrency"] == 1
    assert guard["handler"] == "guard.handler.lambda_handler"
    assert "monitor_alarm_arns" not in _module(root, "feature_flags")
    # the composite's actions notify only (SNS); the guard listens on EventBridge
    assert not _module(root, "alarms").get("rollback_action_arns")


@pytest.mark.parametrize("root", sorted(ROOTS))
def test_root_gives_each_code_deploy_group_metric_alarms_never_the_composite(root):
    """CodeDeploy documents metric alarms only (docs/aws-rules.md, CodeDeploy): each group
    lists members of the composite by their module.alarms.alarm_names key."""
    groups = _module(root, "code_deploy")["deployment_groups"]
    assert "alarm_names" not in _module(root, "code_deploy")
    listed = [name for g in groups.values() for name in g.get("alarm_names", [])]
    assert listed, f"{root}: no deployment group watches an alarm"
    for name in listed:
        assert name.startswith('${module.alarms.alarm_names["') and "rollback" not in name, name


def test_composite_alarm_ors_its_rollback_members_and_notifies_the_topic():
    ((_name, composite),) = _resources(
        MODULES_DIR / "alarms" / "main.tf", "aws_cloudwatch_composite_alarm"
    )
    assert '" OR "' in composite["alarm_rule"]
    assert "var.definitions.rollback.members" in composite["alarm_rule"]
    assert "aws_cloudwatch_metric_alarm.this[k].alarm_name" in composite["alarm_rule"]
    assert "local.notify_arns" in composite["alarm_actions"]
    (local,) = hcl.load(MODULES_DIR / "alarms" / "main.tf")["locals"]
    assert "aws_sns_topic.this.arn" in local["notify_arns"]


def test_every_alarm_chooses_treat_missing_data():
    for path, name, body in _all_resources("aws_cloudwatch_metric_alarm"):
        assert body.get("treat_missing_data"), (
            f"{path}: {name} leaves treat_missing_data to the default"
        )


# --- IAM: no wildcard action, commented wildcard resources --------------------


def _action_lists():
    for path in hcl.tf_files(MODULES_DIR, EXAMPLES_DIR, ENVS_DIR):
        for node in _walk(hcl.load(path)):
            for key in ("actions", "not_actions", "Action"):
                value = node.get(key)
                if isinstance(value, list):
                    yield path, value


def test_no_iam_statement_has_a_wildcard_action():
    lists = list(_action_lists())
    assert len(lists) > 10, "the walk found too few IAM statements to be meaningful"
    for path, actions in lists:
        for action in actions:
            assert action != "*" and not action.endswith(":*"), (
                f"{path}: wildcard action {action!r}"
            )


def test_function_module_rejects_wildcard_actions_at_plan_time():
    policy = dict(_resources(MODULES_DIR / "function" / "main.tf", "aws_iam_role_policy"))["this"]
    conditions = [p["condition"] for p in policy["lifecycle"][0]["precondition"]]
    assert any('"*"' in c or "'*'" in c or ':*"' in c for c in conditions)


def test_every_wildcard_resource_is_commented():
    """`resources = ["*"]` only where AWS allows nothing narrower, and each says why."""
    pattern = re.compile(r'resources\s*=\s*\[\s*"\*"\s*\]')
    found = 0
    for path in hcl.tf_files(MODULES_DIR, EXAMPLES_DIR, ENVS_DIR):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                found += 1
                assert "#" in line, f"{path}:{number}: wildcard resource without a comment"
    assert found > 0


# --- Logs ---------------------------------------------------------------------


def test_every_log_group_is_encrypted_and_has_retention():
    groups = _all_resources("aws_cloudwatch_log_group")
    assert groups, "no aws_cloudwatch_log_group found"
    for path, name, body in groups:
        assert body.get("kms_key_id"), f"{path}: log group {name} is not encrypted"
        assert body.get("retention_in_days"), f"{path}: log group {name} has no retention"


def test_functions_log_json_to_their_own_group_and_trace():
    for path, name, body in _all_resources("aws_lambda_function"):
        logging = body["logging_config"][0]
        assert logging["log_format"] == "JSON"
        assert logging["log_group"] == "${aws_cloudwatch_log_group.this.name}"
        assert body["tracing_config"][0]["mode"] == "${var.tracing_mode}"
        assert body["kms_key_arn"] == "${var.kms_key_arn}"
        assert body["dead_letter_config"][0]["target_arn"] == "${aws_sqs_queue.dlq.arn}"


def test_queues_and_topics_are_encrypted():
    for path, name, body in _all_resources("aws_sqs_queue"):
        assert body.get("kms_master_key_id"), f"{path}: queue {name} is not KMS-encrypted"
    for path, name, body in _all_resources("aws_sns_topic"):
        assert body.get("kms_master_key_id"), f"{path}: topic {name} is not KMS-encrypted"


def test_created_kms_key_rotates():
    ((_name, key),) = _resources(MODULES_DIR / "kms" / "main.tf", "aws_kms_key")
    assert key["enable_key_rotation"] is True
    assert key["policy"], "the key needs an explicit key policy"


# --- AppConfig: flags deploy on change, no perpetual drift --------------------


def test_hosted_flags_redeploy_on_document_hash_only_and_keep_the_previous_version():
    path = MODULES_DIR / "feature_flags" / "main.tf"
    ((_, version),) = _resources(path, "aws_appconfig_hosted_configuration_version")
    ((_, deployment),) = _resources(path, "aws_appconfig_deployment")
    ((_, tracker),) = _resources(path, "terraform_data")
    # with the controller on it deploys the steps: Terraform only deploys when that changes
    assert tracker["input"] == '${var.controller_enabled ? "controller" : local.document_sha256}'
    # one hosted version per kept document, keyed by its content's hash: never replaced
    assert version["for_each"] == "${local.kept_documents}"
    lifecycle = version["lifecycle"][0]
    assert lifecycle["ignore_changes"] == ["content"], (
        "AppConfig's _createdAt/_updatedAt must not show as drift"
    )
    assert "replace_triggered_by" not in lifecycle and "create_before_destroy" not in lifecycle, (
        "replacing the version deletes the one AppConfig's rollback returns to"
    )
    assert _refs(deployment["lifecycle"][0]["replace_triggered_by"]) == [
        "terraform_data.document"
    ], "a changed document must deploy"
    # only the trigger deploys: never an in-place change of the version the controller moved
    assert deployment["lifecycle"][0]["ignore_changes"] == ["configuration_version", "description"]
    assert (
        deployment["configuration_version"]
        == "${aws_appconfig_hosted_configuration_version.kept[local.document_sha256].version_number}"
    )


def test_the_extension_layer_is_the_public_parameter_of_the_region_not_a_table():
    """AWS publishes the agent layer per region and architecture as an SSM public
    parameter (docs/aws-rules.md, AppConfig): no hand-copied table to go stale."""
    text = (MODULES_DIR / "feature_flags" / "main.tf").read_text(encoding="utf-8")
    assert "AWS-AppConfig-Extension" not in text, "a hard-coded layer ARN is back"
    ((_name, parameter),) = [(n, b) for t, n, b in hcl.blocks(hcl.load(MODULES_DIR / "feature_flags" / "main.tf"), "data")
                             if t == "aws_ssm_parameter"]
    assert parameter["name"] == '${replace(var.extension_layer_parameter, "{architecture}", var.extension_architecture)}'
    outputs = (MODULES_DIR / "feature_flags" / "outputs.tf").read_text(encoding="utf-8")
    assert "precondition" in outputs, "a parameter that holds no layer ARN must fail the plan"


@pytest.mark.parametrize("root", [r for r in sorted(ROOTS) if r.startswith("envs/")])
def test_a_candidate_with_a_database_runs_in_its_vpc(root):
    """CKV_AWS_117 is skipped for the router and cleanup (reason in the spec): check it here."""
    from cutover.generator.spec.loader import load_spec

    spec = load_spec(ROOTS[root].parents[2] / "config" / f"{ROOTS[root].name}.release.yaml")
    for path in spec.read_paths:
        call = _module(root, f"{path.name.replace('-', '_')}_candidate")
        if path.database is not None:
            assert call["vpc"] == {
                "subnet_ids": path.database.subnet_ids,
                "security_group_ids": path.database.security_group_ids,
            }


# --- Alarms: the examples use what the generator renders -----------------------


@pytest.mark.parametrize("example,rendered", [("complete", "terraform/envs/production"),
                                              ("complete-phase", "tests/golden/complete-phase/expected")])
def test_example_alarms_are_the_generated_ones(example, rendered):
    fixture = EXAMPLES_DIR / example / "fixtures" / "alarms.json"
    rendered = EXAMPLES_DIR.parent.parent / rendered / "alarms.json"
    assert fixture.read_bytes() == rendered.read_bytes(), f"copy {rendered} to {fixture}"
