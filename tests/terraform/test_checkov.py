"""checkov reports zero failed checks on both examples (and so on every module).

The checkov binary lives in its own virtualenv (its pins clash with the
project's): CUTOVER_CHECKOV, default .venv-checkov/bin/checkov under the repo
root. Install it with
  python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov==3.3.30
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from tf_layout import REPO_ROOT, ROOTS, root_dir

CHECKOV = Path(
    os.environ.get("CUTOVER_CHECKOV", str(REPO_ROOT / ".venv-checkov" / "bin" / "checkov"))
)

pytestmark = pytest.mark.checkov


@pytest.mark.parametrize("root", sorted(ROOTS))
def test_checkov_has_no_failed_checks(root, tmp_path):
    """Rendered trees run with their .checkov.yaml: the spec's skips, and only those."""
    if not CHECKOV.exists():
        pytest.skip(f"no checkov at {CHECKOV} (set CUTOVER_CHECKOV or create .venv-checkov)")
    directory = root_dir(root, tmp_path)
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false")
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(directory),
            *(["--config-file", str(directory / ".checkov.yaml")] if not root.startswith("examples/") else []),
            "--framework",
            "terraform",
            "-o",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    passed = sum(len(r.get("results", {}).get("passed_checks", [])) for r in reports)
    assert passed > 0, f"checkov evaluated nothing:\n{result.stderr[-2000:]}"
    assert not failed, "\n".join(
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}" for c in failed
    )
