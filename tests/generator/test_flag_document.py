"""The feature-flag document follows AWS's rules for AWS.AppConfig.FeatureFlags."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from cutover.generator.plan.flag_document import InvalidFlagDocument, check_document, document
from cutover.generator.spec.loader import load_spec

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


# Each row: a change AppConfig would refuse, and where the message says it is wrong.
# "(AWS schema)" rows come from AWS's published schema; the others are cutover's extras.
BROKEN = [
    ("version", lambda d: d.update(version=1), "version: 1 is not one of ['1'] (AWS schema)"),
    ("extra-top-level", lambda d: d.update(meta={}),
     "(document): Additional properties are not allowed ('meta' was unexpected) (AWS schema)"),
    ("flag-key", lambda d: d["flags"].update({"Prisma.adapter": d["flags"]["prisma-adapter"]}),
     "flags: 'Prisma.adapter' does not match any of the regexes"),
    ("name-length", lambda d: d["flags"]["prisma-adapter"].update(name="x" * 65),
     "flags.prisma-adapter.name: 'xxx"),
    ("name-newline", lambda d: d["flags"]["prisma-adapter"].update(name="two\nlines"),
     "flags.prisma-adapter.name: 'two\\nlines' does not match"),
    ("description", lambda d: d["flags"]["prisma-adapter"].update(description="x" * 1025),
     "flags.prisma-adapter.description: 'xxx"),
    ("pattern-and-enum", lambda d: d["flags"]["prisma-adapter"]["attributes"]["salt"]["constraints"].update(
        pattern="^a", enum=["a"]), "flags.prisma-adapter.attributes.salt.constraints: "),
    ("float-bound", lambda d: d["flags"]["prisma-shadow"]["attributes"]["sampleRate"]["constraints"].update(
        maximum=0.5), "flags.prisma-shadow.attributes.sampleRate.constraints: "),
    ("too-many-attributes", lambda d: d["flags"]["prisma-adapter"]["attributes"].update(
        {f"a{i}": {} for i in range(25)}), "flags.prisma-adapter.attributes: {"),
    ("string-too-long", lambda d: d["values"]["prisma-adapter"].update(salt="s" * 1025),
     "values.prisma-adapter.salt: 'sss"),
    ("mixed-array", lambda d: (d["flags"]["prisma-adapter"]["attributes"].update(ids={}),
                               d["values"]["prisma-adapter"].update(ids=["a", 1])),
     "values.prisma-adapter.ids: ['a', 1] is not valid under any of the given schemas (AWS schema)"),
    ("object-value", lambda d: d["values"]["prisma-adapter"].update(percent={"n": 1}),
     "values.prisma-adapter.percent: {'n': 1} is not valid under any of the given schemas (AWS schema)"),
    # cutover's extras: AWS's schema accepts these, the router could not use them
    ("enabled-missing", lambda d: d["values"]["prisma-adapter"].pop("enabled"),
     "values.prisma-adapter.enabled: a boolean is required (the router reads it)"),
    ("undeclared-attribute", lambda d: d["values"]["prisma-adapter"].update(colour="red"),
     "values.prisma-adapter.colour: not a declared attribute"),
    ("above-maximum", lambda d: d["values"]["prisma-adapter"].update(percent=101),
     "values.prisma-adapter.percent: 101 is above the maximum 100"),
    ("wrong-type", lambda d: d["values"]["prisma-adapter"].update(salt=5),
     "values.prisma-adapter.salt: number does not match the declared type string"),
    ("value-without-flag", lambda d: d["values"].update(ghost={"enabled": True}),
     "values.ghost: no flag of that key is declared"),
    ("no-flags", lambda d: d.pop("flags"), "flags: cutover always declares its flags"),
]


@pytest.mark.parametrize("mutate,message", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_document_aws_would_reject_is_refused_before_writing(mutate, message):
    with pytest.raises(InvalidFlagDocument) as exc:
        check_document(_broken(mutate))
    assert message in str(exc.value)


def test_flag_deployments_roll_out_all_at_once_with_the_spec_bake_as_monitor_window():
    from cutover.generator.plan.release import build_plan

    spec = SPEC
    flags_call = next(m for m in build_plan(spec, "tests/data/base.release.yaml").modules
                      if m.name == "feature_flags")
    strategy = flags_call.args.strategy
    assert (strategy["growth_type"], strategy["growth_factor"], strategy["duration_minutes"]) == ("LINEAR", 100, 0)
    assert strategy["final_bake_minutes"] == spec.delivery.appconfig.final_bake_minutes


def test_what_appconfig_stores_back_still_passes():
    # GIVEN the document as AppConfig returns it (it adds _createdAt/_updatedAt)
    doc = copy.deepcopy(document(SPEC))
    doc["flags"]["prisma-adapter"]["_createdAt"] = "2026-11-29T09:00:00Z"
    doc["values"]["prisma-adapter"]["_updatedAt"] = "2026-11-29T09:00:00Z"
    # THEN both AWS's schema and cutover's rules accept it
    check_document(doc)


def test_flag_keys_follow_appconfigs_published_pattern():
    # '_' is allowed by AWS's pattern, and so by cutover (no stricter rule of ours)
    doc = copy.deepcopy(document(SPEC))
    doc["flags"]["prisma_adapter"] = doc["flags"].pop("prisma-adapter")
    doc["values"]["prisma_adapter"] = doc["values"].pop("prisma-adapter")
    check_document(doc)


@pytest.mark.parametrize("env", ["production", "preview"])
def test_every_ramp_deploys_a_kept_version_and_keeps_the_one_it_replaces(env):
    """AppConfig's rollback (and stop-deployment --allow-revert) returns to
    the previous hosted version; a ramp must neither need a new one nor delete the old one."""
    from cutover.generator.plan.flag_document import kept_documents

    spec = load_spec(Path(__file__).parents[2] / "config" / f"{env}.release.yaml")

    def canonical(docs):
        return {json.dumps(d, sort_keys=True) for d in docs}

    before_current = json.dumps(document(spec), sort_keys=True)
    before = canonical(kept_documents(spec))
    for i, path in enumerate(spec.read_paths):
        for percent in (0, *path.canary.steps):
            paths = list(spec.read_paths)
            paths[i] = path.model_copy(update={"canary": path.canary.model_copy(update={"percent": percent})})
            ramped = spec.model_copy(update={"read_paths": paths})
            after = canonical(kept_documents(ramped))
            assert json.dumps(document(ramped), sort_keys=True) in before, "the ramp needs no new version"
            assert before_current in after, "the version the ramp replaces stays"


def _whole_document_problems(doc) -> list[str]:
    """What AWS's schema says of the document checked whole (the reference of the per-entry check)."""
    from cutover.generator.plan.flag_document import _aws_validator

    errors = sorted(_aws_validator().iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(document)'}: {e.message} (AWS schema)"
            for e in errors]


def test_the_published_schema_checks_each_flag_and_value_on_its_own():
    # the kept documents are checked one distinct entry at a time only when the schema allows it
    from cutover.generator.plan.flag_document import _by_entry

    assert _by_entry()


EXTRA_BROKEN = [
    lambda d: d.update(flags=[]),
    lambda d: d.update(values="none"),
    lambda d: d["flags"].update({"Bad.key": {}, "Also bad": {"name": 5}}),
    lambda d: d["values"].update({"ghost": 5, "Ghost": {"enabled": "yes"}}),
    lambda d: (d["flags"]["prisma-adapter"].update(name=1, description=2, extra=3),
               d["values"]["prisma-shadow"].update(sampleRate=[1, "a"], enabled=None)),
]


@pytest.mark.parametrize("mutate", [b[1] for b in BROKEN] + EXTRA_BROKEN)
def test_checking_entry_by_entry_finds_what_checking_the_whole_document_finds(mutate):
    from cutover.generator.plan.flag_document import _aws_schema_problems

    doc = _broken(mutate)
    assert _aws_schema_problems(doc, {}) == _whole_document_problems(doc)


def test_documents_sharing_a_memo_get_each_its_own_problems():
    from cutover.generator.plan.flag_document import _aws_schema_problems

    # a frame and an entry's own document can be the same JSON: {"version": "1", "flags": {"Bad": {}}}
    docs = [{"version": "1", "flags": {"Bad": {}}}, {"version": "1", "flags": {"ok": {}, "Bad": {}}},
            {"version": "1", "values": {"a": {"enabled": 1}}}, {"version": "1", "values": {"a": {"enabled": True}}},
            copy.deepcopy(document(SPEC)), _broken(lambda d: d["values"]["prisma-adapter"].update(percent="1"))]
    memo: dict = {}
    for doc in docs + docs:
        assert _aws_schema_problems(doc, memo) == _whole_document_problems(doc)


def _walk(spec):
    """The percents the controller deploys, stage after stage, from the spec's (CONTROLLER.md,
    "The stages"): the first path below its last step moves to its first step above what is served."""
    served = [p.canary.percent for p in spec.read_paths]
    while True:
        i = next((i for i, p in enumerate(spec.read_paths) if served[i] < p.canary.steps[-1]), None)
        if i is None:
            return
        served[i] = next(s for s in spec.read_paths[i].canary.steps if s > served[i])
        yield list(served)


def _at(spec, percents):
    paths = [p.model_copy(update={"canary": p.canary.model_copy(update={"percent": pct})})
             for p, pct in zip(spec.read_paths, percents, strict=True)]
    return spec.model_copy(update={"read_paths": paths})


def test_every_stage_of_the_controllers_walk_is_a_kept_version():
    """The controller deploys only hosted versions that exist: across two read paths the
    walk passes documents no single-path ramp has (the first path at 100, the second moving)."""
    from cutover.generator.plan.flag_document import kept_documents

    spec = load_spec(Path(__file__).parents[2] / "config" / "preview.release.yaml")
    assert spec.delivery.controller.enabled and len(spec.read_paths) == 2
    kept = {json.dumps(d, sort_keys=True) for d in kept_documents(spec)}
    stages = list(_walk(spec))
    assert stages[-1] == [100, 100]
    missing = [s for s in stages if json.dumps(document(_at(spec, s)), sort_keys=True) not in kept]
    assert missing == []
    # without the controller those stages are not all kept: the sequence documents are its own
    off = spec.model_copy(update={"delivery": spec.delivery.model_copy(update={"controller": None})})
    kept_off = {json.dumps(d, sort_keys=True) for d in kept_documents(off)}
    assert [s for s in stages if json.dumps(document(_at(spec, s)), sort_keys=True) not in kept_off]
