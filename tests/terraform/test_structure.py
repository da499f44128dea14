"""Module layout and interface conventions (terraform-aws-modules style).

What a module offers is its variables.tf and outputs.tf and nothing else: the README
tables are generated from them (`cutover render`, checked by `render --check`), the
generator's argument classes are checked against them (tests/house/test_module_args.py),
and a reference to an output a module lacks fails `cutover render`. These tests keep the
conventions the .tf files themselves must follow.
"""

from __future__ import annotations

import re

import pytest
import tf_hcl as hcl
from tf_layout import MODULES, MODULES_DIR

FILES = ["main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"]


def _variables(module: str) -> dict:
    doc = hcl.load(MODULES_DIR / module / "variables.tf")
    return {name: body for entry in doc.get("variable", []) for name, body in entry.items()}


def _outputs(module: str) -> dict:
    doc = hcl.load(MODULES_DIR / module / "outputs.tf")
    return {name: body for entry in doc.get("output", []) for name, body in entry.items()}


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
def test_outputs_are_described(module):
    outputs = _outputs(module)
    assert outputs, f"{module}: no output"
    for name, body in outputs.items():
        assert body.get("description"), f"{module}: output {name} has no description"


@pytest.mark.parametrize("module", MODULES)
def test_versions_pin_terraform_and_the_provider_range(module):
    text = (MODULES_DIR / module / "versions.tf").read_text(encoding="utf-8")
    # feature_flags: a `removed` block (Terraform 1.7) forgets the pre-kept-versions hosted version
    assert f'required_version = ">= {"1.7.0" if module == "feature_flags" else "1.5.0"}"' in text
    assert 'version = ">= 5.0, < 7.0"' in text
