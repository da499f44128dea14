"""The thresholds the analysis judges by: a plain dataclass, so cutover/analysis/ imports nothing
of ours. `cutover.generator.plan.analysis_guardrails` builds it from a release spec's `guardrails:`;
the defaults here are the spec's defaults (a test keeps them equal)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Guardrails:
    error_rate_pct: float = 2.0  # seed: error rate <= 2% go, > 2% rollback auto
    p95_go_pct: float = 15.0  # seed: p95 within +15% of the control is go
    p95_no_go_pct: float = 30.0  # seed: p95 > +30% is no-go (investigate)
    p95_ceiling_ms: float = 500.0  # seed's beta target: p95 < 500 ms
    shadow_diff_go_pct: float = 0.5  # seed: shadow diffs < 0.5% go
    shadow_diff_no_go_pct: float = 1.0  # seed: shadow diffs > 1% no-go (investigate)
    canary_share_min_ratio: float = 0.5  # seed: share ~1%, no-go < 0.5% or > 2% (check config)
    canary_share_max_ratio: float = 2.0
    min_samples: int = 50
    # errors a window needs before its error rate counts (the rollback alarms' gate too):
    # with min_samples, what the comparison with the control needs before it can ROLLBACK
    min_errors: int = 3
    confidence: float = 0.95  # of the one-sided exact tests on error rates

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.error_rate_pct <= 100:
            problems.append(f"error_rate_pct {self.error_rate_pct} must be in (0, 100]")
        if not 0 < self.p95_go_pct < self.p95_no_go_pct:
            problems.append(f"p95 go {self.p95_go_pct} must be positive and below no-go {self.p95_no_go_pct}")
        if not 0 < self.shadow_diff_go_pct < self.shadow_diff_no_go_pct:
            problems.append(
                f"shadow diff go {self.shadow_diff_go_pct} must be positive and below no-go {self.shadow_diff_no_go_pct}"
            )
        if not 0 < self.canary_share_min_ratio <= 1 <= self.canary_share_max_ratio:
            problems.append("canary share ratios must satisfy 0 < min_ratio <= 1 <= max_ratio")
        if self.p95_ceiling_ms <= 0 or self.min_samples < 1 or not 0.5 <= self.confidence < 1:
            problems.append("p95_ceiling_ms > 0, min_samples >= 1 and 0.5 <= confidence < 1 are required")
        if not 1 <= self.min_errors <= self.min_samples:
            problems.append(f"min_errors {self.min_errors} must be from 1 to min_samples ({self.min_samples})")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def alpha(self) -> float:
        """The significance level: the chance of a false alarm each test accepts."""
        return 1.0 - self.confidence

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)
