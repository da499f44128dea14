"""Spec error locations travel as data, never inside the message text."""

from __future__ import annotations

import pytest
import yaml
from cutover.generator.spec.errors import Problem, SpecInvalid
from cutover.generator.spec.loader import LineMap, _field_problem, _message, validate
from cutover.generator.spec.model import FieldProblem
from pydantic import BaseModel, ValidationError, model_validator

from tests.conftest import ROOT


class Section(BaseModel):
    steps: list[int]

    @model_validator(mode="after")
    def _check(self) -> Section:
        # a message that looks like the old "@path: message" text must stay as it is
        raise FieldProblem(("steps", 1), "@steps.0: not a location, just words")


def test_a_field_problem_carries_its_location_and_its_message_unchanged():
    problem = FieldProblem(("steps", 2), "must end at 100")
    assert problem.problem == Problem(("steps", 2), "must end at 100")
    assert str(problem) == "must end at 100"


def test_the_loader_reads_the_location_from_the_error_not_from_its_text():
    with pytest.raises(ValidationError) as exc:
        Section(steps=[1, 2])
    err = exc.value.errors(include_url=False)[0]
    assert _field_problem(err) == Problem(("steps", 1), "@steps.0: not a location, just words")
    assert _message(err, ("steps", 1)) == "@steps.0: not a location, just words"


def test_a_section_rule_is_reported_at_the_section_path_plus_its_own():
    data = yaml.safe_load((ROOT / "tests" / "data" / "base.release.yaml").read_text())
    data["read_paths"][0]["canary"]["steps"] = [1, 5, 25, 50]
    lines = LineMap()
    with pytest.raises(SpecInvalid) as exc:
        validate(data, lines, "spec.yaml")
    [error] = exc.value.errors
    assert error.loc == ("read_paths", 0, "canary", "steps")
    assert error.message == "must end at 100 (the last step is 50)"
