"""The controller's pure rules (functions/controller/stages.py, judge.guardrails): the next
stage from what is served, the step's document, the description and its reading back."""

from __future__ import annotations

import pytest
from controller import judge, stages
from cutover_runtime import live

from cutover.analysis import Guardrails

PATHS = [{"name": "user-read", "flag": "a", "steps": [1, 5, 100]},
         {"name": "orders-read", "flag": "b", "steps": [0.5, 100]}]


@pytest.mark.parametrize(("served", "move"), [
    ({"user-read": 0, "orders-read": 0}, ("user-read", 0, 1)),
    ({"user-read": 1, "orders-read": 0}, ("user-read", 1, 5)),
    ({"user-read": 3, "orders-read": 0}, ("user-read", 3, 5)),  # off the plan (a --to): the next step above
    ({"user-read": 100, "orders-read": 0}, ("orders-read", 0, 0.5)),
    ({"user-read": 5, "orders-read": 100}, ("user-read", 5, 100)),  # the spec's order, not the lowest first
    ({"user-read": 100, "orders-read": 100}, None),
])
def test_the_next_stage_is_the_first_path_below_its_last_step(served, move):
    found = stages.next_move(PATHS, served)
    assert (None if found is None else (found[0]["name"], found[1], found[2])) == move


def test_the_steps_document_is_the_served_one_with_the_canary_moved_as_the_generator_writes_it():
    served = {"version": "1", "flags": {"a": {"name": "c", "_createdAt": "x"}},
              "values": {"a": {"enabled": True, "percent": 1, "salt": "s", "step": 1, "_updatedAt": "y"},
                         "a-shadow": {"enabled": True, "sampleRate": 0.1}}}
    doc = stages.moved(served, "a", 5.0)
    assert doc["values"]["a"] == {"enabled": True, "percent": 5, "salt": "s", "step": 5}
    assert doc["values"]["a-shadow"] == served["values"]["a-shadow"] and "_createdAt" not in doc["flags"]["a"]
    assert stages.moved(served, "a", 0)["values"]["a"]["enabled"] is False
    assert stages.same(served, {**served, "flags": {"a": {"name": "c"}}})  # AppConfig's metadata aside
    assert not stages.same(served, doc)


def test_the_description_starts_with_the_mark_and_reads_back():
    text = stages.description("20261205T030000-ana", "user-read", 0.5, 5)
    assert text == f"{live.CONTROLLER_MARK} 20261205T030000-ana: user-read 0.5% -> 5%"
    assert stages.parse(text) == {"execution": "20261205T030000-ana", "path": "user-read", "from": 0.5, "step": 5}
    assert stages.parse(f"{live.GUARD_MARK} canary off") is None
    assert stages.parse("cutover controllers x: user-read 1% -> 5%") is None
    assert stages.execution_name("arn:aws:states:us-east-1:1:execution:rel-production-controller:abc") == "abc"


def test_the_spec_change_is_named_only_where_the_spec_differs():
    paths = [{**PATHS[0], "percent": 1}, {**PATHS[1], "percent": 0}]
    assert stages.spec_changes("production", paths, {"user-read": 1, "orders-read": 0}) == []
    assert stages.spec_changes("production", paths, {"user-read": 5, "orders-read": 0}) == [
        "cutover ramp --sync --env production (the spec := what is served: user-read 1% in the spec, 5% served)"]


def test_the_guardrails_come_from_the_configs_dict_and_nothing_else():
    assert judge.guardrails(Guardrails(min_samples=80).to_json()) == Guardrails(min_samples=80)
    with pytest.raises(TypeError):
        judge.guardrails({**Guardrails().to_json(), "period_seconds": 60})
