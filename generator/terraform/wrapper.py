"""A small typed wrapper around the ``terraform`` command line.

Why not python-terraform: it has not been released since 2019 and targets Terraform 0.x.
Its ``destroy`` passes ``-force``, which Terraform removed, and it passes the working
directory to ``plan`` as a positional argument, which Terraform 1.x rejects in favour of
``-chdir=DIR``. This module runs every command as ``terraform -chdir=DIR <subcommand>``
with a CLI configuration file of our own, ``TF_IN_AUTOMATION=1`` and no prompts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cutover.generator.plan import hcl

INSTALL_URL = "https://developer.hashicorp.com/terraform/install"
TERRAFORM_ENV = "CUTOVER_TERRAFORM"
MIRROR_ENV = "CUTOVER_TF_PLUGIN_MIRROR"
MIRROR_DISABLED = "none"
DEFAULT_CACHE_DIR = Path(".cache/terraform")
STDERR_TAIL_LINES = 30


class TerraformError(RuntimeError):
    """A terraform command failed: carries the command, its exit code and stderr's tail."""

    def __init__(self, command: Sequence[str], returncode: int, stderr: str) -> None:
        self.command = list(command)
        self.returncode = returncode
        self.stderr_tail = "\n".join(stderr.rstrip().splitlines()[-STDERR_TAIL_LINES:])
        message = f"terraform failed: exit_code={returncode} command={' '.join(self.command)}"
        if self.stderr_tail:
            message += f"\n{self.stderr_tail}"
        super().__init__(message)


class TerraformNotFound(RuntimeError):
    """No terraform binary on PATH nor in $CUTOVER_TERRAFORM."""

    def __init__(self) -> None:
        super().__init__(missing_terraform_message())


def missing_terraform_message() -> str:
    return (
        "terraform was not found on PATH (nor in $CUTOVER_TERRAFORM). Install Terraform 1.6 "
        f"or newer: {INSTALL_URL} , or set {TERRAFORM_ENV}=/path/to/terraform."
    )


def find_terraform() -> Path | None:
    """The terraform binary: $CUTOVER_TERRAFORM if set, else the one on PATH, else None."""
    explicit = os.environ.get(TERRAFORM_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        return path if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which("terraform")
    return Path(found) if found else None


def holds_aws_provider(mirror: Path) -> bool:
    """True when `mirror` is a filesystem mirror holding hashicorp/aws (packed or unpacked)."""
    return (mirror / "registry.terraform.io" / "hashicorp" / "aws").is_dir()


def mirror_candidates() -> tuple[Path, ...]:
    """Where a provider mirror is looked for when $CUTOVER_TF_PLUGIN_MIRROR is not set."""
    return (Path("/opt/tf-plugins"), Path.home() / ".terraform.d" / "plugins")


def find_plugin_mirror() -> Path | None:
    """The provider mirror to install from, or None to install from the registry.

    $CUTOVER_TF_PLUGIN_MIRROR wins (``none`` turns the mirror off); otherwise /opt/tf-plugins
    or ~/.terraform.d/plugins, whichever first holds hashicorp/aws.
    """
    explicit = os.environ.get(MIRROR_ENV)
    if explicit is not None and explicit.strip():
        if explicit.strip().lower() == MIRROR_DISABLED:
            return None
        mirror = Path(explicit).expanduser().resolve()
        if not holds_aws_provider(mirror):
            raise ValueError(
                f"{MIRROR_ENV}={explicit}: not a provider mirror; expected the directory "
                f"{mirror}/registry.terraform.io/hashicorp/aws (set {MIRROR_ENV}=none to "
                "install providers from the registry)"
            )
        return mirror
    for candidate in mirror_candidates():
        if holds_aws_provider(candidate):
            return candidate.resolve()
    return None


def cli_config(mirror: Path | None, cache_dir: Path = DEFAULT_CACHE_DIR) -> Path:
    """Write `cache_dir`/terraformrc and return its path.

    With a mirror, hashicorp/* providers come only from it; other providers still come
    from their registries. Without one the file is empty (plain registry installs), which
    still shields the run from a stale TF_CLI_CONFIG_FILE in the caller's environment.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / "terraformrc"
    text = "# Written by cutover (generator/terraform/wrapper.py); rewritten on every run.\n"
    if mirror is not None:
        text += (
            "provider_installation {\n"
            "  filesystem_mirror {\n"
            f"    path    = {json.dumps(str(mirror))}\n"
            '    include = ["registry.terraform.io/hashicorp/*"]\n'
            "  }\n"
            "  direct {\n"
            '    exclude = ["registry.terraform.io/hashicorp/*"]\n'
            "  }\n"
            "}\n"
        )
    path.write_text(text)
    return path.resolve()


def backend_config_args(backend: Mapping[str, Any]) -> list[str]:
    """``-backend-config=key=value`` flags. Terraform takes a string setting's value
    literally (no quotes); any other value is an HCL expression, written by cutover.generator.plan.hcl."""
    return [f"-backend-config={key}={value if isinstance(value, str) else hcl.inline(value)}"
            for key, value in backend.items()]


@dataclass(frozen=True)
class Terraform:
    """One terraform binary plus the environment every command runs with."""

    binary: Path
    config_file: Path
    env: Mapping[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    data_dir: Path | None = None
    plugin_cache_dir: Path | None = None

    @classmethod
    def discover(cls, cache_dir: Path = DEFAULT_CACHE_DIR, **kwargs: Any) -> Terraform:
        """Find terraform and the provider mirror; raise TerraformNotFound when missing."""
        binary = find_terraform()
        if binary is None:
            raise TerraformNotFound()
        return cls(binary=binary, config_file=cli_config(find_plugin_mirror(), cache_dir), **kwargs)

    def environ(self) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if k not in self.unset}
        environ.update(self.env)
        environ["TF_IN_AUTOMATION"] = "1"
        environ["TF_INPUT"] = "0"
        environ["TF_CLI_CONFIG_FILE"] = str(self.config_file)
        if self.data_dir is not None:
            environ["TF_DATA_DIR"] = str(self.data_dir.resolve())
        if self.plugin_cache_dir is not None:
            self.plugin_cache_dir.mkdir(parents=True, exist_ok=True)
            environ["TF_PLUGIN_CACHE_DIR"] = str(self.plugin_cache_dir.resolve())
        return environ

    def command(self, directory: Path | None, *args: str) -> list[str]:
        chdir = [f"-chdir={directory}"] if directory is not None else []
        return [str(self.binary), *chdir, *args]

    def run(
        self,
        directory: Path | None,
        *args: str,
        stream: TextIO | None = None,
        ok_codes: tuple[int, ...] = (0,),
    ) -> subprocess.CompletedProcess[str]:
        """Run one command; stdout is captured, and copied line by line to `stream` if given."""
        command = self.command(directory, *args)
        process = subprocess.Popen(
            command,
            env=self.environ(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stderr_lines: deque[str] = deque(maxlen=2000)
        reader = threading.Thread(target=lambda: stderr_lines.extend(process.stderr), daemon=True)
        reader.start()
        stdout_lines = []
        for line in process.stdout:
            stdout_lines.append(line)
            if stream is not None:
                stream.write(line)
                stream.flush()
        returncode = process.wait()
        reader.join()
        stdout, stderr = "".join(stdout_lines), "".join(stderr_lines)
        if stream is not None and stderr:
            sys.stderr.write(stderr)
        if returncode not in ok_codes:
            raise TerraformError(command, returncode, stderr)
        return subprocess.CompletedProcess(command, returncode, stdout, stderr)

    def version(self) -> str:
        return json.loads(self.run(None, "version", "-json").stdout)["terraform_version"]

    def init(
        self,
        directory: Path,
        backend: bool | Mapping[str, Any] = True,
        *,
        reconfigure: bool = False,
        upgrade: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        """``terraform init``; `backend` False skips the backend, a mapping overrides it."""
        args = ["init", "-input=false", "-no-color"]
        if backend is False:
            args.append("-backend=false")
        elif isinstance(backend, Mapping):
            args += backend_config_args(backend)
        if reconfigure:
            args.append("-reconfigure")
        if upgrade:
            args.append("-upgrade")
        self.run(directory, *args, stream=stream)

    def validate(self, directory: Path) -> dict[str, Any]:
        """``terraform validate -json``, parsed; raises TerraformError when not valid."""
        result = self.run(directory, "validate", "-json", "-no-color", ok_codes=(0, 1))
        parsed = json.loads(result.stdout)
        if not parsed.get("valid", False):
            messages = [
                f"{d.get('severity')}: {d.get('summary')} ({d.get('range', {}).get('filename')})"
                for d in parsed.get("diagnostics", [])
            ]
            raise TerraformError(result.args, result.returncode, "\n".join(messages))
        return parsed

    def fmt_check(self, paths: Sequence[Path]) -> list[Path]:
        """Files under `paths` that ``terraform fmt`` would change (empty when all are fine)."""
        result = self.run(
            None, "fmt", "-check", "-list=true", "-recursive", *map(str, paths), ok_codes=(0, 3)
        )
        return [Path(line) for line in result.stdout.splitlines() if line.strip()]

    def plan(
        self,
        directory: Path,
        out: Path,
        *,
        extra_args: Sequence[str] = (),
        stream: TextIO | None = None,
    ) -> bool:
        """``terraform plan -out=OUT -detailed-exitcode``; True when the plan has changes."""
        args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", f"-out={out.resolve()}"]
        result = self.run(directory, *args, *extra_args, stream=stream, ok_codes=(0, 2))
        return result.returncode == 2

    def apply(self, directory: Path, planfile: Path, *, stream: TextIO | None = None) -> None:
        """Apply exactly the saved plan `planfile` (no new plan, no prompt)."""
        self.run(directory, "apply", "-input=false", "-no-color", str(planfile.resolve()),
                 stream=stream)

    def show_json(self, directory: Path, planfile: Path) -> dict[str, Any]:
        """The saved plan as Terraform's JSON plan representation."""
        return json.loads(self.run(directory, "show", "-json", str(planfile.resolve())).stdout)
