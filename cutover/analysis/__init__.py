"""Go/no-go analysis: metric series in, verdicts out (docs/analysis.md).

Pure: no AWS client, no I/O beyond reading the metrics it is handed, and nothing of
the project's other packages. The rehearsal and ops call this API; keep it stable:

    metrics = load_metrics("incident.json")          # or a dict in cutover.metrics/1
    result = analyze(metrics, Guardrails(...))        # Analysis
    result.verdict, result.checks, result.to_json()
"""

from cutover.analysis.decide import analyze
from cutover.analysis.guardrails import Guardrails
from cutover.analysis.latency import p95
from cutover.analysis.metrics import FORMAT, MetricsInput, MetricsInvalid, load_metrics
from cutover.analysis.verdict import ANALYSIS_FORMAT, Analysis, Check, SeedAction, Verdict

__all__ = [
    "ANALYSIS_FORMAT", "FORMAT", "Analysis", "Check", "Guardrails", "MetricsInput", "MetricsInvalid",
    "SeedAction", "Verdict", "analyze", "load_metrics", "p95",
]  # fmt: skip
