"""Module layout and interface conventions (terraform-aws-modules style)."""

from __future__ import annotations

import re

import pytest
import tf_hcl as hcl
from tf_layout import MODULES, MODULES_DIR

FILES = ["main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"]

# Outputs that docs/contracts.md section 8 promises to the root module.
CONTRACT_OUTPUTS = {
    "kms": {"key_arn"},
    "layer": {"arn"},
    "function": {
        "function_name",
        "function_arn",
        "version",
        "alias_name",
        "alias_arn",
        "role_name",
        "role_arn",
        "log_group_name",
        "log_group_arn",
        "dlq_arn",
    },
    "code_deploy": {
        "application_name",
        "deployment_config_name",
        "deployment_group_names",
        "service_role_arn",
    },
    "shadow": {"event_invoke_config_id"},
    "feature_flags": {
        "application_id",
        "application_arn",
        "environment_id",
        "environment_arn",
        "profile_id",
        "profile_arn",
        "deployment_number",
        "extension_layer_arn",
        "configuration_arn",
    },
    "alarms": {"rollback_alarm_name", "rollback_alarm_arn", "alarm_names", "topic_arn"},
    "dashboard": {"dashboard_name"},
    "queries": {"query_definition_ids"},
    "tracing": {"group_arn", "sampling_rule_arn"},
    "vpc_endpoints": {"endpoint_ids"},
}


def _variables(module: str) -> dict:
    doc = hcl.load(MODULES_DIR / module / "variables.tf")
    return {name: body for entry in doc.get("variable", []) for name, body in entry.items()}


def _outputs(module: str) -> dict:
    doc = hcl.load(MODULES_DIR / module / "outputs.tf")
    return {name: body for entry in doc.get("output", []) for name, body in entry.items()}


def test_exactly_the_agreed_modules_exist():
    assert sorted(p.name for p in MODULES_DIR.iterdir() if p.is_dir()) == sorted(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_has_the_five_files(module):
    missing = [f for f in FILES if not (MODULES_DIR / module / f).is_file()]
    assert not missing, f"{module} lacks {missing}"


@pytest.mark.parametrize("module", MODULES)
def test_variables_are_typed_and_described_never_any(module):
    for name, body in _variables(module).items():
        assert body.get("description"), f"{module}: variable {name} has no description"
        assert "type" in body, f"{module}: variable {name} has no type"
        assert not re.search(r"\bany\b", str(body["type"])), f"{module}: variable {name} uses any"


@pytest.mark.parametrize("module", MODULES)
def test_outputs_cover_the_contract_and_are_described(module):
    outputs = _outputs(module)
    assert CONTRACT_OUTPUTS[module] <= set(outputs), (
        f"{module}: missing {CONTRACT_OUTPUTS[module] - set(outputs)}"
    )
    for name, body in outputs.items():
        assert body.get("description"), f"{module}: output {name} has no description"


@pytest.mark.parametrize("module", MODULES)
def test_readme_lists_every_input_and_output(module):
    readme = (MODULES_DIR / module / "README.md").read_text(encoding="utf-8")
    for name in list(_variables(module)) + list(_outputs(module)):
        assert f"`{name}`" in readme, f"{module}/README.md does not list `{name}`"


@pytest.mark.parametrize("module", MODULES)
def test_versions_pin_terraform_and_the_provider_range(module):
    text = (MODULES_DIR / module / "versions.tf").read_text(encoding="utf-8")
    # feature_flags: a `removed` block (Terraform 1.7) forgets the pre-kept-versions hosted version
    assert f'required_version = ">= {"1.7.0" if module == "feature_flags" else "1.5.0"}"' in text
    assert 'version = ">= 5.0, < 7.0"' in text
