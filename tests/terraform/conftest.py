"""Shared fixtures of the Terraform module tests."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import applied
from applied import AppliedRelease
from tf_layout import PLUGIN_MIRROR


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform is not installed (needed for fmt/init/validate)")
    return binary


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for terraform: a CLI config that installs hashicorp/* from the mirror."""
    cli_config = tmp_path_factory.mktemp("terraform") / "terraformrc"
    cli_config.write_text(
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{PLUGIN_MIRROR}"\n'
        '    include = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/hashicorp/*"]\n'
        "  }\n"
        "}\n",
        encoding="utf-8",
    )
    env = dict(os.environ)
    env["TF_CLI_CONFIG_FILE"] = str(cli_config)
    env["TF_IN_AUTOMATION"] = "1"
    env["CHECKPOINT_DISABLE"] = "1"
    return env



@pytest.fixture(scope="session")
def applied_release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppliedRelease]:
    """The production release applied in a running emulator, planned whole (applied.py)."""
    with applied.release(tmp_path_factory.mktemp("applied-release")) as release:
        yield release
