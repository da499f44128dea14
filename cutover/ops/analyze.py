"""`cutover analyze --env E --since 1h [--gate]`: the go/no-go analysis of the current
step, on metrics read from CloudWatch (cutover.ops.metrics) and judged by the spec's guardrails.

`--save FILE` keeps the metrics it judged, so anyone can replay the decision with
`cutover analyze --env E --metrics FILE`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from cutover.ops import metrics
from cutover.ops.context import Context
from cutover.ops.output import OK, Result


def evaluate(ctx: Context, since: int) -> tuple[Any, dict[str, Any]]:
    """(analysis.Analysis, the cutover.metrics/1 document it judged)."""
    from cutover.analysis import analyze, load_metrics
    from cutover.generator.plan.analysis_guardrails import analysis_guardrails

    document = metrics.collect(ctx, since)
    return analyze(load_metrics(document), analysis_guardrails(ctx.spec.guardrails)), document


def run(ctx: Context, since: int, gate: bool, save: Path | None) -> Result:
    result, document = evaluate(ctx, since)
    if save is not None:
        tmp = save.with_name(f".{save.name}.tmp")
        tmp.write_text(json.dumps(document, indent=2) + "\n")
        tmp.replace(save)

    def view(out: Console) -> None:
        from cutover.analysis.report import print_analysis

        out.print(f"read: {document['source']}")

        print_analysis(result, out)
        if save is not None:
            out.print(f"metrics saved to {save}: replay with `cutover analyze --env {ctx.env} --metrics {save}`")

    return Result("analyze", result.exit_code if gate else OK,
                  {"analysis": result.to_json(), "metrics": document}, view)
