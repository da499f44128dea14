"""Any YAML gives a rendered tree or a clean SpecInvalid, never a traceback."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from cutover.generator.plan.release import build_plan
from cutover.generator.render.files import render_files
from cutover.generator.spec.errors import SpecInvalid
from cutover.generator.spec.loader import load_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BASE = yaml.safe_load((Path(__file__).parent.parent / "data" / "base.release.yaml").read_text())

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
    st.text(max_size=30), st.sampled_from(["", "live", "100", "$.x", "arm64", "canary", "0", "-1"]),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


ALL_PATHS = [p for p in _paths(BASE) if p]


@st.composite
def mutated_specs(draw):
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent = doc
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(values)
        except (KeyError, IndexError, TypeError):
            continue
    return yaml.safe_dump(doc, sort_keys=False)


def _must_render_or_fail_cleanly(tmp_path: Path, text: str) -> None:
    spec = tmp_path / "fuzz.release.yaml"
    spec.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        parsed = load_spec(spec)
    except SpecInvalid as exc:
        assert exc.errors and exc.report().count("\n") == len(exc.errors)
        return
    files = render_files(build_plan(parsed, "fuzz.release.yaml"))
    assert "main.tf" in files


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated_specs())
def test_mutated_specs_render_or_fail_cleanly(tmp_path, text):
    _must_render_or_fail_cleanly(tmp_path, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("abc:-[]{}!&*|>'\"#%@`\n \t0123456789.?,")), max_size=120))
def test_arbitrary_yaml_text_fails_cleanly(tmp_path, text):
    _must_render_or_fail_cleanly(tmp_path, text)
