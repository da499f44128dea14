"""The adapter between the release spec and the go/no-go analysis: cutover/analysis/ imports
nothing of ours, so the spec's `guardrails:` reach it as a plain `analysis.Guardrails`."""

from __future__ import annotations

from cutover.generator.spec.model import Guardrails

from cutover.analysis import Guardrails as AnalysisGuardrails


def analysis_guardrails(g: Guardrails) -> AnalysisGuardrails:
    return AnalysisGuardrails(
        error_rate_pct=g.error_rate_pct,
        p95_go_pct=g.p95_regression.go_pct,
        p95_no_go_pct=g.p95_regression.no_go_pct,
        p95_ceiling_ms=g.p95_ceiling_ms,
        shadow_diff_go_pct=g.shadow_diff.go_pct,
        shadow_diff_no_go_pct=g.shadow_diff.no_go_pct,
        canary_share_min_ratio=g.canary_share.min_ratio,
        canary_share_max_ratio=g.canary_share.max_ratio,
        min_samples=g.min_samples,
        min_errors=g.min_errors,
        confidence=g.confidence,
    )
