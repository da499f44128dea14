"""The traffic a release's spec implies, and the sequential test that judges it.

How many samples a step or a shadow sees a minute, the sequential test the spec's
`guardrails.sequential` defines (Wald's SPRT, explained in `cutover.generator.plan.alarms`),
and the window that test needs at a given traffic. Pure functions of the spec: the
spec's own checks (no window may exceed a day) and the alarm plan both read them here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from cutover.generator.spec.model import ReleaseSpec

# Alarms over more than a day are evaluated once an hour: a rollback would wait.
MAX_WINDOW_SECONDS = 86400
# A window expects this many standard deviations (Poisson) more samples than the test
# needs to decide, so that almost every window of normal traffic holds them.
FLOOR_SIGMAS = 3
# CloudWatch evaluates each alarm once a minute: the tests one hour holds.
EVALUATIONS_PER_HOUR = 60
DIGITS = 6  # significant digits of a and b as written in the expression and threshold

Speed = Literal["fast", "slow", "only"]


def _round(x: float) -> float:
    return float(f"{x:.{DIGITS}g}")


@dataclass(frozen=True)
class SequentialRule:
    """Wald's SPRT of an error rate as a line in (samples, errors): ALARM when
    errors >= intercept + slope * samples and errors >= min_errors."""

    healthy: float  # p0, a fraction
    failing: float  # p1, a fraction
    alpha: float  # false alarm of one test (one evaluation)
    beta: float  # missed detection
    min_errors: int

    @classmethod
    def of(cls, spec: ReleaseSpec) -> SequentialRule:
        g = spec.guardrails
        s = g.sequential
        return cls(s.healthy_error_rate_pct / 100, s.failing_error_rate_pct / 100,
                   s.false_rollback_per_hour / EVALUATIONS_PER_HOUR, s.missed_rollback, g.min_errors)

    @property
    def _g(self) -> tuple[float, float]:
        p0, p1 = self.healthy, self.failing
        return math.log(p1 / p0), math.log((1 - p0) / (1 - p1))

    @property
    def intercept(self) -> float:
        """a = ln((1 - beta) / alpha) / (g1 + g2), as written in the alarm."""
        g1, g2 = self._g
        return _round(math.log((1 - self.beta) / self.alpha) / (g1 + g2))

    @property
    def slope(self) -> float:
        """b = g2 / (g1 + g2): the error rate the line tends to."""
        g1, g2 = self._g
        return _round(g2 / (g1 + g2))

    def crosses(self, samples: float, errors: float) -> bool:
        """What the alarm's expression compared with its threshold decides."""
        value = errors - self.slope * samples if errors >= self.min_errors else 0.0
        return value >= self.intercept

    def decision_samples(self) -> float:
        """Samples in which a canary failing at p1 is expected to reach the line."""
        return max(self.min_errors / self.failing, self.intercept / (self.failing - self.slope))

    def document(self) -> dict[str, Any]:
        return {
            "healthy_error_rate": self.healthy,
            "failing_error_rate": self.failing,
            "alpha_per_evaluation": _round(self.alpha),
            "beta": self.beta,
            "min_errors": self.min_errors,
            "intercept": self.intercept,
            "slope": self.slope,
        }


def expected_samples_for(needed: float) -> float:
    """Expected samples mu with mu - FLOOR_SIGMAS * sqrt(mu) >= needed (Poisson traffic)."""
    root = (FLOOR_SIGMAS + math.sqrt(FLOOR_SIGMAS**2 + 4 * needed)) / 2
    return root * root


def window_samples(spec: ReleaseSpec, speed: Speed = "slow") -> float:
    """Samples a window is expected to hold. Fast: as many as a canary failing at p1
    needs to reach the line (few healthy samples to outweigh a sudden failure). Slow, or
    a rate's only window: that many with three standard deviations to spare."""
    needed = SequentialRule.of(spec).decision_samples()
    return needed if speed == "fast" else expected_samples_for(needed)


def window_seconds(samples_per_minute: float, spec: ReleaseSpec, speed: Speed = "slow") -> int:
    """The period a rate needs at this traffic (may exceed a day: the caller checks)."""
    g = spec.guardrails
    needed = window_samples(spec, speed)
    if samples_per_minute * g.period_seconds / 60 >= needed:
        return g.period_seconds
    minutes = math.ceil(round(needed / samples_per_minute, 9))
    return max(g.period_seconds, 60 * minutes)


def canary_per_minute(spec: ReleaseSpec, percent: float) -> float:
    return spec.guardrails.expected_requests_per_minute * percent / 100


def shadow_per_minute(spec: ReleaseSpec, index: int) -> float:
    """Shadow events a minute: a sample of the requests the control serves."""
    path = spec.read_paths[index]
    if not path.shadow.enabled or spec.phase == "complete":
        return 0.0
    control_share = (100 - path.canary.percent) / 100
    return spec.guardrails.expected_requests_per_minute * control_share * path.shadow.sample_rate
