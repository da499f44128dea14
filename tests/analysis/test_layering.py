"""cutover/analysis/ is pure: it imports nothing of ours, no AWS SDK, and not scipy (slow import)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = {"cutover.generator", "cutover.ops", "cutover.rehearsal", "cutover.runtime", "tests", "bench"}
FORBIDDEN_AT_RUN_TIME = OURS | {"boto3", "botocore", "scipy", "numpy"}


def test_analysis_sources_import_only_the_standard_library_rich_and_themselves():
    allowed = set(sys.stdlib_module_names) | {"rich", "cutover.analysis"}
    found = {}
    sources = sorted((ROOT / "cutover" / "analysis").glob("*.py"))
    assert len(sources) > 5, "the analysis sources moved: point this test at them"
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                if name.split(".")[0] not in allowed and not name.startswith("cutover.analysis"):
                    found.setdefault(source.name, []).append(name)
    assert found == {}


def test_importing_the_analysis_and_its_command_loads_nothing_forbidden():
    code = (
        "import sys, cutover.analysis, cutover.analysis.cli, cutover.analysis.report\n"
        f"bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in {sorted(FORBIDDEN_AT_RUN_TIME)!r}))\n"
        "print(bad)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert run.stdout.strip() == "[]"
