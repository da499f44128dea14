"""The rehearsal report: report.json (written by the engine) → a self-contained report.html.

    from cutover.rehearsal.report import render_html, validate
    validate(report)                    # raises ReportFormatError, every problem located
    path = render_html(report, out_dir) # validates first, then writes out_dir/report.html

Format: cutover.rehearsal-report/1 (report.schema.json beside this file; docs/rehearsal.md).
"""

from cutover.rehearsal.report.render import render_html
from cutover.rehearsal.report.validate import FORMAT, Problem, ReportFormatError, validate

__all__ = ["FORMAT", "Problem", "ReportFormatError", "render_html", "validate"]
