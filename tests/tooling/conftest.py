"""Shared fixtures for the tests of the Terraform and emulator layer."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest
from cutover.generator.terraform.wrapper import Terraform, cli_config

FAKE_TERRAFORM = textwrap.dedent(
    """\
    #!{python}
    # A stand-in for terraform: logs its command line and environment, then does what
    # FAKE_TF_EXIT (or FAKE_TF_EXIT_<SUBCOMMAND>) / FAKE_TF_STDOUT / FAKE_TF_STDERR say;
    # writes the -out= plan file.
    import json, os, sys
    with open(os.environ["FAKE_TF_LOG"], "a") as log:
        log.write(json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ)}}) + "\\n")
    for arg in sys.argv[1:]:
        if arg.startswith("-out="):
            with open(arg[len("-out="):], "w") as plan:
                plan.write("fake plan\\n")
    sys.stdout.write(os.environ.get("FAKE_TF_STDOUT", ""))
    sys.stderr.write(os.environ.get("FAKE_TF_STDERR", ""))
    sub = next((a for a in sys.argv[1:] if not a.startswith("-")), "").upper()
    sys.exit(int(os.environ.get("FAKE_TF_EXIT_" + sub, os.environ.get("FAKE_TF_EXIT", "0"))))
    """
)

AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_ENDPOINT_URL",
)


class FakeTerraform:
    def __init__(self, binary: Path, log: Path) -> None:
        self.binary = binary
        self.log = log

    def calls(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def fake_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeTerraform:
    binary = tmp_path / "bin" / "terraform"
    binary.parent.mkdir()
    binary.write_text(FAKE_TERRAFORM.format(python=sys.executable))
    binary.chmod(0o755)
    log = tmp_path / "terraform-calls.jsonl"
    monkeypatch.setenv("FAKE_TF_LOG", str(log))
    return FakeTerraform(binary, log)


@pytest.fixture
def fake_tf(fake_terraform: FakeTerraform, tmp_path: Path) -> Terraform:
    return Terraform(
        binary=fake_terraform.binary, config_file=cli_config(None, tmp_path / "cache")
    )


@pytest.fixture
def no_aws_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An environment with no AWS credentials anywhere: empty HOME and ~/.aws files."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return home
