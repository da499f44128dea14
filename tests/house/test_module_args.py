"""Each module's argument class mirrors its variables.tf (and its outputs.tf)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from cutover.generator.plan.modules import (
    MODULE_ARGS,
    UNSET,
    FunctionArgs,
    ModuleCall,
    ModuleRef,
    ShadowArgs,
)

from tests.conftest import ROOT
from tests.terraform.tf_hcl import load

MODULES = sorted(p for p in (ROOT / "terraform" / "modules").iterdir() if p.is_dir())


def variables(module: Path) -> dict[str, bool]:
    """variable name -> required (declared without a default)."""
    return {name: "default" not in body
            for block in load(module / "variables.tf").get("variable", []) for name, body in block.items()}


def arguments(cls: type) -> dict[str, bool]:
    """field name -> required (declared without a default)."""
    return {f.name: f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            for f in dataclasses.fields(cls)}


def test_every_module_has_one_argument_class():
    assert sorted(MODULE_ARGS) == [m.name for m in MODULES]


@pytest.mark.parametrize("module", MODULES, ids=[m.name for m in MODULES])
def test_the_class_has_the_variables_of_variables_tf_required_where_they_are(module: Path):
    cls = MODULE_ARGS[module.name]
    declared, typed = variables(module), arguments(cls)
    assert sorted(typed) == sorted(declared), f"{cls.__name__} vs {module.name}/variables.tf"
    wrong = {name for name in declared if declared[name] != typed[name]}
    assert not wrong, f"{cls.__name__}: required in one and optional in the other: {sorted(wrong)}"


@pytest.mark.parametrize("module", MODULES, ids=[m.name for m in MODULES])
def test_the_class_has_the_outputs_of_outputs_tf(module: Path):
    declared = [name for block in load(module / "outputs.tf").get("output", []) for name in block]
    assert sorted(MODULE_ARGS[module.name].OUTPUTS) == sorted(declared)


def test_a_misspelt_or_missing_argument_fails_when_the_call_is_built():
    with pytest.raises(TypeError, match="unexpected keyword argument 'qualifer'"):
        ShadowArgs(function_name="f", qualifer="live", on_failure_destination_arn="arn")
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'on_failure_destination_arn'"):
        ShadowArgs(function_name="f", qualifier="live")


def test_a_call_takes_only_the_arguments_of_the_module_it_calls():
    args = ShadowArgs(function_name="f", qualifier="live", on_failure_destination_arn="arn")
    with pytest.raises(TypeError, match="its arguments are FunctionArgs, not ShadowArgs"):
        ModuleCall(ModuleRef("x", "function"), "", args)


def test_optional_arguments_left_unset_are_not_written():
    args = ShadowArgs(function_name="f", qualifier="live", on_failure_destination_arn="arn", kms_key_arn=None)
    assert args.items() == [("function_name", "f"), ("qualifier", "live"),
                            ("on_failure_destination_arn", "arn"), ("kms_key_arn", None)]
    assert FunctionArgs.__dataclass_fields__["tags"].default is UNSET
