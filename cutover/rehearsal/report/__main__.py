"""`python -m cutover.rehearsal.report REPORT_JSON [--out DIR]`: (re)draw report.html from report.json.

Exit codes: 0 written; 2 bad input (unreadable file, not JSON, not the report format),
with every problem located and nothing written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cutover.rehearsal.report import ReportFormatError, render_html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cutover.rehearsal.report", description=__doc__)
    parser.add_argument("report", type=Path, help="a report.json written by the rehearsal")
    parser.add_argument("--out", type=Path, help="directory for report.html (default: beside it)")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
        path = render_html(report, args.out or args.report.parent, source=str(args.report))
    except OSError as exc:
        print(f"error: cannot read {args.report}: {exc.strerror}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(f"error: {args.report}: line {exc.lineno}, column {exc.colno}: not JSON: {exc.msg}",
              file=sys.stderr)
        return 2
    except ReportFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
