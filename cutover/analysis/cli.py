"""`cutover analyze --env E --metrics FILE [--json] [--gate]`: the command's body.

cutover/cli.py parses the arguments and builds the Guardrails from the spec (the
adapter in generator/plan/analysis_guardrails.py); everything after that is here.
Exit codes: 0 (or, with --gate: 0 promote, 3 hold, 4 rollback); 2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from cutover.analysis.decide import analyze
from cutover.analysis.guardrails import Guardrails
from cutover.analysis.metrics import MetricsInvalid, load_metrics


def run(metrics_file: Path, guardrails: Guardrails, env: str, *, as_json: bool, gate: bool,
        out: TextIO, err: TextIO) -> int:
    try:
        metrics = load_metrics(metrics_file)
        if metrics.environment != env:
            raise MetricsInvalid(str(metrics_file), [
                ("$.environment", f"'{metrics.environment}' does not match --env {env}")
            ])
    except MetricsInvalid as exc:
        print(exc.report(), file=err)
        if as_json:  # the error document of every --json (docs/operations.md, JSON output)
            error = {"message": exc.report(), "exitCode": 2, "kind": "input"}
            out.write(json.dumps({"command": "analyze", "exitCode": 2, "error": error}, indent=2, sort_keys=True) + "\n")
        return 2
    result = analyze(metrics, guardrails)
    if as_json:
        out.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        from rich.console import Console

        from cutover.analysis.report import print_analysis

        print_analysis(result, Console(file=out, width=160 if not out.isatty() else None))
    return result.exit_code if gate else 0
