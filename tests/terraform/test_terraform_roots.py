"""terraform fmt, init and validate with the real provider (from the local mirror)."""

from __future__ import annotations

import subprocess

import pytest
from tf_layout import PLUGIN_MIRROR, ROOTS, TERRAFORM_DIR, root_dir


def _run(args: list[str], cwd, env) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_fmt_is_clean(terraform_bin, terraform_env):
    result = _run(
        [terraform_bin, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)],
        TERRAFORM_DIR,
        terraform_env,
    )
    assert result.returncode == 0, (
        f"terraform fmt would change files:\n{result.stdout}{result.stderr}"
    )


@pytest.mark.parametrize("root", sorted(ROOTS))
def test_root_module_validates(root, terraform_bin, terraform_env, tmp_path):
    if not PLUGIN_MIRROR.is_dir():
        pytest.skip(f"no provider mirror at {PLUGIN_MIRROR} (set CUTOVER_TF_PLUGIN_MIRROR)")
    env = dict(terraform_env, TF_DATA_DIR=str(tmp_path / ".terraform"))
    cwd = root_dir(root, tmp_path)
    init = _run([terraform_bin, "init", "-backend=false", "-input=false", "-no-color"], cwd, env)
    assert init.returncode == 0, init.stdout + init.stderr
    validate = _run([terraform_bin, "validate", "-no-color"], cwd, env)
    assert validate.returncode == 0, validate.stdout + validate.stderr


def _test_dirs() -> list:
    return sorted(
        p.parent.parent.relative_to(TERRAFORM_DIR).as_posix()
        for p in TERRAFORM_DIR.rglob("tests/*.tftest.hcl")
        if ".terraform" not in p.parts
    )


@pytest.mark.parametrize("directory", _test_dirs())
def test_terraform_test_with_mocked_provider(directory, terraform_bin, terraform_env, tmp_path):
    """`terraform test` (mock_provider, plan only): wiring and plan-time guards."""
    if not PLUGIN_MIRROR.is_dir():
        pytest.skip(f"no provider mirror at {PLUGIN_MIRROR} (set CUTOVER_TF_PLUGIN_MIRROR)")
    env = dict(terraform_env, TF_DATA_DIR=str(tmp_path / ".terraform"))
    cwd = TERRAFORM_DIR / directory
    init = _run([terraform_bin, "init", "-backend=false", "-input=false", "-no-color"], cwd, env)
    assert init.returncode == 0, init.stdout + init.stderr
    result = _run([terraform_bin, "test", "-no-color"], cwd, env)
    assert result.returncode == 0, result.stdout + result.stderr
