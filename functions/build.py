"""Build the Lambda packages reproducibly: same sources -> same bytes.

    python functions/build.py [--arch x86_64|arm64 ...] [--out build] [--no-layer]

writes (contracts.md §1):

* ``build/functions/<package>.zip`` for router, candidate, cleanup, guard, deploy_probe, controller:
  the package and ``cutover_runtime``, paths relative to ``functions/`` (the zip root is the
  handler root); the functions that answer or check the read model (router, candidate,
  deploy_probe) also get the example's ``user_profile`` package from ``example/user-profile/``
  (and the candidate its tables, ``user_profile/schema.sql``); the controller also gets the
  go/no-go analysis, the same files as ``cutover/analysis/`` (``cutover/__init__.py`` and
  ``cutover/analysis/*.py`` but the CLI and the report, which need rich), so it judges with
  the code `cutover analyze` runs;
* ``build/layers/deps-<arch>.zip``: the wheels of ``functions/requirements.txt`` for
  CPython 3.12 on manylinux ``x86_64`` / ``aarch64``, unpacked under ``python/``.

Before zipping, ``functions/candidate/rds-proxy-roots.pem`` is regenerated: the five
roots Amazon Trust Services publishes for ACM certificates (RDS Proxy's), taken from
the pinned ``certifi`` bundle and each checked against the SHA-256 of its subject public
key as published at https://www.amazontrust.com/repository/ (see ``trust_roots``).

Entries are sorted and carry a fixed timestamp and mode, so Terraform's
``filebase64sha256`` changes only when a file's content does. Wheels are cached in
``.cache/wheels/<arch>`` (the only step that needs the package index).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

FUNCTIONS_DIR = Path(__file__).resolve().parent
ROOT = FUNCTIONS_DIR.parent
PACKAGES = ("router", "candidate", "cleanup", "guard", "deploy_probe", "controller")
SHARED = "cutover_runtime"
# The example release's read model and mock control, vendored next to cutover_runtime
# into the zips that import it; the candidate also ships the example's tables.
EXAMPLE_DIR = ROOT / "example" / "user-profile"
EXAMPLE_PACKAGE = "user_profile"
EXAMPLE_USERS = ("router", "candidate", "deploy_probe")
EXAMPLE_SCHEMA = {"candidate": f"{EXAMPLE_PACKAGE}/schema.sql"}
# The analysis, vendored into the zips that judge a step (import cutover.analysis works there).
ANALYSIS_DIR = ROOT / "cutover" / "analysis"
ANALYSIS_USERS = ("controller",)
ANALYSIS_LEFT_OUT = ("cli.py", "report.py")  # the command line and its rich tables
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
PLATFORMS = {"x86_64": "x86_64", "arm64": "aarch64"}
PYTHON_VERSION = "3.12"
EXCLUDED_PARTS = {"__pycache__"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
TRUST_ROOTS = FUNCTIONS_DIR / "candidate" / "rds-proxy-roots.pem"
# Amazon Trust Services' root CAs, which issue ACM certificates (RDS Proxy's): subject
# and SHA-256 of the subject public key info, as https://www.amazontrust.com/repository/
# publishes them ("we recommend that all five of the above roots be included").
AMAZON_TRUST_ROOTS = {
    "fbe3018031f9586bcbf41727e417b7d1c45c2f47f93be372a17b96b50757d5a2": "CN=Amazon Root CA 1,O=Amazon,C=US",
    "7f4296fc5b6a4e3b35d3c369623e364ab1af381d8fa7121533c9d6c633ea2461": "CN=Amazon Root CA 2,O=Amazon,C=US",
    "36abc32656acfc645c61b71613c4bf21c787f5cabbee48348d58597803d7abc9": "CN=Amazon Root CA 3,O=Amazon,C=US",
    "f7ecded5c66047d28ed6466b543c40e0743abe81d109254dcf845d4c2c7853c5": "CN=Amazon Root CA 4,O=Amazon,C=US",
    "2b071c59a0a0ae76b0eadb2bad23bad4580b69c3601b630c2eaf0613afa83f92":
        "CN=Starfield Services Root Certificate Authority - G2,O=Starfield Technologies\\, Inc.,"
        "L=Scottsdale,ST=Arizona,C=US",
}
_PEM_BLOCK = "-----BEGIN CERTIFICATE-----"


def _source_files(directory: Path) -> Iterator[Path]:
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not EXCLUDED_PARTS & set(path.parts) \
                and path.suffix not in EXCLUDED_SUFFIXES:
            yield path


def write_zip(target: Path, entries: Iterable[tuple[str, bytes]]) -> Path:
    """Deterministic zip: sorted names, fixed time, mode 0644, deflate level 9."""
    target.parent.mkdir(parents=True, exist_ok=True)
    items = sorted(entries)
    names = [name for name, _ in items]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate entries in zip: target={target}")
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            zf.writestr(info, data, compresslevel=9)
    tmp.replace(target)
    return target


def function_entries(package: str) -> list[tuple[str, bytes]]:
    entries = []
    for directory in (FUNCTIONS_DIR / package, FUNCTIONS_DIR / SHARED):
        for path in _source_files(directory):
            entries.append((path.relative_to(FUNCTIONS_DIR).as_posix(), path.read_bytes()))
    return entries + example_entries(package) + analysis_entries(package)


def analysis_entries(package: str) -> list[tuple[str, bytes]]:
    """`cutover/__init__.py` and the analysis' modules, for a function that judges a step."""
    if package not in ANALYSIS_USERS:
        return []
    files = [ROOT / "cutover" / "__init__.py",
             *(p for p in sorted(ANALYSIS_DIR.glob("*.py")) if p.name not in ANALYSIS_LEFT_OUT)]
    return [(p.relative_to(ROOT).as_posix(), p.read_bytes()) for p in files]


def example_entries(package: str) -> list[tuple[str, bytes]]:
    """The example's package (and, for the candidate, its tables) for a function that uses it."""
    if package not in EXAMPLE_USERS:
        return []
    entries = [(path.relative_to(EXAMPLE_DIR).as_posix(), path.read_bytes())
               for path in _source_files(EXAMPLE_DIR / EXAMPLE_PACKAGE)]
    if package in EXAMPLE_SCHEMA:
        entries.append((EXAMPLE_SCHEMA[package], (EXAMPLE_DIR / "schema.sql").read_bytes()))
    return entries


def build_function(package: str, out: Path) -> Path:
    return write_zip(out / "functions" / f"{package}.zip", function_entries(package))


def trust_roots(bundle_text: str, source: str) -> bytes:
    """Exactly Amazon's five roots out of a PEM bundle, in the order of AWS's table.

    A certificate is taken when the SHA-256 of its subject public key info is one AWS
    publishes and its subject is the one AWS names; a bundle missing any of them is an
    error (the build stops: no partial trust store)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    found: dict[str, str] = {}
    for chunk in bundle_text.split(_PEM_BLOCK)[1:]:
        pem = _PEM_BLOCK + chunk.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
        try:
            with warnings.catch_warnings():  # Starfield Services G2 has serial 0, which
                warnings.simplefilter("ignore")  # cryptography warns about (RFC 5280)
                cert = x509.load_pem_x509_certificate(pem.encode())
        except ValueError:
            continue  # unparsable: if it was one of ours, it is reported missing below
        spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        key = hashlib.sha256(spki).hexdigest()
        if key in AMAZON_TRUST_ROOTS and cert.subject.rfc4514_string() == AMAZON_TRUST_ROOTS[key]:
            found[key] = pem
    missing = [subject for key, subject in AMAZON_TRUST_ROOTS.items() if key not in found]
    if missing:
        raise ValueError(f"trust roots missing from {source}: {missing}")
    parts = ["# Generated by functions/build.py: do not edit. The roots of ACM certificates\n"
             "# (RDS Proxy's), from " + source + ", each checked against the SHA-256 of its\n"
             "# subject public key info published at https://www.amazontrust.com/repository/\n"]
    for key, subject in AMAZON_TRUST_ROOTS.items():
        parts.append(f"\n# {subject}\n# spki-sha256 {key}\n{found[key]}")
    return "".join(parts).encode()


def pinned_trust_roots() -> bytes:
    import certifi  # pinned in requirements/dev.txt: same version, same bytes

    return trust_roots(Path(certifi.where()).read_text(encoding="utf-8"),
                       f"certifi {certifi.__version__} cacert.pem")


def write_trust_roots(target: Path = TRUST_ROOTS) -> Path:
    data = pinned_trust_roots()
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)
    return target


def download_wheels(arch: str, cache: Path) -> list[Path]:
    platform = PLATFORMS[arch]
    dest = cache / arch
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION,
        "--platform", f"manylinux2014_{platform}", "--platform", f"manylinux_2_28_{platform}",
        "--dest", str(dest), "-r", str(FUNCTIONS_DIR / "requirements.txt"),
    ], check=True)
    return sorted(dest.glob("*.whl"))


def layer_entries(wheels: Iterable[Path]) -> list[tuple[str, bytes]]:
    entries: dict[str, bytes] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                entries[f"python/{info.filename}"] = zf.read(info)
    return list(entries.items())


def build_layer(arch: str, out: Path, cache: Path) -> Path:
    return write_zip(out / "layers" / f"deps-{arch}.zip", layer_entries(download_wheels(arch, cache)))


def describe(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return (f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  "
            f"sha256={digest.hex()}  base64sha256={base64.b64encode(digest).decode()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", action="append", choices=sorted(PLATFORMS),
                        help="layer architecture (repeatable; default: x86_64 and arm64)")
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "wheels")
    parser.add_argument("--no-layer", action="store_true", help="function zips only (offline)")
    args = parser.parse_args(argv)
    write_trust_roots()
    built = [build_function(package, args.out) for package in PACKAGES]
    if not args.no_layer:
        built += [build_layer(arch, args.out, args.cache) for arch in args.arch or sorted(PLATFORMS)]
    for path in built:
        print(describe(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
