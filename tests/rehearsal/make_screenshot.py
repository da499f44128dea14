"""`make report-screenshot`: redraw docs/images/rehearsal-report.png from a fixture report.

The rehearsal that rolled back at the 5 % step (candidate errors), drawn by
rehearsal.report and photographed by Debian's headless chromium: the top of the page
(expectation, figures, steps) and the first charts, clipped to keep the PNG small.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from rehearsal.report import render_html
from tests.rehearsal import browser
from tests.rehearsal.report_fixtures import build

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "docs" / "images" / "rehearsal-report.png"
WIDTH = 1000
DOWN_TO = "#chart-errors"  # the page from its top down to the error-rate chart
LIMIT = 300_000


def main() -> int:
    why = browser.missing()
    if why:
        print(f"error: {why}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="report-screenshot-") as scratch:
        page = render_html(build("rollback"), Path(scratch) / "report")
        shot = Path(scratch) / "shot.png"
        seen = browser.visit(page, Path(scratch) / "profile", width=WIDTH, screenshot=shot,
                             clip_below=DOWN_TO)
        if seen.console or seen.page_errors:
            print(f"error: the page logged {seen.console + seen.page_errors}", file=sys.stderr)
            return 1
        size = shot.stat().st_size
        if size > LIMIT:
            print(f"error: {size} bytes, more than {LIMIT}: clip less of the page", file=sys.stderr)
            return 1
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_bytes(shot.read_bytes())
    print(f"{TARGET.relative_to(ROOT)}: {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
