"""The rehearsal benchmark (bench/rows/rehearsal.py) runs in its smoke size and reports
its figures as JSON; the figures are for bench/, never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.postgres


def test_bench_quick_runs_and_reports_its_figures(build_dir, database_url):
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "rows" / "rehearsal.py"), "--quick",
         "--database-url", database_url, "--build", str(build_dir)],
        capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["outcome"] == "promoted"
    assert figures["totals"]["requests"] > 0 and figures["totals"]["wall_seconds"] > 0
    assert figures["totals"]["peak_rss_mb"] > 0 and figures["cpu_s"] > 0
