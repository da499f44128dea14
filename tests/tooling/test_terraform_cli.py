"""Unit tests of generator/terraform/wrapper.py, run against a fake terraform binary."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cutover.generator.terraform import wrapper as terraform_cli
from cutover.generator.terraform.wrapper import (
    INSTALL_URL,
    Terraform,
    TerraformError,
    TerraformNotFound,
    backend_config_args,
    cli_config,
    find_plugin_mirror,
    find_terraform,
    missing_terraform_message,
)


def make_mirror(root: Path) -> Path:
    (root / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0" / "linux_amd64").mkdir(
        parents=True
    )
    return root


# --- finding terraform -----------------------------------------------------------------


def test_find_terraform_prefers_cutover_terraform(fake_terraform, monkeypatch):
    monkeypatch.setenv("CUTOVER_TERRAFORM", str(fake_terraform.binary))
    assert find_terraform() == fake_terraform.binary


def test_find_terraform_returns_none_when_cutover_terraform_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("CUTOVER_TERRAFORM", str(tmp_path / "nope"))
    assert find_terraform() is None


def test_find_terraform_returns_none_when_not_on_path(tmp_path, monkeypatch):
    monkeypatch.delenv("CUTOVER_TERRAFORM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_terraform() is None


def test_missing_terraform_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("CUTOVER_TERRAFORM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TerraformNotFound) as error:
        Terraform.discover(tmp_path / "cache")
    assert INSTALL_URL in str(error.value)
    assert "CUTOVER_TERRAFORM" in missing_terraform_message()


# --- provider mirror and CLI configuration ---------------------------------------------


def test_mirror_from_environment_variable(tmp_path, monkeypatch):
    mirror = make_mirror(tmp_path / "mirror")
    monkeypatch.setenv("CUTOVER_TF_PLUGIN_MIRROR", str(mirror))
    assert find_plugin_mirror() == mirror.resolve()


def test_mirror_environment_variable_without_aws_provider_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("CUTOVER_TF_PLUGIN_MIRROR", str(tmp_path / "empty"))
    with pytest.raises(ValueError, match=r"CUTOVER_TF_PLUGIN_MIRROR=.*hashicorp/aws"):
        find_plugin_mirror()


def test_mirror_none_turns_detection_off(tmp_path, monkeypatch):
    monkeypatch.setattr(terraform_cli, "mirror_candidates", lambda: (make_mirror(tmp_path),))
    monkeypatch.setenv("CUTOVER_TF_PLUGIN_MIRROR", "none")
    assert find_plugin_mirror() is None


def test_mirror_is_detected_in_known_places(tmp_path, monkeypatch):
    monkeypatch.delenv("CUTOVER_TF_PLUGIN_MIRROR", raising=False)
    empty, full = tmp_path / "empty", make_mirror(tmp_path / "full")
    monkeypatch.setattr(terraform_cli, "mirror_candidates", lambda: (empty, full))
    assert find_plugin_mirror() == full.resolve()
    monkeypatch.setattr(terraform_cli, "mirror_candidates", lambda: (empty,))
    assert find_plugin_mirror() is None


def test_default_candidates_include_the_user_plugin_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert tmp_path / ".terraform.d" / "plugins" in terraform_cli.mirror_candidates()


def test_cli_config_with_mirror_pins_hashicorp_providers_to_it(tmp_path):
    path = cli_config(Path("/opt/mirror"), tmp_path / "cache")
    assert path == (tmp_path / "cache" / "terraformrc").resolve()
    text = path.read_text()
    assert 'path    = "/opt/mirror"' in text
    assert text.count('"registry.terraform.io/hashicorp/*"') == 2
    assert "filesystem_mirror {" in text
    assert 'direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]' in text


def test_cli_config_without_mirror_is_empty_of_settings(tmp_path):
    text = cli_config(None, tmp_path).read_text()
    assert "provider_installation" not in text
    assert text.startswith("#")


# --- command lines and environment -----------------------------------------------------


def test_every_command_runs_with_chdir_and_automation_environment(fake_tf, fake_terraform,
                                                                  tmp_path):
    tf = Terraform(fake_tf.binary, fake_tf.config_file, env={"EXTRA": "1"},
                   data_dir=tmp_path / "data", plugin_cache_dir=tmp_path / "plugins")
    tf.init(tmp_path / "env", backend={"bucket": "b", "use_path_style": True})
    (call,) = fake_terraform.calls()
    assert call["argv"] == [
        f"-chdir={tmp_path / 'env'}", "init", "-input=false", "-no-color",
        "-backend-config=bucket=b", "-backend-config=use_path_style=true",
    ]
    env = call["env"]
    assert env["TF_IN_AUTOMATION"] == "1"
    assert env["TF_INPUT"] == "0"
    assert env["TF_CLI_CONFIG_FILE"] == str(fake_tf.config_file)
    assert env["TF_DATA_DIR"] == str((tmp_path / "data").resolve())
    assert env["TF_PLUGIN_CACHE_DIR"] == str((tmp_path / "plugins").resolve())
    assert env["EXTRA"] == "1"


def test_unset_removes_variables_from_the_environment(fake_tf, fake_terraform, tmp_path,
                                                      monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "prod")
    Terraform(fake_tf.binary, fake_tf.config_file, unset=("AWS_PROFILE",)).init(tmp_path)
    assert "AWS_PROFILE" not in fake_terraform.calls()[0]["env"]


def test_init_without_backend_and_with_flags(fake_tf, fake_terraform, tmp_path):
    fake_tf.init(tmp_path, backend=False, reconfigure=True, upgrade=True)
    argv = fake_terraform.calls()[0]["argv"]
    assert argv[1:] == ["init", "-input=false", "-no-color", "-backend=false", "-reconfigure",
                        "-upgrade"]


def test_backend_config_args_render_hcl_values():
    assert backend_config_args({"bucket": "b", "encrypt": False, "max_retries": 5,
                                "endpoints": {"s3": "http://x:1", "sts": "http://x:1"}}) == [
        "-backend-config=bucket=b",
        "-backend-config=encrypt=false",
        "-backend-config=max_retries=5",
        '-backend-config=endpoints={ s3 = "http://x:1", sts = "http://x:1" }',
    ]


def test_plan_reports_changes_from_the_detailed_exit_code(fake_tf, fake_terraform, tmp_path,
                                                         monkeypatch):
    out = io.StringIO()
    monkeypatch.setenv("FAKE_TF_EXIT", "2")
    monkeypatch.setenv("FAKE_TF_STDOUT", "Plan: 1 to add\n")
    assert fake_tf.plan(tmp_path, tmp_path / "p.tfplan", stream=out) is True
    assert out.getvalue() == "Plan: 1 to add\n"
    argv = fake_terraform.calls()[0]["argv"]
    assert argv[:2] == [f"-chdir={tmp_path}", "plan"]
    assert f"-out={(tmp_path / 'p.tfplan').resolve()}" in argv
    assert "-detailed-exitcode" in argv
    monkeypatch.setenv("FAKE_TF_EXIT", "0")
    assert fake_tf.plan(tmp_path, tmp_path / "p.tfplan") is False


def test_apply_runs_exactly_the_saved_plan(fake_tf, fake_terraform, tmp_path):
    fake_tf.apply(tmp_path, tmp_path / "p.tfplan")
    assert fake_terraform.calls()[0]["argv"] == [
        f"-chdir={tmp_path}", "apply", "-input=false", "-no-color",
        str((tmp_path / "p.tfplan").resolve()),
    ]


def test_failure_raises_with_command_exit_code_and_stderr_tail(fake_tf, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TF_EXIT", "1")
    monkeypatch.setenv("FAKE_TF_STDERR", "".join(f"line {i}\n" for i in range(100)))
    with pytest.raises(TerraformError) as raised:
        fake_tf.init(tmp_path)
    error = raised.value
    assert error.returncode == 1
    assert error.command[1:3] == [f"-chdir={tmp_path}", "init"]
    assert "exit_code=1" in str(error)
    assert "line 99" in str(error)
    assert "line 0\n" not in str(error)  # only the tail


def test_validate_returns_parsed_json(fake_tf, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TF_STDOUT", '{"valid": true, "error_count": 0, "diagnostics": []}')
    assert fake_tf.validate(tmp_path)["valid"] is True


def test_validate_raises_with_the_diagnostics(fake_tf, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TF_EXIT", "1")
    monkeypatch.setenv("FAKE_TF_STDOUT", '{"valid": false, "diagnostics": [{"severity": "error",'
                       ' "summary": "Missing required argument", "range": {"filename": "m.tf"}}]}')
    with pytest.raises(TerraformError, match="Missing required argument \\(m.tf\\)"):
        fake_tf.validate(tmp_path)


def test_fmt_check_lists_unformatted_files(fake_tf, fake_terraform, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TF_EXIT", "3")
    monkeypatch.setenv("FAKE_TF_STDOUT", "a/main.tf\nb/x.tf\n")
    assert fake_tf.fmt_check([Path("a"), Path("b")]) == [Path("a/main.tf"), Path("b/x.tf")]
    assert fake_terraform.calls()[0]["argv"] == ["fmt", "-check", "-list=true", "-recursive",
                                                 "a", "b"]


def test_version_parses_json(fake_tf, monkeypatch):
    monkeypatch.setenv("FAKE_TF_STDOUT", '{"terraform_version": "1.11.4"}')
    assert fake_tf.version() == "1.11.4"
