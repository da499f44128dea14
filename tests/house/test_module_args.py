"""Each module's argument class mirrors its variables.tf (and its outputs.tf):
the same names, required where the variable has no default, a Python type of the variable's
kind, and `| None` only where the variable defaults to null. The .tf files are read with the
parser that writes the modules' README tables (cutover.generator.render.module_docs)."""

from __future__ import annotations

import dataclasses
import typing
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
from cutover.generator.render import module_docs

from tests.conftest import ROOT

MODULES = sorted(p for p in (ROOT / "terraform" / "modules").iterdir() if p.is_dir())

# Terraform type constructor -> the Python type a field of that kind is annotated with.
KINDS = {"string": str, "number": (int, float), "bool": bool, "list": list, "set": list, "tuple": list,
         "map": dict, "object": dict}
# Fields given a Terraform expression (an Expr, a str) for a variable of another kind.
EXPRESSIONS = {("alarms", "definitions")}  # jsondecode(file("${path.module}/alarms.json"))


def variables(module: Path) -> dict[str, bool]:
    """variable name -> required (declared without a default)."""
    return {v.name: v.required for v in module_docs.variables(module)}


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
    declared = [o.name for o in module_docs.outputs(module)]
    assert sorted(MODULE_ARGS[module.name].OUTPUTS) == sorted(declared)


def _python_type(annotation: object) -> tuple[type, bool]:
    """The field's type without None, and whether it admits None."""
    args = typing.get_args(annotation)
    if type(None) not in args:
        return typing.get_origin(annotation) or annotation, False
    (inner,) = [a for a in args if a is not type(None)]
    return typing.get_origin(inner) or inner, True


@pytest.mark.parametrize("module", MODULES, ids=[m.name for m in MODULES])
def test_each_field_has_the_kind_of_its_variable_and_none_only_where_the_default_is_null(module: Path):
    hints = typing.get_type_hints(MODULE_ARGS[module.name])
    wrong = []
    for var in module_docs.variables(module):
        python, nullable = _python_type(hints[var.name])
        kind = KINDS[var.type.split("(")[0]]
        if (module.name, var.name) not in EXPRESSIONS and python not in (kind if isinstance(kind, tuple) else (kind,)):
            wrong.append(f"{var.name}: {python.__name__} for {var.type}")
        if nullable and var.default != "null":
            wrong.append(f"{var.name}: admits None, but the variable's default is {var.default or 'none'}")
    assert not wrong, f"{MODULE_ARGS[module.name].__name__} vs {module.name}/variables.tf: {wrong}"


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
