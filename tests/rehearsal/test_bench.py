"""The rehearsal benchmark's smoke mode runs (CI); its figures are for bench/, not asserted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.postgres


def test_bench_quick_runs_and_reports_its_figures(build_dir, database_url):
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "rehearse.py"), "--quick", "--database-url", database_url,
         "--build", str(build_dir)], capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "requests over" in out and "requests/s" in out and "peak RSS" in out
    assert "CPU of this process" in out
