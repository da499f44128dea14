"""The human view of an Analysis: one rich table per run, worst checks first."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cutover.analysis.verdict import Analysis, Check, Verdict

STYLE = {Verdict.PROMOTE: "green", Verdict.HOLD: "yellow", Verdict.ROLLBACK: "bold red"}


def _figure(check: Check) -> str:
    if check.figure is None:
        return "-"
    if check.unit == "% vs control":
        return f"{check.figure:+.3g}%"
    return f"{check.figure:.3g}{'%' if check.unit == '%' else ' ' + check.unit}"


def table(analysis: Analysis) -> Table:
    t = Table(title=f"{analysis.release} / {analysis.environment}: go/no-go", title_justify="left")
    for name, opts in (("path", {}), ("check", {}), ("verdict", {}), ("figure", {"justify": "right"}),
                       ("threshold", {}), ("samples", {"justify": "right"}), ("seed action", {}),
                       ("reason", {"overflow": "fold"})):
        t.add_column(name, **opts)
    ordered = sorted(analysis.checks, key=lambda c: -c.verdict.severity)  # stable: path order kept
    for c in ordered:
        t.add_row(c.path, c.name, Text(c.verdict.value, style=STYLE[c.verdict]), _figure(c), c.threshold,
                  f"{c.samples:,}", c.seed_action.value, c.reason)
    return t


def print_analysis(analysis: Analysis, console: Console) -> None:
    console.print(table(analysis))
    verdict = Text(analysis.verdict.value, style=STYLE[analysis.verdict])
    actions = ", ".join(a.value for a in analysis.seed_actions) or "-"
    console.print(Text.assemble("verdict: ", verdict, f"  (seed action: {actions})"))
    console.print(f"reason: {analysis.reason}", markup=False, highlight=False)
