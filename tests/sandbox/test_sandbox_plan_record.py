"""A plan made against a local sandbox is applied to that sandbox only: once it is gone,
apply refuses (exit 2) rather than reaching AWS."""

from __future__ import annotations

import hashlib
import json

import pytest
from cutover.generator.terraform.run import ApplyRefused, apply_environment, record_path


def test_a_sandbox_plan_is_refused_once_its_sandbox_is_gone(tmp_path):
    env_dir = tmp_path / "terraform" / "envs" / "production"
    env_dir.mkdir(parents=True)
    saved = tmp_path / "p.tfplan"
    saved.write_bytes(b"plan")
    record_path(saved).write_text(json.dumps({
        "target": "sandbox", "env": "production", "data_dir": str(tmp_path / "data"),
        "plan_sha256": hashlib.sha256(b"plan").hexdigest(),
        "sandbox": {"endpoint": "http://127.0.0.1:1", "pid": 1}}))
    with pytest.raises(ApplyRefused) as refused:
        apply_environment(env_dir, saved_plan=saved, env="production", terraform=object())
    assert "no longer running" in str(refused.value) and "never applied to AWS" in str(refused.value)
    assert refused.value.exit_code == 2
