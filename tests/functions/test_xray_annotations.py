"""The X-Ray group filters the generator renders (and the hand-written example) match the
annotations the functions write.

X-Ray compares annotation values as typed (string, number, boolean): the filter
``annotation.canary = true`` never matches an annotation written as the number 1. The
filters are read from the rendered ``terraform/envs/*/main.tf`` and from the golden
expectations; the annotations from real aws-xray-sdk subsegments recorded while the
handlers serve requests.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cutover_runtime.assignment import assign

from tests.terraform.tf_hcl import load, module_calls

from .conftest import ROOT, SALT, SEEDED_USERS, flag_values, router_shadow_event

TERM = re.compile(r'annotation\.([A-Za-z0-9_]+)\s*(!=|<=|>=|=|<|>)\s*'
                  r'(true|false|-?\d+(?:\.\d+)?|"[^"]*")')


def rendered_filters() -> list[tuple[Path, str]]:
    found = []
    mains = sorted((ROOT / "terraform" / "envs").glob("*/main.tf"))
    mains += sorted((ROOT / "tests" / "golden").glob("*/expected/main.tf"))
    mains += sorted((ROOT / "terraform" / "examples").glob("*/main.tf"))  # hand-written
    for main in mains:
        for _, body in module_calls(load(main)):
            if str(body.get("source", "")).endswith("/tracing"):
                found.append((main, body["group_filter_expression"]))
    return found


def literal_type(literal: str) -> type:
    if literal in ("true", "false"):
        return bool
    if literal.startswith('"'):
        return str
    return float


def type_matches(value: Any, expected: type) -> bool:
    if expected is float:  # a number: int or float, never a boolean
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return type(value) is expected


def filter_terms() -> list[tuple[str, str, type, str]]:
    terms = []
    for main, expression in rendered_filters():
        matched = TERM.findall(expression)
        assert matched, f"{main}: no annotation term understood in {expression!r}"
        assert "annotation." not in TERM.sub("", expression), (main, expression)
        terms += [(name, literal, literal_type(literal), str(main)) for name, _, literal in matched]
    return terms


@pytest.fixture
def recorded(monkeypatch):
    """Subsegments recorded by the real X-Ray SDK in one open segment."""
    from aws_xray_sdk.core import xray_recorder

    monkeypatch.setenv("CUTOVER_TRACING", "Active")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    threshold = xray_recorder.streaming.streaming_threshold
    xray_recorder.configure(streaming_threshold=10_000)  # keep every subsegment in memory
    segment = xray_recorder.begin_segment("cutover-test", sampling=1)
    try:
        yield segment.subsegments
    finally:
        xray_recorder.end_segment()
        xray_recorder.configure(streaming_threshold=threshold)


def check(terms, annotations: list[dict[str, Any]]) -> None:
    written = {}
    for annotation in annotations:
        for name, value in annotation.items():
            written.setdefault(name, set()).add(type(value))
    for name, literal, expected, main in terms:
        assert name in written, f"{main}: filter reads annotation.{name}, never written"
        for annotation in annotations:
            if name in annotation:
                assert type_matches(annotation[name], expected), (
                    f"{main}: annotation.{name} = {literal} compares a {expected.__name__}, "
                    f"the functions write {annotation[name]!r}")


@pytest.mark.slow
def test_the_generator_renders_a_canary_group_filter_for_every_environment():
    filters = rendered_filters()
    assert len(filters) >= 3
    assert {expr for _, expr in filters} == {"annotation.canary = true"}


@pytest.mark.slow
def test_router_annotations_match_the_rendered_filters(
        router_env, extension, aws_env, recorded):
    # GIVEN a 50% canary, traced
    router_env.reset()
    extension.document = flag_values(percent=50)
    users = [f"user-{i}" for i in range(40)]
    # WHEN every user reads
    for user in users:
        router_env.lambda_handler({"userId": user}, None)
    annotations = [s.annotations for s in recorded if s.name == "cutover-route"]
    assert len(annotations) == len(users)
    # THEN every term of every filter has the name and type the router writes ...
    check(filter_terms(), annotations)
    # ... and `canary = true` selects exactly the requests routed to the candidate
    assert [a["canary"] for a in annotations] == [assign(SALT, u, 50).canary for u in users]
    assert {type(a["canary"]) for a in annotations} == {bool}
    assert {type(a["step"]) for a in annotations} <= {int, float}


@pytest.mark.postgres
def test_candidate_shadow_annotations_are_typed_like_the_filters(candidate_env, recorded):

    candidate_env.reset()
    user = SEEDED_USERS[1]
    event = router_shadow_event(user)
    candidate_env.lambda_handler(event, None)
    annotations = [s.annotations for s in recorded if s.name == "cutover-shadow"]
    assert annotations == [{"canary": False, "path": "user-read",
                            "release": "huntaze-prisma-migration", "shadow": True,
                            "userId": "h"}]
    # a shadow read is never selected by the canary group
    check([t for t in filter_terms() if t[0] in annotations[0]], annotations)
    assert not any(a["canary"] is True for a in annotations)
