"""`make report-screenshot`: redraw docs/images/rehearsal-report.png from a real rehearsal.

It runs the shipped `candidate-errors` scenario against the production spec, exactly as
`make rehearse SCENARIO=candidate-errors` does (the packaged functions, the guard, an
embedded PostgreSQL or ``CUTOVER_REHEARSAL_DATABASE_URL``), draws its report.json with
cutover.rehearsal.report and photographs it with Debian's headless chromium: the top of the page
(expectation, figures, steps) and the first charts, clipped to keep the PNG small. The
report.json it drew is kept beside the picture (docs/images/rehearsal-report.json) so
that every figure in the picture can be checked.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from cutover.rehearsal.report import render_html
from tests.rehearsal import browser

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "docs" / "images" / "rehearsal-report.png"
SOURCE = ROOT / "docs" / "images" / "rehearsal-report.json"
SCENARIO = "candidate-errors"
WIDTH = 1000
DOWN_TO = "#chart-errors"  # the page from its top down to the error-rate chart
LIMIT = 300_000


def rehearse(scratch: Path) -> dict:
    """The real run: packages built into ``scratch``, the shipped scenario, the production spec."""
    import importlib.util

    from cutover.generator.spec.loader import load_spec

    from cutover.rehearsal.engine import Options, Rehearsal
    from cutover.rehearsal.scenario import load_scenario

    spec = importlib.util.spec_from_file_location("cutover_build", ROOT / "functions" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for package in build.PACKAGES:
        build.build_function(package, scratch / "build")
    scenario_file = f"config/scenarios/{SCENARIO}.yaml"
    options = Options(load_spec(ROOT / "config" / "production.release.yaml"), "config/production.release.yaml",
                      load_scenario(ROOT / scenario_file), scenario_file, scratch / "build",
                      ROOT / "terraform" / "envs" / "production" / "alarms.json",
                      os.environ.get("CUTOVER_REHEARSAL_DATABASE_URL"))
    return Rehearsal(options).run()


def main() -> int:
    why = browser.missing()
    if why:
        print(f"error: {why}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="report-screenshot-") as scratch:
        report = rehearse(Path(scratch))
        page = render_html(report, Path(scratch) / "report")
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
        SOURCE.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"{TARGET.relative_to(ROOT)}: {size} bytes, from a rehearsal of {SCENARIO} "
          f"(seed {report['seed']}; {SOURCE.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
