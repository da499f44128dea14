"""Shared fixtures: the project root, and a copy of it to render into."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch project: the real config/ and terraform/modules/, nothing rendered."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    (tmp_path / "config" / "release.schema.json").unlink()
    shutil.copytree(ROOT / "terraform" / "modules", tmp_path / "terraform" / "modules")
    return tmp_path
