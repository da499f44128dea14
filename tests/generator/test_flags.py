"""The feature-flag document follows AWS's rules for AWS.AppConfig.FeatureFlags."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from generator.flags import InvalidFlagDocument, check_document, document
from generator.loader import load_spec

SPEC = load_spec(Path(__file__).parent.parent / "data" / "base.release.yaml")


def test_the_rendered_document_declares_and_values_both_flags():
    doc = document(SPEC)
    assert list(doc) == ["version", "flags", "values"] and doc["version"] == "1"
    assert doc["values"] == {
        "prisma-adapter": {"enabled": True, "percent": 1, "salt": "huntaze-2025-10", "stickyKey": "userId", "step": 1},
        "prisma-shadow": {"enabled": True, "sampleRate": 0.1, "timeoutMs": 500},
    }
    json.dumps(doc)  # plain JSON, nothing else


def test_a_canary_at_zero_is_disabled():
    path = SPEC.read_paths[0]
    at_zero = path.model_copy(update={"canary": path.canary.model_copy(update={"percent": 0})})
    spec = SPEC.model_copy(update={"phase": "shadow", "read_paths": [at_zero]})
    assert document(spec)["values"]["prisma-adapter"]["enabled"] is False
    assert SPEC.read_paths[0].canary.percent == 1


def _broken(mutate) -> dict:
    doc = copy.deepcopy(document(SPEC))
    mutate(doc)
    return doc


BROKEN = [
    ("version", lambda d: d.update(version=1), 'version must be "1"'),
    ("extra-top-level", lambda d: d.update(meta={}), "top-level keys are version, flags and values"),
    ("flag-key", lambda d: d["flags"].update({"prisma_adapter": d["flags"]["prisma-adapter"]}),
     "flags.prisma_adapter: flag keys match"),
    ("name-length", lambda d: d["flags"]["prisma-adapter"].update(name="x" * 65),
     "flags.prisma-adapter.name: 1-64 characters, no newline"),
    ("description", lambda d: d["flags"]["prisma-adapter"].update(description="x" * 1025),
     "flags.prisma-adapter.description: at most 1024 characters"),
    ("pattern-and-enum", lambda d: d["flags"]["prisma-adapter"]["attributes"]["salt"]["constraints"].update(
        pattern="^a", enum=["a"]), "attributes.salt: pattern or enum, not both"),
    ("float-bound", lambda d: d["flags"]["prisma-shadow"]["attributes"]["sampleRate"]["constraints"].update(
        maximum=0.5), "attributes.sampleRate.maximum: must be an integer"),
    ("enabled-missing", lambda d: d["values"]["prisma-adapter"].pop("enabled"),
     "values.prisma-adapter.enabled: a boolean is required"),
    ("undeclared-attribute", lambda d: d["values"]["prisma-adapter"].update(colour="red"),
     "values.prisma-adapter.colour: not a declared attribute"),
    ("above-maximum", lambda d: d["values"]["prisma-adapter"].update(percent=101),
     "values.prisma-adapter.percent: 101 is above the maximum 100"),
    ("wrong-type", lambda d: d["values"]["prisma-adapter"].update(salt=5),
     "values.prisma-adapter.salt: number does not match the declared type string"),
    ("mixed-array", lambda d: (d["flags"]["prisma-adapter"]["attributes"].update(ids={}),
                               d["values"]["prisma-adapter"].update(ids=["a", 1])),
     "values.prisma-adapter.ids: arrays hold all strings or all numbers"),
    ("value-without-flag", lambda d: d["values"].update(ghost={"enabled": True}),
     "values.ghost: no flag of that key is declared"),
    ("too-many-attributes", lambda d: d["flags"]["prisma-adapter"]["attributes"].update(
        {f"a{i}": {} for i in range(25)}), "flags.prisma-adapter: at most 25 attributes"),
]


@pytest.mark.parametrize("mutate,message", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_document_aws_would_reject_is_refused_before_writing(mutate, message):
    with pytest.raises(InvalidFlagDocument) as exc:
        check_document(_broken(mutate))
    assert message in str(exc.value)


def test_flag_deployments_roll_out_all_at_once_with_the_spec_bake_as_monitor_window():
    from generator.plan import build_plan

    spec = SPEC
    flags_call = next(m for m in build_plan(spec, "tests/data/base.release.yaml").modules
                      if m.name == "feature_flags")
    strategy = dict(flags_call.args)["strategy"]
    assert (strategy["growth_type"], strategy["growth_factor"], strategy["duration_minutes"]) == ("LINEAR", 100, 0)
    assert strategy["final_bake_minutes"] == spec.delivery.appconfig.final_bake_minutes
