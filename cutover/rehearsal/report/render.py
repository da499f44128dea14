"""Write report.html from a report.json: validate, decide the view, lay it out, write once."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from cutover.rehearsal.report.validate import validate
from cutover.rehearsal.report.view import page

REPORT_FILE = "report.html"


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=PackageLoader("cutover.rehearsal.report", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def html(report: dict[str, Any], source: str = "report.json") -> str:
    """The page for a report.json; raises ReportFormatError (located) if it is not valid."""
    validate(report, source)
    return environment().get_template("report.html.j2").render(**page(report))


def render_html(report: dict[str, Any], out_dir: Path, source: str = "report.json") -> Path:
    """Write `out_dir/report.html` (whole or not at all) and return its path."""
    text = html(report, source)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / REPORT_FILE
    partial = out_dir / f".{REPORT_FILE}.partial"
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)
    return target
