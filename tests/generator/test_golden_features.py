"""Every spec feature with its own rendering is pinned by a shipped environment or a golden case.

The shipped environments (config/<env>.release.yaml, rendered into terraform/envs/<env>/ and
pinned by `render --check`) cover most features; tests/golden/ holds one small case per feature
they leave out (tests/golden/regenerate.py). When a change to config/ drops a feature from
every environment, this test names it: add a golden case for it (an override.yaml of a few
lines, then `make goldens`).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cutover.generator.spec.loader import load_spec
from cutover.generator.spec.model import ReleaseSpec

from tests.conftest import ROOT
from tests.golden.regenerate import cases, load_case


def _endpoint_modes(spec: ReleaseSpec) -> set[str]:
    return {p.database.vpc_endpoints.mode for p in spec.read_paths if p.database and p.database.vpc_endpoints}


def _controller(spec: ReleaseSpec, *, schedule: bool, approval: bool) -> bool:
    c = spec.delivery.controller
    return c is not None and c.enabled and (c.schedule is not None) == schedule and c.approval == approval


FEATURES: dict[str, Callable[[ReleaseSpec], bool]] = {
    "phase: shadow": lambda s: s.phase == "shadow",
    "phase: canary": lambda s: s.phase == "canary",
    "phase: complete": lambda s: s.phase == "complete",
    "two read paths": lambda s: len(s.read_paths) > 1,
    "a KMS key the kms module creates": lambda s: s.security.kms_key_arn is None,
    "a bring-your-own KMS key": lambda s: s.security.kms_key_arn is not None,
    "S3 native state locking": lambda s: s.backend.locking == "s3_lockfile",
    "DynamoDB state locking": lambda s: s.backend.locking == "dynamodb",
    "VPC endpoints created": lambda s: "create" in _endpoint_modes(s),
    "existing VPC endpoints": lambda s: "existing" in _endpoint_modes(s),
    "no VPC endpoints (NAT)": lambda s: "nat" in _endpoint_modes(s),
    "a guard function": lambda s: s.guard is not None,
    "no guard function": lambda s: s.guard is None,
    "a predefined CodeDeploy configuration": lambda s: s.delivery.codedeploy.predefined is not None,
    "a custom CodeDeploy configuration": lambda s: s.delivery.codedeploy.custom is not None,
    "a controller started by hand that asks for approval": lambda s: _controller(s, schedule=False, approval=True),
    "a scheduled controller that stops when it holds": lambda s: _controller(s, schedule=True, approval=False),
    "no controller": lambda s: s.delivery.controller is None or not s.delivery.controller.enabled,
}

PINNED = {
    **{f"config/{p.name}": load_spec(p) for p in sorted((ROOT / "config").glob("*.release.yaml"))},
    **{f"tests/golden/{case.name}": load_case(case) for case in cases()},
}


@pytest.mark.parametrize("feature", FEATURES)
def test_the_feature_is_rendered_by_an_environment_or_a_golden_case(feature: str):
    where = [name for name, spec in PINNED.items() if FEATURES[feature](spec)]
    assert where, f"no shipped environment or golden case has {feature}: add a golden case for it"


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.name)
def test_each_golden_case_pins_a_feature_no_shipped_environment_has(case):
    shipped = [spec for name, spec in PINNED.items() if name.startswith("config/")]
    own = [f for f, has in FEATURES.items() if has(load_case(case)) and not any(has(s) for s in shipped)]
    assert own, f"{case.name} only repeats what the shipped environments render: delete it"
