"""Packaging: one zip per function, reproducible to the byte, importable as Lambda does."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import pytest

from .conftest import FUNCTIONS

# functions/build.py, loaded by path: "build" is also the name of a PyPI package
_spec = importlib.util.spec_from_file_location("cutover_build", FUNCTIONS / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

HANDLERS = {"router": "router.handler", "candidate": "candidate.handler",
            "cleanup": "cleanup.handler", "guard": "guard.handler", "deploy_probe": "deploy_probe.handler",
            "controller": "controller.handler"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_function_zips_are_byte_identical_across_builds_and_mtimes(tmp_path):
    first = [build.build_function(p, tmp_path / "a") for p in build.PACKAGES]
    # touching sources changes mtimes, not content: the bytes must not change
    now = time.time() + 3600
    for path in (FUNCTIONS / "router").rglob("*.py"):
        os.utime(path, (now, now))
    second = [build.build_function(p, tmp_path / "b") for p in build.PACKAGES]
    assert [sha256(p) for p in first] == [sha256(p) for p in second]
    assert [p.name for p in first] == ["router.zip", "candidate.zip", "cleanup.zip", "guard.zip", "deploy_probe.zip",
                                       "controller.zip"]


def test_zip_holds_the_package_the_shared_runtime_and_the_example_only(tmp_path):
    names = zipfile.ZipFile(build.build_function("candidate", tmp_path)).namelist()
    assert names == sorted(names)
    assert "candidate/handler.py" in names and "user_profile/schema.sql" in names
    assert "cutover_runtime/compare.py" in names and "user_profile/read_model.py" in names
    assert not [n for n in names if n.startswith(("router/", "cleanup/", "guard/", "deploy_probe/")) or ".pyc" in n
                or "__pycache__" in n]
    info = zipfile.ZipFile(tmp_path / "functions" / "candidate.zip").infolist()[0]
    assert info.date_time == build.FIXED_TIME


def test_a_change_in_content_changes_the_zip(tmp_path):
    entries = build.function_entries("router")
    a = build.write_zip(tmp_path / "a.zip", entries)
    changed = [(n, d + b"\n# changed\n" if n == "router/handler.py" else d) for n, d in entries]
    b = build.write_zip(tmp_path / "b.zip", changed)
    assert sha256(a) != sha256(b)


# What a handler loads at init because its first request needs it (docs/functions.md):
# every candidate invocation reads PostgreSQL. Nothing else heavy loads at import.
LOADED_AT_INIT = {"candidate": {"psycopg"}}


@pytest.mark.parametrize("package", sorted(HANDLERS))
def test_each_handler_imports_from_its_zip_alone(tmp_path, package):
    zip_path = build.build_function(package, tmp_path)
    expected = LOADED_AT_INIT.get(package, set())
    code = (f"import sys; sys.path[:0] = [{str(zip_path)!r}]; import {HANDLERS[package]} as h; "
            "assert h.__file__.startswith(sys.path[0]), h.__file__; "
            "assert callable(h.lambda_handler); "
            "heavy = {'boto3', 'aws_xray_sdk', 'psycopg'} & set(sys.modules); "
            f"assert heavy == {expected!r}, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path,
                   env={**os.environ, "PYTHONPATH": ""})


def test_the_controller_zip_carries_the_analysis_byte_for_byte(tmp_path):
    # one code path: the files `cutover analyze` runs, not a copy that could drift
    root = FUNCTIONS.parent
    with zipfile.ZipFile(build.build_function("controller", tmp_path)) as zf:
        shipped = {n: zf.read(n) for n in zf.namelist() if n.startswith("cutover/")}
    wanted = ["cutover/__init__.py", *(f"cutover/analysis/{p.name}" for p in sorted((root / "cutover" / "analysis").glob("*.py"))
                                       if p.name not in ("cli.py", "report.py"))]
    assert sorted(shipped) == sorted(wanted) and "cutover/analysis/decide.py" in shipped
    assert all(shipped[n] == (root / n).read_bytes() for n in wanted)
    # only the controller judges a step
    assert not [n for n in zipfile.ZipFile(build.build_function("guard", tmp_path)).namelist()
                if n.startswith("cutover/")]


def test_the_controller_judges_from_its_unzipped_package_with_only_boto3_beside_it(tmp_path):
    # GIVEN the zip unpacked, and a fresh interpreter that sees only it and boto3's directory
    # (-I -S: no site, no .pth, so not the installed cutover)
    import boto3

    unpacked = tmp_path / "task"
    with zipfile.ZipFile(build.build_function("controller", tmp_path)) as zf:
        zf.extractall(unpacked)
    deps = str(Path(boto3.__file__).parents[1])
    code = (f"import sys; sys.path[:] = [{str(unpacked)!r}, *[p for p in sys.path if 'python3' in p and "
            f"'site-packages' not in p], {deps!r}]\n"
            "import controller.handler as h, cutover.analysis as a\n"
            f"assert h.__file__.startswith({str(unpacked)!r}) and a.__file__.startswith({str(unpacked)!r}), a.__file__\n"
            "assert 'boto3' not in sys.modules and 'rich' not in sys.modules\n"
            "from controller import judge\n"
            "g = judge.guardrails(a.Guardrails().to_json())\n"
            "doc = {'format': a.FORMAT, 'release': 'r', 'environment': 'e', 'paths': [{'path': 'p', 'step_percent': 1,"
            " 'shadow_enabled': False, 'window': {'start': '2026-12-05T00:00:00Z', 'end': '2026-12-05T00:01:00Z',"
            " 'period_seconds': 60}, 'rollout': {'deployed_at': None, 'poll_interval_seconds': 45},"
            " 'series': [{'start': '2026-12-05T00:00:00Z'}], 'latency': {'control': {'p95_ms': None, 'samples': 0},"
            " 'canary': {'p95_ms': None, 'samples': 0}}}]}\n"
            "print(judge.analyze(doc, {'guardrails': g.to_json()}).verdict.value)\n")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], check=True, cwd=tmp_path, capture_output=True,
                         text=True, env={"PATH": os.environ.get("PATH", "")})
    assert out.stdout.strip() == "HOLD"  # judged by the vendored analysis: too few samples


def test_layer_unpacks_wheels_under_python_reproducibly(tmp_path):
    wheels = []
    for name, files in (("b-1.0-py3-none-any.whl", {"b/__init__.py": b"B"}),
                        ("a-1.0-py3-none-any.whl", {"a/__init__.py": b"A",
                                                    "a-1.0.dist-info/METADATA": b"m"})):
        wheel = tmp_path / name
        with zipfile.ZipFile(wheel, "w") as zf:
            for inner, data in files.items():
                zf.writestr(inner, data)
        wheels.append(wheel)
    one = build.write_zip(tmp_path / "l1.zip", build.layer_entries(wheels))
    two = build.write_zip(tmp_path / "l2.zip", build.layer_entries(reversed(wheels)))
    assert sha256(one) == sha256(two)
    assert zipfile.ZipFile(one).namelist() == [
        "python/a-1.0.dist-info/METADATA", "python/a/__init__.py", "python/b/__init__.py"]


def test_the_candidate_ships_exactly_amazons_five_trust_roots(tmp_path):
    # the committed file is what the pinned certifi gives (the build regenerates it) ...
    roots = FUNCTIONS / "candidate" / "rds-proxy-roots.pem"
    assert roots.read_bytes() == build.pinned_trust_roots()
    # ... five certificates, each one whose public key AWS publishes for its subject
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    with warnings.catch_warnings():  # Starfield Services G2 has serial 0 (RFC 5280 warning)
        warnings.simplefilter("ignore")
        certs = x509.load_pem_x509_certificates(roots.read_bytes())
    spki = {hashlib.sha256(c.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest():
        c.subject.rfc4514_string() for c in certs}
    assert spki == build.AMAZON_TRUST_ROOTS and len(certs) == 5
    # ... and the candidate's zip carries it where the settings look for it by default
    with zipfile.ZipFile(build.build_function("candidate", tmp_path)) as zf:
        assert zf.read("candidate/rds-proxy-roots.pem") == roots.read_bytes()
    from candidate.settings import BUNDLED_TRUST_ROOTS

    assert BUNDLED_TRUST_ROOTS == roots


def test_a_bundle_without_one_of_the_roots_stops_the_build():
    import certifi

    bundle = Path(certifi.where()).read_text(encoding="utf-8")
    start = bundle.index('# Label: "Amazon Root CA 3"')
    end = bundle.index("-----END CERTIFICATE-----", start) + len("-----END CERTIFICATE-----")
    with pytest.raises(ValueError, match="trust roots missing from test bundle.*Amazon Root CA 3"):
        build.trust_roots(bundle[:start] + bundle[end:], "test bundle")


def test_the_generator_leaves_sslrootcert_to_the_bundled_default():
    # contracts.md §2: CUTOVER_DB_SSLROOTCERT is not rendered, so the candidate uses the
    # roots in its zip; the rendered sslmode verifies them
    mains = sorted((FUNCTIONS.parent / "terraform" / "envs").glob("*/main.tf"))
    assert mains
    modes = []
    for main in mains:
        text = main.read_text()
        assert "CUTOVER_DB_SSLROOTCERT" not in text, main
        modes += [line.split("=")[1].strip() for line in text.splitlines()
                  if line.strip().startswith("CUTOVER_DB_SSLMODE")]
    assert '"verify-full"' in modes


@pytest.mark.parametrize("package", sorted(HANDLERS))
def test_the_example_ships_only_with_the_functions_that_import_it(tmp_path, package):
    names = zipfile.ZipFile(build.build_function(package, tmp_path)).namelist()
    example = [n for n in names if n.startswith("user_profile/")]
    modules = ["user_profile/__init__.py", "user_profile/mock.py", "user_profile/read_model.py"]
    want = {"router": modules, "deploy_probe": modules,
            "candidate": [*modules, "user_profile/schema.sql"]}.get(package, [])
    assert example == want
    assert not [n for n in names if n.startswith("cutover_runtime/") and "contract" in n]


@pytest.mark.parametrize("package", ["router", "candidate"])
def test_every_module_of_ours_imported_on_first_use_is_declared(package):
    """A handler imports some of its own modules on first use (cold start); it names them
    in FIRST_USE_MODULES so the rehearsal loads them into each environment's module set
    (a module imported later would be shared between environments, its clock unpatched)."""
    import ast

    handler = importlib.import_module(f"{package}.handler")
    found = set()
    for directory in (package, "cutover_runtime"):
        for path in sorted((FUNCTIONS / directory).glob("*.py")):
            for function in [n for n in ast.walk(ast.parse(path.read_text()))
                             if isinstance(n, ast.FunctionDef)]:
                for node in [n for n in ast.walk(function) if isinstance(n, ast.ImportFrom)]:
                    if node.level:  # relative: a sibling of the file's package
                        found.add(f"{directory}.{node.module}")
                    elif node.module and node.module.split(".")[0] in (package, "cutover_runtime"):
                        found.add(node.module)
    assert found <= set(handler.FIRST_USE_MODULES), found - set(handler.FIRST_USE_MODULES)
