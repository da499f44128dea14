"""docs/rehearsal.md stays true: every scenario key and fault kind is documented, and
every shipped scenario is in its table."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from cutover.rehearsal import scenario as model

from .conftest import ROOT, SCENARIOS

DOC = (ROOT / "docs" / "rehearsal.md").read_text(encoding="utf-8")


def models(cls: type[BaseModel], seen: set[type]) -> None:
    if cls in seen:
        return
    seen.add(cls)
    for field in cls.model_fields.values():
        for arg in (field.annotation, *typing.get_args(field.annotation)):
            for inner in (arg, *typing.get_args(arg)):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    models(inner, seen)


def test_every_key_of_the_format_is_documented():
    seen: set[type] = set()
    models(model.Scenario, seen)
    for fault in typing.get_args(typing.get_args(model.Fault)[0]):
        models(fault, seen)
    missing = sorted({f"{cls.__name__}.{name}" for cls in seen for name in cls.model_fields
                      if f"{name}:" not in DOC and f"`{name}`" not in DOC})
    assert not missing, f"docs/rehearsal.md does not mention: {missing}"


def test_every_fault_kind_and_shipped_scenario_is_in_the_tables():
    for kind in model.FAULT_KINDS:
        assert f"| `{kind}` |" in DOC
    for path in SCENARIOS.glob("*.yaml"):
        assert f"| `{path.stem}` |" in DOC, f"{path.name} is not in docs/rehearsal.md's table"
