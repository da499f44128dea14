"""Every rendered controller definition is valid Amazon States Language, as the npm package
asl-validator reads the specification (tools/package.json pins it; `make setup` installs it):
the file as rendered, and after the values Terraform's templatefile() puts in. A broken
definition fails, so the check is not vacuous."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cutover.generator.plan.controller import PLACEHOLDERS, substitute

from tests.conftest import ROOT

ACCOUNT = "123456789012"
# What terraform/modules/controller's templatefile() fills in, of the shapes AWS gives.
VALUES = {
    "controller_function_arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:huntaze-prisma-migration-production-controller",
    "application_id": "abc1234",
    "environment_id": "def5678",
    "profile_id": "ghi9012",
    "strategy_id": "jkl3456",
    "kms_key_arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111",
    "topic_arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:huntaze-prisma-migration-production-alarms",
}
DEFINITIONS = sorted((ROOT / "terraform" / "envs").glob("*/controller.asl.json")) + sorted(
    (ROOT / "tests" / "golden").glob("*/expected/controller.asl.json"))


def _validate(validator: str, *files: Path) -> subprocess.CompletedProcess[str]:
    args = [validator]
    for f in files:
        args += ["--json-path", str(f)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_the_shipped_environments_render_a_controller():
    assert {p.parent.name for p in DEFINITIONS} >= {"production", "preview"}
    assert set(VALUES) == set(PLACEHOLDERS)


def test_every_rendered_definition_is_valid_asl_before_and_after_substitution(asl_validator, tmp_path):
    substituted = []
    for i, path in enumerate(DEFINITIONS):
        text = path.read_text(encoding="utf-8")
        assert "${" in text, f"{path}: no placeholder left for templatefile()"
        target = tmp_path / f"{i}-{path.parent.name}.asl.json"
        target.write_text(substitute(text, VALUES), encoding="utf-8")
        assert "${" not in target.read_text(encoding="utf-8")
        substituted.append(target)
    result = _validate(asl_validator, *DEFINITIONS, *substituted)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("is valid") == 2 * len(DEFINITIONS), result.stdout


def _broken(kind: str) -> dict:
    asl = json.loads(substitute((ROOT / "terraform" / "envs" / "production" / "controller.asl.json")
                                .read_text(encoding="utf-8"), VALUES))
    if kind == "MISSING_TRANSITION_TARGET":
        asl["States"]["WaitBusy"]["Next"] = "Nowhere"
    else:  # a reference path that is not JSONPath
        asl["States"]["Judge"]["ResultSelector"]["verdict.$"] = "Payload.verdict"
    return asl


@pytest.mark.parametrize("kind", ["MISSING_TRANSITION_TARGET", "SCHEMA_VALIDATION_FAILED"])
def test_a_broken_definition_is_refused(asl_validator, tmp_path, kind):
    broken = tmp_path / "broken.asl.json"
    broken.write_text(json.dumps(_broken(kind)), encoding="utf-8")
    result = _validate(asl_validator, broken)
    assert result.returncode != 0 and kind in result.stdout + result.stderr, result.stdout + result.stderr
