"""Tests of generator/toolchain.py: version checks and the machine report."""

from __future__ import annotations

import pytest

from generator import toolchain
from generator.toolchain import (
    ToolchainError,
    inspect_toolchain,
    parse_version,
    require_terraform,
)


def test_parse_version():
    assert parse_version("1.11.4") == (1, 11, 4)
    assert parse_version("v1.6.0-beta1") == (1, 6, 0)
    with pytest.raises(ValueError, match="not a version"):
        parse_version("dev")


@pytest.fixture
def terraform_on_path(fake_terraform, monkeypatch):
    monkeypatch.setenv("CUTOVER_TERRAFORM", str(fake_terraform.binary))
    monkeypatch.setenv("CUTOVER_TF_PLUGIN_MIRROR", "none")
    return fake_terraform


def test_require_terraform_accepts_a_recent_version(terraform_on_path, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TF_STDOUT", '{"terraform_version": "1.11.4"}')
    assert require_terraform(tmp_path).binary == terraform_on_path.binary


def test_require_terraform_rejects_an_old_version(terraform_on_path, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TF_STDOUT", '{"terraform_version": "1.5.7"}')
    with pytest.raises(ToolchainError, match=r"terraform 1\.5\.7 .* too old: cutover needs 1\.6"):
        require_terraform(tmp_path)


def test_require_terraform_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("CUTOVER_TERRAFORM", str(tmp_path / "missing"))
    with pytest.raises(ToolchainError, match="developer.hashicorp.com/terraform/install"):
        require_terraform(tmp_path)


def test_report_of_a_complete_machine(terraform_on_path, tmp_path, monkeypatch,
                                      no_aws_credentials):
    monkeypatch.setenv("FAKE_TF_STDOUT", '{"terraform_version": "1.11.4"}')
    report = inspect_toolchain(tmp_path)
    assert report.terraform_version == "1.11.4"
    assert report.emulator_available is True
    assert report.aws_credentials is False
    assert report.problems() == []
    assert "plans use the emulator" in report.describe()


def test_report_lists_problems(tmp_path, monkeypatch, no_aws_credentials):
    monkeypatch.setenv("CUTOVER_TERRAFORM", str(tmp_path / "missing"))
    monkeypatch.setenv("CUTOVER_TF_PLUGIN_MIRROR", str(tmp_path))
    monkeypatch.setattr(toolchain.importlib.util, "find_spec", lambda name: None)
    report = inspect_toolchain(tmp_path)
    problems = report.problems()
    assert len(problems) == 3
    assert "terraform was not found" in problems[0]
    assert "CUTOVER_TF_PLUGIN_MIRROR" in problems[1]
    assert "install moto[server]" in problems[2]
    assert report.describe().count("PROBLEM: ") == 3
