"""The candidate's environment is derived from the read path's canary settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from cutover.generator.plan.function_calls import candidate_call, router_call
from cutover.generator.spec.loader import load_spec

SPEC = load_spec(Path(__file__).parent.parent / "data" / "base.release.yaml")


def _environment(call) -> dict[str, object]:
    return dict(call.args)["environment"]


@pytest.mark.parametrize("timeout_ms", [300, 1500, 4000])
def test_the_candidate_connect_timeout_is_the_canary_timeout(timeout_ms):
    # GIVEN a read path whose canary timeout is timeout_ms
    path = SPEC.read_paths[0]
    path = path.model_copy(update={"canary": path.canary.model_copy(update={"timeout_ms": timeout_ms})})
    spec = SPEC.model_copy(update={"read_paths": [path]})
    # WHEN the router and the candidate are rendered
    router_env = _environment(router_call(spec, 0))
    candidate_env = _environment(candidate_call(spec, 0))
    # THEN the candidate gives up connecting when the router gives up waiting
    assert candidate_env["CUTOVER_DB_CONNECT_TIMEOUT_MS"] == str(timeout_ms)
    assert candidate_env["CUTOVER_DB_CONNECT_TIMEOUT_MS"] == router_env["CUTOVER_CANARY_TIMEOUT_MS"]
